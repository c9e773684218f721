// Package tenancy manages who may call the gateway: organizations, their
// workspaces and the gateway keys that belong to them. Service holds every
// key, organization and workspace operation that the REST API and the CLI
// use, so the two cannot disagree on a rule, and audits each change; its
// code is one file per entity (keys.go, orgs.go, workspaces.go). The
// request path, which authenticates calls from memory, is package keyauth;
// the audit log writer is package auditlog.
package tenancy

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// Error kinds. Every error the Service returns for a caller's mistake or a
// refused operation wraps one of these, so the API can pick a status code
// and the CLI an exit code without parsing messages.
var (
	ErrInvalid   = errors.New("invalid request")
	ErrForbidden = errors.New("forbidden")
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
)

// Error is a refusal with a message meant for the caller. Msg never
// includes a token or anything from another tenant.
type Error struct {
	Kind error // ErrInvalid, ErrForbidden, ErrNotFound or ErrConflict
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap exposes Kind to errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

func invalid(msg string) error   { return &Error{Kind: ErrInvalid, Msg: msg} }
func forbidden(msg string) error { return &Error{Kind: ErrForbidden, Msg: msg} }
func notFound(msg string) error  { return &Error{Kind: ErrNotFound, Msg: msg} }
func conflict(msg string) error  { return &Error{Kind: ErrConflict, Msg: msg} }

// maxNameLen bounds display names.
const maxNameLen = 200

// cleanName trims a display name and checks it: at most 200 characters and
// no control characters (names end up in terminals and logs).
func cleanName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if len([]rune(name)) > maxNameLen {
		return "", invalid(field + " must be at most 200 characters")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", invalid(field + " must not contain control characters")
	}
	return name, nil
}

// StaticKey is a gateway key declared in the config file, before hashing.
type StaticKey struct {
	ID, Token, OrgID, WorkspaceID, Role string
	Permissions                         []string
}

// StaticKeys turns config-declared keys into the form store.SyncStaticKeys
// stores as given: tokens hashed, marked static, created by "config" at
// now (the only place those are set). It refuses ids keyauth.ValidID
// refuses and unknown roles or permissions, naming the key, so a typo
// stops the gateway at start instead of silently locking a key out.
func StaticKeys(keys []StaticKey, now time.Time) ([]store.GatewayKey, error) {
	out := make([]store.GatewayKey, 0, len(keys))
	for i, k := range keys {
		where := fmt.Sprintf("auth.keys[%d]", i)
		for _, f := range []struct{ name, v string }{{"id", k.ID}, {"org_id", k.OrgID}, {"workspace_id", k.WorkspaceID}} {
			if !keyauth.ValidID(f.v) {
				return nil, fmt.Errorf("%s.%s %s", where, f.name, keyauth.IDRule)
			}
		}
		if k.Token == "" {
			return nil, fmt.Errorf("%s.token: required", where)
		}
		if !rbac.ValidRole(k.Role) {
			return nil, fmt.Errorf("%s.role: %s", where, MsgUnknownRole)
		}
		perms, err := cleanPermissions(k.Permissions)
		if err != nil {
			return nil, fmt.Errorf("%s.permissions: %v", where, err)
		}
		out = append(out, store.GatewayKey{
			ID: k.ID, OrgID: k.OrgID, WorkspaceID: k.WorkspaceID, Name: k.ID, Role: k.Role,
			Permissions: perms, TokenHash: keyauth.HashToken(k.Token), TokenLast4: keyauth.TokenLast4(k.Token),
			Status: store.KeyActive, Static: true, CreatedBy: "config",
			CreatedAt: now.UTC().Truncate(time.Microsecond),
		})
	}
	return out, nil
}
