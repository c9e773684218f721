package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
)

var (
	_ store.Tenancy = (*postgres.Store)(nil)
	_ store.Audit   = (*postgres.Store)(nil)
)

func TestTenancyConformance(t *testing.T) {
	storetest.RunTenancy(t, func(t *testing.T) storetest.TenancyStore { return openStore(t) })
}

func openAtDSN(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// A replica hears about a key revoked by another replica within a second,
// and WatchKeys returns nil once its context ends.
func TestWatchKeysHearsOtherReplica(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	watcher, writer := openAtDSN(t, dsn), openAtDSN(t, dsn)
	ctx := t.Context()
	now := time.Now().UTC()
	if err := writer.CreateOrg(ctx, store.Org{ID: "o", Name: "o", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := writer.CreateWorkspace(ctx, store.Workspace{ID: "w", OrgID: "o", Name: "w", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	fired := make(chan struct{}, 100)
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- watcher.WatchKeys(watchCtx, func() { fired <- struct{}{} }) }()

	// WatchKeys listens shortly after it is called; until the first
	// notification arrives we cannot tell it is listening, so keep making
	// changes (renames) until one is heard.
	deadline := time.After(30 * time.Second)
	for heard := false; !heard; {
		if err := writer.RenameOrg(ctx, "o", "o "+time.Now().String()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-fired:
			heard = true
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("WatchKeys never reported a change")
		}
	}
	for len(fired) > 0 { // late echoes of the renames
		<-fired
	}
	time.Sleep(200 * time.Millisecond)
	for len(fired) > 0 {
		<-fired
	}

	key := store.GatewayKey{
		ID: "k", OrgID: "o", WorkspaceID: "w", Name: "k", Role: "developer",
		TokenHash: "h", TokenLast4: "1234", Status: store.KeyActive, CreatedBy: "cli", CreatedAt: now,
	}
	if err := writer.CreateKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fired:
	case <-time.After(time.Second):
		t.Fatal("no notification within 1s of CreateKey")
	}
	if _, err := writer.RevokeKey(ctx, "k", now); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fired:
	case <-time.After(time.Second):
		t.Fatal("no notification within 1s of RevokeKey")
	}

	stop()
	if err := <-done; err != nil {
		t.Errorf("WatchKeys = %v after cancel, want nil", err)
	}
}
