package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/ongoingai/gateway/internal/app"
)

func TestWrapPassesEnvStdioAndExitCode(t *testing.T) {
	r := runCLI(t, map[string]string{"ONGOINGAI_PORT": "9001"}, "from stdin\n",
		"wrap", "--", "sh", "-c", `echo "$OPENAI_BASE_URL $ANTHROPIC_BASE_URL"; cat; echo oops >&2; exit 7`)
	r.expect(t, 7)
	if want := "http://localhost:9001/openai/v1 http://localhost:9001/anthropic\nfrom stdin\n"; r.stdout != want {
		t.Fatalf("stdout=%q, want %q", r.stdout, want)
	}
	if r.stderr != "oops\n" {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func TestWrapWithoutDoubleDash(t *testing.T) {
	r := runCLI(t, nil, "", "wrap", "sh", "-c", "exit 0")
	r.expect(t, 0)
}

func TestWrapConfigFlagBeforeCommand(t *testing.T) {
	path := writeFile(t, "c.yaml", "providers:\n  anthropic:\n    prefix: /claude\n")
	r := runCLI(t, nil, "", "wrap", "--config", path, "--", "sh", "-c", `echo "$ANTHROPIC_BASE_URL"`)
	r.expect(t, 0)
	if r.stdout != "http://localhost:8080/claude\n" {
		t.Fatalf("stdout=%q", r.stdout)
	}
}

func TestWrapCommandNotFound(t *testing.T) {
	r := runCLI(t, nil, "", "wrap", "--", "ongoingai-no-such-command-xyz")
	r.expect(t, 127)
	if r.stderr != "ongoingai wrap: ongoingai-no-such-command-xyz: command not found\n" {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func TestWrapCommandNotExecutable(t *testing.T) {
	path := writeFile(t, "script.sh", "#!/bin/sh\nexit 0\n")
	r := runCLI(t, nil, "", "wrap", "--", path)
	r.expect(t, 126)
	if r.stderr != "ongoingai wrap: "+path+": permission denied\n" {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func TestWrapUsageAndConfigErrors(t *testing.T) {
	r := runCLI(t, nil, "", "wrap")
	r.expect(t, 2)
	if !strings.HasPrefix(r.stderr, "ongoingai wrap: missing command\n") {
		t.Fatalf("stderr=%q", r.stderr)
	}
	r = runCLI(t, nil, "", "wrap", "--", "")
	r.expect(t, 127)

	r = runCLI(t, map[string]string{"ONGOINGAI_STORAGE_DRIVER": "mysql"}, "", "wrap", "--", "true")
	r.expect(t, 1)
	if r.stderr != "ongoingai wrap: storage.driver: must be \"sqlite\" or \"postgres\"\n" {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func TestWithEnvReplacesExistingValues(t *testing.T) {
	got := withEnv(
		[]string{"PATH=/bin", "OPENAI_BASE_URL=https://api.openai.com/v1", "OPENAI_BASE_URL_EXTRA=keep"},
		[]app.EnvVar{{Name: "OPENAI_BASE_URL", Value: "http://localhost:8080/openai/v1"}},
	)
	want := []string{"PATH=/bin", "OPENAI_BASE_URL_EXTRA=keep", "OPENAI_BASE_URL=http://localhost:8080/openai/v1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestBinary builds the real executable and runs it as a user would, to
// prove what the in-process tests cannot: that the child gets the real
// stdio and environment and that its exit code and signals travel through.
func TestBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ongoingai")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A clean environment and an empty working directory: built-in
	// defaults, whatever the machine running the tests has set.
	hermetic := func(cmd *exec.Cmd) {
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "OPENAI_BASE_URL=https://stale.example/v1"}
		cmd.Dir = t.TempDir()
	}

	t.Run("wrap passes env, stdio and exit code", func(t *testing.T) {
		cmd := exec.Command(bin, "wrap", "--", "sh", "-c", `echo $OPENAI_BASE_URL; read line; echo "got $line" >&2; exit 3`)
		hermetic(cmd)
		cmd.Stdin = strings.NewReader("hello\n")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if exitErr, ok := err.(*exec.ExitError); !ok || exitErr.ExitCode() != 3 {
			t.Fatalf("err = %v, want exit status 3; stderr=%q", err, stderr.String())
		}
		if stdout.String() != "http://localhost:8080/openai/v1\n" {
			t.Fatalf("stdout=%q", stdout.String())
		}
		if stderr.String() != "got hello\n" {
			t.Fatalf("stderr=%q", stderr.String())
		}
	})

	t.Run("wrap forwards SIGTERM to the child", func(t *testing.T) {
		// The child announces itself only after the wrapper has subscribed
		// to signals (it subscribes before starting the child), so the
		// SIGTERM below cannot kill the wrapper instead.
		cmd := exec.Command(bin, "wrap", "--", "sh", "-c", `trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done`)
		hermetic(cmd)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			t.Fatalf("read %q, %v", line, err)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if exitErr, ok := err.(*exec.ExitError); !ok || exitErr.ExitCode() != 42 {
			t.Fatalf("err = %v, want exit status 42 from the child's trap", err)
		}
	})

	t.Run("serve with an invalid config exits 1", func(t *testing.T) {
		cmd := exec.Command(bin, "serve")
		hermetic(cmd)
		cmd.Env = append(cmd.Env, "ONGOINGAI_PORT=abc")
		out, err := cmd.CombinedOutput()
		if exitErr, ok := err.(*exec.ExitError); !ok || exitErr.ExitCode() != 1 {
			t.Fatalf("err = %v, want exit status 1", err)
		}
		if string(out) != "ongoingai serve: ONGOINGAI_PORT: must be an integer, got \"abc\"\n" {
			t.Fatalf("output=%q", out)
		}
	})
}
