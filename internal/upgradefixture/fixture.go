// Package upgradefixture keeps stores written by earlier releases, so that
// every migration is tested from the state before it with data in it.
//
// Each directory under testdata is one fixture, named after the build that
// wrote it, holding for each store what that build left behind and what it
// answered:
//
//	sqlite.db       the SQLite store (a VACUUM INTO copy)
//	sqlite.json     the GET requests the gateway answered on it, with the answers
//	postgres.sql    the Postgres store (pg_dump --inserts, plain SQL)
//	postgres.json   the same for Postgres
//
// gen writes a fixture by running the gateway of the checkout it is built
// from: orgs and workspaces, gateway keys (active, rotated, revoked),
// traffic of every outcome through the proxy, the rollups it produces.
// The upgrade test opens each fixture with the current gateway (which
// migrates it), asks the same questions and expects the same answers, and
// checks that the keys still authenticate as they did: revoked stays
// revoked. Each release adds its fixture, written by that release's
// checkout (not by `make generate`: a fixture is written once, never
// regenerated):
//
//	make upgrade-fixture NAME=v1.2.3
package upgradefixture

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ongoingai/gateway/internal/config"
)

// Tokens of the config keys every fixture declares. They are test tokens
// of test stores, nothing else.
const (
	AcmeOwnerToken   = "ogw_fixture_acme_owner_0123456789abcdef"
	GlobexOwnerToken = "ogw_fixture_globex_owner_0123456789abcdef"
	OperatorToken    = "ogw_fixture_operator_0123456789abcdef"
)

// Config is the configuration a fixture is written and read with: the
// store, every provider at upstream, auth on with three config keys,
// retention long enough that a fixture of any age keeps its rows, bodies
// captured.
func Config(storage config.Storage, upstream, deadUpstream string) config.Config {
	cfg := config.Default()
	cfg.Server.Host = "127.0.0.1"
	autoMigrate := storage.MigrateAtOpen()
	storage.AutoMigrate = &autoMigrate
	storage.ConnectTimeout, storage.ReadTimeout, storage.HealthInterval = cfg.Storage.ConnectTimeout, cfg.Storage.ReadTimeout, cfg.Storage.HealthInterval
	cfg.Storage = storage
	for name, p := range cfg.Providers {
		p.Upstream = upstream
		cfg.Providers[name] = p
	}
	cfg.Providers["dead"] = config.Provider{Upstream: deadUpstream, Prefix: "/dead", Format: "openai"}
	cfg.Tracing.CaptureBodies = true
	cfg.Tracing.FlushInterval = 5e6 // 5ms
	cfg.Retention = config.Retention{TracesDays: 365000, BodiesDays: 365000, RollupsDays: 365000, AuditDays: 365000}
	cfg.Auth.Enabled = true
	cfg.Auth.Keys = []config.StaticKey{
		{ID: "acme-owner", Token: AcmeOwnerToken, OrgID: "acme", WorkspaceID: "main", Role: "owner"},
		{ID: "globex-owner", Token: GlobexOwnerToken, OrgID: "globex", WorkspaceID: "main", Role: "owner"},
		{ID: "operator", Token: OperatorToken, OrgID: "ops", WorkspaceID: "ops", Role: "operator"},
	}
	return cfg
}

// Answer is one GET the gateway answered while the fixture was written.
type Answer struct {
	Token  string          `json:"token"` // the config key or created key's token used
	Path   string          `json:"path"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// KeyCheck is a gateway key's token and whether it authenticated a proxy
// call when the fixture was written (a revoked key's did not).
type KeyCheck struct {
	Name   string `json:"name"`
	Token  string `json:"token"`
	Status int    `json:"status"` // of a chat completion sent with it
}

// Expect is one store's <driver>.json.
type Expect struct {
	Schema  int64      `json:"schema"` // the schema version that wrote the store
	Answers []Answer   `json:"answers"`
	Keys    []KeyCheck `json:"keys"`
}

// Load reads dir/<driver>.json.
func Load(dir, driver string) (Expect, error) {
	var e Expect
	b, err := os.ReadFile(filepath.Join(dir, driver+".json"))
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("%s/%s.json: %w", dir, driver, err)
	}
	return e, nil
}
