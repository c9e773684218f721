package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
)

var _ store.Sessions = (*Store)(nil)

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	err := litedb.New(s.writer).CreateConsoleSession(ctx, litedb.CreateConsoleSessionParams{
		IDHash: sess.IDHash, KeyID: sess.KeyID,
		CreatedAt: micros(sess.CreatedAt), LastSeenAt: micros(sess.LastSeenAt), ExpiresAt: micros(sess.ExpiresAt),
	})
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: create session for key %q: %w", sess.KeyID, store.ErrNotFound)
	case isUniqueViolation(err):
		return store.ErrConflict
	case err != nil:
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, idHash string) (store.Session, error) {
	r, err := litedb.New(s.reader).GetConsoleSession(ctx, idHash)
	if err != nil {
		return store.Session{}, notFound(err)
	}
	return store.Session{
		IDHash: r.IDHash, KeyID: r.KeyID,
		CreatedAt: fromMicros(r.CreatedAt), LastSeenAt: fromMicros(r.LastSeenAt), ExpiresAt: fromMicros(r.ExpiresAt),
	}, nil
}

// TouchSession implements store.Sessions.
func (s *Store) TouchSession(ctx context.Context, idHash string, seen time.Time) error {
	if err := litedb.New(s.writer).TouchConsoleSession(ctx, litedb.TouchConsoleSessionParams{IDHash: idHash, LastSeenAt: micros(seen)}); err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if err := litedb.New(s.writer).DeleteConsoleSession(ctx, idHash); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// DeleteEndedSessions implements store.Sessions.
func (s *Store) DeleteEndedSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	n, err := litedb.New(s.writer).DeleteEndedConsoleSessions(ctx, litedb.DeleteEndedConsoleSessionsParams{ExpiresAt: micros(now), LastSeenAt: micros(idleBefore)})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete ended sessions: %w", err)
	}
	return int(n), nil
}
