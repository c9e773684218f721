package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/version"
)

// serve prints one banner on stdout once it listens: version, store,
// address, auth, each route with its upstream and SDK base URL, and the
// exports; River's housekeeping stays out of the info log.
func TestServeBanner(t *testing.T) {
	db := filepath.Join(t.TempDir(), "banner.db")
	g := startServe(t, map[string]string{"ONGOINGAI_STORAGE_PATH": db})
	port := strconv.Itoa(g.port)
	out := g.stdout.String()
	for _, want := range []string{
		"OngoingAI Gateway " + version.Version + "\n",
		"  listening  127.0.0.1:" + port + " (this machine only)\n",
		"  store      sqlite " + db + "\n",
		"  auth       off\n",
		"  routes     /anthropic  -> http://127.0.0.1:",
		"SDK base URL http://127.0.0.1:" + port + "/anthropic\n",
		"             /openai     -> http://127.0.0.1:",
		"SDK base URL http://127.0.0.1:" + port + "/openai/v1\n",
		"  export OPENAI_BASE_URL=http://127.0.0.1:" + port + "/openai/v1\n",
		"  export ANTHROPIC_BASE_URL=http://127.0.0.1:" + port + "/anthropic\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING") {
		t.Errorf("banner warns on loopback:\n%s", out)
	}
	if code := g.stop(); code != exitOK {
		t.Fatalf("serve exited with %d", code)
	}
	if strings.Count(g.stdout.String(), "OngoingAI Gateway") != 1 {
		t.Errorf("banner printed more than once:\n%s", g.stdout.String())
	}
	log := g.stderr.String()
	for _, noise := range []string{"entering poll only mode", "River client started", "Applied migration", "auth is off"} {
		if strings.Contains(log, noise) {
			t.Errorf("log at info contains %q:\n%s", noise, log)
		}
	}
}

// Auth off on every interface is the documented default: the gateway
// starts, and its banner and log say what is exposed and how to close it.
// With auth on, neither warns and the banner names the key header.
func TestServeBannerWarnsWhenOpen(t *testing.T) {
	g := startServe(t, map[string]string{"ONGOINGAI_HOST": "0.0.0.0"})
	out := g.stdout.String()
	for _, want := range []string{
		"  listening  0.0.0.0:" + strconv.Itoa(g.port) + " (every interface)\n",
		"  export OPENAI_BASE_URL=http://localhost:" + strconv.Itoa(g.port) + "/openai/v1\n",
		"\nWARNING: auth is off and the gateway listens on every interface (0.0.0.0): anyone who can reach port " + strconv.Itoa(g.port),
		"read every trace at /api/traces; set auth.enabled: true (README, Team mode) or server.host: 127.0.0.1.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	g.stop()
	if !strings.Contains(g.stderr.String(), `"level":"WARN","msg":"auth is off and the gateway listens on every interface`) {
		t.Errorf("no warning in the log:\n%s", g.stderr.String())
	}

	g = startServe(t, map[string]string{"ONGOINGAI_HOST": "0.0.0.0", "ONGOINGAI_AUTH_ENABLED": "true"})
	out = g.stdout.String()
	if !strings.Contains(out, "  auth       on: clients send a gateway key in X-OngoingAI-Gateway-Key\n") || strings.Contains(out, "WARNING") {
		t.Errorf("banner with auth on:\n%s", out)
	}
	g.stop()
	if strings.Contains(g.stderr.String(), "auth is off") {
		t.Errorf("warning with auth on:\n%s", g.stderr.String())
	}
}

// A second serve on a busy port says that another gateway answers there,
// and which process holds the port, and fails before touching its store.
func TestServeOnBusyPortNamesTheGateway(t *testing.T) {
	g := startServe(t, nil)
	db := filepath.Join(t.TempDir(), "second.db")
	r := runCLI(t, map[string]string{
		"ONGOINGAI_HOST": "127.0.0.1", "ONGOINGAI_PORT": strconv.Itoa(g.port), "ONGOINGAI_STORAGE_PATH": db,
	}, "", "serve")
	r.expect(t, exitFail)
	for _, want := range []string{
		fmt.Sprintf("port %d is already in use by another OngoingAI gateway (version %s answers at http://127.0.0.1:%d/api/health)",
			g.port, version.Version, g.port),
		fmt.Sprintf("held by pid %d (", os.Getpid()), // this test process serves the first gateway
		"Ctrl-C in its terminal, `kill %1`",
		"server.port, ONGOINGAI_PORT",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("the second serve created its store %s before failing to listen", db)
	}
	if r.stdout != "" {
		t.Errorf("banner printed by a serve that did not start: %q", r.stdout)
	}
}

// A port held by something else is not called a gateway.
func TestServeOnBusyPortHeldByAnotherProgram(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	r := runCLI(t, map[string]string{
		"ONGOINGAI_HOST": "127.0.0.1", "ONGOINGAI_PORT": strconv.Itoa(port),
		"ONGOINGAI_STORAGE_PATH": filepath.Join(t.TempDir(), "gw.db"),
	}, "", "serve")
	r.expect(t, exitFail)
	want := fmt.Sprintf("listen on 127.0.0.1:%d: port %d is already in use; held by pid %d (", port, port, os.Getpid())
	if !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "OngoingAI gateway") {
		t.Errorf("stderr = %q, want %q and no gateway", r.stderr, want)
	}
}
