// Package pathguard refuses request paths that could leave the base path
// of the route they are sent to: dot segments ("." and ".."), literal or
// percent-encoded, and encoded slashes or backslashes. The gateway joins a
// provider route's remaining path onto the upstream's base path, so a
// "/openai/../../admin" that reached the proxy would let anyone with proxy
// access name any path on the upstream host. No provider API uses such
// paths, so they are refused outright rather than cleaned: cleaning would
// guess at what the client meant, and two components (the gateway and the
// upstream) guessing differently is how traversal bugs happen.
package pathguard

import (
	"net/http"
	"net/url"
	"strings"
)

// Message is the error answered for a refused path, as {"error": Message}
// with status 400. It is part of the public contract.
const Message = "invalid request path"

// Middleware answers 400 {"error": Message} for a request whose path is not
// Safe, before any route sees it; it goes first in the router so that it
// applies to every route, /api included.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Safe(r.URL) {
			Refuse(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Refuse answers 400 {"error": Message}.
func Refuse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":"` + Message + `"}` + "\n"))
}

// Safe reports whether u's path, once percent-decoded, has no "." or ".."
// segment (a backslash counts as a separator, as some servers treat it)
// and its raw form encodes no slash or backslash (%2F, %5C), which would
// hide a separator from this check and reappear as one upstream.
func Safe(u *url.URL) bool {
	return SafePath(u.Path) && SafeRawPath(u.RawPath)
}

// SafePath reports whether the decoded path p has no "." or ".." segment,
// with "/" and "\" both taken as separators.
func SafePath(p string) bool {
	for p != "" {
		i := strings.IndexAny(p, `/\`)
		seg := p
		if i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// SafeRawPath reports whether the raw (still encoded) path encodes no
// slash or backslash. An empty raw path is safe: Go leaves RawPath empty
// when the path's default encoding is exact, which never encodes "/".
func SafeRawPath(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] != '%' {
			continue
		}
		switch raw[i+1 : i+3] {
		case "2f", "2F", "5c", "5C":
			return false
		}
	}
	return true
}

// Within reports whether the upstream path p stays under base: p is base
// itself or lies below it, segment by segment, after dot segments are
// resolved. It is the proxy's own check that what it sends never leaves
// the upstream's base path, whatever reached it.
func Within(base, p string) bool {
	if !SafePath(p) {
		return false
	}
	base = strings.TrimSuffix(base, "/")
	return strings.HasPrefix(p, base) && (len(p) == len(base) || p[len(base)] == '/')
}
