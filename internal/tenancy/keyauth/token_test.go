package keyauth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"testing"

	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// tokenShape is what a secret scanner rule for gateway keys would match.
var tokenShape = regexp.MustCompile(`^ogw_[0-9A-Za-z]{43}$`)

func TestNewTokenIsPrefixedBase62AndStoredOnlyAsItsHash(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		token, hash, last4, err := keyauth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !tokenShape.MatchString(token) {
			t.Fatalf("token %q does not match %s", token, tokenShape)
		}
		sum := sha256.Sum256([]byte(token))
		if hash != hex.EncodeToString(sum[:]) || hash != keyauth.HashToken(token) {
			t.Fatalf("hash %q is not the SHA-256 hex of the token", hash)
		}
		if last4 != token[len(token)-4:] {
			t.Fatalf("last4 %q of %q", last4, token)
		}
		if seen[token] {
			t.Fatalf("token repeated: %q", token)
		}
		seen[token] = true
	}
}

func TestLooksLikeToken(t *testing.T) {
	token, _, _, _ := keyauth.NewToken()
	for in, want := range map[string]bool{
		token:                        true,
		"Bearer " + token:            true,
		"bearer   " + token:          true,
		"sk-proj-abc":                false,
		"Bearer sk-ant-api03-xyz":    false,
		"":                           false,
		"ogw":                        false,
		"Bearer ogw_short-but-still": true,
	} {
		if got := keyauth.LooksLikeToken(in); got != want {
			t.Errorf("LooksLikeToken(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"acme": true, "prod-eu.1": true, "gk_0AbC": true, "A": true,
		"": false, "-x": false, ".x": false, "_x": false, "a/b": false, "a:b": false, "a*": false,
		"a b": false, "ö": false, "a\x00": false,
		string(make([]byte, 129)): false,
	} {
		if got := keyauth.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func ExampleNewToken() {
	token, hash, last4, err := keyauth.NewToken()
	if err != nil {
		panic(err)
	}
	// Show token once; store hash (and last4, to tell keys apart) only.
	fmt.Println(token[:4], len(token), len(hash), last4 == token[len(token)-4:])
	// Output: ogw_ 47 64 true
}
