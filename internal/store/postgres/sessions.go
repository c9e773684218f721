package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
)

var _ store.Sessions = (*Store)(nil)

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	err := pgdb.New(s.pool).CreateConsoleSession(ctx, pgdb.CreateConsoleSessionParams{
		IDHash: sess.IDHash, KeyID: sess.KeyID,
		CreatedAt: sess.CreatedAt.UTC(), LastSeenAt: sess.LastSeenAt.UTC(), ExpiresAt: sess.ExpiresAt.UTC(),
	})
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("postgres: create session for key %q: %w", sess.KeyID, store.ErrNotFound)
	case isUniqueViolation(err):
		return store.ErrConflict
	case err != nil:
		return fmt.Errorf("postgres: create session: %w", err)
	}
	return nil
}

// GetSession implements store.Sessions.
func (s *Store) GetSession(ctx context.Context, idHash string) (store.Session, error) {
	r, err := pgdb.New(s.pool).GetConsoleSession(ctx, idHash)
	if err != nil {
		return store.Session{}, notFound(err)
	}
	return store.Session{
		IDHash: r.IDHash, KeyID: r.KeyID,
		CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}, nil
}

// TouchSession implements store.Sessions.
func (s *Store) TouchSession(ctx context.Context, idHash string, seen time.Time) error {
	if err := pgdb.New(s.pool).TouchConsoleSession(ctx, pgdb.TouchConsoleSessionParams{IDHash: idHash, LastSeenAt: seen.UTC()}); err != nil {
		return fmt.Errorf("postgres: touch session: %w", err)
	}
	return nil
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if err := pgdb.New(s.pool).DeleteConsoleSession(ctx, idHash); err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	return nil
}

// DeleteEndedSessions implements store.Sessions.
func (s *Store) DeleteEndedSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	n, err := pgdb.New(s.pool).DeleteEndedConsoleSessions(ctx, pgdb.DeleteEndedConsoleSessionsParams{ExpiresAt: now.UTC(), LastSeenAt: idleBefore.UTC()})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete ended sessions: %w", err)
	}
	return int(n), nil
}
