package sqlite_test

import (
	"testing"

	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
)

func TestSessionsConformance(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) storetest.SessionStore { return openAt(t, testdb.SQLitePath(t)) })
}
