package sqlite_test

import (
	"testing"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/sqlite"
	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
)

var (
	_ store.Tenancy = (*sqlite.Store)(nil)
	_ store.Audit   = (*sqlite.Store)(nil)
)

func TestTenancyConformance(t *testing.T) {
	storetest.RunTenancy(t, func(t *testing.T) storetest.TenancyStore { return openAt(t, testdb.SQLitePath(t)) })
}

// A gateway hears of key changes made on its file by another process (the
// CLI, another gateway) within a second, and WatchKeys returns nil once
// its context ends.
func TestWatchKeysHearsOtherHandles(t *testing.T) {
	path := testdb.SQLitePath(t)
	storetest.WatchKeysHearsOtherHandles(t, openAt(t, path), openAt(t, path))
}
