package jobs_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/testdb"
)

func TestExpireKeysJobPostgres(t *testing.T) {
	t.Parallel()
	s := testdb.OpenPostgres(t)
	testExpireKeysJob(t, s)
}

func TestExpireKeysJobSQLite(t *testing.T) {
	t.Parallel()
	s := testdb.OpenSQLite(t)
	testExpireKeysJob(t, s)
}

// The periodic job runs at start: a key past its expiry becomes expired and
// a rotated key whose grace ended goes back to active, without anyone
// calling ExpireKeys.
func testExpireKeysJob[TTx any](t *testing.T, s store.TxStore[TTx]) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.CreateOrg(ctx, store.Org{ID: "o", Name: "o", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWorkspace(ctx, store.Workspace{ID: "w", OrgID: "o", Name: "w", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	past := now.Add(-time.Hour)
	key := func(id string) store.GatewayKey {
		return store.GatewayKey{
			ID: id, OrgID: "o", WorkspaceID: "w", Name: id, Role: "developer",
			TokenHash: "hash-" + id, TokenLast4: "1234", Status: store.KeyActive,
			CreatedBy: "cli", CreatedAt: past,
		}
	}
	expiring := key("expiring")
	expiring.ExpiresAt = &past
	for _, k := range []store.GatewayKey{expiring, key("rotated")} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RotateKey(ctx, "rotated", "hash-new", "5678", past.Add(time.Minute), past); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := jobs.Start(runCtx, s, jobs.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Stop(stopCtx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()

	// A generous deadline: leader election and the first poll take a few
	// seconds on a busy machine; the test only checks that the job runs.
	want := map[string]store.KeyStatus{"expiring": store.KeyExpired, "rotated": store.KeyActive}
	deadline := time.Now().Add(60 * time.Second)
	for {
		done := true
		for id, status := range want {
			k, err := s.GetKey(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if k.Status != status {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys not expired by the job within the deadline")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
