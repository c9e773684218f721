package main

import (
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
)

func TestConfigValidateDefaults(t *testing.T) {
	r := runCLI(t, nil, "", "config", "validate")
	r.expect(t, 0)
	if r.stdout != "config is valid\n" {
		t.Fatalf("stdout=%q", r.stdout)
	}
}

func TestConfigValidateReportsEveryField(t *testing.T) {
	path := writeFile(t, "bad.yaml", `
server:
  port: 0
providers:
  groq:
    upstream: api.groq.com
    prefix: /openai/groq
`)
	r := runCLI(t, nil, "", "config", "validate", "--config", path)
	r.expect(t, 1)
	want := `ongoingai config validate: 3 configuration errors:
  server.port: must be between 1 and 65535
  providers.groq.upstream: must be an absolute URL with scheme and host
  providers.groq.prefix: overlaps providers.openai.prefix "/openai"
`
	if r.stderr != want || r.stdout != "config is invalid\n" {
		t.Fatalf("stderr=\n%s\nwant\n%s\nstdout=%q", r.stderr, want, r.stdout)
	}
}

func TestConfigValidateSourceErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"missing explicit file", nil, []string{"--config", "/nonexistent/ongoingai.yaml"},
			"ongoingai config validate: read config: open /nonexistent/ongoingai.yaml: no such file or directory\n"},
		{"malformed env", map[string]string{"ONGOINGAI_PORT": "abc"}, nil,
			"ongoingai config validate: ONGOINGAI_PORT: must be an integer, got \"abc\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, "", append([]string{"config", "validate"}, tc.args...)...)
			r.expect(t, 1)
			if r.stderr != tc.want {
				t.Fatalf("stderr=%q, want %q", r.stderr, tc.want)
			}
		})
	}
}

func TestConfigValidateUnknownKey(t *testing.T) {
	path := writeFile(t, "c.yaml", "server:\n  hots: x\n")
	r := runCLI(t, nil, "", "config", "validate", "--config", path)
	r.expect(t, 1)
	if want := path + ":2: server.hots: unknown key"; !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr=%q, want it to contain %q", r.stderr, want)
	}
}

func TestConfigUsageErrors(t *testing.T) {
	cases := [][]string{
		{"config"},
		{"config", "lint"},
		{"config", "validate", "--bogus"},
		{"config", "show", "extra"},
	}
	for _, args := range cases {
		r := runCLI(t, nil, "", args...)
		r.expect(t, 2)
		if !strings.Contains(r.stderr, "Usage: ongoingai config") {
			t.Errorf("%v: stderr=%q", args, r.stderr)
		}
	}
}

func TestConfigShowMasksSecrets(t *testing.T) {
	path := writeFile(t, "c.yaml", `
storage:
  driver: postgres
  dsn: postgres://gw:dsn-secret@db/gw
auth:
  keys:
    - id: ci
      token: token-secret
      org_id: o
      workspace_id: w
      role: developer
`)
	r := runCLI(t, map[string]string{"ONGOINGAI_PII_HASH_SALT": "salt-secret", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=hdr-secret"},
		"", "config", "show", "--config", path)
	r.expect(t, 0)
	for _, secret := range []string{"dsn-secret", "token-secret", "salt-secret", "hdr-secret"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("secret %q printed:\n%s", secret, r.stdout)
		}
	}
	for _, want := range []string{"dsn: postgres://gw:********@db/gw", "token: '********'", "hash_salt: '********'", "api-key: '********'"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// The printed configuration is itself a config file that loads to the same
// effective configuration, so "config show > ongoingai.yaml" is a way to
// start one.
func TestConfigShowOutputLoadsBack(t *testing.T) {
	env := map[string]string{"ONGOINGAI_PORT": "9100", "ONGOINGAI_OPENAI_UPSTREAM": "http://localhost:4000"}
	first := runCLI(t, env, "", "config", "show")
	first.expect(t, 0)

	path := writeFile(t, "shown.yaml", first.stdout)
	loaded, err := config.Load(path, true, nil)
	if err != nil {
		t.Fatalf("shown config does not load: %v\n%s", err, first.stdout)
	}
	if loaded.Server.Port != 9100 || loaded.Providers["openai"].Upstream != "http://localhost:4000" {
		t.Fatalf("loaded %+v", loaded)
	}
	second := runCLI(t, nil, "", "config", "show", "--config", path)
	second.expect(t, 0)
	if second.stdout != first.stdout {
		t.Fatalf("show is not stable:\nfirst\n%s\nsecond\n%s", first.stdout, second.stdout)
	}
}

func TestConfigShowInvalidStillShows(t *testing.T) {
	path := writeFile(t, "c.yaml", "server:\n  port: 0\n")
	r := runCLI(t, nil, "", "config", "show", "--config", path)
	r.expect(t, 1)
	if !strings.Contains(r.stdout, "port: 0") {
		t.Fatalf("stdout=%q", r.stdout)
	}
	if r.stderr != "ongoingai config show: server.port: must be between 1 and 65535\n" {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func TestConfigShowUnreadable(t *testing.T) {
	r := runCLI(t, nil, "", "config", "show", "--config", "/nonexistent.yaml")
	r.expect(t, 1)
	if r.stdout != "" || !strings.Contains(r.stderr, "/nonexistent.yaml") {
		t.Fatalf("stdout=%q stderr=%q", r.stdout, r.stderr)
	}
}

func TestNewLogger(t *testing.T) {
	var buf strings.Builder
	newLogger(&buf, config.Log{Level: "warn", Format: "json"}).Info("hidden")
	newLogger(&buf, config.Log{Level: "warn", Format: "json"}).Warn("shown", "k", 1)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "{") || !strings.Contains(lines[0], `"msg":"shown"`) {
		t.Fatalf("json logger wrote %q", buf.String())
	}

	buf.Reset()
	newLogger(&buf, config.Log{Level: "debug", Format: "text"}).Debug("dbg")
	if !strings.HasPrefix(buf.String(), "time=") || !strings.Contains(buf.String(), "msg=dbg") {
		t.Fatalf("text logger wrote %q", buf.String())
	}
}

func TestServeArgumentErrors(t *testing.T) {
	invalid := writeFile(t, "c.yaml", "storage:\n  driver: mysql\n")
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown flag", []string{"--port", "1"}, 2, "ongoingai serve: flag provided but not defined: --port\n"},
		{"positional argument", []string{"now"}, 2, "ongoingai serve: unexpected argument \"now\"\n"},
		{"missing explicit config", []string{"--config", "/nonexistent.yaml"}, 1,
			"ongoingai serve: read config: open /nonexistent.yaml: no such file or directory\n"},
		{"invalid config", []string{"--config", invalid}, 1,
			"ongoingai serve: storage.driver: must be \"sqlite\" or \"postgres\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, "", append([]string{"serve"}, tc.args...)...)
			r.expect(t, tc.code)
			if !strings.HasPrefix(r.stderr, tc.stderr) {
				t.Fatalf("stderr=%q, want it to start with %q", r.stderr, tc.stderr)
			}
		})
	}
}

func TestCommandTableHasUniqueNames(t *testing.T) {
	seen := map[string]bool{}
	for _, cmd := range commandTable() {
		if seen[cmd.name] || cmd.run == nil || cmd.summary == "" {
			t.Errorf("bad command table entry %+v", cmd.name)
		}
		seen[cmd.name] = true
	}
}

// A PII mode the gateway does not enforce is refused by config validate,
// naming the field, when it comes from the environment too; so is
// redact_storage when nothing is captured to redact.
func TestConfigValidateRefusesUnenforcedPIIMode(t *testing.T) {
	r := runCLI(t, map[string]string{"ONGOINGAI_PII_MODE": "mask"}, "", "config", "validate")
	r.expect(t, 1)
	want := `pii.mode: must be one of "off", "redact_storage", "redact_upstream", "block", got "mask"`
	if r.stdout != "config is invalid\n" || !strings.Contains(r.stderr, want) {
		t.Errorf("stdout=%q stderr=%q, want %q", r.stdout, r.stderr, want)
	}
	r = runCLI(t, map[string]string{"ONGOINGAI_PII_MODE": "redact_storage"}, "", "config", "validate")
	r.expect(t, 1)
	want = `pii.mode: redact_storage needs tracing.capture_bodies or tracing.capture_headers`
	if r.stdout != "config is invalid\n" || !strings.Contains(r.stderr, want) {
		t.Errorf("stdout=%q stderr=%q, want %q", r.stdout, r.stderr, want)
	}
}
