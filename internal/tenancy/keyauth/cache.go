package keyauth

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
)

// Identity is an authenticated gateway key: who is calling and where. It is
// shared by every request the key makes and must never be modified.
type Identity struct {
	KeyID       string
	OrgID       string
	WorkspaceID string
	Role        string
	Permissions []string // extra permissions, additive to the role's
	Static      bool     // declared in the config file
}

// cachedKey is one authenticating key in a snapshot.
type cachedKey struct {
	id        *Identity
	expiresAt time.Time // zero: never
}

// credential is one token hash in a snapshot: a key's current token, or the
// previous one during a rotation's grace period.
type credential struct {
	key   *cachedKey
	until time.Time // zero: as long as the key; else the end of the grace period
}

// snapshot is the cache's state, built whole and never modified once
// published, so lookups need no lock.
type snapshot struct {
	byHash map[string]credential
	byID   map[string]*cachedKey
}

// Denial reasons, as recorded in the audit log.
const (
	ReasonMissingKey = "missing gateway key"
	ReasonUnknownKey = "unknown or revoked gateway key"
	ReasonExpiredKey = "gateway key expired"
	ReasonGraceEnded = "rotated token past its grace period"
)

// CacheOptions tunes a KeyCache. Zero values take the defaults.
type CacheOptions struct {
	// FullReload is the safety-net period: the cache reloads everything this
	// often even when no change was announced. Default 30s.
	FullReload time.Duration
	Logger     *slog.Logger
}

// KeyCache holds every key that can authenticate, keyed by token hash, and
// keeps the rbac Authorizer in step with it. Lookups read an immutable
// snapshot through an atomic pointer: no lock and no database on the
// request path. Reload replaces the snapshot from the store; Run reloads
// whenever the store announces a change (another replica revoked a key) and
// periodically as a safety net.
type KeyCache struct {
	store store.Tenancy
	authz *rbac.Authorizer
	opts  CacheOptions
	log   *slog.Logger

	snap atomic.Pointer[snapshot]

	// reloadMu serializes reloads from reading the store to publishing, so a
	// snapshot read earlier can never be published after one read later
	// (rbac.ReplaceAll is last-writer-wins).
	reloadMu sync.Mutex
	// kick asks Run for a reload; its buffer of one coalesces a burst of
	// notifications into a single reload.
	kick chan struct{}
}

// NewKeyCache returns an empty cache: nothing authenticates until the first
// Reload.
func NewKeyCache(st store.Tenancy, authz *rbac.Authorizer, opts CacheOptions) *KeyCache {
	if opts.FullReload <= 0 {
		opts.FullReload = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &KeyCache{store: st, authz: authz, opts: opts, log: opts.Logger, kick: make(chan struct{}, 1)}
	c.snap.Store(&snapshot{byHash: map[string]credential{}, byID: map[string]*cachedKey{}})
	return c
}

// Authenticate returns the identity holding token at time now, or nil and
// the reason it is refused. Expiry is checked here, against the key's
// expires_at and the rotated token's grace period, rather than left to a
// background job: a job that runs late must never extend a key's life.
func (c *KeyCache) Authenticate(token string, now time.Time) (*Identity, string) {
	if token == "" {
		return nil, ReasonMissingKey
	}
	if len(token) > maxPresentedToken {
		return nil, ReasonUnknownKey
	}
	cred, ok := c.snap.Load().byHash[HashToken(token)]
	if !ok {
		return nil, ReasonUnknownKey
	}
	if !cred.key.expiresAt.IsZero() && !now.Before(cred.key.expiresAt) {
		return cred.key.id, ReasonExpiredKey
	}
	if !cred.until.IsZero() && !now.Before(cred.until) {
		return cred.key.id, ReasonGraceEnded
	}
	return cred.key.id, ""
}

// Len is the number of keys that can authenticate.
func (c *KeyCache) Len() int { return len(c.snap.Load().byID) }

// Reload reads every authenticating key from the store and publishes them,
// to the Authorizer first and then to lookups: a key that is new is never
// authenticated before the Authorizer knows its role, and a key that is gone
// is refused either way in between. A key the Authorizer would reject (a
// malformed id, an unknown role or permission) is left out and logged rather
// than failing the whole reload.
func (c *KeyCache) Reload(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	keys, err := c.store.AllKeys(ctx)
	if err != nil {
		return err
	}
	next := &snapshot{byHash: make(map[string]credential, len(keys)), byID: make(map[string]*cachedKey, len(keys))}
	subjects := make([]rbac.Subject, 0, len(keys))
	for i := range keys {
		k := &keys[i]
		if k.Status != store.KeyActive && k.Status != store.KeyRotating {
			continue
		}
		if reason := unusable(k); reason != "" {
			c.log.Error("gateway key left out of the key cache", "key_id", k.ID, "reason", reason)
			continue
		}
		if _, dup := next.byID[k.ID]; dup {
			continue
		}
		ck := &cachedKey{id: &Identity{
			KeyID: k.ID, OrgID: k.OrgID, WorkspaceID: k.WorkspaceID, Role: k.Role,
			Permissions: slices.Clone(k.Permissions), Static: k.Static,
		}}
		if k.ExpiresAt != nil {
			ck.expiresAt = *k.ExpiresAt
		}
		next.byID[k.ID] = ck
		next.byHash[k.TokenHash] = credential{key: ck}
		if k.PreviousTokenHash != "" && k.PreviousExpiresAt != nil {
			// A current token always wins over someone's previous one.
			if _, taken := next.byHash[k.PreviousTokenHash]; !taken {
				next.byHash[k.PreviousTokenHash] = credential{key: ck, until: *k.PreviousExpiresAt}
			}
		}
		subjects = append(subjects, rbac.Subject{
			KeyID: k.ID, OrgID: k.OrgID, WorkspaceID: k.WorkspaceID, Role: k.Role, Permissions: k.Permissions,
		})
	}
	if err := c.authz.ReplaceAll(subjects); err != nil {
		return err
	}
	c.snap.Store(next)
	return nil
}

// unusable says why a stored key cannot be loaded, or "" when it can.
func unusable(k *store.GatewayKey) string {
	switch {
	case !ValidID(k.ID), !ValidID(k.OrgID), !ValidID(k.WorkspaceID):
		return "malformed id"
	case !rbac.ValidRole(k.Role):
		return "unknown role " + k.Role
	case k.TokenHash == "":
		return "no token hash"
	}
	for _, p := range k.Permissions {
		if !rbac.ValidPermission(p) {
			return "unknown permission " + p
		}
	}
	return ""
}

// Evict withdraws one key at once, without the store: the fallback when a
// revoke committed but the reload after it failed. The next successful
// reload, which reads the revoke, makes it permanent.
func (c *KeyCache) Evict(id string) {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	c.authz.Remove(id)
	cur := c.snap.Load()
	if _, ok := cur.byID[id]; !ok {
		return
	}
	next := &snapshot{byHash: make(map[string]credential, len(cur.byHash)), byID: make(map[string]*cachedKey, len(cur.byID))}
	for h, cred := range cur.byHash {
		if cred.key.id.KeyID != id {
			next.byHash[h] = cred
		}
	}
	for kid, k := range cur.byID {
		if kid != id {
			next.byID[kid] = k
		}
	}
	c.snap.Store(next)
}

// Trigger asks Run for a reload soon. It never blocks; triggers that arrive
// while one is pending are merged into it.
func (c *KeyCache) Trigger() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// watchSettle is when Run reloads again after (re)subscribing to change
// notifications: a change committed after the previous load but before the
// subscription took effect would otherwise wait for the next full reload.
var watchSettle = []time.Duration{500 * time.Millisecond, 2 * time.Second}

// Run keeps the cache fresh until ctx ends: it reloads when the store
// announces a change (store.WatchKeys: Postgres LISTEN/NOTIFY, SQLite a
// data_version poll, so a revoke by any process, a replica or the CLI,
// holds on this one within a second), when Trigger is called,
// and every FullReload as a safety net against lost notifications. It
// returns when ctx ends.
func (c *KeyCache) Run(ctx context.Context) {
	// Run returns only after the subscription ended, so that the caller may
	// close the store (a pool waits for the connection a LISTEN holds).
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		c.watch(ctx)
	}()
	defer func() { <-watchDone }()
	ticker := time.NewTicker(c.opts.FullReload)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
			c.reload(ctx, "change announced")
		case <-ticker.C:
			c.reload(ctx, "periodic")
		}
	}
}

func (c *KeyCache) reload(ctx context.Context, why string) {
	if err := c.Reload(ctx); err != nil && ctx.Err() == nil {
		c.log.Warn("gateway key cache reload failed; serving the previous keys", "trigger", why, "err", err)
	}
}

// watch subscribes to the store's change notifications, resubscribing with
// backoff when the subscription breaks, until ctx ends.
func (c *KeyCache) watch(ctx context.Context) {
	const maxBackoff = 5 * time.Second
	backoff := 100 * time.Millisecond
	for {
		for _, d := range watchSettle {
			time.AfterFunc(d, c.Trigger) // harmless after ctx ends: nobody reads kick
		}
		started := time.Now()
		err := c.store.WatchKeys(ctx, c.Trigger)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			// A store that cannot watch returns at once: local changes
			// reload directly, and the periodic reload does the rest.
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 100 * time.Millisecond // it had been healthy: retry quickly
		}
		c.log.Warn("gateway key change notifications interrupted; resubscribing", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
		// Changes made while unsubscribed were never announced.
		c.Trigger()
	}
}
