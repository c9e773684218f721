package postgres_test

import (
	"testing"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
)

var (
	_ store.Tenancy = (*postgres.Store)(nil)
	_ store.Audit   = (*postgres.Store)(nil)
)

func TestTenancyConformance(t *testing.T) {
	storetest.RunTenancy(t, func(t *testing.T) storetest.TenancyStore { return openStore(t) })
}

func openAtDSN(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// A replica hears of key changes made by another within a second, and
// WatchKeys returns nil once its context ends.
func TestWatchKeysHearsOtherReplica(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	storetest.WatchKeysHearsOtherHandles(t, openAtDSN(t, dsn), openAtDSN(t, dsn))
}
