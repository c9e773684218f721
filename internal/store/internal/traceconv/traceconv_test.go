package traceconv

import (
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

func TestPageSize(t *testing.T) {
	for limit, want := range map[int]int{-1: DefaultLimit, 0: DefaultLimit, 1: 1, 200: 200, 201: MaxLimit} {
		if got := PageSize(limit); got != want {
			t.Errorf("PageSize(%d) = %d, want %d", limit, got, want)
		}
	}
}

func TestPage(t *testing.T) {
	ts := time.Unix(100, 0).UTC()
	rows := []trace.Record{{ID: "c", Timestamp: ts}, {ID: "b", Timestamp: ts}, {ID: "a", Timestamp: ts}}
	page, next := Page(rows, 3, TraceKey)
	if len(page) != 3 || next != nil {
		t.Errorf("exactly a page: %d rows, cursor %v", len(page), next)
	}
	page, next = Page(rows, 2, TraceKey)
	if len(page) != 2 || next == nil || next.ID != "b" || !next.Timestamp.Equal(ts) {
		t.Errorf("one extra row: %d rows, cursor %+v; want 2 and a cursor at b", len(page), next)
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"plain ✓":     "plain ✓",
		"bad\xffbyte": "bad\uFFFDbyte",
		"nul\x00byte": "nul\uFFFDbyte",
		"\xff\x00":    "\uFFFD\uFFFD",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	for _, h := range []map[string]string{nil, {}, {"A": "1", "b": `"<&>"`, "": ""}} {
		s, err := Headers(h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseHeaders(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(h) {
			t.Errorf("%v came back as %v", h, got)
		}
		for k, v := range h {
			if got[k] != v {
				t.Errorf("%v came back as %v", h, got)
			}
		}
	}
	if s, _ := Headers(map[string]string{}); s != "" {
		t.Errorf("no headers encode as %q, want empty", s)
	}
}

func TestTimeBounds(t *testing.T) {
	at := func(us int64) time.Time { return time.UnixMicro(us).UTC() }
	cur := func(us int64, id string) *store.TraceCursor { return &store.TraceCursor{Timestamp: at(us), ID: id} }
	for _, c := range []struct {
		name       string
		f          store.TraceFilter
		wantFrom   time.Time
		wantBefore *store.TraceCursor
	}{
		{"unbounded", store.TraceFilter{}, time.Time{}, nil},
		{"whole micros", store.TraceFilter{From: at(10), To: at(20)}, at(10), cur(20, "")},
		{"rounded up", store.TraceFilter{From: at(10).Add(1), To: at(20).Add(999)}, at(11), cur(21, "")},
		{"cursor alone", store.TraceFilter{Cursor: cur(15, "x")}, time.Time{}, cur(15, "x")},
		{"cursor inside range", store.TraceFilter{To: at(20), Cursor: cur(15, "x")}, time.Time{}, cur(15, "x")},
		{"range inside cursor", store.TraceFilter{To: at(20), Cursor: cur(25, "x")}, time.Time{}, cur(20, "")},
		{"cursor on range end", store.TraceFilter{To: at(20), Cursor: cur(20, "x")}, time.Time{}, cur(20, "")},
	} {
		from, before := TimeBounds(c.f)
		if !from.Equal(c.wantFrom) {
			t.Errorf("%s: from = %v, want %v", c.name, from, c.wantFrom)
		}
		if (before == nil) != (c.wantBefore == nil) ||
			before != nil && (!before.Timestamp.Equal(c.wantBefore.Timestamp) || before.ID != c.wantBefore.ID) {
			t.Errorf("%s: before = %+v, want %+v", c.name, before, c.wantBefore)
		}
	}
}

func TestValidate(t *testing.T) {
	for status, ok := range map[int]bool{0: true, 200: true, 999: true, 1000: false, -1: false, 70000: false} {
		err := Validate(&trace.Record{ID: "x", ResponseStatus: status})
		if (err == nil) != ok {
			t.Errorf("Validate(status %d) = %v", status, err)
		}
	}
}
