package main

import (
	"path/filepath"
	"strings"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
)

// What wrap and shell-init give the coding CLIs beyond the SDKs' base URL
// variables. Claude Code reads ANTHROPIC_BASE_URL and, for extra headers,
// ANTHROPIC_CUSTOM_HEADERS ("Name: value" lines). Codex ignores
// OPENAI_BASE_URL: it needs a model provider entry, which -c overrides give
// it without touching the user's config.toml.

const (
	// gatewayKeyEnv carries the gateway key to the wrapped programs: Codex
	// reads the header value from it (env_http_headers), and wrap reads
	// it when --key is not given.
	gatewayKeyEnv = "ONGOINGAI_GATEWAY_KEY"
	// codexProvider is the model provider id the overrides define.
	codexProvider = "ongoingai"
)

// isCodex reports whether argv0 runs the Codex CLI.
func isCodex(argv0 string) bool {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return base == "codex"
}

// codexArgs are the -c overrides that make Codex send its OpenAI traffic
// through the gateway: a model provider at the gateway's OpenAI base URL,
// over the Responses API, authenticated with the user's own
// OPENAI_API_KEY, and with withKey, sending the gateway key from
// $ONGOINGAI_GATEWAY_KEY in the configured header. Nil when the OpenAI
// provider is not configured.
func codexArgs(cfg config.Config, withKey bool) []string {
	p, ok := cfg.Providers[config.ProviderOpenAI]
	if !ok {
		return nil
	}
	base := app.SDKBaseURL(app.GatewayURL(cfg.Server), p)
	prefix := "model_providers." + codexProvider + "."
	args := []string{
		"-c", "model_provider=" + tomlString(codexProvider),
		"-c", prefix + "name=" + tomlString("OngoingAI gateway"),
		"-c", prefix + "base_url=" + tomlString(base),
		"-c", prefix + "wire_api=" + tomlString("responses"),
		"-c", prefix + "env_key=" + tomlString("OPENAI_API_KEY"),
	}
	if withKey {
		args = append(args, "-c", prefix+"env_http_headers={"+tomlString(gatewayHeader(cfg))+"="+tomlString(gatewayKeyEnv)+"}")
	}
	return args
}

// gatewayHeader is the header the gateway reads its key from.
func gatewayHeader(cfg config.Config) string {
	if cfg.Auth.Header != "" {
		return cfg.Auth.Header
	}
	return "X-OngoingAI-Gateway-Key"
}

// tomlString quotes s as a TOML basic string, which is how Codex parses the
// value of a -c override.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789ABCDEF"[r>>4])
			b.WriteByte("0123456789ABCDEF"[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// customHeaders returns existing ANTHROPIC_CUSTOM_HEADERS lines with the
// gateway key line added, replacing an earlier line for the same header.
func customHeaders(existing, header, value string) string {
	var lines []string
	for _, l := range strings.Split(existing, "\n") {
		name, _, _ := strings.Cut(l, ":")
		if strings.TrimSpace(l) == "" || strings.EqualFold(strings.TrimSpace(name), header) {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(append(lines, header+": "+value), "\n")
}
