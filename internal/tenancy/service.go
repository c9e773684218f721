package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
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

// Actor is who asks the Service for something.
type Actor struct {
	// Identity is the calling gateway key. Nil with Operator unset is an
	// anonymous API caller (auth disabled), who may read and never change.
	Identity *keyauth.Identity
	// Operator is someone with direct access to the store (the CLI), who
	// may do anything: they could edit the database anyway.
	Operator            bool
	ClientIP, RequestID string
}

// OperatorActor is the CLI's actor.
func OperatorActor() Actor { return Actor{Operator: true} }

// RequestActor is the caller of an API request r, as keyauth's Guard
// authenticated it (anonymous when auth is disabled).
func RequestActor(r *http.Request) Actor {
	id, _ := keyauth.IdentityFrom(r.Context())
	return Actor{Identity: id, ClientIP: keyauth.ClientIP(r), RequestID: keyauth.RequestID(r)}
}

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
	Cache   *keyauth.KeyCache
	Usage   *keyauth.UsageTracker // merges fresh last-used times into listings
	Auditor auditlog.Auditor
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
		return forbidden(keyauth.MsgAuthDisabled)
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

// change runs do, a change a asked for, and records it in the audit log as
// action on target, whatever the outcome: the one path every change of
// the Service takes, so none can skip its audit event. Anonymous callers
// are refused before do runs. The event is attributed to a's own tenant
// until do, once it knows the target is within a's reach, narrows it
// through ev (and may name the target, or add a reason).
func change[T any](ctx context.Context, s *Service, a Actor, action, target string, do func(ctx context.Context, ev *store.AuditEvent) (T, error)) (T, error) {
	ev := s.event(a, action, target)
	var out T
	err := mayChange(a)
	if err == nil {
		out, err = do(ctx, &ev)
	}
	s.audit(ev, err)
	return out, err
}

// audit records ev with the outcome err implies.
func (s *Service) audit(ev store.AuditEvent, err error) {
	if s.o.Auditor == nil {
		return
	}
	switch {
	case err == nil:
		ev.Outcome = auditlog.OutcomeOK
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrNotFound):
		ev.Outcome, ev.Reason = auditlog.OutcomeDenied, err.Error()
	default:
		ev.Outcome, ev.Reason = auditlog.OutcomeError, err.Error()
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
