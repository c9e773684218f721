package store

import (
	"context"
	"time"
)

// Session is a signed-in operator console session. The cookie holds a
// random id; the store only ever sees its hash.
type Session struct {
	IDHash     string // SHA-256 hex of the cookie's id
	KeyID      string // the gateway key that signed in
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute end; the idle timeout may end it sooner
}

// Sessions stores console sessions. Only the console's own requests read
// them: never the proxy's request path.
type Sessions interface {
	// CreateSession stores s. ErrNotFound when its key does not exist;
	// ErrConflict when the hash is taken.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session with idHash, or ErrNotFound.
	GetSession(ctx context.Context, idHash string) (Session, error)
	// TouchSession records activity at seen; it never moves last_seen
	// backwards. An unknown hash is not an error.
	TouchSession(ctx context.Context, idHash string, seen time.Time) error
	// DeleteSession ends a session (sign-out). An unknown hash is not an
	// error.
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteEndedSessions deletes sessions whose absolute end is at or
	// before now or that were last seen before idleBefore, and returns how
	// many it deleted.
	DeleteEndedSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
}
