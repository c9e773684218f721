package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
)

func backupCmd(c *cli, args []string) int {
	f := newFlags("backup", "ongoingai backup --out FILE [--config FILE]",
		"Writes a consistent copy of the store to FILE, which must not exist. Safe\n"+
			"while the gateway runs. SQLite: VACUUM INTO, a compact single file (restore\n"+
			"by putting it at storage.path with the gateway stopped). Postgres: pg_dump\n"+
			"--format=custom (restore with pg_restore); when pg_dump is not on PATH, prints\n"+
			"the pg_dump command to run where it is and exits 1.")
	cf := f.configFlag()
	out := f.String("out", "", "write the backup to `FILE`")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	if *out == "" {
		fmt.Fprintln(c.stderr, "ongoingai backup: --out is required")
		f.printUsage(c.stderr)
		return exitUsage
	}
	ctx := context.Background()
	st, ok := c.openAsIs(ctx, "backup", cf, false)
	if !ok {
		return exitFail
	}
	defer st.Close()
	if err := st.Backup(ctx, *out); err != nil {
		fmt.Fprintf(c.stderr, "ongoingai backup: %v\n", err)
		var manual *store.ManualBackupError
		if errors.As(err, &manual) {
			// The command alone on stdout, for scripts.
			fmt.Fprintln(c.stdout, manual.Command)
		}
		return exitFail
	}
	info, err := os.Stat(*out)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai backup: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(c.stdout, "backup of the %s store written to %s (%d bytes)\n", st.Driver(), *out, info.Size())
	return exitOK
}

// requireSQLiteFile refuses a SQLite path with no database: the tools that
// inspect or copy a store must not create an empty one from a typo.
func requireSQLiteFile(s config.Storage) error {
	if s.Driver != config.DriverSQLite && s.Driver != "" {
		return nil
	}
	if _, err := os.Stat(s.Path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage (sqlite): no database at %s (storage.path)", s.Path)
	}
	return nil
}
