// Package pii finds personal data and secrets in request and response
// content with deterministic detectors (no model calls) and replaces them
// with stable placeholders. It is the policy engine behind pii.mode: the
// proxy asks it whether to block a request or what to forward, the trace
// path asks it what to store. Everything here is pure computation over
// bytes, so it can run on the request path with bounded cost.
package pii

import (
	"regexp"
	"slices"
	"strings"
)

// Type is the kind of a finding; its name (String) names the placeholder.
type Type uint8

// The finding types, in the order reports list them.
const (
	Email Type = iota
	Phone
	SSN
	Card
	Token
	Field
	numTypes
)

var typeNames = [numTypes]string{"EMAIL", "PHONE", "SSN", "CARD", "TOKEN", "FIELD"}

// String is the type's name: EMAIL, PHONE, SSN, CARD, TOKEN or FIELD.
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return "UNKNOWN"
}

// Finding is one detected value: s[Start:End] in the scanned text.
type Finding struct {
	Type       Type
	Start, End int
}

// The digit detectors are anchored: they are tried only where a number
// starts (see scanNumbers), after a cheap shape check, so prose full of
// dates and counts costs a few byte comparisons instead of a regexp run
// from every position.
var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// US SSN, dashed only: bare nine-digit runs are too often something
	// else (ids, amounts) to call PII.
	ssnRe = regexp.MustCompile(`^\d{3}-\d{2}-\d{4}`)
	// Card candidates: 13 to 19 digits, optionally grouped by single spaces
	// or dashes; Luhn and the leading digit decide.
	cardRe = regexp.MustCompile(`^\d(?:[ \-]?\d){12,18}`)
	// Phones, conservatively: E.164 (compact or with separators) and the
	// North American 3-3-4 form with separators. A run of digits alone is
	// never a phone number.
	phoneRe = regexp.MustCompile(`^(?:\+[1-9]\d{7,14}|\+[1-9]\d{0,2}[ .\-]\(?\d{1,4}\)?(?:[ .\-]\d{2,4}){2,3}|\([2-9]\d{2}\) ?[2-9]\d{2}[ .\-]\d{4}|[2-9]\d{2}[.\-][2-9]\d{2}[.\-]\d{4})`)
	tokenRe = regexp.MustCompile(`sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}|ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abp]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|ogw_[A-Za-z0-9_\-]{8,}|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`)
)

// Byte classes of the pre-filter: one pass over a string says which
// detectors can fire at all, so ordinary prose never reaches a regexp.
const (
	classDigit     = 1 << iota
	classAt        // '@': an email is possible
	classTokenHint // first byte of a secret's prefix (sk-, ghp_, ...)
	classSpecial   // a byte a JSON string reader stops at (strClass only)
)

var byteClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = classDigit
	}
	t['@'] = classAt
	for _, c := range "sgxAoe" {
		t[c] = classTokenHint
	}
	return t
}()

// tokenPrefixAt reports whether a secret's prefix starts s: without one
// of them tokenRe cannot match.
func tokenPrefixAt(s string) bool {
	switch s[0] {
	case 's':
		return strings.HasPrefix(s, "sk-")
	case 'g':
		return strings.HasPrefix(s, "ghp_") || strings.HasPrefix(s, "github_pat_")
	case 'x':
		return strings.HasPrefix(s, "xox")
	case 'A':
		return strings.HasPrefix(s, "AKIA")
	case 'o':
		return strings.HasPrefix(s, "ogw_")
	case 'e':
		return strings.HasPrefix(s, "eyJ")
	}
	return false
}

// Scan returns the findings in s, ordered by position and not
// overlapping (an earlier, then longer, finding wins). A string in which
// no detector can fire costs one table lookup per byte and allocates
// nothing.
func Scan(s string) []Finding { return scanWith(s, classify(s)) }

// summary is what the pre-filter learned about a string: how many digits,
// whether it has an '@', where the first secret prefix starts (-1: none).
// escaped says it was taken from a JSON string with escapes, so it must be
// classified again once decoded.
type summary struct {
	digits, token int32
	at, escaped   bool
}

// maybe reports whether some detector can fire.
func (s summary) maybe() bool { return s.at || s.token >= 0 || s.digits >= 9 }

// classify is the pre-filter's pass over s.
func classify(s string) summary {
	sum := summary{token: -1}
	for i := 0; i < len(s); i++ {
		switch byteClass[s[i]] {
		case 0:
		case classDigit:
			sum.digits++
		case classAt:
			sum.at = true
		case classTokenHint:
			if sum.token < 0 && tokenPrefixAt(s[i:]) {
				sum.token = int32(i)
			}
		}
	}
	return sum
}

// scanWith is Scan given s's summary.
func scanWith(s string, sum summary) []Finding {
	if sum.escaped {
		sum = classify(s)
	}
	if !sum.maybe() {
		return nil
	}
	var out []Finding
	if sum.at {
		out = appendMatches(out, s, 0, emailRe, Email, nil)
	}
	if sum.token >= 0 {
		out = appendMatches(out, s, int(sum.token), tokenRe, Token, nil)
	}
	if sum.digits >= 9 {
		out = scanNumbers(out, s)
	}
	if len(out) < 2 {
		return out
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return (b.End - b.Start) - (a.End - a.Start)
	})
	kept := out[:1]
	for _, f := range out[1:] {
		if f.Start >= kept[len(kept)-1].End {
			kept = append(kept, f)
		}
	}
	return kept
}

// scanNumbers tries the SSN, card and phone shapes where a number (or a
// "+" or "(" before one) starts.
func scanNumbers(out []Finding, s string) []Finding {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && c != '+' && c != '(' {
			continue
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '_') {
			continue // inside a number or a word
		}
		rest := s[i:]
		end := 0
		if isDigit(c) && len(rest) >= 11 && rest[3] == '-' && rest[6] == '-' {
			end = anchored(s, i, ssnRe, SSN, validSSN)
			if end > 0 {
				out = append(out, Finding{Type: SSN, Start: i, End: end})
			}
		}
		if end == 0 && isDigit(c) && digitsAhead(rest) >= 13 {
			if end = anchored(s, i, cardRe, Card, validCard); end > 0 {
				out = append(out, Finding{Type: Card, Start: i, End: end})
			}
		}
		if end == 0 && (c == '+' || c == '(' || (len(rest) >= 12 && (rest[3] == '-' || rest[3] == '.'))) {
			if end = anchored(s, i, phoneRe, Phone, nil); end > 0 {
				out = append(out, Finding{Type: Phone, Start: i, End: end})
			}
		}
		if end > 0 {
			i = end - 1
		}
	}
	return out
}

// anchored matches re at s[i:] and returns the end of an accepted match
// in s, or 0.
func anchored(s string, i int, re *regexp.Regexp, t Type, valid func(string) bool) int {
	m := re.FindStringIndex(s[i:])
	if m == nil {
		return 0
	}
	end := i + m[1]
	if !bounded(s, i, end, t) || (valid != nil && !valid(s[i:end])) {
		return 0
	}
	return end
}

// digitsAhead counts the digits of the number starting s, allowing single
// spaces or dashes between them, the way cards are written.
func digitsAhead(s string) int {
	n := 0
	for i := 0; i < len(s) && n < 20; i++ {
		switch {
		case isDigit(s[i]):
			n++
		case (s[i] == ' ' || s[i] == '-') && i+1 < len(s) && isDigit(s[i+1]) && i > 0 && isDigit(s[i-1]):
		default:
			return n
		}
	}
	return n
}

// appendMatches adds re's accepted matches in s[from:].
func appendMatches(out []Finding, s string, from int, re *regexp.Regexp, t Type, valid func(string) bool) []Finding {
	for _, m := range re.FindAllStringIndex(s[from:], -1) {
		m[0], m[1] = m[0]+from, m[1]+from
		if !bounded(s, m[0], m[1], t) {
			continue
		}
		if valid != nil && !valid(s[m[0]:m[1]]) {
			continue
		}
		out = append(out, Finding{Type: t, Start: m[0], End: m[1]})
	}
	return out
}

// bounded rejects matches that are a piece of a longer token: digits
// inside a longer number, a UUID or version string, a word inside an
// identifier. Emails and tokens carry their own shape.
func bounded(s string, start, end int, t Type) bool {
	if start > 0 {
		c := s[start-1]
		if isAlnum(c) || c == '_' || (t != Email && t != Token && (c == '-' || c == '.' || c == '+')) {
			return false
		}
	}
	if end < len(s) {
		c := s[end]
		if isAlnum(c) || c == '_' || c == '-' {
			return false
		}
		// "1.2.3"-style continuations: a dot followed by a digit.
		if c == '.' && end+1 < len(s) && isDigit(s[end+1]) {
			return false
		}
	}
	return true
}

func validSSN(m string) bool {
	area, group, serial := m[0:3], m[4:6], m[7:11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validCard accepts 13 to 19 digits that pass the Luhn check and start
// like an issued card (2 to 6: the major networks). The leading-digit rule
// keeps millisecond timestamps and zero-padded ids out.
func validCard(m string) bool {
	var d [19]byte
	n := 0
	var sep byte
	for i := 0; i < len(m); i++ {
		c := m[i]
		if isDigit(c) {
			if n == len(d) {
				return false
			}
			d[n] = c - '0'
			n++
			continue
		}
		if sep == 0 {
			sep = c
		} else if c != sep {
			return false // mixed separators: not one number
		}
	}
	if n < 13 || d[0] < 2 || d[0] > 6 {
		return false
	}
	sum := 0
	for i := 0; i < n; i++ {
		v := int(d[n-1-i])
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// DeniedField reports whether a JSON key names a field whose value is
// always redacted: email, phone, password, token, secret, ssn, api_key,
// authorization, compared after lower-casing and treating '-' as '_'.
// Exact match only: max_tokens, prompt_tokens and input_tokens are not
// "token".
func DeniedField(key string) bool {
	switch len(key) {
	case 3, 5, 6, 7, 8, 13:
	default:
		return false // no denied name has this length
	}
	var b [13]byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '-':
			c = '_'
		}
		b[i] = c
	}
	switch string(b[:len(key)]) {
	case "email", "phone", "password", "token", "secret", "ssn", "api_key", "authorization":
		return true
	}
	return false
}
