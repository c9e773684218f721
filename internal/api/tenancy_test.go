package api

import (
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/openapi"
)

// Every message the auth guard and the key, organization and workspace
// routes answer with is part of the documented contract.
func TestSpecListsEveryTenancyErrorMessage(t *testing.T) {
	text := string(openapi.Spec)
	for _, m := range []string{
		keyauth.MsgUnauthorized, keyauth.MsgForbidden, keyauth.MsgAuthDisabled,
		tenancy.MsgKeyNotFound, tenancy.MsgWorkspaceNotFound, tenancy.MsgOrgNotFound,
		tenancy.MsgStaticKey, tenancy.MsgPermsNotHeld, tenancy.MsgKeyRevoked, tenancy.MsgKeyExpired,
		tenancy.MsgWorkspaceHasKeys, tenancy.MsgOrgHasWorkspaces, tenancy.MsgOrgCreateViaCLI, tenancy.MsgOwnerOnly,
		tenancy.MsgRoleRequired, tenancy.MsgUnknownRole, tenancy.MsgExpiryInPast, tenancy.MsgNameRequired,
		tenancy.MsgWorkspaceExists, tenancy.MsgKeyNotRotatable, tenancy.MsgKeyNotRevocable,
		"give grace_period or grace_seconds, not both",
		"grace period must be between 0 and 720h (30 days)",
		(&paramError{"grace_period", "must be a duration such as 1h, 90m or 0s"}).Error(),
		(&paramError{"expires_at", "must be an RFC3339 timestamp"}).Error(),
		"cannot create a key with a role above your own (admin)",
		"cannot rotate a key with a role above your own (admin)",
		"cannot revoke a key with a role above your own (admin)",
	} {
		if !strings.Contains(text, m) {
			t.Errorf("error message %q is not documented in openapi/openapi.yaml", m)
		}
	}
}
