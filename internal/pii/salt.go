package pii

import (
	"context"
	"crypto/rand"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
)

// LoadSalt returns the HMAC salt: the configured one when set, else the
// installation's, generated (32 random bytes) on first start and kept in
// the store so that placeholders survive restarts. The salt is never
// logged or returned by any API.
func LoadSalt(ctx context.Context, configured string, s store.PIISalts) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh) // never fails (crypto/rand panics instead)
	return s.PIISalt(ctx, fresh)
}

// Active reports whether any request can be affected: the global mode or
// a scope is other than off. An inactive engine is not installed, so the
// default configuration costs the proxy nothing.
func (e *Engine) Active() bool {
	if e.mode != config.PIIModeOff {
		return true
	}
	for _, s := range e.scopes {
		if s.Mode != config.PIIModeOff {
			return true
		}
	}
	return false
}
