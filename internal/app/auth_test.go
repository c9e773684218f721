package app

import (
	"context"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/testdb"
)

// A static key the gateway could not enforce stops the start, naming the
// key, instead of locking it out silently.
func TestStartupRefusesStaticKeysItCannotEnforce(t *testing.T) {
	for _, tc := range []struct {
		key  config.StaticKey
		want string
	}{
		{config.StaticKey{ID: "ci/key", Token: "t", OrgID: "acme", WorkspaceID: "prod", Role: "viewer"},
			"auth.keys[0].id must be 1 to 128 letters"},
		{config.StaticKey{ID: "ci", Token: "t", OrgID: "acme", WorkspaceID: "prod:eu", Role: "viewer"},
			"auth.keys[0].workspace_id must be 1 to 128 letters"},
	} {
		cfg := config.Default()
		cfg.Storage.Path = testdb.SQLitePath(t)
		cfg.Auth.Keys = []config.StaticKey{tc.key}
		_, err := New(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("key %+v: New error %v, want one containing %q", tc.key, err, tc.want)
		}
	}
}
