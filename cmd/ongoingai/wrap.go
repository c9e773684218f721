package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ongoingai/gateway/internal/app"
)

// Exit codes of a command that could not be run, as POSIX shells use them.
const (
	exitNotExecutable = 126
	exitNotFound      = 127
)

func wrapCmd(c *cli, args []string) int {
	f := newFlags("wrap", "ongoingai wrap [--config FILE] [--key TOKEN] -- COMMAND [ARGS...]",
		"Runs COMMAND with OPENAI_BASE_URL and ANTHROPIC_BASE_URL pointing at this\n"+
			"gateway, passing stdin, stdout and stderr through, and exits with its exit code.\n"+
			"Codex (COMMAND codex) also gets -c overrides defining a model provider at the\n"+
			"gateway. With a gateway key (--key, or "+gatewayKeyEnv+"), Claude Code sends it\n"+
			"through ANTHROPIC_CUSTOM_HEADERS and Codex through its provider's env_http_headers.")
	cf := f.configFlag()
	key := f.String("key", "", "gateway key (`TOKEN`) the wrapped tools send in auth.header; default $"+gatewayKeyEnv)
	if code, done := f.parse(c, args); done {
		return code
	}
	argv := f.Args()
	if len(argv) == 0 {
		fmt.Fprintln(c.stderr, "ongoingai wrap: missing command")
		f.printUsage(c.stderr)
		return exitUsage
	}
	cfg, ok := c.loadConfig("wrap", cf)
	if !ok {
		return exitFail
	}

	token := *key
	if token == "" {
		token, _ = c.getenv(gatewayKeyEnv)
	}
	vars := app.SDKEnv(cfg)
	if token != "" {
		existing, _ := lookupEnv(c.environ(), "ANTHROPIC_CUSTOM_HEADERS")
		vars = append(vars,
			app.EnvVar{Name: gatewayKeyEnv, Value: token},
			app.EnvVar{Name: "ANTHROPIC_CUSTOM_HEADERS", Value: customHeaders(existing, gatewayHeader(cfg), token)},
		)
	}
	childArgs := argv[1:]
	if isCodex(argv[0]) {
		childArgs = append(codexArgs(cfg, token != ""), childArgs...)
	}

	cmd := exec.Command(argv[0], childArgs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	cmd.Env = withEnv(c.environ(), vars)
	if cmd.Err != nil {
		return c.startFailure(argv[0], cmd.Err)
	}

	// Subscribe before starting, so no signal falls between the two.
	// SIGINT, SIGQUIT and SIGHUP come from the terminal to the whole
	// foreground process group: the child has them already, and the
	// wrapper only has to survive them to report the child's exit code.
	// SIGTERM is usually aimed at one pid (a supervisor, kill), so it is
	// passed on.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		return c.startFailure(argv[0], err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGTERM {
					_ = cmd.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()

	err := cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		// The child ran but its output could not be copied (for example a
		// closed stdout); its own exit status is still the answer.
		fmt.Fprintf(c.stderr, "ongoingai wrap: %v\n", err)
	}
	return childExitCode(cmd.ProcessState)
}

func (c *cli) startFailure(name string, err error) int {
	if errors.Is(err, fs.ErrPermission) {
		fmt.Fprintf(c.stderr, "ongoingai wrap: %s: permission denied\n", name)
		return exitNotExecutable
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(c.stderr, "ongoingai wrap: %s: command not found\n", name)
		return exitNotFound
	}
	fmt.Fprintf(c.stderr, "ongoingai wrap: %v\n", err)
	return exitNotFound
}

// childExitCode reports a signal death as 128+signal, as shells do, since
// ProcessState.ExitCode says only -1 then.
func childExitCode(ps *os.ProcessState) int {
	if ps == nil {
		return exitFail
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// withEnv returns base with vars set, replacing earlier values of the same
// names rather than relying on which duplicate a program happens to read.
func withEnv(base []string, vars []app.EnvVar) []string {
	env := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for _, v := range vars {
			if v.Name == name {
				replaced = true
				break
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	for _, v := range vars {
		env = append(env, v.Name+"="+v.Value)
	}
	return env
}

// lookupEnv finds name in an environment list.
func lookupEnv(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}
