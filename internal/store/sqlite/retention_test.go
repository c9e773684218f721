package sqlite_test

import (
	"testing"

	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
)

func TestRetentionConformance(t *testing.T) {
	storetest.RunRetention(t, func(t *testing.T) storetest.RetentionStore { return openAt(t, testdb.SQLitePath(t)) })
}

func TestPIISaltConformance(t *testing.T) {
	storetest.RunPIISalt(t, openAt(t, testdb.SQLitePath(t)))
}
