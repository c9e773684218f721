package main

import (
	"strings"
	"testing"
)

func TestShellInit(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		yaml string
		args []string
		want string
	}{
		{"defaults, bash", nil, "", nil,
			"export OPENAI_BASE_URL=\"http://localhost:8080/openai/v1\"\n" +
				"export ANTHROPIC_BASE_URL=\"http://localhost:8080/anthropic\"\n"},
		{"zsh is bash syntax", nil, "", []string{"--shell", "zsh"},
			"export OPENAI_BASE_URL=\"http://localhost:8080/openai/v1\"\n" +
				"export ANTHROPIC_BASE_URL=\"http://localhost:8080/anthropic\"\n"},
		{"fish", nil, "", []string{"--shell", "fish"},
			"set -gx OPENAI_BASE_URL \"http://localhost:8080/openai/v1\"\n" +
				"set -gx ANTHROPIC_BASE_URL \"http://localhost:8080/anthropic\"\n"},
		{"host and port from the file, custom prefixes", nil,
			"server:\n  host: 10.1.2.3\n  port: 9000\nproviders:\n  openai:\n    prefix: /oai\n  anthropic:\n    prefix: /v2/claude\n", nil,
			"export OPENAI_BASE_URL=\"http://10.1.2.3:9000/oai/v1\"\n" +
				"export ANTHROPIC_BASE_URL=\"http://10.1.2.3:9000/v2/claude\"\n"},
		{"IPv6 wildcard is localhost", map[string]string{"ONGOINGAI_HOST": "::"}, "", nil,
			"export OPENAI_BASE_URL=\"http://localhost:8080/openai/v1\"\n" +
				"export ANTHROPIC_BASE_URL=\"http://localhost:8080/anthropic\"\n"},
		{"IPv6 loopback is bracketed", map[string]string{"ONGOINGAI_HOST": "::1", "ONGOINGAI_PORT": "8443"}, "", nil,
			"export OPENAI_BASE_URL=\"http://[::1]:8443/openai/v1\"\n" +
				"export ANTHROPIC_BASE_URL=\"http://[::1]:8443/anthropic\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"shell-init"}, tc.args...)
			if tc.yaml != "" {
				args = append(args, "--config", writeFile(t, "c.yaml", tc.yaml))
			}
			r := runCLI(t, tc.env, "", args...)
			r.expect(t, 0)
			// The codex function is checked by running it
			// (TestShellInitCodexFunctionMatchesWrap); here, the exports.
			exports, codexLine := splitCodexFunc(r.stdout)
			if exports != tc.want {
				t.Fatalf("stdout=\n%s\nwant\n%s", exports, tc.want)
			}
			if !strings.Contains(codexLine, "command codex ") {
				t.Fatalf("no codex function in\n%s", r.stdout)
			}
		})
	}
}

func TestShellInitEmptyHostIsLocalhost(t *testing.T) {
	path := writeFile(t, "c.yaml", "server:\n  host: \"\"\n")
	r := runCLI(t, nil, "", "shell-init", "--config", path)
	r.expect(t, 0)
	if !strings.HasPrefix(r.stdout, "export OPENAI_BASE_URL=\"http://localhost:8080/openai/v1\"\n") {
		t.Fatalf("stdout=%q", r.stdout)
	}
}

func TestShellInitErrors(t *testing.T) {
	r := runCLI(t, nil, "", "shell-init", "--shell", "powershell")
	r.expect(t, 2)
	if r.stderr != "ongoingai shell-init: --shell must be bash, zsh or fish, got \"powershell\"\n" {
		t.Fatalf("stderr=%q", r.stderr)
	}
	r = runCLI(t, map[string]string{"ONGOINGAI_PORT": "99999"}, "", "shell-init")
	r.expect(t, 1)
	if r.stdout != "" || r.stderr != "ongoingai shell-init: server.port: must be between 1 and 65535\n" {
		t.Fatalf("stdout=%q stderr=%q", r.stdout, r.stderr)
	}
}

func TestDoubleQuote(t *testing.T) {
	if got, want := doubleQuote("a\"b$c`d\\e", "\\\"$`"), "\"a\\\"b\\$c\\`d\\\\e\""; got != want {
		t.Fatalf("bash: got %s, want %s", got, want)
	}
	if got, want := doubleQuote("a$`b", "\\\"$"), "\"a\\$`b\""; got != want {
		t.Fatalf("fish: got %s, want %s", got, want)
	}
}

// splitCodexFunc separates shell-init's last line, the codex function, from
// the exports before it.
func splitCodexFunc(out string) (exports, codexLine string) {
	i := strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")
	return out[:i+1], out[i+1:]
}
