package store

import (
	"context"
	"errors"
	"time"
)

// ErrConflict is returned when a write would break a rule the store keeps:
// an id that already exists, a workspace that still has active keys, an org
// that still has workspaces, or a static key changed through the API.
var ErrConflict = errors.New("conflict")

// Org is an organization, the top tenant.
type Org struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Workspace belongs to one org; gateway keys belong to one workspace. Its
// id is unique within its org only: two orgs may each have a workspace
// "prod", so a workspace is always addressed by (OrgID, ID).
type Workspace struct {
	ID        string
	OrgID     string
	Name      string
	CreatedAt time.Time
}

// KeyStatus is a gateway key's lifecycle state.
type KeyStatus string

const (
	KeyActive   KeyStatus = "active"
	KeyRotating KeyStatus = "rotating" // a new token was issued; the previous one works until PreviousExpiresAt
	KeyRevoked  KeyStatus = "revoked"
	KeyExpired  KeyStatus = "expired"
)

// GatewayKey is a gateway key as stored: its token only as a SHA-256 hash.
type GatewayKey struct {
	ID          string
	OrgID       string
	WorkspaceID string
	Name        string
	Role        string
	Permissions []string // extra permissions, additive to the role's
	TokenHash   string   // SHA-256 hex of the current token
	TokenLast4  string   // shown in lists so people can tell keys apart
	Status      KeyStatus
	Static      bool // declared in the config file; the API may not change it
	ExpiresAt   *time.Time
	// PreviousTokenHash is the token replaced by the last rotation; it keeps
	// working until PreviousExpiresAt (the grace period).
	PreviousTokenHash string
	PreviousExpiresAt *time.Time
	CreatedBy         string // actor key id, or "cli"/"config"
	CreatedAt         time.Time
	RotatedAt         *time.Time
	RevokedAt         *time.Time
	LastUsedAt        *time.Time
}

// Tenancy stores orgs, workspaces and gateway keys.
type Tenancy interface {
	ListOrgs(ctx context.Context) ([]Org, error)
	GetOrg(ctx context.Context, id string) (Org, error)   // ErrNotFound
	CreateOrg(ctx context.Context, o Org) error           // ErrConflict when the id exists
	RenameOrg(ctx context.Context, id, name string) error // ErrNotFound
	DeleteOrg(ctx context.Context, id string) error       // ErrNotFound; ErrConflict while it has workspaces
	ListWorkspaces(ctx context.Context, orgID string) ([]Workspace, error)
	GetWorkspace(ctx context.Context, orgID, id string) (Workspace, error) // ErrNotFound
	CreateWorkspace(ctx context.Context, w Workspace) error                // ErrConflict when the org has the id; ErrNotFound when the org does not exist
	RenameWorkspace(ctx context.Context, orgID, id, name string) error     // ErrNotFound
	DeleteWorkspace(ctx context.Context, orgID, id string) error           // ErrNotFound; ErrConflict while it has active or rotating keys

	// ListKeys lists keys in a tenant (empty WorkspaceID = the whole org,
	// empty Tenant = everything), newest first.
	ListKeys(ctx context.Context, t Tenant) ([]GatewayKey, error)
	GetKey(ctx context.Context, id string) (GatewayKey, error) // ErrNotFound
	// AllKeys returns every key that can still authenticate (active or
	// rotating), for the in-memory key cache.
	AllKeys(ctx context.Context) ([]GatewayKey, error)
	CreateKey(ctx context.Context, k GatewayKey) error // ErrConflict on a duplicate id or token hash
	// RotateKey replaces the token: the current hash becomes the previous
	// one, valid until graceUntil; status becomes rotating. It is one
	// conditional update, so the rule holds whatever ran meanwhile:
	// ErrNotFound; ErrConflict for a static, revoked or expired key (by
	// status or by ExpiresAt at now) or a new hash some key already uses.
	RotateKey(ctx context.Context, id, newHash, newLast4 string, graceUntil, now time.Time) (GatewayKey, error)
	// RevokeKey revokes at once (again: keeps the first time), as one
	// conditional update. ErrNotFound; ErrConflict for a static key.
	RevokeKey(ctx context.Context, id string, now time.Time) (GatewayKey, error)
	// ExpireKeys ends grace periods that are over (status back to active,
	// previous hash cleared) and marks keys past ExpiresAt expired. It
	// returns how many keys changed.
	ExpireKeys(ctx context.Context, now time.Time) (int, error)
	// TouchKeys records last-used times (flushed from memory in the
	// background, never per request).
	TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error
	// SyncStaticKeys makes the static keys in the store exactly keys
	// (creating their orgs and workspaces when missing): config-declared
	// keys that disappeared from the config are revoked. Keys are stored as
	// given (tenancy.StaticKeys fills CreatedBy and CreatedAt).
	SyncStaticKeys(ctx context.Context, keys []GatewayKey) error
	// WatchKeys calls onChange, until ctx ends, within a second of any
	// process (a replica, the CLI, this one) committing a change to a key,
	// org or workspace: Postgres LISTEN/NOTIFY, SQLite a cheap poll of
	// PRAGMA data_version and a trigger-kept counter. It returns nil when
	// ctx ends and an error when the watch broke; changes made meanwhile
	// were not announced.
	WatchKeys(ctx context.Context, onChange func()) error
}

// AuditEvent is one auth decision or mutation worth keeping.
type AuditEvent struct {
	ID          string
	Time        time.Time
	OrgID       string
	WorkspaceID string
	ActorKeyID  string
	Action      string // e.g. "auth.deny", "key.create", "key.rotate", "workspace.delete"
	Target      string // e.g. "gateway_key:key_123", "route:POST /api/gateway-keys"
	Outcome     string // "allowed", "denied", "ok", "error"
	Reason      string
	ClientIP    string
	RequestID   string
	// Count is how many occurrences the event stands for: 1 (0 is read as
	// 1) for every event but aggregated authentication failures, which
	// record one event per source, actor and minute (see auditlog.Log).
	Count int64
}

// EventCount is e's count as stored: at least 1.
func (e AuditEvent) EventCount() int64 { return max(e.Count, 1) }

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	Tenant Tenant
	Action string
	From   time.Time
	To     time.Time
	Limit  int
	Cursor *TraceCursor // (time, id) of the last item of the previous page
}

// Audit stores audit events.
type Audit interface {
	// InsertAudit stores a batch. An id already stored (or repeated in the
	// batch) keeps the largest count seen and is otherwise unchanged, so an
	// aggregated event may be written again as its count grows, and a
	// retried batch is harmless.
	InsertAudit(ctx context.Context, batch []AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, *TraceCursor, error)
}
