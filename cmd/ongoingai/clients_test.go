package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// standIn writes an executable named name that records its arguments (one
// per line) and its whole environment, and returns its path and a reader
// of what it recorded.
func standIn(t *testing.T, name string) (path string, recorded func() (args []string, env map[string]string)) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, name)
	script := "#!/bin/sh\n" +
		"for a in \"$@\"; do printf '%s\\0' \"$a\"; done > '" + path + ".args'\n" +
		"env -0 > '" + path + ".env'\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, func() ([]string, map[string]string) {
		t.Helper()
		a, err := os.ReadFile(path + ".args")
		if err != nil {
			t.Fatal(err)
		}
		e, err := os.ReadFile(path + ".env")
		if err != nil {
			t.Fatal(err)
		}
		var args []string
		if len(a) > 0 {
			args = strings.Split(strings.TrimSuffix(string(a), "\x00"), "\x00")
		}
		env := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSuffix(string(e), "\x00"), "\x00") {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return args, env
	}
}

// codexOverrides are the -c overrides wrap gives Codex on a default config.
var codexOverrides = []string{
	"-c", `model_provider="ongoingai"`,
	"-c", `model_providers.ongoingai.name="OngoingAI gateway"`,
	"-c", `model_providers.ongoingai.base_url="http://localhost:8080/openai/v1"`,
	"-c", `model_providers.ongoingai.wire_api="responses"`,
	"-c", `model_providers.ongoingai.env_key="OPENAI_API_KEY"`,
}

func TestWrapCodexInOpenMode(t *testing.T) {
	codex, recorded := standIn(t, "codex")
	r := runCLI(t, nil, "", "wrap", "--", codex, "exec", "fix the bug", "--json")
	r.expect(t, 0)
	args, env := recorded()
	want := append(append([]string{}, codexOverrides...), "exec", "fix the bug", "--json")
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("codex args\n got %q\nwant %q", args, want)
	}
	if env["OPENAI_BASE_URL"] != "http://localhost:8080/openai/v1" || env["ANTHROPIC_BASE_URL"] != "http://localhost:8080/anthropic" {
		t.Errorf("base URLs %q %q", env["OPENAI_BASE_URL"], env["ANTHROPIC_BASE_URL"])
	}
	for _, name := range []string{gatewayKeyEnv, "ANTHROPIC_CUSTOM_HEADERS"} {
		if v, ok := env[name]; ok {
			t.Errorf("open mode set %s=%q", name, v)
		}
	}
}

func TestWrapCodexInTeamMode(t *testing.T) {
	codex, recorded := standIn(t, "codex")
	cfg := writeFile(t, "c.yaml", "auth:\n  enabled: true\n  header: X-Team-Key\n")
	r := runCLI(t, nil, "", "wrap", "--config", cfg, "--key", "ogw_team_token", "--", codex)
	r.expect(t, 0)
	args, env := recorded()
	want := append(append([]string{}, codexOverrides...),
		"-c", `model_providers.ongoingai.env_http_headers={"X-Team-Key"="ONGOINGAI_GATEWAY_KEY"}`)
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("codex args\n got %q\nwant %q", args, want)
	}
	if env[gatewayKeyEnv] != "ogw_team_token" {
		t.Errorf("%s = %q", gatewayKeyEnv, env[gatewayKeyEnv])
	}
	if env["ANTHROPIC_CUSTOM_HEADERS"] != "X-Team-Key: ogw_team_token" {
		t.Errorf("ANTHROPIC_CUSTOM_HEADERS = %q", env["ANTHROPIC_CUSTOM_HEADERS"])
	}
}

// Claude Code needs no arguments: its base URL and the gateway key header
// come from the environment, here with the key from ONGOINGAI_GATEWAY_KEY.
func TestWrapClaudeInTeamModeWithKeyFromEnvironment(t *testing.T) {
	claude, recorded := standIn(t, "claude")
	r := runCLI(t, map[string]string{gatewayKeyEnv: "ogw_from_env"}, "", "wrap", "--", claude, "-p", "hello")
	r.expect(t, 0)
	args, env := recorded()
	if !reflect.DeepEqual(args, []string{"-p", "hello"}) {
		t.Fatalf("claude args %q: wrap must not touch them", args)
	}
	if env["ANTHROPIC_BASE_URL"] != "http://localhost:8080/anthropic" {
		t.Errorf("ANTHROPIC_BASE_URL = %q", env["ANTHROPIC_BASE_URL"])
	}
	if env["ANTHROPIC_CUSTOM_HEADERS"] != "X-OngoingAI-Gateway-Key: ogw_from_env" {
		t.Errorf("ANTHROPIC_CUSTOM_HEADERS = %q", env["ANTHROPIC_CUSTOM_HEADERS"])
	}
}

func TestCustomHeadersKeepsOtherLines(t *testing.T) {
	got := customHeaders("X-Trace: 1\nx-ongoingai-gateway-key: old\n", "X-OngoingAI-Gateway-Key", "new")
	if want := "X-Trace: 1\nX-OngoingAI-Gateway-Key: new"; got != want {
		t.Errorf("customHeaders = %q, want %q", got, want)
	}
}

func TestTOMLString(t *testing.T) {
	if got, want := tomlString("a\"b\\c\n"), `"a\"b\\c\u000A"`; got != want {
		t.Errorf("tomlString = %s, want %s", got, want)
	}
}

// The codex function shell-init prints runs Codex with exactly wrap's
// overrides, in bash and in team mode reading the key at call time.
func TestShellInitCodexFunctionMatchesWrap(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run the printed function: %v", err)
	}
	codex, recorded := standIn(t, "codex")
	cfg := writeFile(t, "c.yaml", "auth:\n  enabled: true\n")
	r := runCLI(t, nil, "", "shell-init", "--config", cfg)
	r.expect(t, 0)
	// As in a shell profile: the key is set, then the exports evaluated.
	script := "export " + gatewayKeyEnv + "=ogw_late\n" + r.stdout + "\ncodex exec 'it'\\''s fine'\n"
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = []string{"PATH=" + filepath.Dir(codex) + ":" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v\n%s\nscript:\n%s", err, out, script)
	}
	args, env := recorded()
	want := append(append([]string{}, codexOverrides...),
		"-c", `model_providers.ongoingai.env_http_headers={"X-OngoingAI-Gateway-Key"="ONGOINGAI_GATEWAY_KEY"}`,
		"exec", "it's fine")
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("codex args\n got %q\nwant %q", args, want)
	}
	if env["ANTHROPIC_CUSTOM_HEADERS"] != "X-OngoingAI-Gateway-Key: ogw_late" {
		t.Errorf("ANTHROPIC_CUSTOM_HEADERS = %q: the key must be read when the exports are evaluated", env["ANTHROPIC_CUSTOM_HEADERS"])
	}
}
