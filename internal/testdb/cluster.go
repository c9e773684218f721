package testdb

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a throwaway Postgres server that one test owns: it may stop,
// restart or freeze it to prove how the gateway behaves when its store goes
// away, which the shared server on 5432 must never suffer. It runs on a
// free loopback port with trust authentication and fsync off; its data
// directory is removed when the test ends.
type Cluster struct {
	t       testing.TB
	bindir  string
	dir     string // data directory
	port    int
	asOwner *syscall.Credential // the postgres user when running as root

	mu     sync.Mutex
	frozen []int // pids stopped by Freeze
}

// StartCluster creates and starts a cluster for this test. It fails the
// test when no Postgres server binaries are installed (bash .ci/postgres.sh
// installs them).
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bindir, err := serverBinDir()
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bindir: bindir, port: freePort(t)}
	if os.Geteuid() == 0 {
		// Postgres refuses to run as root.
		cred, err := postgresCredential()
		if err != nil {
			t.Fatal(err)
		}
		c.asOwner = cred
	}
	// t.TempDir is private to root; the server's own user must reach it.
	root, err := os.MkdirTemp("", "ongoingai-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c.dir = filepath.Join(root, "data")
	if c.asOwner != nil {
		if err := os.Chown(root, int(c.asOwner.Uid), int(c.asOwner.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run("initdb", "-D", c.dir, "--username=postgres", "--auth=trust",
		"--encoding=UTF8", "--no-locale"); err != nil {
		t.Fatalf("testdb: initdb: %v\n%s", err, out)
	}
	c.Start()
	t.Cleanup(func() {
		c.Thaw()
		_, _ = c.run("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop")
	})
	return c
}

// DSN returns the DSN of a new, empty database on this cluster; the
// gateway's store migrates it when it opens it, as in production.
func (c *Cluster) DSN() string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	name := "t_" + randomHex(8)
	admin, err := pgx.Connect(ctx, c.adminDSN())
	if err != nil {
		c.t.Fatalf("testdb: cluster on port %d: %v", c.port, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		c.t.Fatalf("testdb: create database on cluster: %v", err)
	}
	return withDatabase(c.adminDSN(), name)
}

// Port is the TCP port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

func (c *Cluster) adminDSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Start starts the server (again) and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=/tmp "+
		"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100", c.port)
	if out, err := c.run("pg_ctl", "-D", c.dir, "-l", filepath.Join(filepath.Dir(c.dir), "server.log"),
		"-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(c.dir), "server.log"))
		c.t.Fatalf("testdb: start cluster: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server at once (connections are cut, as in a crash of
// the database host), waiting until it is down.
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop"); err != nil {
		c.t.Fatalf("testdb: stop cluster: %v\n%s", err, out)
	}
}

// Freeze stops every process of the server with SIGSTOP: the kernel still
// completes TCP handshakes on its port, and open connections stay open,
// but nothing answers. That is a hung database host, the hardest case for
// timeouts. Thaw undoes it.
func (c *Cluster) Freeze() {
	c.t.Helper()
	pids := c.serverPIDs()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err == nil {
			c.frozen = append(c.frozen, pid)
		}
	}
}

// Thaw resumes the processes Freeze stopped.
func (c *Cluster) Thaw() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pid := range c.frozen {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	c.frozen = nil
}

// serverPIDs returns the postmaster and its children.
func (c *Cluster) serverPIDs() []int {
	c.t.Helper()
	raw, err := os.ReadFile(filepath.Join(c.dir, "postmaster.pid"))
	if err != nil {
		c.t.Fatalf("testdb: cluster pid: %v", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		c.t.Fatalf("testdb: cluster pid %q: %v", first, err)
	}
	pids := []int{master}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name (in parentheses, which may
		// hold spaces) start with state, then the parent pid.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(master) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// run runs one server program as the cluster's owner.
func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bindir, prog), args...)
	cmd.Dir = os.TempDir()
	if c.asOwner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.asOwner}
	}
	return cmd.CombinedOutput()
}

// serverBinDir finds initdb: on PATH (a hand-built server), else Debian's
// versioned directory, newest first.
func serverBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("testdb: no Postgres server binaries (initdb) found; run `bash .ci/postgres.sh` to install them")
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("testdb: running as root needs a postgres user to own the cluster: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort asks the kernel for a loopback port nobody uses now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
