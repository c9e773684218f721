package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/testdb"
)

// runDoctorJSON runs `doctor --format json` and decodes the report.
func runDoctorJSON(t *testing.T, env map[string]string, wantCode int, args ...string) doctorReport {
	t.Helper()
	r := runCLI(t, env, "", append([]string{"doctor", "--format", "json"}, args...)...)
	r.expect(t, wantCode)
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, r.stdout)
	}
	return rep
}

func statusOf(t *testing.T, rep doctorReport, name string) doctorCheck {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, rep.Checks)
	return doctorCheck{}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDoctorHealthySQLiteOnLoopback(t *testing.T) {
	collector, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer collector.Close()
	db := filepath.Join(t.TempDir(), "gw.db")
	env := map[string]string{
		"ONGOINGAI_HOST":              "127.0.0.1",
		"ONGOINGAI_STORAGE_PATH":      db,
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + collector.Addr().String(),
	}
	rep := runDoctorJSON(t, env, 0)
	if !rep.OK {
		t.Fatalf("report not ok: %+v", rep)
	}
	for _, name := range []string{"config", "storage", "routes", "auth", "otel"} {
		if c := statusOf(t, rep, name); c.Status != statusOK {
			t.Errorf("%s: %s %q, want ok", name, c.Status, c.Message)
		}
	}
	if s := statusOf(t, rep, "storage"); !strings.Contains(s.Message, "migrations up to date") || !strings.Contains(s.Message, "was created") {
		t.Errorf("storage message = %q", s.Message)
	}
	if r := statusOf(t, rep, "routes"); len(r.Details) != 2 {
		t.Errorf("routes details = %q, want one line per default provider", r.Details)
	}

	// Text output: one line per check and a summary; a second run finds
	// the file that the first one created.
	r := runCLI(t, env, "", "doctor")
	r.expect(t, 0)
	for _, want := range []string{"ok    config ", "ok    storage ", "ok    otel ", "5 ok, 0 warnings, 0 failed, 0 skipped"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "was created") {
		t.Errorf("second run claims it created the database again")
	}
}

// An endpoint written without a scheme, as collectors document it, is
// dialled as the exporters would reach it (plain HTTP with insecure).
func TestDoctorOTLPEndpointWithoutScheme(t *testing.T) {
	collector, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer collector.Close()
	path := writeFile(t, "otel.yaml", "observability:\n  otel:\n    enabled: true\n    insecure: true\n    endpoint: "+collector.Addr().String()+"\n")
	env := map[string]string{"ONGOINGAI_HOST": "127.0.0.1", "ONGOINGAI_STORAGE_PATH": filepath.Join(t.TempDir(), "gw.db")}
	rep := runDoctorJSON(t, env, 0, "--config", path)
	if c := statusOf(t, rep, "otel"); c.Status != statusOK {
		t.Errorf("otel = %+v, want ok", c)
	}
}

func TestDoctorPostgres(t *testing.T) {
	env := map[string]string{
		"ONGOINGAI_HOST":           "127.0.0.1",
		"ONGOINGAI_STORAGE_DRIVER": "postgres",
		"ONGOINGAI_STORAGE_DSN":    testdb.PostgresDSN(t),
	}
	rep := runDoctorJSON(t, env, 0)
	if s := statusOf(t, rep, "storage"); s.Status != statusOK || !strings.HasPrefix(s.Message, "postgres ") {
		t.Errorf("storage = %+v", s)
	}
}

func TestDoctorFailures(t *testing.T) {
	t.Run("unreachable postgres, password masked", func(t *testing.T) {
		env := map[string]string{
			"ONGOINGAI_HOST":           "127.0.0.1",
			"ONGOINGAI_STORAGE_DRIVER": "postgres",
			"ONGOINGAI_STORAGE_DSN":    "postgres://gw:hunter2secret@" + closedAddr(t) + "/gw?sslmode=disable",
		}
		r := runCLI(t, env, "", "doctor")
		r.expect(t, 1)
		if !strings.Contains(r.stdout, "fail  storage  postgres postgres://gw:********@") {
			t.Errorf("storage failure not reported:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, "hunter2secret") {
			t.Errorf("the DSN password was printed:\n%s", r.stdout)
		}
	})
	t.Run("collector down", func(t *testing.T) {
		env := map[string]string{
			"ONGOINGAI_HOST":              "127.0.0.1",
			"ONGOINGAI_STORAGE_PATH":      filepath.Join(t.TempDir(), "gw.db"),
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + closedAddr(t),
		}
		rep := runDoctorJSON(t, env, 1)
		if c := statusOf(t, rep, "otel"); c.Status != statusFail || !strings.Contains(c.Message, "not reachable") {
			t.Errorf("otel = %+v", c)
		}
		if rep.OK {
			t.Errorf("report ok despite a failed check")
		}
	})
	t.Run("invalid config skips the rest", func(t *testing.T) {
		path := writeFile(t, "bad.yaml", "server:\n  port: 0\n")
		rep := runDoctorJSON(t, nil, 1, "--config", path)
		if c := statusOf(t, rep, "config"); c.Status != statusFail || len(c.Details) != 1 || c.Details[0] != "server.port: must be between 1 and 65535" {
			t.Errorf("config = %+v", c)
		}
		for _, name := range []string{"storage", "routes", "auth", "otel"} {
			if c := statusOf(t, rep, name); c.Status != statusSkip {
				t.Errorf("%s = %s after an invalid config, want skip", name, c.Status)
			}
		}
	})
}

// Auth off on a public address fails the auth check (and the exit code):
// it is the documented default, but a deploy script asking "is this safe?"
// must hear no. --allow-open makes it a warning for a gateway kept private
// another way, and a single warning reads as one.
func TestDoctorFailsOnOpenGatewayUnlessAllowed(t *testing.T) {
	env := map[string]string{
		"ONGOINGAI_STORAGE_PATH": filepath.Join(t.TempDir(), "gw.db"),
	}
	rep := runDoctorJSON(t, env, exitFail)
	c := statusOf(t, rep, "auth")
	for _, want := range []string{"0.0.0.0", "auth.enabled: true", "server.host: 127.0.0.1", "--allow-open"} {
		if c.Status != statusFail || !strings.Contains(c.Message, want) {
			t.Errorf("auth = %+v, want a failure saying %q", c, want)
		}
	}
	if o := statusOf(t, rep, "otel"); o.Status != statusSkip {
		t.Errorf("otel = %+v, want skip when export is off", o)
	}

	rep = runDoctorJSON(t, env, exitOK, "--allow-open")
	if c := statusOf(t, rep, "auth"); c.Status != statusWarn || !strings.Contains(c.Message, "auth.enabled: true") {
		t.Errorf("with --allow-open: auth = %+v, want a warning", c)
	}
	r := runCLI(t, env, "", "doctor", "--allow-open")
	r.expect(t, exitOK)
	if !strings.Contains(r.stdout, "\n3 ok, 1 warning, 0 failed, 1 skipped\n") {
		t.Errorf("text summary:\n%s", r.stdout)
	}

	// Auth on, or a loopback address, is fine without the flag.
	for name, extra := range map[string]map[string]string{
		"auth on":  {"ONGOINGAI_AUTH_ENABLED": "true"},
		"loopback": {"ONGOINGAI_HOST": "127.0.0.1"},
	} {
		e := map[string]string{"ONGOINGAI_STORAGE_PATH": env["ONGOINGAI_STORAGE_PATH"]}
		for k, v := range extra {
			e[k] = v
		}
		if c := statusOf(t, runDoctorJSON(t, e, exitOK), "auth"); c.Status != statusOK {
			t.Errorf("%s: auth = %+v, want ok", name, c)
		}
	}
}

func TestDoctorUsage(t *testing.T) {
	r := runCLI(t, nil, "", "doctor", "--format", "yaml")
	r.expect(t, 2)
	r = runCLI(t, nil, "", "help", "doctor")
	r.expect(t, 0)
	if !strings.Contains(r.stdout, "ongoingai doctor [--config FILE]") {
		t.Errorf("help = %q", r.stdout)
	}
}
