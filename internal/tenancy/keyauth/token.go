package keyauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// TokenPrefix starts every token the gateway mints. A fixed, unusual prefix
// lets secret scanners (GitHub push protection, gitleaks, trufflehog) find a
// leaked gateway key with one rule and few false positives, and tells a
// person at a glance which kind of secret they are holding.
const TokenPrefix = "ogw_"

// tokenBytes is the entropy of a minted token: 256 bits, beyond any guessing.
const tokenBytes = 32

// tokenBodyLen is the length of 256 bits in base62: 62^43 > 2^256, so every
// token has the same length, which scanners and people both appreciate.
const tokenBodyLen = 43

// maxPresentedToken bounds what the gateway hashes per request: no token it
// accepts is longer, so longer headers are refused without work.
const maxPresentedToken = 512

// base62 is used rather than base64url because it has no '-' or '_': a
// double click selects the whole token, and no tool mistakes it for two words.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewToken mints a token: TokenPrefix followed by 256 random bits in base62.
// It returns the token (to show once), its SHA-256 hex (the only form ever
// stored) and its last four characters (to tell keys apart in lists).
func NewToken() (token, hash, last4 string, err error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", fmt.Errorf("keyauth: reading random bytes: %w", err)
	}
	token = TokenPrefix + encodeBase62(b[:], tokenBodyLen)
	return token, HashToken(token), TokenLast4(token), nil
}

// HashToken returns the SHA-256 hex of token, the form in which tokens are
// stored and looked up. A plain hash (no salt, no slow KDF) is enough because
// minted tokens carry 256 random bits, and it keeps the per-request cost to
// well under a microsecond.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenLast4 returns the last four characters of token (all of it when
// shorter), enough to recognise a key and never enough to use it.
func TokenLast4(token string) string {
	if len(token) <= 4 {
		return token
	}
	return token[len(token)-4:]
}

// LooksLikeToken reports whether s has the shape of a minted gateway token.
// The proxy uses it to refuse a gateway token sent where a provider
// credential belongs, instead of forwarding it to the provider.
func LooksLikeToken(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	return strings.HasPrefix(s, TokenPrefix)
}

// encodeBase62 writes b as a big-endian number in base62, left-padded with
// zeros to width characters.
func encodeBase62(b []byte, width int) string {
	n := new(big.Int).SetBytes(b)
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}

// NewID returns prefix followed by 22 base62 characters (128 random bits):
// key and workspace ids that never collide and never need a database
// round trip.
func NewID(prefix string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keyauth: reading random bytes: %w", err)
	}
	return prefix + encodeBase62(b[:], 22), nil
}

// maxIDLen bounds organization, workspace and key ids.
const maxIDLen = 128

// ValidID reports whether id may name an organization, a workspace or a
// key: 1 to 128 ASCII letters, digits, '.', '_' or '-', starting with a
// letter or digit. The rule is stricter than what the rbac Authorizer
// accepts, so an id that passes here can never be refused there (which
// would deny a whole reload), and ids stay safe in URLs, logs and shells.
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// IDRule is the message for an id that fails ValidID.
const IDRule = "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"
