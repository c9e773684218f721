package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
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
	return hex.EncodeToString(sum[:]), last4
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

// snapshotHeaders flattens h for storage, redacting credentials and the
// gateway key header.
func snapshotHeaders(h http.Header, gatewayKeyHeader string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if credentialHeaders[k] || (gatewayKeyHeader != "" && k == gatewayKeyHeader) {
			out[k] = redacted
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}
