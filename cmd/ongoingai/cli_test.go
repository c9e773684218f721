package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/version"
)

// result is what one CLI invocation produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in process, in an empty working directory (so no
// stray ongoingai.yaml is picked up), with exactly the given environment
// for the config overlay and only PATH for wrapped programs.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	c := &cli{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		environ: func() []string { return []string{"PATH=" + os.Getenv("PATH")} },
	}
	code := c.run(args)
	return result{code, stdout.String(), stderr.String()}
}

// writeFile writes content to a new file in a fresh directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (r result) expect(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func TestRunEntryPointUsesGivenStreams(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"help"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(stdout.String(), "Usage:") || stderr.Len() != 0 {
		t.Fatalf("stdout=%q stderr=%q", stdout.String(), stderr.String())
	}
}

func TestNoCommandPrintsUsageToStderr(t *testing.T) {
	r := runCLI(t, nil, "")
	r.expect(t, 2)
	if r.stdout != "" || !strings.Contains(r.stderr, "Usage:") {
		t.Fatalf("stdout=%q stderr=%q", r.stdout, r.stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	r := runCLI(t, nil, "", "frobnicate")
	r.expect(t, 2)
	if !strings.Contains(r.stderr, `unknown command "frobnicate"`) || !strings.Contains(r.stderr, "Usage:") {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		r := runCLI(t, nil, "", arg)
		r.expect(t, 0)
		if r.stderr != "" {
			t.Fatalf("%s: stderr=%q", arg, r.stderr)
		}
		for _, cmd := range commandTable() {
			if !strings.Contains(r.stdout, "  "+cmd.name+" ") {
				t.Errorf("%s: usage does not list %q:\n%s", arg, cmd.name, r.stdout)
			}
		}
	}
}

func TestHelpForOneCommand(t *testing.T) {
	r := runCLI(t, nil, "", "help", "wrap")
	r.expect(t, 0)
	if !strings.HasPrefix(r.stdout, "Usage: ongoingai wrap [--config FILE] [--key TOKEN] -- COMMAND") || !strings.Contains(r.stdout, "-config FILE") {
		t.Fatalf("stdout=%q", r.stdout)
	}
	r = runCLI(t, nil, "", "help", "config")
	r.expect(t, 0)
	if !strings.Contains(r.stdout, "validate") || !strings.Contains(r.stdout, "show") {
		t.Fatalf("stdout=%q", r.stdout)
	}
	r = runCLI(t, nil, "", "help", "nope")
	r.expect(t, 2)
	if !strings.Contains(r.stderr, `unknown command "nope"`) {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func TestCommandHelpFlagGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"serve", "-h"}, {"shell-init", "--help"}, {"config", "validate", "-h"}, {"version", "-h"}} {
		r := runCLI(t, nil, "", args...)
		r.expect(t, 0)
		if !strings.HasPrefix(r.stdout, "Usage: ongoingai ") || r.stderr != "" {
			t.Fatalf("%v: stdout=%q stderr=%q", args, r.stdout, r.stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		r := runCLI(t, nil, "", arg)
		r.expect(t, 0)
		for _, want := range []string{"ongoingai " + version.Version + "\n", "commit: ", "built:  ", "go:     go", "schema: "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: stdout %q lacks %q", arg, r.stdout, want)
			}
		}
	}
	r := runCLI(t, nil, "", "version", "--json")
	r.expect(t, 0)
	var info buildInfo
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("version --json: %v\n%s", err, r.stdout)
	}
	// The schema version is the highest migration either engine carries.
	for _, fsys := range []fs.FS{migrations.Postgres, migrations.SQLite} {
		if latest, err := migrate.Latest(fsys); err != nil || info.Schema != latest || latest == 0 {
			t.Errorf("version --json schema = %d, highest migration %d (%v)", info.Schema, latest, err)
		}
	}
	if info.Version != version.Version || !strings.HasPrefix(info.Go, "go") || info.Commit == "" || info.Date == "" {
		t.Errorf("version --json = %+v", info)
	}
	r = runCLI(t, nil, "", "version", "extra")
	r.expect(t, 2)
	if !strings.Contains(r.stderr, `unexpected argument "extra"`) {
		t.Fatalf("stderr=%q", r.stderr)
	}
}
