package main

import (
	"fmt"
	"strings"

	"github.com/ongoingai/gateway/internal/app"
)

func shellInitCmd(c *cli, args []string) int {
	f := newFlags("shell-init", "ongoingai shell-init [--config FILE] [--shell bash|zsh|fish]",
		"Prints exports that point the OpenAI and Anthropic SDKs at this gateway.\n"+
			"Use it as:  eval \"$(ongoingai shell-init)\"\n"+
			"       or:  ongoingai shell-init --shell fish | source")
	cf := f.configFlag()
	shell := f.String("shell", "bash", "print `SHELL` syntax: bash, zsh or fish")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	var line func(name, value string) string
	switch *shell {
	case "bash", "zsh":
		line = func(name, value string) string {
			return "export " + name + "=" + doubleQuote(value, "\\\"$`")
		}
	case "fish":
		line = func(name, value string) string {
			return "set -gx " + name + " " + doubleQuote(value, "\\\"$")
		}
	default:
		fmt.Fprintf(c.stderr, "ongoingai shell-init: --shell must be bash, zsh or fish, got %q\n", *shell)
		return exitUsage
	}

	cfg, ok := c.loadConfig("shell-init", cf)
	if !ok {
		return exitFail
	}
	for _, v := range app.SDKEnv(cfg) {
		fmt.Fprintln(c.stdout, line(v.Name, v.Value))
	}
	return exitOK
}

// doubleQuote wraps s in double quotes, backslash-escaping the characters
// that stay special inside them for the target shell.
func doubleQuote(s, special string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
