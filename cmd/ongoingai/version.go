package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/version"
)

// buildInfo is what `ongoingai version` reports, and its JSON form.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	// Schema is the highest migration this binary carries: the newest
	// store schema it can run on (the version gate refuses newer ones).
	Schema int64 `json:"schema"`
}

func versionCmd(c *cli, args []string) int {
	f := newFlags("version", "ongoingai version [--json]",
		"Prints the version, commit and build date of this binary, the Go release\n"+
			"that built it and the store schema version it knows (the highest migration\n"+
			"it carries; it refuses to run on a store migrated past it).")
	asJSON := f.Bool("json", false, "print one JSON object")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	schema, err := schemaVersion()
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai version: %v\n", err)
		return exitFail
	}
	info := buildInfo{
		Version: version.Version,
		Commit:  orUnknown(version.Commit),
		Date:    orUnknown(version.Date),
		Go:      runtime.Version(),
		Schema:  schema,
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(info)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "ongoingai %s\ncommit: %s\nbuilt:  %s\ngo:     %s\nschema: %d\n",
		info.Version, info.Commit, info.Date, info.Go, info.Schema)
	return exitOK
}

// schemaVersion is the schema version the binary knows. Both engines carry
// the same migration numbers (a test in internal/store/migrate holds them
// to it), so either answers; Postgres is read for definiteness.
func schemaVersion() (int64, error) {
	return migrate.Latest(migrations.Postgres)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
