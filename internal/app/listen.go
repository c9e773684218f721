package app

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// listenError explains a failed listen. "address already in use" alone
// leaves the operator guessing; the usual cause is a gateway started
// earlier and still running (`go run ... &` whose child outlived it, a
// forgotten terminal), so the error says whether a gateway answers on that
// port, and which process holds it when this machine can tell.
func listenError(addr string, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	var b strings.Builder
	fmt.Fprintf(&b, "listen on %s: port %d is already in use", addr, port)
	health := "http://" + net.JoinHostPort(dialHost(host), portStr) + "/api/health"
	if v, ok := probeGateway(health); ok {
		fmt.Fprintf(&b, " by another OngoingAI gateway (version %s answers at %s)", v, health)
	}
	if pid, cmd, ok := portOwner(port); ok {
		fmt.Fprintf(&b, "; held by pid %d (%s)", pid, cmd)
	}
	b.WriteString("; stop that process (Ctrl-C in its terminal, `kill %1` in the shell that started it with &, or kill PID) " +
		"or choose another port (server.port, ONGOINGAI_PORT)")
	return errors.New(b.String())
}

// dialHost is where to reach a server that listens on host.
func dialHost(host string) string {
	if isWildcardHost(host) || host == "localhost" {
		return "127.0.0.1"
	}
	return host
}

// probeGateway asks url (a /api/health) whether a gateway answers there
// and returns its version. It waits at most a second: it runs only on the
// way out of a failed start.
func probeGateway(url string) (version string, ok bool) {
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var h struct {
		Version       *string `json:"version"`
		StorageDriver *string `json:"storage_driver"`
	}
	// Any status: a gateway that is starting or draining is still one.
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h) != nil || h.Version == nil || h.StorageDriver == nil {
		return "", false
	}
	return *h.Version, true
}

// portOwner finds the process listening on TCP port from /proc (Linux):
// the socket's inode in /proc/net/tcp{,6}, then the process with a file
// descriptor on that socket. Elsewhere, or for another user's process
// without the right to read its descriptors, it reports false.
func portOwner(port int) (pid int, cmdline string, ok bool) {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, ino := range listeningInodes(table, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, "", false
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				pid, _ = strconv.Atoi(filepath.Base(dir))
				return pid, processCommand(dir), true
			}
		}
	}
	return 0, "", false
}

// listeningInodes returns the inodes of the sockets in a /proc/net/tcp
// table that listen on port.
func listeningInodes(table string, port int) []string {
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	const listen = "0A" // TCP_LISTEN
	suffix := fmt.Sprintf(":%04X", port)
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != listen || !strings.HasSuffix(fields[1], suffix) {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}

// processCommand is the command line of the process in /proc dir, cut
// short: enough to recognise it.
func processCommand(dir string) string {
	raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil || len(raw) == 0 {
		return "command unknown"
	}
	cmd := strings.TrimSpace(strings.ReplaceAll(string(raw), "\x00", " "))
	if len(cmd) > 120 {
		cmd = cmd[:120] + "…"
	}
	return cmd
}
