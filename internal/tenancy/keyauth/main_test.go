package keyauth_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// audit log and the key cache run goroutines of their own, which must end
// when they are closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
