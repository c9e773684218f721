package storetest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
)

// schemaCases check the maintenance contract behind migrate status,
// migrate up and backup: an opened store is at the schema this binary
// knows, migrating it again changes nothing, and a backup writes a new file
// and never overwrites one. Restoring a backup is engine-specific and is
// tested in each driver.
var schemaCases = []namedCase{
	{"StatusIsCurrent", one(testSchemaStatusIsCurrent)},
	{"MigrateUpOnCurrentIsNothing", one(testMigrateUpOnCurrent)},
	{"BackupWritesANewFile", one(testBackupWritesANewFile)},
	{"BackupNeverOverwrites", one(testBackupNeverOverwrites)},
}

func testSchemaStatusIsCurrent(t *testing.T, s store.Store) {
	st, err := s.SchemaStatus(ctx(t))
	mustNil(t, err)
	if st.Known <= 0 || st.Current != st.Known {
		t.Fatalf("status: current %d, known %d; want current = known > 0", st.Current, st.Known)
	}
	if len(st.Pending) != 0 {
		t.Errorf("an opened store has pending migrations: %+v", st.Pending)
	}
	if n := len(st.Applied); n == 0 || st.Applied[n-1].Version != st.Known {
		t.Errorf("applied = %+v, want it to end at version %d", st.Applied, st.Known)
	}
	for _, a := range st.Applied {
		if a.Name == "" || a.AppliedAt.IsZero() {
			t.Errorf("applied migration without name or time: %+v", a)
		}
	}
}

func testMigrateUpOnCurrent(t *testing.T, s store.Store) {
	before, err := s.SchemaStatus(ctx(t))
	mustNil(t, err)
	applied, err := s.MigrateUp(ctx(t))
	mustNil(t, err)
	if len(applied) != 0 {
		t.Errorf("MigrateUp on a current store applied %+v", applied)
	}
	after, err := s.SchemaStatus(ctx(t))
	mustNil(t, err)
	if after.Current != before.Current || len(after.Applied) != len(before.Applied) {
		t.Errorf("MigrateUp changed the schema: %+v -> %+v", before, after)
	}
}

func testBackupWritesANewFile(t *testing.T, s store.Store) {
	insert(t, s, fullRecord("backed-up", tbase))
	out := filepath.Join(t.TempDir(), "backup")
	mustNil(t, s.Backup(ctx(t), out))
	info, err := os.Stat(out)
	mustNil(t, err)
	if info.Size() == 0 {
		t.Fatal("the backup is empty")
	}
	// The store keeps working after a backup.
	insert(t, s, fullRecord("after-backup", tbase.Add(time.Second)))
}

func testBackupNeverOverwrites(t *testing.T, s store.Store) {
	out := filepath.Join(t.TempDir(), "existing")
	was := []byte("an earlier backup")
	mustNil(t, os.WriteFile(out, was, 0o600))
	err := s.Backup(ctx(t), out)
	if !errors.Is(err, store.ErrBackupExists) {
		t.Fatalf("Backup over an existing file = %v, want ErrBackupExists", err)
	}
	now, err := os.ReadFile(out)
	mustNil(t, err)
	if !bytes.Equal(now, was) {
		t.Error("a refused backup changed the existing file")
	}
}
