package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/store/opener"
)

// migrateGroup is the migrate command: status and up.
func migrateGroup() group {
	return group{
		name: "migrate",
		description: "Shows and applies the store's schema migrations. serve applies them at start\n" +
			"unless storage.auto_migrate is false; these are for operators who migrate\n" +
			"once, before a rollout. Back up first: ongoingai backup --out FILE.",
		subs: []subcommand{
			{"status", "print the schema version, applied and pending migrations;\nexits 1 when the store is newer than this binary", migrateStatusCmd},
			{"up", "apply the pending migrations", migrateUpCmd},
		},
		shared: func() *flags {
			f := newFlags("migrate", "", "")
			f.configFlag()
			return f
		},
	}
}

func migrateCmd(c *cli, args []string) int { return migrateGroup().run(c, args) }

// migrateTimeout bounds a migration run; migrations on a large store can
// take longer than the connect timeout.
const migrateTimeout = 30 * time.Minute

// openAsIs opens the configured store without applying or checking its
// schema. Unless create is set, a SQLite file that does not exist is an
// error: inspecting or copying a mistyped path must not create a database.
func (c *cli) openAsIs(ctx context.Context, name string, cf *configFlag, create bool) (*opener.DB, bool) {
	cfg, ok := c.loadConfig(name, cf)
	if !ok {
		return nil, false
	}
	if err := requireSQLiteFile(cfg.Storage); err != nil && !create {
		fmt.Fprintf(c.stderr, "ongoingai %s: %v\n", name, err)
		return nil, false
	}
	st, err := opener.Open(ctx, cfg.Storage, store.WithSchemaPolicy(store.OpenAsIs))
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai %s: %v\n", name, err)
		return nil, false
	}
	return st, true
}

func migrateStatusCmd(c *cli, args []string) int {
	f := newFlags("migrate status", "ongoingai migrate status [--config FILE] [--json]",
		"Prints the store's schema version, the schema version this binary knows,\n"+
			"and the applied and pending migrations. Changes nothing. Exits 1 when the\n"+
			"store was migrated past what this binary knows (the version gate).")
	cf := f.configFlag()
	asJSON := f.Bool("json", false, "print one JSON object")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	ctx := context.Background()
	st, ok := c.openAsIs(ctx, "migrate status", cf, false)
	if !ok {
		return exitFail
	}
	defer st.Close()
	status, err := st.SchemaStatus(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai migrate status: %v\n", err)
		return exitFail
	}
	if *asJSON {
		printStatusJSON(c, st.Driver(), status)
	} else {
		printStatus(c, st.Driver(), status)
	}
	if err := status.Gate(); err != nil {
		fmt.Fprintf(c.stderr, "ongoingai migrate status: %v\n", err)
		return exitFail
	}
	return exitOK
}

func printStatus(c *cli, driver string, s migrate.Status) {
	fmt.Fprintf(c.stdout, "store:   %s\nschema:  %d (this binary knows up to %d)\n", driver, s.Current, s.Known)
	for _, a := range s.Applied {
		fmt.Fprintf(c.stdout, "applied  %04d %s  %s\n", a.Version, a.Name, a.AppliedAt.Format(time.RFC3339))
	}
	for _, m := range s.Pending {
		fmt.Fprintf(c.stdout, "pending  %04d %s\n", m.Version, m.Name)
	}
	if len(s.Pending) == 0 && s.Current <= s.Known {
		fmt.Fprintln(c.stdout, "up to date")
	}
}

func printStatusJSON(c *cli, driver string, s migrate.Status) {
	type pending struct {
		Version int64  `json:"version"`
		Name    string `json:"name"`
	}
	out := struct {
		Driver  string            `json:"driver"`
		Schema  int64             `json:"schema"`
		Known   int64             `json:"known"`
		Applied []migrate.Applied `json:"applied"`
		Pending []pending         `json:"pending"`
	}{Driver: driver, Schema: s.Current, Known: s.Known, Applied: s.Applied, Pending: []pending{}}
	if out.Applied == nil {
		out.Applied = []migrate.Applied{}
	}
	for _, m := range s.Pending {
		out.Pending = append(out.Pending, pending{m.Version, m.Name})
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

func migrateUpCmd(c *cli, args []string) int {
	f := newFlags("migrate up", "ongoingai migrate up [--config FILE]",
		"Applies the pending migrations, each in its own transaction, and prints\n"+
			"them (creating the SQLite file when there is none, as serve would).\n"+
			"them. Safe beside running gateways and other runners (they queue on a lock).\n"+
			"Refuses, changing nothing, a store migrated past what this binary knows.")
	cf := f.configFlag()
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
	defer cancel()
	st, ok := c.openAsIs(ctx, "migrate up", cf, true)
	if !ok {
		return exitFail
	}
	defer st.Close()
	applied, err := st.MigrateUp(ctx)
	for _, m := range applied {
		fmt.Fprintf(c.stdout, "applied  %04d %s\n", m.Version, m.Name)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai migrate up: %v\n", err)
		return exitFail
	}
	status, err := st.SchemaStatus(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai migrate up: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(c.stdout, "schema is version %d, up to date\n", status.Current)
	return exitOK
}
