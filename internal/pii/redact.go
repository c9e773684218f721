package pii

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"
	"unsafe"

	"github.com/ongoingai/gateway/internal/jsonstr"
)

// ErrNotJSON is returned for a body that was expected to be JSON and is
// not: the policy cannot be evaluated on it, so callers fail closed.
var ErrNotJSON = errors.New("pii: body is not valid JSON")

// Counts is the number of findings per type, indexed by Type.
type Counts [numTypes]int

// Total is the number of findings of every type.
func (c *Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Add adds o's findings to c.
func (c *Counts) Add(o *Counts) {
	for i, v := range o {
		c[i] += v
	}
}

// Types lists the types present, in the fixed order of the constants.
func (c *Counts) Types() []Type {
	var out []Type
	for t, v := range c {
		if v > 0 {
			out = append(out, Type(t))
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
	key  []byte
	macs sync.Pool // keyed HMAC states, reset before each use
	// format split around its {type} and {hash} fields, parsed once.
	parts []formatPart
}

// formatPart is a literal, or the {type} or {hash} field.
type formatPart struct {
	lit   string
	field byte // 0 literal, 't' type, 'h' hash
}

// NewRedactor returns a redactor keyed by key (see WorkspaceKey) that
// writes placeholders in format, whose {type} and {hash} are substituted.
func NewRedactor(key []byte, format string) *Redactor {
	r := &Redactor{key: key}
	for format != "" {
		t, h := strings.Index(format, "{type}"), strings.Index(format, "{hash}")
		i, field := t, byte('t')
		if i < 0 || (h >= 0 && h < i) {
			i, field = h, 'h'
		}
		if i < 0 {
			r.parts = append(r.parts, formatPart{lit: format})
			break
		}
		if i > 0 {
			r.parts = append(r.parts, formatPart{lit: format[:i]})
		}
		r.parts = append(r.parts, formatPart{field: field})
		format = format[i+len("{type}"):]
	}
	return r
}

// Placeholder is the replacement of value: the format with {type} and the
// first 12 hex digits of HMAC-SHA256(key, value).
func (r *Redactor) Placeholder(t Type, value string) string {
	return string(r.appendPlaceholder(nil, t, value))
}

func (r *Redactor) appendPlaceholder(out []byte, t Type, value string) []byte {
	m, _ := r.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, r.key)
	}
	m.Reset()
	io.WriteString(m, value)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	r.macs.Put(m)
	for _, p := range r.parts {
		switch p.field {
		case 't':
			out = append(out, t.String()...)
		case 'h':
			out = hex.AppendEncode(out, sum[:6])
		default:
			out = append(out, p.lit...)
		}
	}
	return out
}

// RedactText replaces every finding in s.
func (r *Redactor) RedactText(s string, counts *Counts) string {
	return r.redactText(s, summary{escaped: true}, counts)
}

// redactText is RedactText with what the JSON walker's pre-filter learned
// about s (an escaped string is classified again, decoded).
func (r *Redactor) redactText(s string, sum summary, counts *Counts) string {
	fs := scanWith(s, sum)
	if len(fs) == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+32*len(fs))
	last := 0
	for _, f := range fs {
		b = append(b, s[last:f.Start]...)
		b = r.appendPlaceholder(b, f.Type, s[f.Start:f.End])
		counts[f.Type]++
		last = f.End
	}
	b = append(b, s[last:]...)
	return string(b)
}

// RedactJSON returns body with every finding inside a string value
// replaced, and the values of denied fields (see DeniedField) replaced
// whole by a FIELD placeholder string. Bytes outside the redacted strings
// are copied unchanged, so the document stays valid and otherwise
// identical. A body that is not valid JSON yields ErrNotJSON.
func (r *Redactor) RedactJSON(body []byte) ([]byte, Counts, error) {
	out, counts, _, ok := r.redactJSON(body)
	if !ok {
		return nil, Counts{}, ErrNotJSON
	}
	return out, counts, nil
}

// redactJSON redacts body; for a body that is not valid JSON it returns
// ok false and the redacted part before the offset where the walk stopped
// (see walkJSONPrefix), kept is that offset.
func (r *Redactor) redactJSON(body []byte) (out []byte, counts Counts, kept int, ok bool) {
	last := 0
	stop, ok := walkJSONPrefix(body, func(start, end int, str, denied bool, sum summary) {
		raw := body[start:end]
		var repl []byte
		if denied {
			value := string(raw)
			if str {
				value = decodeString(raw)
			}
			repl = jsonstr.Append(nil, string(r.appendPlaceholder(nil, Field, value)))
			counts[Field]++
		} else if str {
			if !sum.escaped && !sum.maybe() {
				return // the pre-filter says no detector can fire
			}
			s := decodeString(raw)
			red := r.redactText(s, sum, &counts)
			if red == s {
				return
			}
			repl = jsonstr.Append(nil, red)
		} else {
			return
		}
		if out == nil {
			out = make([]byte, 0, len(body)+64) // allocated at the first change
		}
		out = append(out, body[last:start]...)
		out = append(out, repl...)
		last = end
	})
	if out == nil && ok {
		return body, counts, len(body), true
	}
	return append(out, body[last:stop]...), counts, stop, ok
}

// Detect reports the types found in a body without building a redacted
// copy: JSON is scanned string by string (and denied fields count as
// FIELD); anything else is scanned as text. It is what block mode uses.
func Detect(body []byte, isJSON bool) (Counts, error) {
	var counts Counts
	if !isJSON {
		for _, f := range Scan(string(body)) {
			counts[f.Type]++
		}
		return counts, nil
	}
	err := walkJSON(body, func(start, end int, str, denied bool, sum summary) {
		if denied {
			counts[Field]++
			return
		}
		if str && (sum.escaped || sum.maybe()) {
			for _, f := range scanWith(decodeString(body[start:end]), sum) {
				counts[f.Type]++
			}
		}
	})
	if err != nil {
		return Counts{}, err
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

// walkJSON calls visit for every string, object keys included (str true), and
// for every scalar under a denied key, with the value's byte range. denied
// says the value belongs to a key DeniedField names (null is never
// reported as denied: there is nothing to hide). It validates the document
// in the same pass, as strictly as encoding/json.Valid (the fuzz target
// holds them equal), and returns ErrNotJSON for one that is not valid;
// visit may have been called for part of it by then.
func walkJSON(b []byte, visit func(start, end int, str, denied bool, sum summary)) error {
	if _, ok := walkJSONPrefix(b, visit); !ok {
		return ErrNotJSON
	}
	return nil
}

// walkJSONPrefix is walkJSON that also says, for a document that is not
// valid, where the walk stopped: every value before that offset was
// visited, and the token it stopped in was not (a string cut short is not
// reported). For a document cut at a size limit, b[:stop] is what can be
// kept.
func walkJSONPrefix(b []byte, visit func(start, end int, str, denied bool, sum summary)) (stop int, ok bool) {
	// Iterative, with an explicit stack of open containers ('{' or '['),
	// so that visit does not escape (recursion would move it, and what it
	// captures, to the heap on every call).
	var open [64]byte
	stack := open[:0]
	w := jsonWalker{b: b}
	denied := false // the value about to be read belongs to a denied key
	w.space()
	for {
		// A value.
		if w.i >= len(b) {
			return w.i, false
		}
		start := w.i
		switch c := b[w.i]; {
		case c == '"':
			if !w.str() {
				return w.i, false
			}
			visit(start, w.i, true, denied, w.sum)
		case c == '{' || c == '[':
			if len(stack) >= maxJSONDepth {
				return w.i, false
			}
			w.i++
			w.space()
			if w.i < len(b) && b[w.i] == c+2 { // '}' and ']' follow their openers by two
				w.i++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if !w.key(&denied, visit) {
					return w.i, false
				}
			} else {
				denied = false // containers under a denied key are scanned, not dropped
			}
			continue
		case c == 't' || c == 'f' || c == 'n':
			lit := "true"
			if c == 'f' {
				lit = "false"
			} else if c == 'n' {
				lit = "null"
			}
			if !bytes.HasPrefix(b[w.i:], []byte(lit)) {
				return w.i, false
			}
			w.i += len(lit)
			if denied && c != 'n' { // null hides nothing
				visit(start, w.i, false, true, summary{})
			}
		case c == '-' || isDigit(c):
			if !w.number() {
				return w.i, false
			}
			if denied {
				visit(start, w.i, false, true, summary{})
			}
		default:
			return w.i, false
		}
		// After a value: close containers, or move to the next member.
		for {
			w.space()
			if len(stack) == 0 {
				return w.i, w.i == len(b)
			}
			if w.i >= len(b) {
				return w.i, false
			}
			top, c := stack[len(stack)-1], b[w.i]
			if c == top+2 {
				w.i++
				stack = stack[:len(stack)-1]
				continue
			}
			if c != ',' {
				return w.i, false
			}
			w.i++
			w.space()
			if top == '{' {
				if !w.key(&denied, visit) {
					return w.i, false
				}
			} else {
				denied = false
			}
			break
		}
	}
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// jsonWalker reads JSON tokens for walkJSONPrefix, which validates the
// document and reports values as it goes: one pass, no allocation.
type jsonWalker struct {
	b   []byte
	i   int
	sum summary // of the last string read
}

func (w *jsonWalker) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// key reads a member's key and the colon after it (and the space around),
// and says whether its value is denied. The key is a string like any
// other: visit sees it (a map keyed by email addresses hides nothing).
// On failure w.i is at the key.
func (w *jsonWalker) key(denied *bool, visit func(start, end int, str, denied bool, sum summary)) bool {
	start := w.i
	if w.i >= len(w.b) || w.b[w.i] != '"' || !w.str() {
		w.i = start
		return false
	}
	visit(start, w.i, true, false, w.sum)
	*denied = DeniedField(decodeString(w.b[start:w.i]))
	w.space()
	if w.i >= len(w.b) || w.b[w.i] != ':' {
		return false
	}
	w.i++
	w.space()
	return true
}

// str reads a string literal, escapes checked; control characters are
// refused as encoding/json does. It classifies the bytes as it goes (see
// byteClass), so the detectors' pre-filter costs no second pass.
func (w *jsonWalker) str() bool {
	b := w.b
	content := w.i + 1
	sum := summary{token: -1}
	for i := content; i < len(b); i++ {
		c := b[i]
		cl := strClass[c]
		if cl == 0 {
			continue
		}
		switch cl {
		case classDigit:
			sum.digits++
			continue
		case classAt:
			sum.at = true
			continue
		case classTokenHint:
			if sum.token < 0 && tokenPrefixAt(unsafe.String(&b[i], len(b)-i)) {
				sum.token = int32(i - content)
			}
			continue
		}
		switch {
		case c == '"':
			w.i = i + 1
			w.sum = sum
			return true
		case c < 0x20:
			return false
		case c == '\\':
			sum.escaped = true
			i++
			if i >= len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

// strClass is byteClass plus the bytes a JSON string reader must stop at:
// the closing quote, a backslash, control characters.
var strClass = func() (t [256]uint8) {
	t = byteClass
	for c := range 0x20 {
		t[c] = classSpecial
	}
	t['"'], t['\\'] = classSpecial, classSpecial
	return t
}()

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (w *jsonWalker) number() bool {
	b, i := w.b, w.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	w.i = i
	return true
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
