package pii

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"unsafe"

	"github.com/ongoingai/gateway/internal/jsonstr"
)

// ErrNotJSON is returned for a body that was expected to be JSON and is
// not: the policy cannot be evaluated on it, so callers fail closed.
var ErrNotJSON = errors.New("pii: body is not valid JSON")

// Counts is the number of findings per type.
type Counts map[Type]int

// Total is the number of findings of every type.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Types lists the types present, in the fixed order of the constants.
func (c Counts) Types() []Type {
	var out []Type
	for _, t := range []Type{Email, Phone, SSN, Card, Token, Field} {
		if c[t] > 0 {
			out = append(out, t)
		}
	}
	return out
}

// WorkspaceKey derives the HMAC key of one workspace from the
// installation's salt, so that equal values get equal placeholders within
// a workspace and unrelated ones across workspaces.
func WorkspaceKey(salt []byte, workspaceID string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("ongoingai-pii/v1/workspace/"))
	m.Write([]byte(workspaceID))
	return m.Sum(nil)
}

// Redactor replaces findings with placeholders for one workspace. It is
// immutable and safe for concurrent use.
type Redactor struct {
	key    []byte
	format string
}

// NewRedactor returns a redactor keyed by key (see WorkspaceKey) that
// writes placeholders in format, whose {type} and {hash} are substituted.
func NewRedactor(key []byte, format string) *Redactor {
	return &Redactor{key: key, format: format}
}

// Placeholder is the replacement of value: the format with {type} and the
// first 12 hex digits of HMAC-SHA256(key, value).
func (r *Redactor) Placeholder(t Type, value string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(value))
	var sum [sha256.Size]byte
	h := hex.EncodeToString(m.Sum(sum[:0])[:6])
	return strings.NewReplacer("{type}", string(t), "{hash}", h).Replace(r.format)
}

// RedactText replaces every finding in s.
func (r *Redactor) RedactText(s string, counts Counts) string {
	fs := Scan(s)
	if len(fs) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, f := range fs {
		b.WriteString(s[last:f.Start])
		b.WriteString(r.Placeholder(f.Type, s[f.Start:f.End]))
		counts[f.Type]++
		last = f.End
	}
	b.WriteString(s[last:])
	return b.String()
}

// RedactJSON returns body with every finding inside a string value
// replaced, and the values of denied fields (see DeniedField) replaced
// whole by a FIELD placeholder string. Bytes outside the redacted strings
// are copied unchanged, so the document stays valid and otherwise
// identical. A body that is not valid JSON yields ErrNotJSON.
func (r *Redactor) RedactJSON(body []byte) ([]byte, Counts, error) {
	counts := Counts{}
	var out []byte // allocated at the first change
	last := 0
	err := walkJSON(body, func(start, end int, str, denied bool) {
		raw := body[start:end]
		var repl []byte
		if denied {
			value := string(raw)
			if str {
				value = decodeString(raw)
			}
			repl = jsonstr.Append(nil, r.Placeholder(Field, value))
			counts[Field]++
		} else if str {
			s := decodeString(raw)
			red := r.RedactText(s, counts)
			if red == s {
				return
			}
			repl = jsonstr.Append(nil, red)
		} else {
			return
		}
		if out == nil {
			out = make([]byte, 0, len(body)+64)
		}
		out = append(out, body[last:start]...)
		out = append(out, repl...)
		last = end
	})
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		return body, counts, nil
	}
	return append(out, body[last:]...), counts, nil
}

// Detect reports the types found in a body without building a redacted
// copy: JSON is scanned string by string (and denied fields count as
// FIELD); anything else is scanned as text. It is what block mode uses.
func Detect(body []byte, isJSON bool) (Counts, error) {
	counts := Counts{}
	if !isJSON {
		for _, f := range Scan(string(body)) {
			counts[f.Type]++
		}
		return counts, nil
	}
	err := walkJSON(body, func(start, end int, str, denied bool) {
		if denied {
			counts[Field]++
			return
		}
		if str {
			for _, f := range Scan(decodeString(body[start:end])) {
				counts[f.Type]++
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// decodeString returns the content of a JSON string literal (quotes
// included in raw). Strings without escapes, the usual case, are viewed in
// place without a copy: the body is never modified while it is scanned,
// and nothing here keeps the string beyond the scan (placeholders and
// redacted copies are new strings).
func decodeString(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return unsafe.String(unsafe.SliceData(inner), len(inner))
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(inner) // walkJSON validated the document; unreachable
	}
	return s
}

// walkJSON calls visit for every value that is a string (str true) and
// for every scalar under a denied key, with the value's byte range. denied
// says the value belongs to a key DeniedField names (null is never
// reported as denied: there is nothing to hide).
func walkJSON(b []byte, visit func(start, end int, str, denied bool)) error {
	if !json.Valid(b) {
		return ErrNotJSON
	}
	denied := false
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r', ',', '}', ']':
			i++
		case '{', '[':
			denied = false // containers under a denied key are scanned, not dropped
			i++
		case '"':
			end := stringEnd(b, i)
			k := end
			for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n' || b[k] == '\r') {
				k++
			}
			if k < len(b) && b[k] == ':' {
				denied = DeniedField(decodeString(b[i:end]))
				i = k + 1
				continue
			}
			visit(i, end, true, denied)
			denied = false
			i = end
		default:
			j := i
			for j < len(b) && !strings.ContainsRune(" \t\n\r,}]", rune(b[j])) {
				j++
			}
			if denied && string(b[i:j]) != "null" {
				visit(i, j, false, true)
			}
			denied = false
			i = j
		}
	}
	return nil
}

// stringEnd returns the index just past the string literal starting at i.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}
