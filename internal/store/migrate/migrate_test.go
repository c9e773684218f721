package migrate_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store/migrate"
)

func TestLoadOrdersByVersion(t *testing.T) {
	ms, err := migrate.Load(fstest.MapFS{
		"0010_ten.sql":   {Data: []byte("ten")},
		"0002_two.sql":   {Data: []byte("two")},
		"0001_one.sql":   {Data: []byte("one")},
		"README.md":      {Data: []byte("not a migration")},
		"embed.go":       {Data: []byte("package x")},
		"sub/0003_x.sql": {Data: []byte("in a subdirectory: not read")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+m.SQL)
	}
	want := "0001_one.sql=one 0002_two.sql=two 0010_ten.sql=ten"
	if strings.Join(got, " ") != want {
		t.Errorf("Load = %v, want %s", got, want)
	}
	if ms[2].Version != 10 {
		t.Errorf("version of 0010_ten.sql = %d", ms[2].Version)
	}
}

func TestLoadRejectsAmbiguousFiles(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":        {"traces.sql": {}},
		"no description":   {"0001.sql": {}},
		"upper case":       {"0001_Traces.sql": {}},
		"version zero":     {"0000_init.sql": {}},
		"shared version":   {"0001_a.sql": {}, "01_b.sql": {}},
		"dash not allowed": {"0001-traces.sql": {}},
	} {
		if _, err := migrate.Load(fsys); err == nil {
			t.Errorf("%s: Load accepted %v", name, fsys)
		}
	}
}

// The shipped migrations must load (a misnamed file would otherwise only
// surface when a gateway starts), and both engines must have the same ones:
// a schema change ships to both stores or to neither.
func TestShippedMigrations(t *testing.T) {
	names := map[string][]string{}
	for engine, fsys := range map[string]fs.FS{"postgres": migrations.Postgres, "sqlite": migrations.SQLite} {
		ms, err := migrate.Load(fsys)
		if err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		for _, m := range ms {
			names[engine] = append(names[engine], m.Name)
		}
	}
	if len(names["postgres"]) == 0 || !slices.Equal(names["postgres"], names["sqlite"]) {
		t.Errorf("postgres migrations %v, sqlite migrations %v: want the same, non-empty", names["postgres"], names["sqlite"])
	}
}
