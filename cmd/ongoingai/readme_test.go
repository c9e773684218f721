package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
)

// The README is checked as it is written: every YAML block loads through
// the real config loader (so a key someone documents is a key the gateway
// accepts, whoever adds it), every commented-out setting in them still
// loads once uncommented, and every ongoingai command in its code blocks
// runs, in order, against a temporary SQLite store, without the network.

// readme returns the README's text.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// codeBlock is one code block of the README: a fenced one with its
// language, or an indented one (lang "").
type codeBlock struct {
	lang  string
	lines []string
	line  int // 1-based line of its first line in the README
}

// codeBlocks splits markdown into its code blocks: fenced (```lang) and
// indented by four spaces after a blank line.
func codeBlocks(md string) []codeBlock {
	var blocks []codeBlock
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if lang, ok := strings.CutPrefix(l, "```"); ok {
			b := codeBlock{lang: strings.TrimSpace(lang), line: i + 2}
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				b.lines = append(b.lines, lines[i])
			}
			blocks = append(blocks, b)
			continue
		}
		if strings.HasPrefix(l, "    ") && (i == 0 || strings.TrimSpace(lines[i-1]) == "") {
			b := codeBlock{line: i + 1}
			for ; i < len(lines) && (strings.HasPrefix(lines[i], "    ") || strings.TrimSpace(lines[i]) == ""); i++ {
				b.lines = append(b.lines, strings.TrimPrefix(lines[i], "    "))
			}
			blocks = append(blocks, b)
		}
	}
	return blocks
}

var commentedSetting = regexp.MustCompile(`^(\s*)#\s?([a-z_]+:(\s.*)?)$`)

func TestReadmeYAMLLoads(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	load := func(t *testing.T, what, text string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "ongoingai.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(path, true, noEnv); err != nil {
			t.Errorf("%s does not load: %v\n%s", what, err, text)
		}
	}
	n := 0
	for _, b := range codeBlocks(readme(t)) {
		if b.lang != "yaml" {
			continue
		}
		n++
		what := fmt.Sprintf("the YAML block at README.md:%d", b.line)
		load(t, what, strings.Join(b.lines, "\n"))
		for i, l := range b.lines {
			m := commentedSetting.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			variant := append([]string(nil), b.lines...)
			variant[i] = m[1] + m[2]
			load(t, fmt.Sprintf("%s with line %d uncommented", what, b.line+i), strings.Join(variant, "\n"))
		}
	}
	if n < 2 {
		t.Fatalf("found %d YAML blocks in the README; the configuration example and the Team mode block were expected", n)
	}
}

// readmeCommand is one ongoingai command line from the README.
type readmeCommand struct {
	line     int
	args     []string          // after "ongoingai"
	env      map[string]string // VAR=value assignments before it
	wantCode int               // 0, or N from a "# exits N" comment
}

var (
	substitution = regexp.MustCompile(`\$\((ongoingai [^)]*)\)`)
	exitsComment = regexp.MustCompile(`exits (\d+)`)
	envAssign    = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=(.*)$`)
)

// readmeCommands finds every ongoingai command in the README's shell code
// blocks: lines that run it (also as go run ./cmd/ongoingai, after VAR=value
// assignments) and $(ongoingai ...) substitutions.
func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	var cmds []readmeCommand
	for _, b := range codeBlocks(readme(t)) {
		if b.lang != "" && b.lang != "sh" && b.lang != "bash" && b.lang != "shell" {
			continue
		}
		for i := 0; i < len(b.lines); i++ {
			line, at := b.lines[i], b.line+i
			for strings.HasSuffix(line, "\\") && i+1 < len(b.lines) {
				i++
				line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(b.lines[i])
			}
			line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
			words, comment := shellWords(line)
			want := 0
			if m := exitsComment.FindStringSubmatch(comment); m != nil {
				want, _ = strconv.Atoi(m[1])
			}
			env := map[string]string{}
			for len(words) > 0 {
				m := envAssign.FindStringSubmatch(words[0])
				if m == nil {
					break
				}
				env[m[1]] = m[2]
				words = words[1:]
			}
			switch {
			case len(words) > 0 && words[0] == "ongoingai":
				cmds = append(cmds, readmeCommand{at, words[1:], env, want})
			case len(words) > 2 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/ongoingai":
				cmds = append(cmds, readmeCommand{at, words[3:], env, want})
			default:
				for _, m := range substitution.FindAllStringSubmatch(line, -1) {
					w, _ := shellWords(m[1])
					cmds = append(cmds, readmeCommand{at, w[1:], nil, 0})
				}
			}
		}
	}
	return cmds
}

// shellWords splits a command line as a POSIX shell would, as far as the
// README needs: quotes, backslashes, a # comment, and the end of the first
// command at an unquoted |, &, ; or &&.
func shellWords(line string) (words []string, comment string) {
	var (
		cur    strings.Builder
		inWord bool
		quote  rune
	)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case r == ' ' || r == '\t':
			flush()
		case r == '#' && !inWord:
			flush()
			return words, string(rs[i:])
		case r == '|' || r == '&' || r == ';':
			flush()
			if j := strings.Index(string(rs[i:]), "#"); j >= 0 {
				comment = string(rs[i:])[j:]
			}
			return words, comment
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words, comment
}

func TestReadmeCommandsRun(t *testing.T) {
	cmds := readmeCommands(t)
	seen := map[string]bool{}
	for _, c := range cmds {
		if len(c.args) > 0 {
			seen[c.args[0]] = true
		}
	}
	for _, want := range []string{"serve", "shell-init", "keys", "report", "doctor"} {
		if !seen[want] {
			t.Fatalf("no `ongoingai %s` example found in the README's code blocks (found %v): the extraction is broken", want, seen)
		}
	}

	// One working directory for the whole walk: the default store,
	// ./data/ongoingai.db, is created by the first command that opens it
	// and read by the later ones, as for a reader following the README.
	dir := t.TempDir()
	t.Chdir(dir)
	prev := slog.Default() // serve sets it
	t.Cleanup(func() { slog.SetDefault(prev) })
	port := freePort(t)
	var lastKeyID string
	keyID := regexp.MustCompile(`gk_[A-Za-z0-9]+`)

	for _, cmd := range cmds {
		args := make([]string, len(cmd.args))
		for i, a := range cmd.args {
			if a == "KEY_ID" { // documented as the id keys create prints
				if lastKeyID == "" {
					t.Fatalf("README.md:%d uses KEY_ID before any key was created", cmd.line)
				}
				a = lastKeyID
			}
			args[i] = a
		}
		// The reader's environment: the README's own assignments, and a
		// free port instead of 8080 so the test runs beside anything.
		env := map[string]string{"ONGOINGAI_PORT": strconv.Itoa(port)}
		for k, v := range cmd.env {
			env[k] = v
		}
		var stdout, stderr bytes.Buffer
		c := &cli{
			stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			getenv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			environ: func() []string { return []string{"PATH=" + os.Getenv("PATH")} },
		}
		name := "ongoingai " + strings.Join(cmd.args, " ")
		var code int
		if len(args) > 0 && args[0] == "serve" {
			code = serveUntilHealthy(t, c, args[1:], port, &stderr)
		} else {
			code = c.run(args)
		}
		t.Logf("README.md:%d: %s: exit %d", cmd.line, name, code)
		if code != cmd.wantCode {
			t.Fatalf("README.md:%d: %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s",
				cmd.line, name, code, cmd.wantCode, stdout.String(), stderr.String())
		}
		if len(args) > 1 && args[0] == "keys" && args[1] == "create" {
			lastKeyID = keyID.FindString(stdout.String())
		}
	}
}

// serveUntilHealthy runs the serve command until it answers /api/health,
// then stops it as Ctrl-C would and returns its exit code.
func serveUntilHealthy(t *testing.T, c *cli, args []string, port int, stderr *bytes.Buffer) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan int, 1)
	go func() { exited <- runServe(ctx, c, args) }()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/api/health"
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case code := <-exited:
			return code // failed to start
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return <-exited
			}
		}
		if time.Now().After(deadline) {
			cancel()
			<-exited
			t.Fatalf("serve did not answer within the deadline")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The README runs ongoingai from PATH after `make build`: the directory it
// puts on PATH is where the Makefile writes the binary.
func TestReadmeBuildPathMatchesMakefile(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	md := readme(t)
	if !strings.Contains(string(mk), "-o bin/ongoingai ./cmd/ongoingai") ||
		!strings.Contains(md, "make build") || !strings.Contains(md, `export PATH="$PWD/bin:$PATH"`) {
		t.Errorf("make build and the README's PATH disagree: the Makefile must write bin/ongoingai and the README put bin on PATH")
	}
}
