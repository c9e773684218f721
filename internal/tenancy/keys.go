package tenancy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// Rotation grace periods.
const (
	// DefaultGrace is how long a rotated key's previous token keeps working
	// when the caller does not say: a day, enough to roll a deployment.
	DefaultGrace = 24 * time.Hour
	// MaxGrace bounds it: a leaked token should not outlive its rotation by
	// more than a month.
	MaxGrace = 30 * 24 * time.Hour
)

// KeyInfo is a gateway key as the API and the CLI show it: never its token
// or its hash.
type KeyInfo struct {
	ID          string          `json:"id"`
	OrgID       string          `json:"org_id"`
	WorkspaceID string          `json:"workspace_id"`
	Name        string          `json:"name"`
	Role        string          `json:"role"`
	Permissions []string        `json:"permissions"`
	TokenLast4  string          `json:"token_last4"`
	Status      store.KeyStatus `json:"status"`
	Static      bool            `json:"static"`
	ExpiresAt   *time.Time      `json:"expires_at"`
	// PreviousTokenExpiresAt is the end of a rotation's grace period, while
	// the previous token still works.
	PreviousTokenExpiresAt *time.Time `json:"previous_token_expires_at"`
	CreatedBy              string     `json:"created_by"`
	CreatedAt              time.Time  `json:"created_at"`
	RotatedAt              *time.Time `json:"rotated_at"`
	RevokedAt              *time.Time `json:"revoked_at"`
	LastUsedAt             *time.Time `json:"last_used_at"`
}

// IssuedKey is a key together with its token, returned once by CreateKey
// and RotateKey and never again.
type IssuedKey struct {
	KeyInfo
	Token string `json:"token"`
}

// msgRoleAbove is the refusal to act on a key ranked above the caller.
func msgRoleAbove(verb, callerRole string) string {
	return fmt.Sprintf("cannot %s a key with a role above your own (%s)", verb, callerRole)
}

// ListKeys lists the keys in scope t (see keyauth.Authenticator.Tenant), newest
// first, with their effective status.
func (s *Service) ListKeys(ctx context.Context, t store.Tenant) ([]KeyInfo, error) {
	keys, err := s.o.Store.ListKeys(ctx, t)
	if err != nil {
		return nil, storeErr("listing keys", err)
	}
	now := s.now()
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.info(k, now))
	}
	return out, nil
}

// GetKey returns one key in scope t; a key outside it is not found.
func (s *Service) GetKey(ctx context.Context, t store.Tenant, id string) (KeyInfo, error) {
	k, err := s.o.Store.GetKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !inTenant(t, k.OrgID, k.WorkspaceID)) {
		return KeyInfo{}, notFound(MsgKeyNotFound)
	}
	if err != nil {
		return KeyInfo{}, storeErr("reading key", err)
	}
	return s.info(k, s.now()), nil
}

func inTenant(t store.Tenant, org, ws string) bool {
	return (t.OrgID == "" || t.OrgID == org) && (t.WorkspaceID == "" || t.WorkspaceID == ws)
}

// NewKey is what CreateKey needs.
type NewKey struct {
	Name string
	Role string
	// OrgID is for the operator; an API caller's keys go into its own
	// organization, and naming another is "workspace not found".
	OrgID string
	// WorkspaceID defaults to the caller's own workspace.
	WorkspaceID string
	ExpiresAt   *time.Time
	Permissions []string
}

// CreateKey mints a key. The caller needs keys:manage in the target
// workspace, a role at least the new key's, and every extra permission it
// grants.
func (s *Service) CreateKey(ctx context.Context, a Actor, in NewKey) (IssuedKey, error) {
	return change(ctx, s, a, auditlog.ActionKeyCreate, "", func(ctx context.Context, ev *store.AuditEvent) (IssuedKey, error) {
		return s.createKey(ctx, a, in, ev)
	})
}

func (s *Service) createKey(ctx context.Context, a Actor, in NewKey, ev *store.AuditEvent) (IssuedKey, error) {
	id, err := keyauth.NewID("gk_")
	if err != nil {
		return IssuedKey{}, err
	}
	ev.Target = "gateway_key:" + id
	switch {
	case in.Role == "":
		return IssuedKey{}, invalid(MsgRoleRequired)
	case !rbac.ValidRole(in.Role):
		return IssuedKey{}, invalid(MsgUnknownRole)
	}
	perms, err := cleanPermissions(in.Permissions)
	if err != nil {
		return IssuedKey{}, err
	}
	name, err := cleanName("name", in.Name)
	if err != nil {
		return IssuedKey{}, err
	}
	org, ws := in.OrgID, in.WorkspaceID
	if a.Identity != nil {
		if org != "" && org != a.Identity.OrgID {
			return IssuedKey{}, notFound(MsgWorkspaceNotFound)
		}
		org = a.Identity.OrgID
		if ws == "" {
			ws = a.Identity.WorkspaceID
		}
	} else if org == "" || ws == "" {
		return IssuedKey{}, invalid(msgOperatorNeedsTarget)
	}
	if !keyauth.ValidID(ws) {
		return IssuedKey{}, invalid("workspace_id " + keyauth.IDRule)
	}
	if !s.allowed(a, "keys", "manage", org, ws) {
		return IssuedKey{}, forbidden(keyauth.MsgForbidden)
	}
	_, err = s.o.Store.GetWorkspace(ctx, org, ws)
	if errors.Is(err, store.ErrNotFound) {
		return IssuedKey{}, notFound(MsgWorkspaceNotFound)
	}
	if err != nil {
		return IssuedKey{}, storeErr("reading workspace", err)
	}
	ev.OrgID, ev.WorkspaceID = org, ws
	if c := a.Identity; c != nil {
		if !rbac.CanGrant(c.Role, in.Role) {
			return IssuedKey{}, forbidden(msgRoleAbove("create", c.Role))
		}
		if !rbac.CanGrantPermissions(c.Role, c.Permissions, perms) {
			return IssuedKey{}, forbidden(MsgPermsNotHeld)
		}
	}
	now := s.now()
	var expires *time.Time
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !now.Before(e) {
			return IssuedKey{}, invalid(MsgExpiryInPast)
		}
		expires = &e
	}
	token, hash, last4, err := keyauth.NewToken()
	if err != nil {
		return IssuedKey{}, err
	}
	k := store.GatewayKey{
		ID: id, OrgID: org, WorkspaceID: ws, Name: name, Role: in.Role, Permissions: perms,
		TokenHash: hash, TokenLast4: last4, Status: store.KeyActive, ExpiresAt: expires,
		CreatedBy: a.label(), CreatedAt: now,
	}
	if err := s.o.Store.CreateKey(ctx, k); err != nil {
		return IssuedKey{}, storeErr("creating key", err)
	}
	s.refresh(ctx, "")
	return IssuedKey{KeyInfo: s.info(k, now), Token: token}, nil
}

// cleanPermissions checks, de-duplicates and sorts extra permissions.
func cleanPermissions(perms []string) ([]string, error) {
	out := make([]string, 0, len(perms))
	for _, p := range perms {
		if !rbac.ValidPermission(p) {
			return nil, invalid(fmt.Sprintf("unknown permission %q: valid permissions are %s", p, strings.Join(rbac.Permissions, ", ")))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// targetKey reads key id for a change by a, attributing ev to its tenant
// once it is known to be within a's reach. A key a may not manage is not
// found, exactly like a missing one: keys are tenant data.
func (s *Service) targetKey(ctx context.Context, a Actor, id string, ev *store.AuditEvent) (store.GatewayKey, error) {
	k, err := s.o.Store.GetKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.allowed(a, "keys", "manage", k.OrgID, k.WorkspaceID)) {
		return store.GatewayKey{}, notFound(MsgKeyNotFound)
	}
	if err != nil {
		return store.GatewayKey{}, storeErr("reading key", err)
	}
	ev.OrgID, ev.WorkspaceID = k.OrgID, k.WorkspaceID
	return k, nil
}

// RotateKey gives key id a new token. The previous token keeps working for
// grace (0 ends it at once), then stops, whether or not anything marks it
// expired. Static keys, revoked and expired keys cannot be rotated, nor
// keys the caller could not have created.
func (s *Service) RotateKey(ctx context.Context, a Actor, id string, grace time.Duration) (IssuedKey, error) {
	return change(ctx, s, a, auditlog.ActionKeyRotate, "gateway_key:"+id, func(ctx context.Context, ev *store.AuditEvent) (IssuedKey, error) {
		return s.rotateKey(ctx, a, id, grace, ev)
	})
}

func (s *Service) rotateKey(ctx context.Context, a Actor, id string, grace time.Duration, ev *store.AuditEvent) (IssuedKey, error) {
	if grace < 0 || grace > MaxGrace {
		return IssuedKey{}, invalid("grace period must be between 0 and 720h (30 days)")
	}
	k, err := s.targetKey(ctx, a, id, ev)
	if err != nil {
		return IssuedKey{}, err
	}
	now := s.now()
	if err := changeable(k, now); err != nil {
		return IssuedKey{}, err
	}
	if c := a.Identity; c != nil {
		if !rbac.CanGrant(c.Role, k.Role) {
			return IssuedKey{}, forbidden(msgRoleAbove("rotate", c.Role))
		}
		if !rbac.CanGrantPermissions(c.Role, c.Permissions, k.Permissions) {
			return IssuedKey{}, forbidden(MsgPermsNotHeld)
		}
	}
	token, hash, last4, err := keyauth.NewToken()
	if err != nil {
		return IssuedKey{}, err
	}
	ev.Reason = "grace " + grace.String()
	updated, err := s.o.Store.RotateKey(ctx, id, hash, last4, now.Add(grace), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return IssuedKey{}, notFound(MsgKeyNotFound)
	case errors.Is(err, store.ErrConflict):
		return IssuedKey{}, conflict(MsgKeyNotRotatable)
	case err != nil:
		return IssuedKey{}, storeErr("rotating key", err)
	}
	s.refresh(ctx, "")
	return IssuedKey{KeyInfo: s.info(updated, now), Token: token}, nil
}

// changeable refuses changes to static, revoked and expired keys.
func changeable(k store.GatewayKey, now time.Time) error {
	if k.Static {
		return conflict(MsgStaticKey)
	}
	switch effectiveStatus(k, now) {
	case store.KeyRevoked:
		return conflict(MsgKeyRevoked)
	case store.KeyExpired:
		return conflict(MsgKeyExpired)
	}
	return nil
}

// RevokeKey revokes key id at once, on this replica before it returns and
// on every replica sharing the store within about a second. Revoking a
// revoked key changes nothing and succeeds.
func (s *Service) RevokeKey(ctx context.Context, a Actor, id string) (KeyInfo, error) {
	return change(ctx, s, a, auditlog.ActionKeyRevoke, "gateway_key:"+id, func(ctx context.Context, ev *store.AuditEvent) (KeyInfo, error) {
		return s.revokeKey(ctx, a, id, ev)
	})
}

func (s *Service) revokeKey(ctx context.Context, a Actor, id string, ev *store.AuditEvent) (KeyInfo, error) {
	k, err := s.targetKey(ctx, a, id, ev)
	if err != nil {
		return KeyInfo{}, err
	}
	if k.Static {
		return KeyInfo{}, conflict(MsgStaticKey)
	}
	if c := a.Identity; c != nil && !rbac.CanGrant(c.Role, k.Role) {
		return KeyInfo{}, forbidden(msgRoleAbove("revoke", c.Role))
	}
	now := s.now()
	if k.Status == store.KeyRevoked {
		ev.Reason = "already revoked"
		return s.info(k, now), nil
	}
	updated, err := s.o.Store.RevokeKey(ctx, id, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return KeyInfo{}, notFound(MsgKeyNotFound)
	case errors.Is(err, store.ErrConflict):
		return KeyInfo{}, conflict(MsgKeyNotRevocable)
	case err != nil:
		return KeyInfo{}, storeErr("revoking key", err)
	}
	s.refresh(ctx, id)
	return s.info(updated, now), nil
}

// effectiveStatus is a key's status as authentication sees it at now,
// whether or not the expiry job has caught up with the stored status.
func effectiveStatus(k store.GatewayKey, now time.Time) store.KeyStatus {
	switch {
	case k.Status == store.KeyRevoked || k.Status == store.KeyExpired:
		return k.Status
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return store.KeyExpired
	case k.Status == store.KeyRotating && (k.PreviousExpiresAt == nil || !now.Before(*k.PreviousExpiresAt)):
		return store.KeyActive
	}
	return k.Status
}

// info converts a stored key for display at time now.
func (s *Service) info(k store.GatewayKey, now time.Time) KeyInfo {
	ki := KeyInfo{
		ID: k.ID, OrgID: k.OrgID, WorkspaceID: k.WorkspaceID, Name: k.Name, Role: k.Role,
		Permissions: k.Permissions, TokenLast4: k.TokenLast4, Status: effectiveStatus(k, now), Static: k.Static,
		ExpiresAt: k.ExpiresAt, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt,
		RotatedAt: k.RotatedAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt,
	}
	if ki.Permissions == nil {
		ki.Permissions = []string{}
	}
	if ki.Status == store.KeyRotating {
		ki.PreviousTokenExpiresAt = k.PreviousExpiresAt
	}
	if s.o.Usage != nil {
		// This process may have seen a use the store has not yet been told of.
		if t, ok := s.o.Usage.LastUsed(k.ID); ok && (ki.LastUsedAt == nil || t.After(*ki.LastUsedAt)) {
			ki.LastUsedAt = &t
		}
	}
	return ki
}
