package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ongoingai/gateway/internal/config"
)

func shellInitCmd(c *cli, args []string) int {
	f := newFlags("shell-init", "ongoingai shell-init [--config FILE] [--shell bash|zsh|fish]",
		"Prints exports that point the OpenAI and Anthropic SDKs at this gateway.\n"+
			"Use it as:  eval \"$(ongoingai shell-init)\"\n"+
			"       or:  ongoingai shell-init --shell fish | source")
	cf := f.configFlag()
	shell := f.String("shell", "bash", "shell syntax to print: bash, zsh or fish")
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
	for _, v := range sdkEnv(cfg) {
		fmt.Fprintln(c.stdout, line(v.name, v.value))
	}
	return exitOK
}

// envVar is one variable handed to SDKs.
type envVar struct{ name, value string }

// sdkEnv is what the official SDKs read to find their API: the OpenAI SDKs
// expect the /v1 suffix in the base URL, the Anthropic SDKs add it
// themselves.
func sdkEnv(cfg config.Config) []envVar {
	base := gatewayURL(cfg.Server)
	var vars []envVar
	if p, ok := cfg.Providers[config.ProviderOpenAI]; ok {
		vars = append(vars, envVar{"OPENAI_BASE_URL", base + p.Prefix + "/v1"})
	}
	if p, ok := cfg.Providers[config.ProviderAnthropic]; ok {
		vars = append(vars, envVar{"ANTHROPIC_BASE_URL", base + p.Prefix})
	}
	return vars
}

// gatewayURL is the address a client on this machine dials: wildcard
// listen addresses are not dialable everywhere, so they become localhost.
func gatewayURL(s config.Server) string {
	host := s.Host
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.Port))
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
