package storetest

import (
	"bytes"
	"testing"

	"github.com/ongoingai/gateway/internal/store"
)

var piiCases = []namedCase{
	{"FirstSaltStays", one(testPIISalt)},
}

// testPIISalt checks that the first salt stored is the one every later
// start gets back.
func testPIISalt(t *testing.T, s store.Store) {
	first := bytes.Repeat([]byte{1}, 32)
	second := bytes.Repeat([]byte{2}, 32)
	got, err := s.PIISalt(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first) {
		t.Fatalf("first start: %x", got)
	}
	got, err = s.PIISalt(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first) {
		t.Fatalf("a later start replaced the salt: %x", got)
	}
}
