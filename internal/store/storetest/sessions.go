package storetest

import (
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
)

// sessionCases check the console session contract: round trips in
// microsecond UTC, last_seen only moving forward, sign-out, the sweep of
// ended sessions, and sessions going with their key.
var sessionCases = []namedCase{
	{"RoundTrip", one(testSessionRoundTrip)},
	{"Errors", one(testSessionErrors)},
	{"TouchOnlyMovesForward", one(testSessionTouch)},
	{"Delete", one(testSessionDelete)},
	{"DeleteEnded", one(testSessionDeleteEnded)},
	{"GoWithTheirKey", one(testSessionsGoWithKey)},
}

// sessionFor is a session of key k created at tbase+offset, ending 12 h later.
func sessionFor(hash, k string, offset time.Duration) store.Session {
	return store.Session{
		IDHash: hash, KeyID: k, CreatedAt: tbase.Add(offset), LastSeenAt: tbase.Add(offset),
		ExpiresAt: tbase.Add(offset + 12*time.Hour),
	}
}

func seedSessionKey(t *testing.T, s store.Store) {
	seedWorkspace(t, s, "o", "w")
	mustNil(t, s.CreateKey(t.Context(), newKey("k", "o", "w", 0)))
}

func testSessionRoundTrip(t *testing.T, s store.Store) {
	seedSessionKey(t, s)
	want := sessionFor("h1", "k", 0)
	mustNil(t, s.CreateSession(t.Context(), want))
	got, err := s.GetSession(t.Context(), "h1")
	mustNil(t, err)
	if got != want {
		t.Errorf("GetSession = %+v, want %+v", got, want)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("times come back in %v, want UTC", got.CreatedAt.Location())
	}
}

func testSessionErrors(t *testing.T, s store.Store) {
	seedSessionKey(t, s)
	_, err := s.GetSession(t.Context(), "nope")
	wantErr(t, "GetSession unknown", err, store.ErrNotFound)
	wantErr(t, "CreateSession unknown key", s.CreateSession(t.Context(), sessionFor("h", "nokey", 0)), store.ErrNotFound)
	mustNil(t, s.CreateSession(t.Context(), sessionFor("h", "k", 0)))
	wantErr(t, "CreateSession duplicate", s.CreateSession(t.Context(), sessionFor("h", "k", time.Minute)), store.ErrConflict)
	mustNil(t, s.TouchSession(t.Context(), "nope", tbase))
	mustNil(t, s.DeleteSession(t.Context(), "nope"))
}

func testSessionTouch(t *testing.T, s store.Store) {
	seedSessionKey(t, s)
	mustNil(t, s.CreateSession(t.Context(), sessionFor("h", "k", 0)))
	mustNil(t, s.TouchSession(t.Context(), "h", tbase.Add(10*time.Minute)))
	// A replica touching late with an older time must not move it back.
	mustNil(t, s.TouchSession(t.Context(), "h", tbase.Add(5*time.Minute)))
	got, err := s.GetSession(t.Context(), "h")
	mustNil(t, err)
	if !got.LastSeenAt.Equal(tbase.Add(10 * time.Minute)) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, tbase.Add(10*time.Minute))
	}
}

func testSessionDelete(t *testing.T, s store.Store) {
	seedSessionKey(t, s)
	mustNil(t, s.CreateSession(t.Context(), sessionFor("h", "k", 0)))
	mustNil(t, s.CreateSession(t.Context(), sessionFor("other", "k", 0)))
	mustNil(t, s.DeleteSession(t.Context(), "h"))
	_, err := s.GetSession(t.Context(), "h")
	wantErr(t, "GetSession after delete", err, store.ErrNotFound)
	if _, err := s.GetSession(t.Context(), "other"); err != nil {
		t.Errorf("deleting one session ended another: %v", err)
	}
}

func testSessionDeleteEnded(t *testing.T, s store.Store) {
	seedSessionKey(t, s)
	ctx := t.Context()
	mustNil(t, s.CreateSession(ctx, sessionFor("old", "k", -13*time.Hour)))  // past its absolute end
	mustNil(t, s.CreateSession(ctx, sessionFor("idle", "k", -time.Hour)))    // idle for an hour
	mustNil(t, s.CreateSession(ctx, sessionFor("fresh", "k", -time.Minute))) // in use
	n, err := s.DeleteEndedSessions(ctx, tbase, tbase.Add(-30*time.Minute))
	mustNil(t, err)
	if n != 2 {
		t.Errorf("DeleteEndedSessions = %d, want 2", n)
	}
	for _, h := range []string{"old", "idle"} {
		_, err := s.GetSession(ctx, h)
		wantErr(t, "GetSession "+h, err, store.ErrNotFound)
	}
	if _, err := s.GetSession(ctx, "fresh"); err != nil {
		t.Errorf("a session in use was swept: %v", err)
	}
}

// A key deleted with its workspace takes its sessions along; revoking
// keeps the row (the console refuses it through the key cache) until the
// sweep.
func testSessionsGoWithKey(t *testing.T, s store.Store) {
	seedSessionKey(t, s)
	ctx := t.Context()
	mustNil(t, s.CreateSession(ctx, sessionFor("h", "k", 0)))
	_, err := s.RevokeKey(ctx, "k", tbase.Add(time.Minute))
	mustNil(t, err)
	mustNil(t, s.DeleteWorkspace(ctx, "o", "w"))
	_, err = s.GetSession(ctx, "h")
	wantErr(t, "GetSession after its key was deleted", err, store.ErrNotFound)
}
