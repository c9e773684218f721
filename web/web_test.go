package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
)

// The vendored htmx is exactly the published release: a changed byte means
// someone edited or replaced it without re-pinning.
func TestHTMXPinned(t *testing.T) {
	b, err := fs.ReadFile(Static, "htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != HTMXSHA256 {
		t.Fatalf("static/htmx.min.js sha256 = %s, want %s (htmx %s)", got, HTMXSHA256, HTMXVersion)
	}
	if !strings.Contains(string(b), `version:"`+HTMXVersion+`"`) {
		t.Errorf("static/htmx.min.js does not announce version %s", HTMXVersion)
	}
}
