package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ongoingai/gateway/internal/store"
)

// Backup writes a consistent copy of the database to out with VACUUM INTO:
// one read transaction, so the copy is the database as of one instant
// even while gateways write to it (WAL lets the writer go on), and a
// compact, self-contained file with no WAL beside it. Copying the file
// itself is not a backup: the last commits may still be in its -wal.
//
// The copy is made under a temporary name and renamed once synced, so a
// file at out is always a complete backup.
func (s *Store) Backup(ctx context.Context, out string) error {
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s: %w", out, store.ErrBackupExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	_ = os.Remove(tmp) // a crashed earlier attempt's leftover
	// A connection of its own: the store's writer must stay free for
	// traces, and its readers refuse VACUUM (query_only).
	db, err := openDB(s.path, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := syncAndRename(tmp, out); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// syncAndRename makes tmp durable, then gives it its final name.
func syncAndRename(tmp, out string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
