package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
)

// watchBound is how long a change may take to reach a watcher in these
// tests: a hang guard several times the second the stores promise, not a
// measure of their speed.
const watchBound = 5 * time.Second

// testWatchKeysHearsOtherHandles checks store.Tenancy.WatchKeys across two
// handles on one database, as two processes (a gateway and the CLI) would
// hold them: every key change committed through writer, and one through
// watcher itself, reaches watcher's onChange; and WatchKeys returns nil
// once its context ends.
func testWatchKeysHearsOtherHandles(t *testing.T, watcher, writer store.Tenancy) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	mustNil(t, writer.CreateOrg(ctx, store.Org{ID: "o", Name: "o", CreatedAt: now}))
	mustNil(t, writer.CreateWorkspace(ctx, store.Workspace{ID: "w", OrgID: "o", Name: "w", CreatedAt: now}))

	fired := make(chan struct{}, 1000)
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- watcher.WatchKeys(watchCtx, func() { fired <- struct{}{} }) }()

	// WatchKeys starts watching shortly after it is called; until the first
	// change is heard we cannot tell it is, so keep making changes (renames)
	// until one is.
	deadline := time.After(30 * time.Second)
	for heard := false; !heard; {
		mustNil(t, writer.RenameOrg(ctx, "o", "o "+time.Now().String()))
		select {
		case <-fired:
			heard = true
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("WatchKeys never reported a change")
		}
	}
	// Let late echoes of the renames arrive, then forget them.
	time.Sleep(500 * time.Millisecond)
	for len(fired) > 0 {
		<-fired
	}

	heard := func(what string) {
		t.Helper()
		select {
		case <-fired:
		case <-time.After(watchBound):
			t.Fatalf("no change reported within %v of %s", watchBound, what)
		}
		for len(fired) > 0 {
			<-fired
		}
	}
	key := newKey("k", "o", "w", 0)
	mustNil(t, writer.CreateKey(ctx, key))
	heard("CreateKey on the other handle")
	_, err := writer.RotateKey(ctx, "k", "hash-k-rotated", "k2k2", now, now)
	mustNil(t, err)
	heard("RotateKey on the other handle")
	_, err = writer.RevokeKey(ctx, "k", now)
	mustNil(t, err)
	heard("RevokeKey on the other handle")
	mustNil(t, watcher.CreateKey(ctx, newKey("k2", "o", "w", 0)))
	heard("CreateKey on the watching handle")

	stop()
	if err := <-done; err != nil {
		t.Errorf("WatchKeys = %v after cancel, want nil", err)
	}
}
