package providers

import (
	"bytes"
	"unicode/utf8"
)

// Bounds on Result.FinishReasons: a response with many choices, or an
// upstream sending odd values, must not make a trace or a span attribute
// grow without limit.
const (
	// MaxFinishReasons is how many distinct finish reasons a Result keeps;
	// later ones are dropped.
	MaxFinishReasons = 8
	// MaxFinishReasonBytes is the longest finish reason kept; a longer one
	// is cut at a UTF-8 boundary.
	MaxFinishReasonBytes = 64
)

// knownReasons are the finish reasons the providers document (OpenAI chat
// and legacy completions, the Responses API's terminal statuses and
// incomplete reasons, Anthropic's stop reasons). They are interned: the
// usual response reports one of them, and reading it then allocates
// nothing, not even the slice Result returns (see reasonSet.list).
var knownReasons = [...]string{
	// OpenAI chat and legacy completions.
	"stop", "length", "tool_calls", "content_filter", "function_call",
	// OpenAI Responses API.
	"completed", "incomplete", "failed", "cancelled", "max_output_tokens",
	// Anthropic Messages API.
	"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal",
	"model_context_window_exceeded",
}

// knownSingles holds, for each known reason, the one-element list a Result
// reports when that reason is the only one. They are shared by every
// Result, which is why Result.FinishReasons must not be modified.
var knownSingles = func() (t [len(knownReasons)][]string) {
	for i, r := range knownReasons {
		t[i] = []string{r}
	}
	return t
}()

// reasonSet gathers the distinct finish reasons of one response, in the
// order first seen, in fixed memory.
type reasonSet struct {
	n int
	v [MaxFinishReasons]string
}

// add records the finish reason in raw, a complete JSON string literal
// (quotes and escapes included) that the scanner has validated. A known
// reason, or a repeat of one already held, costs no allocation.
func (s *reasonSet) add(raw []byte) {
	if s.n == len(s.v) || len(raw) < 2 {
		return
	}
	inner := raw[1 : len(raw)-1]
	var name string
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		// The usual case: compare the bytes as they are, and decode (and
		// allocate) only a reason that is neither held nor known.
		inner = clipUTF8(inner, MaxFinishReasonBytes)
		if holds(s.v[:s.n], inner) {
			return
		}
		name = intern(inner)
	} else {
		// Escapes or invalid UTF-8, which decoding replaces: a span
		// attribute must be valid UTF-8.
		name = decodeString(raw)
		name = name[:len(clipUTF8([]byte(name), MaxFinishReasonBytes))]
		if holds(s.v[:s.n], name) {
			return
		}
	}
	if name != "" {
		s.v[s.n] = name
		s.n++
	}
}

// holds reports whether reasons hold name; it takes bytes or a string, so
// that neither caller converts (and allocates).
func holds[T ~string | ~[]byte](reasons []string, name T) bool {
	for _, r := range reasons {
		if r == string(name) {
			return true
		}
	}
	return false
}

// intern returns the known reason equal to name without allocating, or a
// new string for any other.
func intern(name []byte) string {
	for _, r := range knownReasons {
		if string(name) == r {
			return r
		}
	}
	return string(name)
}

// list returns the reasons as Result reports them: nil for none, a shared
// list for a single known reason, and a new slice otherwise.
func (s *reasonSet) list() []string {
	switch s.n {
	case 0:
		return nil
	case 1:
		for i, r := range knownReasons {
			if s.v[0] == r {
				return knownSingles[i]
			}
		}
	}
	out := make([]string, s.n)
	copy(out, s.v[:s.n])
	return out
}

// clipUTF8 cuts b to at most max bytes without splitting a UTF-8 sequence.
func clipUTF8(b []byte, max int) []byte {
	if len(b) <= max {
		return b
	}
	// b[i] is the first byte dropped: while it continues a sequence begun
	// before it, drop that sequence too.
	i := max
	for i > 0 && i > max-utf8.UTFMax && !utf8.RuneStart(b[i]) {
		i--
	}
	return b[:i]
}

// rawIncomplete is the status of an incomplete response, as raw JSON.
var rawIncomplete = []byte(`"incomplete"`)

// responsesReason is the finish reason a Responses API response object
// reports, as a raw JSON string, or nil while it has none. The API has no
// finish_reason: a response ends with a terminal status, and an incomplete
// one says why in incomplete_details.reason. The reason is the more
// specific of the two ("max_output_tokens", "content_filter"), so an
// incomplete response reports it (or "incomplete" when it gives none) and
// any other terminal status reports itself ("completed", "failed",
// "cancelled"), in the API's own words as for the other dialects. A queued
// or in-progress response reports nothing: only a response that ended
// stopped for a reason.
func responsesReason(s *scanner) []byte {
	st := &s.slots[slotStatus]
	if st.kind != kindString || !st.done || st.overflow {
		return nil
	}
	switch {
	case rawIs(st.raw, "incomplete"):
		if r := &s.slots[slotIncompleteReason]; r.kind == kindString && r.done && !r.overflow && len(r.raw) > 2 {
			return r.raw
		}
		return rawIncomplete
	case rawIs(st.raw, "completed"), rawIs(st.raw, "failed"), rawIs(st.raw, "cancelled"):
		return st.raw
	}
	return nil
}

// rawIs reports whether the raw JSON string raw decodes to s, decoding
// only when raw holds an escape.
func rawIs(raw []byte, s string) bool {
	if len(raw) < 2 {
		return false
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == s
	}
	return decodeString(raw) == s
}
