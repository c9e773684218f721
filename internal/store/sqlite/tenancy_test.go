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

// SQLite has no cross-process notification: WatchKeys returns at once.
func TestWatchKeysReturnsAtOnce(t *testing.T) {
	s := openAt(t, testdb.SQLitePath(t))
	if err := s.WatchKeys(t.Context(), func() { t.Error("onChange called") }); err != nil {
		t.Errorf("WatchKeys = %v, want nil", err)
	}
}
