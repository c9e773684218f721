package proxy

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// tap decodes compressed bodies on goroutines of its own, which must end
// with their call.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
