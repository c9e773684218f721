package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DescribeMachine is the report's machine line: what the figures were
// measured on. With withPostgres it also names the server at pgDSN.
func DescribeMachine(ctx context.Context, pgDSN string, withPostgres bool) string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if line, _, ok := strings.Cut(string(b), "\n"); ok {
			mem = fmt.Sprintf(", %s RAM", fmtBytes(kbField(line)))
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	pg := ""
	if withPostgres {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(cctx, pgDSN); err == nil {
			var v string
			if conn.QueryRow(cctx, "SHOW server_version").Scan(&v) == nil {
				pg = ", PostgreSQL " + v + " (local, shared)"
			}
			conn.Close(cctx)
		}
	}
	return fmt.Sprintf("%s, %d logical CPUs (GOMAXPROCS %d)%s%s, %s %s/%s%s",
		cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), mem, kernel, runtime.Version(), runtime.GOOS, runtime.GOARCH, pg)
}

// describeCommit names the code measured: the commit, and whether the
// working tree differed from it.
func describeCommit(ctx context.Context, root string) string {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	rev, err := git("rev-parse", "--short=12", "HEAD")
	if err != nil {
		rev = "none (no commit yet)"
	}
	if st, err := git("status", "--porcelain"); err == nil && st != "" {
		rev += fmt.Sprintf(", working tree with %d uncommitted paths", len(strings.Split(st, "\n")))
	}
	return rev
}

// LoadAverage is the 1/5/15-minute load average: how busy the machine was
// with other work, which the absolute figures depend on.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
