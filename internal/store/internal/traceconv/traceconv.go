// Package traceconv holds the storage conventions both stores share, so the
// Postgres and SQLite drivers cannot drift apart on them: how absent values
// are stored, how headers, metadata and key permissions become text, how a
// list limit is bounded and how a page and its cursor are cut (for traces
// and audit events alike).
package traceconv

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

const (
	// DefaultLimit is the page size when a filter leaves Limit unset.
	DefaultLimit = 50
	// MaxLimit caps a page, whatever the caller asks for, so one request
	// cannot make the store read an unbounded number of rows.
	MaxLimit = 200
)

// PageSize is the number of traces one ListTraces call returns at most.
func PageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	default:
		return limit
	}
}

// Page cuts rows, fetched with a limit of size+1, down to one page. The
// extra row only tells whether another page exists, which saves a COUNT; the
// cursor then points at the last row of this page, whose (time, id) key
// returns.
func Page[T any](rows []T, size int, key func(*T) store.TraceCursor) ([]T, *store.TraceCursor) {
	if len(rows) <= size {
		return rows, nil
	}
	rows = rows[:size]
	cursor := key(&rows[size-1])
	return rows, &cursor
}

// TraceKey is a trace's position in the newest-first order.
func TraceKey(r *trace.Record) store.TraceCursor {
	return store.TraceCursor{Timestamp: r.Timestamp, ID: r.ID}
}

// AuditKey is an audit event's position in the newest-first order.
func AuditKey(e *store.AuditEvent) store.TraceCursor {
	return store.TraceCursor{Timestamp: e.Time, ID: e.ID}
}

// EncodePermissions stores a key's extra permissions as a JSON array, which
// keeps any character a permission name might contain, commas included.
func EncodePermissions(p []string) (string, error) {
	if p == nil {
		p = []string{}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// DecodePermissions reads EncodePermissions' output; an empty array comes
// back nil, so keys round-trip whether or not they had permissions.
func DecodePermissions(s string) ([]string, error) {
	var p []string
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("permissions: %w", err)
	}
	if len(p) == 0 {
		return nil, nil
	}
	return p, nil
}

// TimeBounds folds a filter's time range and cursor into the two bounds the
// list queries take: an inclusive lower bound on the start time (zero when
// there is none) and an exclusive upper key on (start time, id) (nil when
// there is none). The range's end becomes the key (To, ""), which every
// trace starting before To sorts below, and the tighter of it and the
// cursor wins. One upper key instead of two lets SQLite seek its index with
// it, and keeps both drivers' queries short.
//
// Stored times have microsecond precision, so From and To are rounded up to
// the microsecond: a trace at 10µs does not start at or after 10.5µs, and
// does start before it.
func TimeBounds(f store.TraceFilter) (from time.Time, before *store.TraceCursor) {
	if !f.From.IsZero() {
		from = CeilMicro(f.From)
	}
	if !f.To.IsZero() {
		before = &store.TraceCursor{Timestamp: CeilMicro(f.To)}
	}
	if f.Cursor != nil {
		c := &store.TraceCursor{Timestamp: f.Cursor.Timestamp, ID: Text(f.Cursor.ID)}
		if before == nil || c.Timestamp.Before(before.Timestamp) ||
			(c.Timestamp.Equal(before.Timestamp) && c.ID < before.ID) {
			before = c
		}
	}
	return from, before
}

// CeilMicro rounds t up to the microsecond, the precision stores keep
// times at, so that an exclusive bound keeps its meaning once stored: a
// trace at 10µs starts before 10.5µs, and before 11µs, but not before 10µs.
func CeilMicro(t time.Time) time.Time {
	down := t.Truncate(time.Microsecond)
	if down.Before(t) {
		return down.Add(time.Microsecond)
	}
	return down
}

// Validate rejects a record that a store could not keep faithfully. Only
// the response status needs it: Postgres keeps it in a smallint, and Go
// would silently wrap a larger value instead of failing.
func Validate(r *trace.Record) error {
	if r.ResponseStatus < 0 || r.ResponseStatus > 999 {
		return fmt.Errorf("trace %q: response status %d is not an HTTP status", r.ID, r.ResponseStatus)
	}
	return nil
}

// Text makes s storable as text on every engine; see trace.StorableText.
// Both drivers apply it, so they store the same thing.
func Text(s string) string { return trace.StorableText(s) }

// Headers encodes a header map as JSON text; no headers at all is "", which
// costs a byte where "{}" or NULL would cost more.
func Headers(h map[string]string) (string, error) {
	if len(h) == 0 {
		return "", nil
	}
	// Sorted keys and escaped text, as encoding/json would write them, so
	// the result is deterministic and already valid text.
	return encodeHeaders(h), nil
}

// ParseHeaders is the inverse of Headers.
func ParseHeaders(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(s), &h); err != nil {
		return nil, fmt.Errorf("stored headers: %w", err)
	}
	return h, nil
}

// EncodeHeaders validates r and encodes both its header maps, as both
// drivers store a record.
func EncodeHeaders(r *trace.Record) (request, response string, err error) {
	if err := Validate(r); err != nil {
		return "", "", err
	}
	if request, err = Headers(r.RequestHeaders); err != nil {
		return "", "", fmt.Errorf("trace %q: request headers: %w", r.ID, err)
	}
	if response, err = Headers(r.ResponseHeaders); err != nil {
		return "", "", fmt.Errorf("trace %q: response headers: %w", r.ID, err)
	}
	return request, response, nil
}

// DecodeHeaders parses both stored header maps of a row.
func DecodeHeaders(request, response string) (req, resp map[string]string, err error) {
	if req, err = ParseHeaders(request); err != nil {
		return nil, nil, err
	}
	if resp, err = ParseHeaders(response); err != nil {
		return nil, nil, err
	}
	return req, resp, nil
}

// Metadata keeps metadata byte for byte (as far as Text allows); none at all
// is "".
func Metadata(m json.RawMessage) string { return Text(string(m)) }

// ParseMetadata is the inverse of Metadata.
func ParseMetadata(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// CostUSD derives the float cost the API shows from the exact integer one.
func CostUSD(nanoUSD int64) float64 { return float64(nanoUSD) / 1e9 }

// OptString turns an optional filter string into a nullable query
// argument: empty means "any", which the queries spell as NULL. The value
// goes through Text like stored text does, so it still matches what was
// stored, and a malformed one from a URL cannot make Postgres fail the query.
func OptString(s string) *string {
	if s == "" {
		return nil
	}
	s = Text(s)
	return &s
}
