// Package storetest is the conformance suite for store.Store: the cases
// every driver must pass, so that the gateway behaves the same whichever
// database it runs on. It has one entry point, Run, generic over the
// driver's transaction type as River's riverdrivertest.Exercise is: a
// driver's own tests call it with a way to make a fresh, empty database,
// and a driver is done when Run passes. Every method of store.Store and
// store.TxStore is exercised; a concern added to the store adds its cases
// to Run's list, and both drivers are then held to them.
//
// The cases pin down what the store.Traces contract leaves to prose: exact
// round trips (microsecond UTC times, maps, raw metadata, zero values),
// newest-first order with id as tie-break, keyset pages that neither skip
// nor repeat, every filter, tenant scoping, and idempotent batches.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

// Page sizes the contract promises: an unset limit gets defaultLimit, and
// no page is longer than maxLimit. They are written out here rather than
// read from the drivers' shared code, so the suite checks the promise
// instead of echoing the implementation.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// Database makes a new, empty database for t alone and returns how to open
// a store on it. Each call of the opener returns another handle on that
// database (as another replica or process would hold), closed when the t it
// was given ends.
type Database[TTx any] func(t *testing.T) func(t *testing.T) store.TxStore[TTx]

// Run runs every case of the suite, in parallel, each on a database of its
// own from newDB: traces, rollups, retention, tenancy and audit, PII salts,
// limits, console sessions, schema and backup, and key watching.
func Run[TTx any](t *testing.T, newDB Database[TTx]) {
	open := func(t *testing.T) *subject { return bind(newDB(t)(t)) }
	type group struct {
		name  string
		cases []namedCase
	}
	for _, g := range []group{
		{"Traces", traceCases}, {"Rollups", rollupCases}, {"Retention", retentionCases},
		{"Tenancy", tenancyCases}, {"PIISalt", piiCases}, {"Limits", limitsCases},
		{"Sessions", sessionCases}, {"Schema", schemaCases},
	} {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.test(t, open)
				})
			}
		})
	}
	t.Run("WatchKeysHearsOtherHandles", func(t *testing.T) {
		t.Parallel()
		openDB := newDB(t)
		testWatchKeysHearsOtherHandles(t, openDB(t), openDB(t))
	})
}

// namedCase is one case of the suite. It opens the stores it needs (most
// one, some two) with open.
type namedCase struct {
	name string
	test func(t *testing.T, open func(t *testing.T) *subject)
}

// one adapts a case that needs one store.
func one(test func(t *testing.T, s store.Store)) func(t *testing.T, open func(t *testing.T) *subject) {
	return func(t *testing.T, open func(t *testing.T) *subject) { test(t, open(t)) }
}

// oneSubject adapts a case that needs one store and its transactional
// side.
func oneSubject(test func(t *testing.T, s *subject)) func(t *testing.T, open func(t *testing.T) *subject) {
	return func(t *testing.T, open func(t *testing.T) *subject) { test(t, open(t)) }
}

// subject is the store under test with its transactional side bound to its
// transaction type, so that the cases need no type parameter (store/opener
// does the same for the gateway).
type subject struct {
	store.Store
	// ingest inserts batch and applies the fold of what it inserted under
	// a new batch id, in one transaction, as the trace sink and the rollup
	// job do together minus the queue; it returns what it inserted.
	ingest func(ctx context.Context, batch []trace.Record) ([]trace.Record, error)
	// apply applies rows under batchID in a transaction of its own, as
	// the rollup job does.
	apply func(ctx context.Context, batchID string, rows []rollup.Row) (bool, error)
	// reprice writes new trace costs in a transaction of its own, as
	// pricing reprice does (RepriceTracesTx).
	reprice func(ctx context.Context, changes []store.Reprice) ([]store.Reprice, error)
	// exec runs SQL of the suite's own in a transaction of its own;
	// placeholders are written $1, $2, … and rewritten for engines that
	// number none.
	exec func(ctx context.Context, sql string, args ...any) error
}

func bind[TTx any](st store.TxStore[TTx]) *subject {
	return &subject{
		Store: st,
		ingest: func(ctx context.Context, batch []trace.Record) (inserted []trace.Record, err error) {
			err = st.InTx(ctx, func(tx TTx) error {
				if inserted, err = st.InsertTracesTx(ctx, tx, batch); err != nil {
					return err
				}
				_, err := st.ApplyRollupsTx(ctx, tx, uuid.NewString(), rollup.Fold(inserted))
				return err
			})
			return inserted, err
		},
		apply: func(ctx context.Context, batchID string, rows []rollup.Row) (applied bool, err error) {
			err = st.InTx(ctx, func(tx TTx) error {
				applied, err = st.ApplyRollupsTx(ctx, tx, batchID, rows)
				return err
			})
			return applied, err
		},
		reprice: func(ctx context.Context, changes []store.Reprice) (written []store.Reprice, err error) {
			err = st.InTx(ctx, func(tx TTx) error {
				written, err = st.RepriceTracesTx(ctx, tx, changes)
				return err
			})
			return written, err
		},
		exec: func(ctx context.Context, q string, args ...any) error {
			river := st.River()
			if river.ArgPlaceholder() != "$" {
				q = numberedParam.ReplaceAllString(q, river.ArgPlaceholder())
			}
			return st.InTx(ctx, func(tx TTx) error { return river.UnwrapExecutor(tx).Exec(ctx, q, args...) })
		},
	}
}

var numberedParam = regexp.MustCompile(`\$[0-9]+`)

var traceCases = []namedCase{
	{"DriverAndPing", one(testDriverAndPing)},
	{"RoundTripEveryField", one(testRoundTripEveryField)},
	{"RoundTripZeroValues", one(testRoundTripZeroValues)},
	{"TimesAreMicrosecondsInUTC", one(testTimesAreMicrosecondsInUTC)},
	{"TextIsStoredAsValidUTF8", one(testTextIsStoredAsValidUTF8)},
	{"GetUnknownIsNotFound", one(testGetUnknownIsNotFound)},
	{"GetIsTenantScoped", one(testGetIsTenantScoped)},
	{"EmptyBatch", one(testEmptyBatch)},
	{"RetriedBatchIsIgnored", one(testRetriedBatchIsIgnored)},
	{"RepriceWritesOnlyWhatItRead", oneSubject(testRepriceWritesOnlyWhatItRead)},
	{"DuplicateWithinBatch", one(testDuplicateWithinBatch)},
	{"InvalidRecordFailsWholeBatch", one(testInvalidRecordFailsWholeBatch)},
	{"ListNewestFirst", one(testListNewestFirst)},
	{"ListReturnsSummaries", one(testListReturnsSummaries)},
	{"KeysetPagesAcrossEqualTimestamps", one(testKeysetPagesAcrossEqualTimestamps)},
	{"LastFullPageHasNoCursor", one(testLastFullPageHasNoCursor)},
	{"LimitIsBounded", one(testLimitIsBounded)},
	{"Filters", one(testFilters)},
	{"TimeBoundsAtMicrosecondPrecision", one(testTimeBoundsAtMicrosecondPrecision)},
	{"CursorAndRangeTogether", one(testCursorAndRangeTogether)},
	{"LargeBatch", one(testLargeBatch)},
	{"ConcurrentBatches", one(testConcurrentBatches)},
	{"ClassifyWriteError", oneSubject(testClassifyWriteError)},
}

// base is a start time with microseconds, which every store must keep.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// fullRecord returns a record with every field set to a value of its own,
// so a column swapped or dropped anywhere shows up as a difference.
func fullRecord(id string, ts time.Time) trace.Record {
	return trace.Record{
		ID:                 id,
		Timestamp:          ts,
		Provider:           "anthropic",
		Model:              "claude-sonnet-4-5-20250929",
		RequestModel:       "claude-sonnet-4-5",
		RequestMethod:      "POST",
		RequestPath:        "/anthropic/v1/messages",
		ResponseStatus:     201,
		Outcome:            trace.OutcomeUpstreamError,
		InputTokens:        1001,
		OutputTokens:       1002,
		TotalTokens:        1003,
		CachedInputTokens:  1004,
		CacheWriteTokens:   1005,
		CacheWrite1hTokens: 1011,
		ReasoningTokens:    1006,
		TokensEstimated:    true,
		LatencyMS:          1007,
		TimeToFirstTokenMS: 1008,
		TimeToFirstTokenUS: 1008009,
		TimeToFirstByteMS:  1012,
		Streaming:          true,
		StreamEvents:       1010,
		APIKeyHash:         "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		APIKeyLast4:        "x7Qz",
		CostNanoUSD:        12_345_678_901,
		Priced:             true,
		PricingVersion:     "2025-03-01",
		OrgID:              "org_1",
		WorkspaceID:        "ws_1",
		GatewayKeyID:       "gk_1",
		RequestHeaders:     map[string]string{"Content-Type": "application/json", "Anthropic-Version": "2023-06-01"},
		ResponseHeaders:    map[string]string{"Request-Id": "req_1", "X-Empty": "", "X-Quote": `"<a&b>"`},
		RequestBody:        `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"héllo ✓"}]}`,
		ResponseBody:       "event: message_start\ndata: {\"x\":1}\n\n",
		Metadata:           json.RawMessage(`{"team": "search",  "tags":["a","b"], "n": 1.50}`),
		CreatedAt:          ts.Add(1234567 * time.Microsecond),
	}
}

// stored is what a store returns for r: times at microsecond precision in
// UTC, the derived dollar cost filled in, and empty maps as nil.
func stored(r trace.Record) trace.Record {
	r.Timestamp = r.Timestamp.Truncate(time.Microsecond).UTC()
	r.CreatedAt = r.CreatedAt.Truncate(time.Microsecond).UTC()
	r.EstimatedCostUSD = float64(r.CostNanoUSD) / 1e9
	if len(r.RequestHeaders) == 0 {
		r.RequestHeaders = nil
	}
	if len(r.ResponseHeaders) == 0 {
		r.ResponseHeaders = nil
	}
	if len(r.Metadata) == 0 {
		r.Metadata = nil
	}
	return r
}

// summary is what ListTraces returns for r.
func summary(r trace.Record) trace.Record {
	r = stored(r)
	r.RequestHeaders, r.ResponseHeaders = nil, nil
	r.RequestBody, r.ResponseBody = "", ""
	return r
}

// assertRecord fails t with one line per field that differs.
func assertRecord(t *testing.T, want, got trace.Record) {
	t.Helper()
	w, g := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range w.NumField() {
		if !w.Type().Field(i).IsExported() {
			continue // the writer's hand-off (a pending redaction), never stored
		}
		name := w.Type().Field(i).Name
		wf, gf := w.Field(i).Interface(), g.Field(i).Interface()
		if wt, ok := wf.(time.Time); ok {
			gt := gf.(time.Time)
			if !wt.Equal(gt) || gt.Location() != time.UTC {
				t.Errorf("record %q: %s = %v, want %v (UTC)", want.ID, name, gt, wt)
			}
			continue
		}
		if !reflect.DeepEqual(wf, gf) {
			t.Errorf("record %q: %s = %#v, want %#v", want.ID, name, gf, wf)
		}
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func insert(t *testing.T, s store.Store, recs ...trace.Record) {
	t.Helper()
	if err := s.InsertTraces(ctx(t), recs); err != nil {
		t.Fatalf("InsertTraces(%d records): %v", len(recs), err)
	}
}

func get(t *testing.T, s store.Store, tenant store.Tenant, id string) trace.Record {
	t.Helper()
	r, err := s.GetTrace(ctx(t), tenant, id)
	if err != nil {
		t.Fatalf("GetTrace(%+v, %q): %v", tenant, id, err)
	}
	return r
}

// listAll follows cursors from the first page to the last and returns every
// record, failing on a page longer than asked or a cursor that does not
// point at its page's last record.
func listAll(t *testing.T, s store.Store, f store.TraceFilter) []trace.Record {
	t.Helper()
	var all []trace.Record
	for pages := 0; ; pages++ {
		if pages > 10_000 {
			t.Fatal("ListTraces: cursor never ran out")
		}
		page, next, err := s.ListTraces(ctx(t), f)
		if err != nil {
			t.Fatalf("ListTraces(%+v): %v", f, err)
		}
		if f.Limit > 0 && len(page) > f.Limit {
			t.Fatalf("ListTraces: page of %d, limit %d", len(page), f.Limit)
		}
		all = append(all, page...)
		if next == nil {
			return all
		}
		if len(page) == 0 {
			t.Fatal("ListTraces: empty page with a cursor")
		}
		last := page[len(page)-1]
		if !next.Timestamp.Equal(last.Timestamp) || next.ID != last.ID {
			t.Fatalf("cursor %+v does not point at the page's last record (%v, %q)", next, last.Timestamp, last.ID)
		}
		f.Cursor = next
	}
}

func ids(recs []trace.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// newestFirst sorts records the way ListTraces must: by time, then by id
// (byte order), both descending.
func newestFirst(recs []trace.Record) []trace.Record {
	out := slices.Clone(recs)
	slices.SortFunc(out, func(a, b trace.Record) int {
		if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

func assertIDs(t *testing.T, what string, want, got []string) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Errorf("%s:\n got %d ids %v\nwant %d ids %v", what, len(got), got, len(want), want)
	}
}

func testDriverAndPing(t *testing.T, s store.Store) {
	if d := s.Driver(); d != "postgres" && d != "sqlite" {
		t.Errorf("Driver() = %q, want postgres or sqlite", d)
	}
	if err := s.Ping(ctx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testRoundTripEveryField(t *testing.T, s store.Store) {
	r := fullRecord("tr_full", base)
	insert(t, s, r)
	assertRecord(t, stored(r), get(t, s, store.Tenant{OrgID: "org_1", WorkspaceID: "ws_1"}, r.ID))
}

func testRoundTripZeroValues(t *testing.T, s store.Store) {
	r := trace.Record{ID: "tr_zero"}
	insert(t, s, r)
	got := get(t, s, store.Tenant{}, r.ID)
	assertRecord(t, stored(r), got)
	if !got.Timestamp.IsZero() || !got.CreatedAt.IsZero() {
		t.Errorf("zero times came back as %v, %v", got.Timestamp, got.CreatedAt)
	}
	// Empty maps and metadata are "absent", the same as nil.
	r2 := trace.Record{ID: "tr_empty", RequestHeaders: map[string]string{}, Metadata: json.RawMessage{}}
	insert(t, s, r2)
	assertRecord(t, stored(r2), get(t, s, store.Tenant{}, r2.ID))
}

func testTimesAreMicrosecondsInUTC(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+05:30", 5*3600+1800)
	ts := time.Date(2025, 6, 1, 3, 4, 5, 123456789, zone)
	r := fullRecord("tr_time", ts)
	r.CreatedAt = ts.Add(210 * time.Nanosecond) // .123456999: the 999 ns are dropped, not rounded
	insert(t, s, r)

	got := get(t, s, store.Tenant{}, r.ID)
	wantTS := time.Date(2025, 5, 31, 21, 34, 5, 123456000, time.UTC)
	if !got.Timestamp.Equal(wantTS) || got.Timestamp.Location() != time.UTC {
		t.Errorf("Timestamp = %v, want %v", got.Timestamp, wantTS)
	}
	if !got.CreatedAt.Equal(wantTS) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, wantTS)
	}
	page, _, err := s.ListTraces(ctx(t), store.TraceFilter{})
	if err != nil || len(page) != 1 {
		t.Fatalf("ListTraces = %d records, %v", len(page), err)
	}
	if !page[0].Timestamp.Equal(wantTS) || page[0].Timestamp.Location() != time.UTC {
		t.Errorf("listed Timestamp = %v, want %v", page[0].Timestamp, wantTS)
	}
}

func testTextIsStoredAsValidUTF8(t *testing.T, s store.Store) {
	// Both can reach a store from a client: a request path carrying a
	// percent-decoded invalid byte, a body with a NUL. Neither may fail the
	// batch, and every driver must store the same replacement.
	r := fullRecord("tr_bytes", base)
	r.RequestPath = "/openai/v1/\xffchat"
	r.RequestBody = "a\x00b"
	r.RequestHeaders = map[string]string{"X-Bin": "\xfe\x00"}
	ok := fullRecord("tr_ok", base.Add(time.Second))
	insert(t, s, r, ok)

	got := get(t, s, store.Tenant{}, r.ID)
	if got.RequestPath != "/openai/v1/\uFFFDchat" {
		t.Errorf("RequestPath = %q", got.RequestPath)
	}
	if got.RequestBody != "a\uFFFDb" {
		t.Errorf("RequestBody = %q", got.RequestBody)
	}
	if got.RequestHeaders["X-Bin"] != "\uFFFD\x00" {
		t.Errorf("RequestHeaders[X-Bin] = %q", got.RequestHeaders["X-Bin"])
	}
	assertRecord(t, stored(ok), get(t, s, store.Tenant{}, ok.ID))
}

func testGetUnknownIsNotFound(t *testing.T, s store.Store) {
	insert(t, s, fullRecord("tr_1", base))
	// Ids and tenants come from URLs: malformed ones are simply not found.
	for _, id := range []string{"tr_missing", "", "tr\x00", "\xff"} {
		_, err := s.GetTrace(ctx(t), store.Tenant{}, id)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTrace(%q) error = %v, want ErrNotFound", id, err)
		}
	}
	_, err := s.GetTrace(ctx(t), store.Tenant{OrgID: "\xff\x00"}, "tr_1")
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTrace(malformed org) error = %v, want ErrNotFound", err)
	}
}

func testGetIsTenantScoped(t *testing.T, s store.Store) {
	r := fullRecord("tr_a1", base) // org_1 / ws_1
	insert(t, s, r)
	for _, tenant := range []store.Tenant{
		{},
		{OrgID: "org_1"},
		{WorkspaceID: "ws_1"},
		{OrgID: "org_1", WorkspaceID: "ws_1"},
	} {
		assertRecord(t, stored(r), get(t, s, tenant, r.ID))
	}
	for _, tenant := range []store.Tenant{
		{OrgID: "org_2"},
		{WorkspaceID: "ws_2"},
		{OrgID: "org_1", WorkspaceID: "ws_2"},
		{OrgID: "org_2", WorkspaceID: "ws_1"},
	} {
		if _, err := s.GetTrace(ctx(t), tenant, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTrace(%+v) error = %v, want ErrNotFound", tenant, err)
		}
	}
}

func testEmptyBatch(t *testing.T, s store.Store) {
	if err := s.InsertTraces(ctx(t), nil); err != nil {
		t.Errorf("InsertTraces(nil): %v", err)
	}
	if err := s.InsertTraces(ctx(t), []trace.Record{}); err != nil {
		t.Errorf("InsertTraces(empty): %v", err)
	}
	if got := listAll(t, s, store.TraceFilter{}); len(got) != 0 {
		t.Errorf("store holds %d records after empty batches", len(got))
	}
}

func testRetriedBatchIsIgnored(t *testing.T, s store.Store) {
	batch := []trace.Record{
		fullRecord("tr_1", base),
		fullRecord("tr_2", base.Add(time.Second)),
		fullRecord("tr_3", base.Add(2*time.Second)),
	}
	insert(t, s, batch...)
	insert(t, s, batch...) // the writer retrying after a lost acknowledgement

	// A retry overlapping new records: the new one lands, the stored ones
	// keep their first version.
	changed := batch[0]
	changed.Model = "changed"
	insert(t, s, changed, fullRecord("tr_4", base.Add(3*time.Second)), batch[2])

	got := listAll(t, s, store.TraceFilter{})
	assertIDs(t, "after retries", []string{"tr_4", "tr_3", "tr_2", "tr_1"}, ids(got))
	assertRecord(t, stored(batch[0]), get(t, s, store.Tenant{}, "tr_1"))
}

// RepriceTracesTx writes a new cost, priced flag and pricing version only
// to a trace whose stored cost and priced flag are still the ones read, and
// says which it wrote: a trace repriced meanwhile is not changed (or rolled
// up) twice.
func testRepriceWritesOnlyWhatItRead(t *testing.T, s *subject) {
	a, b := fullRecord("tr_a", base), fullRecord("tr_b", base.Add(time.Second))
	a.Priced, a.CostNanoUSD = false, 0
	insert(t, s, a, b)
	stale := b
	stale.CostNanoUSD++ // read before some other change
	changes := []store.Reprice{
		{Trace: a, CostNanoUSD: 4_500, Priced: true, PricingVersion: "2026-12-07+file.ops"},
		{Trace: stale, CostNanoUSD: 1, Priced: true, PricingVersion: "x"},
	}
	written, err := s.reprice(t.Context(), changes)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 1 || written[0].Trace.ID != "tr_a" {
		t.Fatalf("written %+v, want only tr_a", written)
	}
	wantA := stored(a)
	wantA.CostNanoUSD, wantA.EstimatedCostUSD, wantA.Priced, wantA.PricingVersion = 4_500, 4.5e-6, true, "2026-12-07+file.ops"
	assertRecord(t, wantA, get(t, s, store.Tenant{}, "tr_a"))
	assertRecord(t, stored(b), get(t, s, store.Tenant{}, "tr_b"))

	// The same change again: tr_a's cost is no longer the one read.
	if written, err = s.reprice(t.Context(), changes[:1]); err != nil || len(written) != 0 {
		t.Fatalf("second reprice wrote %+v (%v)", written, err)
	}
}

func testDuplicateWithinBatch(t *testing.T, s store.Store) {
	r := fullRecord("tr_dup", base)
	insert(t, s, r, fullRecord("tr_other", base.Add(time.Second)), r)
	got := listAll(t, s, store.TraceFilter{})
	assertIDs(t, "after a batch holding a record twice", []string{"tr_other", "tr_dup"}, ids(got))
}

func testInvalidRecordFailsWholeBatch(t *testing.T, s store.Store) {
	bad := fullRecord("tr_bad", base)
	bad.ResponseStatus = 70000 // not an HTTP status; would wrap in a smallint
	err := s.InsertTraces(ctx(t), []trace.Record{fullRecord("tr_good", base), bad})
	if err == nil {
		t.Fatal("InsertTraces accepted response status 70000")
	}
	if !strings.Contains(err.Error(), "tr_bad") {
		t.Errorf("error %q does not name the bad record", err)
	}
	if got := listAll(t, s, store.TraceFilter{}); len(got) != 0 {
		t.Errorf("a failed batch left %d records behind", len(got))
	}
}

func testListNewestFirst(t *testing.T, s store.Store) {
	var recs []trace.Record
	// Shuffled times, and three records sharing one time to exercise the
	// id tie-break (byte order: "tr_B" < "tr_a" < "tr_b").
	for i, off := range []int{5, 1, 9, 3, 7, 0, 8, 2, 6, 4} {
		recs = append(recs, fullRecord(fmt.Sprintf("tr_%02d", i), base.Add(time.Duration(off)*time.Minute)))
	}
	for _, id := range []string{"tr_b", "tr_B", "tr_a"} {
		recs = append(recs, fullRecord(id, base.Add(5*time.Minute)))
	}
	insert(t, s, recs...)
	page, next, err := s.ListTraces(ctx(t), store.TraceFilter{Limit: maxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if next != nil {
		t.Errorf("cursor %+v on the only page", next)
	}
	assertIDs(t, "newest first", ids(newestFirst(recs)), ids(page))
}

func testListReturnsSummaries(t *testing.T, s store.Store) {
	r := fullRecord("tr_sum", base)
	insert(t, s, r)
	page, _, err := s.ListTraces(ctx(t), store.TraceFilter{})
	if err != nil || len(page) != 1 {
		t.Fatalf("ListTraces = %d records, %v", len(page), err)
	}
	assertRecord(t, summary(r), page[0])
}

func testKeysetPagesAcrossEqualTimestamps(t *testing.T, s store.Store) {
	var recs []trace.Record
	for i := range 7 { // seven at one instant: pages must split inside them
		recs = append(recs, fullRecord(fmt.Sprintf("tr_same_%d", i), base))
	}
	recs = append(recs,
		fullRecord("tr_later", base.Add(time.Microsecond)),
		fullRecord("tr_earlier", base.Add(-time.Microsecond)),
		fullRecord("tr_zz_earlier", base.Add(-time.Microsecond)),
	)
	insert(t, s, recs...)

	want := ids(newestFirst(recs))
	for _, limit := range []int{1, 2, 3, 4, 7} {
		got := listAll(t, s, store.TraceFilter{Limit: limit})
		assertIDs(t, fmt.Sprintf("pages of %d", limit), want, ids(got))
	}
}

func testLastFullPageHasNoCursor(t *testing.T, s store.Store) {
	var recs []trace.Record
	for i := range 6 {
		recs = append(recs, fullRecord(fmt.Sprintf("tr_%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	insert(t, s, recs...)
	first, next, err := s.ListTraces(ctx(t), store.TraceFilter{Limit: 3})
	if err != nil || len(first) != 3 || next == nil {
		t.Fatalf("first page: %d records, cursor %v, err %v", len(first), next, err)
	}
	second, next, err := s.ListTraces(ctx(t), store.TraceFilter{Limit: 3, Cursor: next})
	if err != nil || len(second) != 3 {
		t.Fatalf("second page: %d records, err %v", len(second), err)
	}
	if next != nil {
		t.Errorf("cursor %+v after the last record", next)
	}
}

func testLimitIsBounded(t *testing.T, s store.Store) {
	recs := make([]trace.Record, maxLimit+10)
	for i := range recs {
		recs[i] = fullRecord(fmt.Sprintf("tr_%03d", i), base.Add(time.Duration(i)*time.Millisecond))
	}
	insert(t, s, recs...)
	for _, c := range []struct{ limit, want int }{
		{0, defaultLimit}, {-5, defaultLimit}, {1, 1}, {maxLimit, maxLimit}, {maxLimit + 1, maxLimit}, {100000, maxLimit},
	} {
		page, next, err := s.ListTraces(ctx(t), store.TraceFilter{Limit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != c.want || next == nil {
			t.Errorf("Limit %d: %d records (cursor %v), want %d and a cursor", c.limit, len(page), next, c.want)
		}
	}
}

// testFilters checks each filter against a plain Go reading of the
// contract, on records that vary in every filtered field.
func testFilters(t *testing.T, s store.Store) {
	var recs []trace.Record
	orgs := []string{"org_1", "org_2"}
	workspaces := []string{"ws_1", "ws_2", "ws_3"}
	providers := []string{"openai", "anthropic"}
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-haiku-4-5"}
	statuses := []int{200, 429, 500}
	keys := []string{"hash_a", "hash_b", "hash_c", "hash_d"}
	for i := range 72 {
		r := fullRecord(fmt.Sprintf("tr_%02d", i), base.Add(time.Duration(i/2)*time.Second)) // pairs share a time
		r.OrgID = orgs[i%2]
		r.WorkspaceID = workspaces[i%3]
		r.Provider = providers[i/3%2]
		r.Model = models[i/2%3]
		r.ResponseStatus = statuses[i/4%3]
		r.APIKeyHash = keys[i/5%4]
		recs = append(recs, r)
	}
	insert(t, s, recs...)

	from, to := base.Add(10*time.Second), base.Add(20*time.Second) // both on a record's time
	for _, f := range []store.TraceFilter{
		{},
		{Tenant: store.Tenant{OrgID: "org_1"}},
		{Tenant: store.Tenant{WorkspaceID: "ws_2"}},
		{Tenant: store.Tenant{OrgID: "org_2", WorkspaceID: "ws_3"}},
		{Tenant: store.Tenant{OrgID: "org_9", WorkspaceID: "ws_1"}},
		{Provider: "anthropic"},
		{Model: "gpt-4o"},
		{Status: 429},
		{Status: 404},
		{APIKeyHash: "hash_c"},
		{From: from},
		{To: to},
		{From: from, To: to},
		{From: to, To: from},
		{Tenant: store.Tenant{OrgID: "org_1", WorkspaceID: "ws_1"}, Provider: "openai", Model: "gpt-4o-mini", From: from},
		{Tenant: store.Tenant{OrgID: "org_2"}, Status: 500, APIKeyHash: "hash_a", To: to},
		{Provider: "open\xffai\x00", Model: "\xfe"}, // malformed input from a URL: no match, no error
	} {
		t.Run(describe(f), func(t *testing.T) {
			var want []trace.Record
			for _, r := range recs {
				if matches(f, r) {
					want = append(want, r)
				}
			}
			f.Limit = 4 // several pages: filters must hold across cursors
			assertIDs(t, "filtered", ids(newestFirst(want)), ids(listAll(t, s, f)))
		})
	}
}

// matches is the contract of TraceFilter, spelled out.
func matches(f store.TraceFilter, r trace.Record) bool {
	return (f.Tenant.OrgID == "" || r.OrgID == f.Tenant.OrgID) &&
		(f.Tenant.WorkspaceID == "" || r.WorkspaceID == f.Tenant.WorkspaceID) &&
		(f.Provider == "" || r.Provider == f.Provider) &&
		(f.Model == "" || r.Model == f.Model) &&
		(f.Status == 0 || r.ResponseStatus == f.Status) &&
		(f.APIKeyHash == "" || r.APIKeyHash == f.APIKeyHash) &&
		(f.From.IsZero() || !r.Timestamp.Before(f.From)) &&
		(f.To.IsZero() || r.Timestamp.Before(f.To))
}

func describe(f store.TraceFilter) string {
	var parts []string
	add := func(k, v string) {
		if v == "" {
			return
		}
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			v = strconv.QuoteToASCII(v) // keep test names printable
		}
		parts = append(parts, k+"="+v)
	}
	add("org", f.Tenant.OrgID)
	add("ws", f.Tenant.WorkspaceID)
	add("provider", f.Provider)
	add("model", f.Model)
	if f.Status != 0 {
		add("status", fmt.Sprint(f.Status))
	}
	add("key", f.APIKeyHash)
	if !f.From.IsZero() {
		add("from", f.From.Sub(base).String())
	}
	if !f.To.IsZero() {
		add("to", f.To.Sub(base).String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func testTimeBoundsAtMicrosecondPrecision(t *testing.T, s store.Store) {
	r := fullRecord("tr_at", base) // base has whole microseconds
	insert(t, s, r)
	half := 500 * time.Nanosecond
	for _, c := range []struct {
		f    store.TraceFilter
		want []string
	}{
		{store.TraceFilter{From: base}, []string{"tr_at"}},
		{store.TraceFilter{From: base.Add(half)}, nil}, // starts before From
		{store.TraceFilter{From: base.Add(-half)}, []string{"tr_at"}},
		{store.TraceFilter{To: base}, nil},                         // To is exclusive
		{store.TraceFilter{To: base.Add(half)}, []string{"tr_at"}}, // starts before To
		{store.TraceFilter{To: base.Add(-half)}, nil},
	} {
		got := ids(listAll(t, s, c.f))
		if len(got) == 0 {
			got = nil
		}
		assertIDs(t, describe(c.f), c.want, got)
	}
}

// A cursor from a page listed under another range (a client that changed
// To between pages) must not widen the range, nor the range the cursor.
func testCursorAndRangeTogether(t *testing.T, s store.Store) {
	var recs []trace.Record
	for i := range 10 {
		recs = append(recs, fullRecord(fmt.Sprintf("tr_%d", i), base.Add(time.Duration(i)*time.Second)))
	}
	insert(t, s, recs...)
	for _, c := range []struct {
		f    store.TraceFilter
		want []string
	}{
		{ // the range ends before the cursor: the range wins
			store.TraceFilter{To: base.Add(3 * time.Second), Cursor: &store.TraceCursor{Timestamp: base.Add(8 * time.Second), ID: "tr_8"}},
			[]string{"tr_2", "tr_1", "tr_0"},
		},
		{ // the cursor lies inside the range: the cursor wins
			store.TraceFilter{To: base.Add(8 * time.Second), Cursor: &store.TraceCursor{Timestamp: base.Add(3 * time.Second), ID: "tr_3"}},
			[]string{"tr_2", "tr_1", "tr_0"},
		},
		{ // a cursor on the range's end: the range's end is exclusive anyway
			store.TraceFilter{From: base.Add(time.Second), To: base.Add(3 * time.Second), Cursor: &store.TraceCursor{Timestamp: base.Add(3 * time.Second), ID: "tr_3"}},
			[]string{"tr_2", "tr_1"},
		},
	} {
		assertIDs(t, describe(c.f)+",with cursor", c.want, ids(listAll(t, s, c.f)))
	}
}

func testLargeBatch(t *testing.T, s store.Store) {
	const n = 5000
	recs := make([]trace.Record, n)
	for i := range recs {
		recs[i] = fullRecord(fmt.Sprintf("tr_%05d", i), base.Add(time.Duration(i%1000)*time.Millisecond))
	}
	insert(t, s, recs...)
	insert(t, s, recs...) // and the retry of it

	got := listAll(t, s, store.TraceFilter{Limit: maxLimit})
	assertIDs(t, "5000 records", ids(newestFirst(recs)), ids(got))
}

func testConcurrentBatches(t *testing.T, s store.Store) {
	const writers, batches, size = 4, 5, 100
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		all  []trace.Record
	)
	for w := range writers {
		var mine []trace.Record
		for b := range batches {
			batch := make([]trace.Record, size)
			for i := range batch {
				batch[i] = fullRecord(fmt.Sprintf("tr_w%d_b%d_%03d", w, b, i), base.Add(time.Duration(i)*time.Millisecond))
			}
			mine = append(mine, batch...)
		}
		all = append(all, mine...)
		wg.Go(func() {
			for b := range batches {
				if err := s.InsertTraces(ctx(t), mine[b*size:(b+1)*size]); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent InsertTraces: %v", err)
	}
	got := listAll(t, s, store.TraceFilter{Limit: maxLimit})
	assertIDs(t, "after concurrent batches", ids(newestFirst(all)), ids(got))
}

// A failed write is named by its cause, for the trace writer's failure
// counts: a constraint the database refused is a constraint failure, and an
// error the driver does not know is left to the writer ("").
func testClassifyWriteError(t *testing.T, s *subject) {
	if got := s.ClassifyWriteError(errors.New("unknown")); got != "" {
		t.Errorf("ClassifyWriteError(unknown) = %q, want \"\"", got)
	}
	mustNil(t, s.CreateOrg(ctx(t), store.Org{ID: "o", Name: "o", CreatedAt: base}))
	err := s.exec(ctx(t), "INSERT INTO orgs (id, name, created_at) SELECT id, name, created_at FROM orgs")
	if got := s.ClassifyWriteError(err); got != trace.FailureConstraint {
		t.Errorf("ClassifyWriteError(%v) = %q, want %q", err, got, trace.FailureConstraint)
	}
}
