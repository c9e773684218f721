package postgres_test

import (
	"testing"

	"github.com/ongoingai/gateway/internal/store/storetest"
)

func TestSessionsConformance(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) storetest.SessionStore { return openStore(t) })
}
