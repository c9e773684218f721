package sqlite_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them:
// WatchKeys polls on a connection of its own, which must close when its
// context ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
