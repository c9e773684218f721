package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
)

// Messages of the Service's refusals, part of the public contract.
const (
	MsgKeyNotFound       = "gateway key not found"
	MsgWorkspaceNotFound = "workspace not found"
	MsgOrgNotFound       = "organization not found"
	MsgStaticKey         = "static gateway key: it is declared in the config file (auth.keys) and can only be changed there"
	MsgPermsNotHeld      = "cannot grant permissions your own key does not hold"
	MsgKeyRevoked        = "gateway key is revoked; create a new one"
	MsgKeyExpired        = "gateway key has expired; create a new one"
	MsgWorkspaceHasKeys  = "workspace still has active gateway keys; revoke them before deleting it"
	MsgOrgHasWorkspaces  = "organization still has workspaces; delete them first"
	MsgOrgCreateViaCLI   = "organizations are created with the CLI (ongoingai keys create --org ORG --workspace WS --role owner): " +
		"a gateway key acts only inside its own organization"
	MsgOwnerOnly           = "changing an organization needs an owner key"
	MsgRoleRequired        = "role is required: one of owner, admin, developer, member, viewer, operator"
	MsgUnknownRole         = "role must be one of owner, admin, developer, member, viewer, operator"
	MsgExpiryInPast        = "expires_at must be in the future"
	MsgNameRequired        = "name is required"
	MsgWorkspaceExists     = "workspace already exists"
	MsgOrgExists           = "organization already exists"
	MsgKeyNotRotatable     = "gateway key cannot be rotated: it is static, revoked or expired"
	MsgKeyNotRevocable     = "gateway key cannot be revoked through the API: it is static"
	msgOperatorNeedsTarget = "an organization and a workspace are required"
)

// msgRoleAbove is the refusal to act on a key ranked above the caller.
func msgRoleAbove(verb, callerRole string) string {
	return fmt.Sprintf("cannot %s a key with a role above your own (%s)", verb, callerRole)
}

// Rotation grace periods.
const (
	// DefaultGrace is how long a rotated key's previous token keeps working
	// when the caller does not say: a day, enough to roll a deployment.
	DefaultGrace = 24 * time.Hour
	// MaxGrace bounds it: a leaked token should not outlive its rotation by
	// more than a month.
	MaxGrace = 30 * 24 * time.Hour
)

// Actor is who asks the Service for something.
type Actor struct {
	// Identity is the calling gateway key. Nil with Operator unset is an
	// anonymous API caller (auth disabled), who may read and never change.
	Identity *Identity
	// Operator is someone with direct access to the store (the CLI), who
	// may do anything: they could edit the database anyway.
	Operator            bool
	ClientIP, RequestID string
}

// OperatorActor is the CLI's actor.
func OperatorActor() Actor { return Actor{Operator: true} }

// label names the actor in audit events and created_by.
func (a Actor) label() string {
	switch {
	case a.Identity != nil:
		return a.Identity.KeyID
	case a.Operator:
		return "cli"
	}
	return ""
}

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

// OrgInfo is an organization as the API shows it.
type OrgInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// WorkspaceInfo is a workspace as the API shows it.
type WorkspaceInfo struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// AuditReader reads audit events; store.Audit satisfies it.
type AuditReader interface {
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, *store.TraceCursor, error)
}

// ServiceOptions wires a Service.
type ServiceOptions struct {
	Store       store.Tenancy
	AuditReader AuditReader
	// Authorizer answers the permission questions about API callers. The
	// CLI, whose only actor is the operator, may leave it nil.
	Authorizer *rbac.Authorizer
	// Cache, when set, is reloaded after every change, so a change made
	// through this process holds here before the call returns.
	Cache   *KeyCache
	Usage   *UsageTracker // merges fresh last-used times into listings
	Auditor Auditor
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service performs the key, organization and workspace operations for
// both the API and the CLI, enforcing every rule in one place: scope,
// permission, role rank, static keys, and an audit event for every change
// or attempt.
type Service struct {
	o   ServiceOptions
	log *slog.Logger
}

// NewService returns a Service.
func NewService(o ServiceOptions) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o, log: o.Logger}
}

// now is the clock in the precision both stores keep, so that what a call
// returns equals what a later read returns.
func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Microsecond) }

// allowed reports whether a may do resource:action in workspace ws of org.
func (s *Service) allowed(a Actor, resource, action, org, ws string) bool {
	if a.Operator {
		return true
	}
	if a.Identity == nil || s.o.Authorizer == nil {
		return false
	}
	return s.o.Authorizer.Allow(a.Identity.KeyID, org, ws, resource, action)
}

// mayChange refuses changes by anonymous callers. The router already does,
// for every non-read method; this keeps the rule true whatever the route.
func mayChange(a Actor) error {
	if a.Identity == nil && !a.Operator {
		return forbidden(MsgAuthDisabled)
	}
	return nil
}

// event starts the audit event of a change, attributed to the actor's own
// tenant until the target is known to be within the actor's reach.
func (s *Service) event(a Actor, action, target string) store.AuditEvent {
	ev := store.AuditEvent{
		ActorKeyID: a.label(), Action: action, Target: target,
		ClientIP: a.ClientIP, RequestID: a.RequestID,
	}
	if a.Identity != nil {
		ev.OrgID, ev.WorkspaceID = a.Identity.OrgID, a.Identity.WorkspaceID
	}
	return ev
}

// audit records ev with the outcome err implies.
func (s *Service) audit(ev store.AuditEvent, err error) {
	if s.o.Auditor == nil {
		return
	}
	switch {
	case err == nil:
		ev.Outcome = OutcomeOK
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrNotFound):
		ev.Outcome, ev.Reason = OutcomeDenied, err.Error()
	default:
		ev.Outcome, ev.Reason = OutcomeError, err.Error()
	}
	s.o.Auditor.Record(ev)
}

// refresh reloads the key cache after a change made here, so it holds in
// this process before the caller hears of it. If the reload fails, a
// revoked key is evicted directly and the cache retries in the background.
func (s *Service) refresh(ctx context.Context, revoked string) {
	if s.o.Cache == nil {
		return
	}
	// The change is committed: finish even if the client hangs up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.o.Cache.Reload(ctx); err != nil {
		s.log.Warn("gateway key cache reload after a change failed; retrying in the background", "err", err)
		if revoked != "" {
			s.o.Cache.Evict(revoked)
		}
		s.o.Cache.Trigger()
	}
}

// storeErr wraps an unexpected store error; its text stays out of API
// answers (the API reports an internal error) but reaches the audit log.
func storeErr(op string, err error) error { return fmt.Errorf("%s: %w", op, err) }

// ---- keys ----

// ListKeys lists the keys in scope t (see Authenticator.Tenant), newest
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
	ev := s.event(a, ActionKeyCreate, "")
	k, err := s.createKey(ctx, a, in, &ev)
	s.audit(ev, err)
	return k, err
}

func (s *Service) createKey(ctx context.Context, a Actor, in NewKey, ev *store.AuditEvent) (IssuedKey, error) {
	if err := mayChange(a); err != nil {
		return IssuedKey{}, err
	}
	id, err := randomID("gk_")
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
	if !ValidID(ws) {
		return IssuedKey{}, invalid("workspace_id " + idRule)
	}
	if !s.allowed(a, "keys", "manage", org, ws) {
		return IssuedKey{}, forbidden(MsgForbidden)
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
	token, hash, last4, err := NewToken()
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
	ev := s.event(a, ActionKeyRotate, "gateway_key:"+id)
	k, err := s.rotateKey(ctx, a, id, grace, &ev)
	s.audit(ev, err)
	return k, err
}

func (s *Service) rotateKey(ctx context.Context, a Actor, id string, grace time.Duration, ev *store.AuditEvent) (IssuedKey, error) {
	if err := mayChange(a); err != nil {
		return IssuedKey{}, err
	}
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
	token, hash, last4, err := NewToken()
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
	ev := s.event(a, ActionKeyRevoke, "gateway_key:"+id)
	k, err := s.revokeKey(ctx, a, id, &ev)
	s.audit(ev, err)
	return k, err
}

func (s *Service) revokeKey(ctx context.Context, a Actor, id string, ev *store.AuditEvent) (KeyInfo, error) {
	if err := mayChange(a); err != nil {
		return KeyInfo{}, err
	}
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

// ---- organizations ----

// ListOrgs lists the organizations a may see: its own for a key,
// every one for the operator or when auth is disabled.
func (s *Service) ListOrgs(ctx context.Context, a Actor) ([]OrgInfo, error) {
	if a.Identity != nil {
		o, err := s.o.Store.GetOrg(ctx, a.Identity.OrgID)
		if errors.Is(err, store.ErrNotFound) {
			return []OrgInfo{}, nil
		}
		if err != nil {
			return nil, storeErr("reading organization", err)
		}
		return []OrgInfo{orgInfo(o)}, nil
	}
	orgs, err := s.o.Store.ListOrgs(ctx)
	if err != nil {
		return nil, storeErr("listing organizations", err)
	}
	out := make([]OrgInfo, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, orgInfo(o))
	}
	return out, nil
}

func orgInfo(o store.Org) OrgInfo { return OrgInfo{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt} }

// CreateOrg creates an organization. Only the operator may: a gateway key
// acts inside its own organization and could never use a new one, so the
// API refuses (MsgOrgCreateViaCLI) and the CLI creates organizations as it
// mints their first key.
func (s *Service) CreateOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	ev := s.event(a, ActionOrgCreate, "org:"+id)
	o, err := s.createOrg(ctx, a, id, name)
	if err == nil {
		ev.OrgID = id // the new organization's owners will want to see its birth
	}
	s.audit(ev, err)
	return o, err
}

func (s *Service) createOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	if err := mayChange(a); err != nil {
		return OrgInfo{}, err
	}
	if !a.Operator {
		return OrgInfo{}, forbidden(MsgOrgCreateViaCLI)
	}
	if !ValidID(id) {
		return OrgInfo{}, invalid("organization id " + idRule)
	}
	name, err := cleanName("name", name)
	if err != nil {
		return OrgInfo{}, err
	}
	if name == "" {
		name = id
	}
	o := store.Org{ID: id, Name: name, CreatedAt: s.now()}
	switch err := s.o.Store.CreateOrg(ctx, o); {
	case errors.Is(err, store.ErrConflict):
		return OrgInfo{}, conflict(MsgOrgExists)
	case err != nil:
		return OrgInfo{}, storeErr("creating organization", err)
	}
	return orgInfo(o), nil
}

// orgTarget checks that a may change organization id: the operator, or an
// owner key of that organization. Another organization is not found.
func orgTarget(a Actor, id string) error {
	if a.Identity == nil {
		return nil // operator; anonymous callers were refused by mayChange
	}
	if id != a.Identity.OrgID {
		return notFound(MsgOrgNotFound)
	}
	if a.Identity.Role != rbac.RoleOwner {
		return forbidden(MsgOwnerOnly)
	}
	return nil
}

// RenameOrg renames an organization: the operator, or an owner of it.
func (s *Service) RenameOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	ev := s.event(a, ActionOrgRename, "org:"+id)
	o, err := s.renameOrg(ctx, a, id, name)
	s.audit(ev, err)
	return o, err
}

func (s *Service) renameOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	if err := mayChange(a); err != nil {
		return OrgInfo{}, err
	}
	if err := orgTarget(a, id); err != nil {
		return OrgInfo{}, err
	}
	name, err := cleanName("name", name)
	if err != nil {
		return OrgInfo{}, err
	}
	if name == "" {
		return OrgInfo{}, invalid(MsgNameRequired)
	}
	switch err := s.o.Store.RenameOrg(ctx, id, name); {
	case errors.Is(err, store.ErrNotFound):
		return OrgInfo{}, notFound(MsgOrgNotFound)
	case err != nil:
		return OrgInfo{}, storeErr("renaming organization", err)
	}
	o, err := s.o.Store.GetOrg(ctx, id)
	if err != nil {
		return OrgInfo{}, storeErr("reading organization", err)
	}
	return orgInfo(o), nil
}

// DeleteOrg deletes an organization without workspaces: the operator, or
// an owner of it (whose own key keeps a workspace alive, so in practice the
// store refuses with MsgOrgHasWorkspaces until the operator cleans up).
func (s *Service) DeleteOrg(ctx context.Context, a Actor, id string) error {
	ev := s.event(a, ActionOrgDelete, "org:"+id)
	err := s.deleteOrg(ctx, a, id)
	s.audit(ev, err)
	return err
}

func (s *Service) deleteOrg(ctx context.Context, a Actor, id string) error {
	if err := mayChange(a); err != nil {
		return err
	}
	if err := orgTarget(a, id); err != nil {
		return err
	}
	switch err := s.o.Store.DeleteOrg(ctx, id); {
	case errors.Is(err, store.ErrNotFound):
		return notFound(MsgOrgNotFound)
	case errors.Is(err, store.ErrConflict):
		return conflict(MsgOrgHasWorkspaces)
	case err != nil:
		return storeErr("deleting organization", err)
	}
	return nil
}

// ---- workspaces ----

// ListWorkspaces lists the workspaces a may manage: for a key, those of its
// organization where it holds workspaces:manage (all of them for an owner);
// for the operator or with auth disabled, those of orgID, or of every
// organization when orgID is empty.
func (s *Service) ListWorkspaces(ctx context.Context, a Actor, orgID string) ([]WorkspaceInfo, error) {
	var orgs []string
	switch {
	case a.Identity != nil:
		if orgID != "" && orgID != a.Identity.OrgID {
			return []WorkspaceInfo{}, nil
		}
		orgs = []string{a.Identity.OrgID}
	case orgID != "":
		orgs = []string{orgID}
	default:
		all, err := s.o.Store.ListOrgs(ctx)
		if err != nil {
			return nil, storeErr("listing organizations", err)
		}
		for _, o := range all {
			orgs = append(orgs, o.ID)
		}
	}
	out := []WorkspaceInfo{}
	for _, org := range orgs {
		wss, err := s.o.Store.ListWorkspaces(ctx, org)
		if err != nil {
			return nil, storeErr("listing workspaces", err)
		}
		for _, w := range wss {
			if a.Identity == nil || s.allowed(a, "workspaces", "manage", w.OrgID, w.ID) {
				out = append(out, workspaceInfo(w))
			}
		}
	}
	return out, nil
}

func workspaceInfo(w store.Workspace) WorkspaceInfo {
	return WorkspaceInfo{ID: w.ID, OrgID: w.OrgID, Name: w.Name, CreatedAt: w.CreatedAt}
}

// CreateWorkspace creates a workspace in orgID (a key's own organization
// when empty). id is generated when empty; name defaults to the id. The
// caller needs workspaces:manage there, which only an owner has in a
// workspace that does not exist yet.
func (s *Service) CreateWorkspace(ctx context.Context, a Actor, orgID, id, name string) (WorkspaceInfo, error) {
	ev := s.event(a, ActionWorkspaceCreate, "workspace:"+id)
	w, err := s.createWorkspace(ctx, a, orgID, id, name, &ev)
	s.audit(ev, err)
	return w, err
}

func (s *Service) createWorkspace(ctx context.Context, a Actor, orgID, id, name string, ev *store.AuditEvent) (WorkspaceInfo, error) {
	if err := mayChange(a); err != nil {
		return WorkspaceInfo{}, err
	}
	if a.Identity != nil {
		if orgID != "" && orgID != a.Identity.OrgID {
			return WorkspaceInfo{}, notFound(MsgOrgNotFound)
		}
		orgID = a.Identity.OrgID
	} else if orgID == "" {
		return WorkspaceInfo{}, invalid("org_id is required")
	}
	if id == "" {
		var err error
		if id, err = randomID("ws_"); err != nil {
			return WorkspaceInfo{}, err
		}
		ev.Target = "workspace:" + id
	} else if !ValidID(id) {
		return WorkspaceInfo{}, invalid("workspace id " + idRule)
	}
	name, err := cleanName("name", name)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	if name == "" {
		name = id
	}
	if !s.allowed(a, "workspaces", "manage", orgID, id) {
		return WorkspaceInfo{}, forbidden(MsgForbidden)
	}
	ev.OrgID, ev.WorkspaceID = orgID, id
	w := store.Workspace{ID: id, OrgID: orgID, Name: name, CreatedAt: s.now()}
	switch err := s.o.Store.CreateWorkspace(ctx, w); {
	case errors.Is(err, store.ErrConflict):
		return WorkspaceInfo{}, conflict(MsgWorkspaceExists)
	case errors.Is(err, store.ErrNotFound):
		return WorkspaceInfo{}, notFound(MsgOrgNotFound)
	case err != nil:
		return WorkspaceInfo{}, storeErr("creating workspace", err)
	}
	return workspaceInfo(w), nil
}

// targetWorkspace reads workspace id of organization orgID for a change by
// a. Workspace ids are unique per organization, so a key only ever
// addresses its own organization's workspaces (orgID may be empty or must
// be its own; another is not found), and the operator must name the
// organization. One of a's own organization that a may not manage is
// forbidden.
func (s *Service) targetWorkspace(ctx context.Context, a Actor, orgID, id string, ev *store.AuditEvent) (store.Workspace, error) {
	if a.Identity != nil {
		if orgID != "" && orgID != a.Identity.OrgID {
			return store.Workspace{}, notFound(MsgWorkspaceNotFound)
		}
		orgID = a.Identity.OrgID
	} else if orgID == "" {
		return store.Workspace{}, invalid("org_id is required")
	}
	w, err := s.o.Store.GetWorkspace(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Workspace{}, notFound(MsgWorkspaceNotFound)
	}
	if err != nil {
		return store.Workspace{}, storeErr("reading workspace", err)
	}
	if !s.allowed(a, "workspaces", "manage", w.OrgID, w.ID) {
		return store.Workspace{}, forbidden(MsgForbidden)
	}
	ev.OrgID, ev.WorkspaceID = w.OrgID, w.ID
	return w, nil
}

// RenameWorkspace renames workspace id of organization orgID (a key's own
// organization when empty).
func (s *Service) RenameWorkspace(ctx context.Context, a Actor, orgID, id, name string) (WorkspaceInfo, error) {
	ev := s.event(a, ActionWorkspaceRename, "workspace:"+id)
	w, err := s.renameWorkspace(ctx, a, orgID, id, name, &ev)
	s.audit(ev, err)
	return w, err
}

func (s *Service) renameWorkspace(ctx context.Context, a Actor, orgID, id, name string, ev *store.AuditEvent) (WorkspaceInfo, error) {
	if err := mayChange(a); err != nil {
		return WorkspaceInfo{}, err
	}
	w, err := s.targetWorkspace(ctx, a, orgID, id, ev)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	name, err = cleanName("name", name)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	if name == "" {
		return WorkspaceInfo{}, invalid(MsgNameRequired)
	}
	switch err := s.o.Store.RenameWorkspace(ctx, w.OrgID, id, name); {
	case errors.Is(err, store.ErrNotFound):
		return WorkspaceInfo{}, notFound(MsgWorkspaceNotFound)
	case err != nil:
		return WorkspaceInfo{}, storeErr("renaming workspace", err)
	}
	w.Name = name
	return workspaceInfo(w), nil
}

// DeleteWorkspace deletes workspace id of organization orgID (a key's own
// organization when empty) once it has no active or rotating keys.
func (s *Service) DeleteWorkspace(ctx context.Context, a Actor, orgID, id string) error {
	ev := s.event(a, ActionWorkspaceDelete, "workspace:"+id)
	err := s.deleteWorkspace(ctx, a, orgID, id, &ev)
	s.audit(ev, err)
	return err
}

func (s *Service) deleteWorkspace(ctx context.Context, a Actor, orgID, id string, ev *store.AuditEvent) error {
	if err := mayChange(a); err != nil {
		return err
	}
	w, err := s.targetWorkspace(ctx, a, orgID, id, ev)
	if err != nil {
		return err
	}
	switch err := s.o.Store.DeleteWorkspace(ctx, w.OrgID, id); {
	case errors.Is(err, store.ErrNotFound):
		return notFound(MsgWorkspaceNotFound)
	case errors.Is(err, store.ErrConflict):
		return conflict(MsgWorkspaceHasKeys)
	case err != nil:
		return storeErr("deleting workspace", err)
	}
	return nil
}

// EnsureWorkspace makes sure organization orgID and its workspace wsID
// exist, creating (and auditing) what is missing: the CLI's bootstrap, so
// the first key of a new installation is one command. Workspace ids are
// unique per organization, so another organization's workspace of the same
// id is neither a conflict nor touched.
func (s *Service) EnsureWorkspace(ctx context.Context, a Actor, orgID, wsID string) error {
	if !a.Operator {
		return forbidden(MsgOrgCreateViaCLI)
	}
	if !ValidID(orgID) {
		return invalid("organization id " + idRule)
	}
	if !ValidID(wsID) {
		return invalid("workspace id " + idRule)
	}
	if _, err := s.o.Store.GetOrg(ctx, orgID); errors.Is(err, store.ErrNotFound) {
		if _, err := s.CreateOrg(ctx, a, orgID, ""); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	} else if err != nil {
		return storeErr("reading organization", err)
	}
	_, err := s.o.Store.GetWorkspace(ctx, orgID, wsID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := s.CreateWorkspace(ctx, a, orgID, wsID, ""); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
		return nil
	case err != nil:
		return storeErr("reading workspace", err)
	}
	return nil
}

// ---- audit ----

// ListAudit reads audit events; f.Tenant must already be the caller's scope.
func (s *Service) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, *store.TraceCursor, error) {
	if s.o.AuditReader == nil {
		return nil, nil, errors.New("tenancy: no audit reader configured")
	}
	evs, next, err := s.o.AuditReader.ListAudit(ctx, f)
	if err != nil {
		return nil, nil, storeErr("listing audit events", err)
	}
	return evs, next, nil
}
