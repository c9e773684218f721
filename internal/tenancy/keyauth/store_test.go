package keyauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/testdb"
)

// eachStore runs fn against a fresh SQLite and a fresh Postgres store, in
// parallel: the machinery must behave the same on both.
func eachStore(t *testing.T, fn func(t *testing.T, driver string, st store.Store)) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			var st store.Store
			if driver == "sqlite" {
				st = testdb.OpenSQLite(t)
			} else {
				st = testdb.OpenPostgres(t)
			}
			fn(t, driver, st)
		})
	}
}

// addKey stores a key (and its org and workspace when missing) and returns
// its token.
func addKey(t *testing.T, st store.Store, k store.GatewayKey) string {
	t.Helper()
	ctx := context.Background()
	if _, err := st.GetOrg(ctx, k.OrgID); err != nil {
		if err := st.CreateOrg(ctx, store.Org{ID: k.OrgID, Name: k.OrgID, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.GetWorkspace(ctx, k.OrgID, k.WorkspaceID); err != nil {
		if err := st.CreateWorkspace(ctx, store.Workspace{ID: k.WorkspaceID, OrgID: k.OrgID, Name: k.WorkspaceID, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	token, hash, last4, err := keyauth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	k.TokenHash, k.TokenLast4 = hash, last4
	if k.Status == "" {
		k.Status = store.KeyActive
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now().UTC()
	}
	if err := st.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return token
}

func newCache(t *testing.T, st store.Store) (*keyauth.KeyCache, *rbac.Authorizer) {
	t.Helper()
	authz, err := rbac.New()
	if err != nil {
		t.Fatal(err)
	}
	c := keyauth.NewKeyCache(st, authz, keyauth.CacheOptions{FullReload: time.Hour})
	if err := c.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, authz
}

// TestCacheChecksExpiryAndGraceByTheClock: the stored status still says
// active (no expiry job ran), yet the key stops at expires_at and a rotated
// token at the end of its grace period.
func TestCacheChecksExpiryAndGraceByTheClock(t *testing.T) {
	eachStore(t, func(t *testing.T, _ string, st store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		expires := t0.Add(time.Hour)
		token := addKey(t, st, store.GatewayKey{ID: "k1", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleDeveloper, ExpiresAt: &expires})
		c, authz := newCache(t, st)

		id, reason := c.Authenticate(token, t0)
		if reason != "" || id.KeyID != "k1" || id.OrgID != "acme" || id.WorkspaceID != "prod" || id.Role != rbac.RoleDeveloper {
			t.Fatalf("Authenticate = %+v, %q", id, reason)
		}
		if !authz.Allow("k1", "acme", "prod", "proxy", "write") {
			t.Fatal("the Authorizer does not know the loaded key")
		}
		if _, reason := c.Authenticate(token, expires); reason != keyauth.ReasonExpiredKey {
			t.Errorf("at expires_at: reason %q, want %q", reason, keyauth.ReasonExpiredKey)
		}
		if k, _ := st.GetKey(ctx, "k1"); k.Status != store.KeyActive {
			t.Fatalf("stored status %q: the test needs it still active", k.Status)
		}

		newToken, newHash, last4, _ := keyauth.NewToken()
		graceEnd := t0.Add(10 * time.Minute)
		if _, err := st.RotateKey(ctx, "k1", newHash, last4, graceEnd, t0); err != nil {
			t.Fatal(err)
		}
		if _, reason := c.Authenticate(newToken, t0); reason != keyauth.ReasonUnknownKey {
			t.Errorf("new token before reload: %q", reason)
		}
		if err := c.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			token string
			at    time.Time
			want  string
		}{
			{token, t0.Add(5 * time.Minute), ""},
			{token, graceEnd, keyauth.ReasonGraceEnded},
			{newToken, t0.Add(20 * time.Minute), ""},
			{newToken, expires, keyauth.ReasonExpiredKey},
			{"", t0, keyauth.ReasonMissingKey},
		} {
			if _, reason := c.Authenticate(tc.token, tc.at); reason != tc.want {
				t.Errorf("token …%s at t0+%v: reason %q, want %q", keyauth.TokenLast4(tc.token), tc.at.Sub(t0), reason, tc.want)
			}
		}
	})
}

func TestReloadFollowsRevocationAndEvictActsAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, _ string, st store.Store) {
		ctx := context.Background()
		admin := addKey(t, st, store.GatewayKey{ID: "admin", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleAdmin})
		viewer := addKey(t, st, store.GatewayKey{ID: "viewer", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleViewer,
			Permissions: []string{rbac.PermAuditRead}})
		c, authz := newCache(t, st)
		now := time.Now()
		if c.Len() != 2 || !authz.Allow("viewer", "acme", "prod", "audit", "read") {
			t.Fatalf("loaded %d keys; viewer's extra permission allowed: %v", c.Len(), authz.Allow("viewer", "acme", "prod", "audit", "read"))
		}

		if _, err := st.RevokeKey(ctx, "admin", now); err != nil {
			t.Fatal(err)
		}
		if err := c.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if id, reason := c.Authenticate(admin, now); id != nil || reason != keyauth.ReasonUnknownKey {
			t.Errorf("revoked key: %+v %q", id, reason)
		}
		if authz.Allow("admin", "acme", "prod", "keys", "manage") {
			t.Error("the Authorizer still allows the revoked key")
		}

		c.Evict("viewer")
		if _, reason := c.Authenticate(viewer, now); reason != keyauth.ReasonUnknownKey {
			t.Errorf("evicted key: %q", reason)
		}
		if authz.Allow("viewer", "acme", "prod", "analytics", "read") {
			t.Error("the Authorizer still allows the evicted key")
		}
	})
}

// TestRunPicksUpChangesWhenTriggered is the local path: a change made in
// this process triggers a reload.
func TestRunPicksUpChangesWhenTriggered(t *testing.T) {
	eachStore(t, func(t *testing.T, _ string, st store.Store) {
		c, _ := newCache(t, st)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		token := addKey(t, st, store.GatewayKey{ID: "late", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleMember})
		c.Trigger()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, reason := c.Authenticate(token, time.Now()); reason == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the cache never loaded the new key")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func TestUsageTrackerFlushesLastUseInTheBackgroundOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, _ string, st store.Store) {
		ctx := context.Background()
		addKey(t, st, store.GatewayKey{ID: "k", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleMember})
		u := keyauth.NewUsageTracker(st, time.Hour, nil)
		t1 := time.Now().UTC().Truncate(time.Second)
		u.Touch("k", t1)
		u.Touch("k", t1.Add(-time.Hour)) // late arrivals never move it back
		if k, _ := st.GetKey(ctx, "k"); k.LastUsedAt != nil {
			t.Fatal("Touch wrote to the store")
		}
		if got, _ := u.LastUsed("k"); !got.Equal(t1) {
			t.Errorf("LastUsed = %v, want %v", got, t1)
		}
		if err := u.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		k, _ := st.GetKey(ctx, "k")
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(t1) {
			t.Fatalf("stored last_used_at = %v, want %v", k.LastUsedAt, t1)
		}
		u.Touch("k", t1.Add(3*time.Second))
		if err := u.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if k, _ := st.GetKey(ctx, "k"); k.LastUsedAt == nil || !k.LastUsedAt.Equal(t1.Add(3*time.Second)) {
			t.Errorf("stored last_used_at = %v after a later use", k.LastUsedAt)
		}
		if err := u.Flush(ctx); err != nil { // nothing pending
			t.Fatal(err)
		}
	})
}
