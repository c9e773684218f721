package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
)

// providerCredential returns the provider API key the client sent, from
// Authorization (Bearer), x-api-key (Anthropic) or api-key (Azure OpenAI).
func providerCredential(h http.Header) string {
	if v := h.Get("Authorization"); v != "" {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
		return strings.TrimSpace(v)
	}
	if v := h.Get("X-Api-Key"); v != "" {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(h.Get("Api-Key"))
}

// hashCredential returns the SHA-256 hex of key and its last four
// characters: enough to attribute usage to a provider key and to recognise
// it in a console, never enough to use it.
func hashCredential(key string) (hash, last4 string) {
	if key == "" {
		return "", ""
	}
	sum := sha256.Sum256([]byte(key))
	if len(key) > 4 {
		last4 = key[len(key)-4:]
	} else {
		last4 = key
	}
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:]), last4
}

// credentialHeaders are redacted wherever headers are stored.
var credentialHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"X-Api-Key":           true,
	"Api-Key":             true,
	"X-Goog-Api-Key":      true,
	"Cookie":              true,
	"Set-Cookie":          true,
}

const redacted = "[REDACTED]"

// headerCapture is which headers a trace keeps: all of them, or the ones
// named (canonical, each once). Credentials are redacted either way.
type headerCapture struct {
	all        bool
	names      []string
	gatewayKey string // the gateway key header, canonical; redacted too
}

// newHeaderCapture builds the capture from the proxy options; the name "*"
// means every header.
func newHeaderCapture(names []string, gatewayKeyHeader string) headerCapture {
	var hc headerCapture
	if gatewayKeyHeader != "" {
		hc.gatewayKey = http.CanonicalHeaderKey(gatewayKeyHeader)
	}
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "*":
			hc.all = true
		case n != "" && !slices.Contains(hc.names, http.CanonicalHeaderKey(n)):
			hc.names = append(hc.names, http.CanonicalHeaderKey(n))
		}
	}
	if hc.all {
		hc.names = nil
	}
	return hc
}

// enabled reports whether any header is kept.
func (hc *headerCapture) enabled() bool { return hc.all || len(hc.names) > 0 }

// snapshot flattens the captured headers of h for storage, one string per
// name, redacting credentials; nil when none of them is present.
func (hc *headerCapture) snapshot(h http.Header) map[string]string {
	if len(h) == 0 || !hc.enabled() {
		return nil
	}
	if hc.all {
		out := make(map[string]string, len(h))
		for k, vs := range h {
			out[k] = hc.value(k, vs)
		}
		return out
	}
	var out map[string]string
	for _, k := range hc.names {
		vs, ok := h[k]
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(hc.names))
		}
		out[k] = hc.value(k, vs)
	}
	return out
}

// value is what is stored for header k: its values joined, or the
// redaction marker for a credential, whatever the case of k.
func (hc *headerCapture) value(k string, vs []string) string {
	if hc.isSecret(k) {
		return redacted
	}
	if c := http.CanonicalHeaderKey(k); c != k && hc.isSecret(c) {
		return redacted
	}
	return strings.Join(vs, ", ")
}

func (hc *headerCapture) isSecret(canonical string) bool {
	return credentialHeaders[canonical] || (hc.gatewayKey != "" && canonical == hc.gatewayKey)
}
