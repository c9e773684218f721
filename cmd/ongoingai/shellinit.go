package main

import (
	"fmt"
	"strings"

	"github.com/ongoingai/gateway/internal/app"
)

func shellInitCmd(c *cli, args []string) int {
	f := newFlags("shell-init", "ongoingai shell-init [--config FILE] [--shell bash|zsh|fish]",
		"Prints exports that point the OpenAI and Anthropic SDKs (and Claude Code) at this\n"+
			"gateway, and a codex function that runs Codex with the same overrides as\n"+
			"`ongoingai wrap -- codex`. With auth.enabled, or "+gatewayKeyEnv+" set, the\n"+
			"tools also send the gateway key from $"+gatewayKeyEnv+".\n"+
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
	var keyHeaders func(header string) string // ANTHROPIC_CUSTOM_HEADERS reading the key at eval time
	var codexFunc func(args []string) string
	switch *shell {
	case "bash", "zsh":
		line = func(name, value string) string {
			return "export " + name + "=" + doubleQuote(value, "\\\"$`")
		}
		keyHeaders = func(header string) string {
			q := doubleQuote(header+": ", "\\\"$`")
			return "export ANTHROPIC_CUSTOM_HEADERS=" + q[:len(q)-1] + "$" + gatewayKeyEnv + "\""
		}
		codexFunc = func(args []string) string {
			return "codex() { command codex " + singleQuoteAll(args, `'\''`) + " \"$@\"; }"
		}
	case "fish":
		line = func(name, value string) string {
			return "set -gx " + name + " " + doubleQuote(value, "\\\"$")
		}
		keyHeaders = func(header string) string {
			q := doubleQuote(header+": ", "\\\"$")
			return "set -gx ANTHROPIC_CUSTOM_HEADERS " + q[:len(q)-1] + "$" + gatewayKeyEnv + "\""
		}
		codexFunc = func(args []string) string {
			return "function codex; command codex " + singleQuoteAll(args, `\'`) + " $argv; end"
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
	_, keySet := c.getenv(gatewayKeyEnv)
	teamMode := cfg.Auth.Enabled || keySet
	if teamMode {
		fmt.Fprintln(c.stdout, keyHeaders(gatewayHeader(cfg)))
	}
	if args := codexArgs(cfg, teamMode); args != nil {
		fmt.Fprintln(c.stdout, codexFunc(args))
	}
	return exitOK
}

// singleQuoteAll quotes each argument in single quotes, writing a quote
// inside one as quoteEscape (bash: '\”, fish: \'), and joins them.
func singleQuoteAll(args []string, quoteEscape string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if quoteEscape == `\'` {
			a = strings.ReplaceAll(a, `\`, `\\`) // fish: backslash escapes inside single quotes
		}
		quoted[i] = "'" + strings.ReplaceAll(a, "'", quoteEscape) + "'"
	}
	return strings.Join(quoted, " ")
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
