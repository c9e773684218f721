package trace

import (
	"testing"

	"go.uber.org/goleak"
)

// Every writer a test starts, its replay goroutine included, must be
// gone when the test ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
