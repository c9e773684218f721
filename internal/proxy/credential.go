package proxy

import (
	"crypto/sha256"
	"encoding/base64"
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

// Redacted is what a captured credential header's value is stored as.
const Redacted = "[REDACTED]"

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
		return Redacted
	}
	if c := http.CanonicalHeaderKey(k); c != k && hc.isSecret(c) {
		return Redacted
	}
	return strings.Join(vs, ", ")
}

func (hc *headerCapture) isSecret(canonical string) bool {
	return credentialHeaders[canonical] || (hc.gatewayKey != "" && canonical == hc.gatewayKey)
}

// Messages of the refusals for a gateway token found where it would be
// forwarded (status 400). Part of the public contract.
const (
	MsgGatewayKeyInCredential = "gateway key in provider credential header"
	MsgGatewayKeyInHeader     = "gateway key in forwarded header"
)

// providerCredentialHeaders carry a provider's API key; a gateway token in
// one of them is the common mistake of pasting the wrong key.
func isProviderCredentialHeader(canonical string) bool {
	switch canonical {
	case "Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key":
		return true
	}
	return false
}

// gatewayTokenIn returns the refusal message when a header (or trailer)
// of h other than the gateway key header carries a gateway token, in any
// form: bare, after "Bearer", "Token" or any other scheme, inside a list,
// or in Basic credentials once base64-decoded. It returns "" when h is
// clean. It scans every value without allocating (Basic credentials
// aside), so the hot path pays a few string searches.
func (p *Proxy) gatewayTokenIn(h http.Header) string {
	prefix := p.opts.GatewayTokenPrefix
	if prefix == "" {
		return ""
	}
	msg := ""
	for k, vs := range h {
		if p.opts.GatewayKeyHeader != "" && strings.EqualFold(k, p.opts.GatewayKeyHeader) {
			continue // removed before forwarding
		}
		credential := isProviderCredentialHeader(http.CanonicalHeaderKey(k))
		for _, v := range vs {
			found := containsToken(v, prefix)
			if !found && credential {
				found = basicHasToken(v, prefix)
			}
			switch {
			case found && credential:
				return MsgGatewayKeyInCredential
			case found:
				msg = MsgGatewayKeyInHeader
			}
		}
	}
	return msg
}

// containsToken reports whether v holds prefix at the start of a word
// followed by a token character: "ogw_x", "Bearer ogw_x", "a, ogw_x" but
// not "blogw_x".
func containsToken(v, prefix string) bool {
	for i := 0; i < len(v); {
		j := strings.Index(v[i:], prefix)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(prefix)
		if (j == 0 || !isWordByte(v[j-1])) && end < len(v) && isWordByte(v[end]) {
			return true
		}
		i = j + 1
	}
	return false
}

func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_'
}

// basicHasToken reports whether v is Basic credentials whose user or
// password holds a gateway token.
func basicHasToken(v, prefix string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 6 || !strings.EqualFold(v[:6], "basic ") {
		return false
	}
	raw := strings.TrimSpace(v[6:])
	dec, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		// Some clients leave out the padding.
		if dec, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(raw, "=")); err != nil {
			return false
		}
	}
	return containsToken(string(dec), prefix)
}
