package rollup

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

var hour0 = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]string{
		0: "other", 99: "other", 100: "1xx", 200: "2xx", 299: "2xx", 301: "3xx",
		400: "4xx", 499: "4xx", 500: "5xx", 599: "5xx", 600: "other", 999: "other",
	} {
		if got := StatusClass(status); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", status, got, want)
		}
	}
}

// A trace counts under the UTC hour it started in, whatever zone its
// timestamp carries.
func TestKeyOfUsesUTCHour(t *testing.T) {
	nyc := time.FixedZone("EST", -5*3600)
	r := trace.Record{Timestamp: time.Date(2025, 3, 14, 10, 59, 59, 999_999_999, nyc), Provider: "openai",
		Model: "gpt-4o", OrgID: "o", WorkspaceID: "w", GatewayKeyID: "gk", APIKeyHash: "h", ResponseStatus: 429}
	want := Key{Hour: hour0, OrgID: "o", WorkspaceID: "w", Provider: "openai", Model: "gpt-4o",
		GatewayKeyID: "gk", APIKeyHash: "h", StatusClass: "4xx"}
	if got := KeyOf(&r); got != want {
		t.Errorf("KeyOf = %+v, want %+v", got, want)
	}
}

// Fold's sums, worked out by hand for three traces under one key and one
// under another.
func TestFoldSums(t *testing.T) {
	rec := func(id string, offset time.Duration, status int) trace.Record {
		return trace.Record{ID: id, Timestamp: hour0.Add(offset), Provider: "anthropic", Model: "claude",
			ResponseStatus: status, Outcome: trace.OutcomeOK, Priced: true}
	}
	a := rec("a", 10*time.Minute+1500*time.Nanosecond, 200)
	a.InputTokens, a.OutputTokens, a.TotalTokens = 100, 20, 120
	a.CachedInputTokens, a.CacheWriteTokens, a.ReasoningTokens = 30, 5, 7
	a.CostNanoUSD, a.LatencyMS, a.TimeToFirstTokenUS = 1_000, 250, 90_000
	b := rec("b", 50*time.Minute, 503)
	b.InputTokens, b.OutputTokens, b.TotalTokens = 1, 2, 3
	b.CostNanoUSD, b.LatencyMS = 7, 40 // no first token: TTFT untouched
	b.Outcome, b.Priced = trace.OutcomeClientCancelled, false
	c := rec("c", 30*time.Minute, 404)
	c.InputTokens, c.TotalTokens = 10, 10
	c.LatencyMS, c.TimeToFirstTokenUS = 900, 40_000
	d := rec("d", 0, 200) // another key: same hour, another model
	d.Model, d.LatencyMS = "other", 5

	// a, b and c differ only in status class, so they make three keys;
	// d makes a fourth. Rows come in key order.
	rows := Fold([]trace.Record{d, c, b, a})
	var order []string
	for _, r := range rows {
		order = append(order, r.Model+"/"+r.StatusClass)
	}
	if want := []string{"claude/2xx", "claude/4xx", "claude/5xx", "other/2xx"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("rows = %v, want %v", order, want)
	}
	var total Row
	for _, r := range rows[:3] {
		total.Merge(r.Clone())
	}
	want := Sums{
		Requests: 3, ClientErrors: 1, ServerErrors: 1, Cancelled: 1, Unpriced: 1,
		InputTokens: 111, OutputTokens: 22, TotalTokens: 133,
		CachedInputTokens: 30, CacheWriteTokens: 5, ReasoningTokens: 7,
		CostNanoUSD: 1_007, LatencySumMS: 1_190, LatencyMinMS: 40, LatencyMaxMS: 900,
		TTFTCount: 2, TTFTSumUS: 130_000, TTFTMinUS: 40_000, TTFTMaxUS: 90_000,
		LastActiveAt: hour0.Add(50 * time.Minute),
	}
	assertSums(t, "merged rows", want, total.Sums)
	if total.Latency.Count() != 3 || total.TTFT.Count() != 2 {
		t.Errorf("histograms count %d latencies and %d TTFTs, want 3 and 2", total.Latency.Count(), total.TTFT.Count())
	}

	// One key, two traces: Fold merges them itself.
	a2 := a
	a2.ID, a2.Timestamp, a2.LatencyMS, a2.TimeToFirstTokenUS = "a2", a.Timestamp.Add(-time.Minute), 10, 0
	rows = Fold([]trace.Record{a, a2})
	if len(rows) != 1 {
		t.Fatalf("%d rows for one key, want 1", len(rows))
	}
	want = Sums{
		Requests: 2, InputTokens: 200, OutputTokens: 40, TotalTokens: 240,
		CachedInputTokens: 60, CacheWriteTokens: 10, ReasoningTokens: 14, CostNanoUSD: 2_000,
		LatencySumMS: 260, LatencyMinMS: 10, LatencyMaxMS: 250,
		TTFTCount: 1, TTFTSumUS: 90_000, TTFTMinUS: 90_000, TTFTMaxUS: 90_000,
		// a's start, truncated to the microsecond stores keep.
		LastActiveAt: hour0.Add(10*time.Minute + time.Microsecond),
	}
	assertSums(t, "one key", want, rows[0].Sums)
}

func assertSums(t *testing.T, what string, want, got Sums) {
	t.Helper()
	if !got.LastActiveAt.Equal(want.LastActiveAt) || got.LastActiveAt.Location() != time.UTC {
		t.Errorf("%s: LastActiveAt = %v, want %v (UTC)", what, got.LastActiveAt, want.LastActiveAt)
	}
	got.LastActiveAt, want.LastActiveAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// randomRecords spreads n traces over a few hours and keys.
func randomRecords(seed uint64, n int) []trace.Record {
	rng := rand.New(rand.NewPCG(seed, seed))
	recs := make([]trace.Record, n)
	for i := range recs {
		recs[i] = trace.Record{
			ID:                 fmt.Sprintf("r%d", i),
			Timestamp:          hour0.Add(time.Duration(rng.Int64N(int64(5 * time.Hour)))),
			OrgID:              []string{"", "o1", "o2"}[rng.IntN(3)],
			Provider:           []string{"openai", "anthropic"}[rng.IntN(2)],
			Model:              []string{"m1", "m2", "m3"}[rng.IntN(3)],
			ResponseStatus:     []int{200, 400, 500}[rng.IntN(3)],
			Priced:             rng.IntN(2) == 0,
			InputTokens:        rng.Int64N(1000),
			CostNanoUSD:        rng.Int64N(1e9),
			LatencyMS:          rng.Int64N(10_000),
			TimeToFirstTokenUS: rng.Int64N(3) * rng.Int64N(1e6), // a third measured none
		}
	}
	return recs
}

// Folding a batch in pieces and combining the pieces' rows gives the rows of
// folding it whole, and Canonical leaves its input alone.
func TestFoldOfPartsEqualsFoldOfWhole(t *testing.T) {
	recs := randomRecords(1, 3000)
	whole := Fold(recs)
	var parts []Row
	for i := 0; i < len(recs); i += 250 {
		parts = append(parts, Fold(recs[i:i+250])...)
	}
	before, _ := json.Marshal(parts)
	combined, err := Canonical(parts, func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(parts); string(after) != string(before) {
		t.Error("Canonical changed its input")
	}
	assertRows(t, whole, combined)
}

func assertRows(t *testing.T, want, got []Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Key != w.Key {
			t.Fatalf("row %d: key %+v, want %+v", i, g.Key, w.Key)
		}
		assertSums(t, fmt.Sprintf("row %d", i), w.Sums, g.Sums)
		if !g.Latency.Equal(w.Latency) || !g.TTFT.Equal(w.TTFT) {
			t.Errorf("row %d: histograms differ", i)
		}
	}
}

// Canonical puts text through the store's conversion, merges the keys that
// then coincide, orders rows and refuses hours that are not whole.
func TestCanonical(t *testing.T) {
	rows := Fold([]trace.Record{
		{ID: "1", Timestamp: hour0.Add(2 * time.Hour), Model: "b", LatencyMS: 3},
		{ID: "2", Timestamp: hour0, Model: "A", LatencyMS: 1},
		{ID: "3", Timestamp: hour0, Model: "a", LatencyMS: 2},
	})
	got, err := Canonical(rows, strings.ToLower)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Model != "a" || got[0].Requests != 2 || got[1].Model != "b" || got[1].Requests != 1 {
		t.Errorf("Canonical = %+v, want a×2 then b×1", got)
	}
	if rows[0].Model != "A" || rows[0].Requests != 1 {
		t.Errorf("Canonical changed its input: %+v", rows[0])
	}

	// A whole hour in another zone is fine and comes back in UTC.
	local := rows[0]
	local.Hour = hour0.In(time.FixedZone("IST", 5*3600+1800))
	got, err = Canonical([]Row{local}, strings.ToLower)
	if err != nil || got[0].Hour.Location() != time.UTC || !got[0].Hour.Equal(hour0) {
		t.Errorf("Canonical(zoned hour) = %v, %v; want %v in UTC", got[0].Hour, err, hour0)
	}

	bad := rows[0]
	bad.Hour = bad.Hour.Add(time.Second)
	if _, err := Canonical([]Row{bad}, strings.ToLower); err == nil || !strings.Contains(err.Error(), "not a whole hour") {
		t.Errorf("Canonical(hour + 1s): err = %v, want a whole-hour error", err)
	}
}

// Rows travel to the rollup job as JSON; they must come back exactly.
func TestRowJSONRoundTrip(t *testing.T) {
	rows := Fold(randomRecords(2, 500))
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var back []Row
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	assertRows(t, rows, back)
	// Spot-check the field names the job's arguments carry.
	for _, name := range []string{`"hour"`, `"status_class"`, `"cost_nano_usd"`, `"latency_hist"`, `"ttft_hist"`, `"last_active_at"`} {
		if !strings.Contains(string(b), name) {
			t.Errorf("JSON lacks %s", name)
		}
	}
}

// AddGroupHistograms merges consecutive rows of one group and starts a new
// entry at each new group.
func TestAddGroupHistograms(t *testing.T) {
	var out []GroupHistograms
	var err error
	for _, r := range []struct{ group, lat, ttft string }{
		{"a", "1:1", ""}, {"a", "1:2 5:1", "3:1"}, {"b", "", ""}, {"c", "-1:4", "2:2"},
	} {
		if out, err = AddGroupHistograms(out, r.group, r.lat, r.ttft); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]string, len(out))
	for i, g := range out {
		got[i] = fmt.Sprintf("%s{%s|%s}", g.Group, g.Latency, g.TTFT)
	}
	if want := []string{"a{1:3 5:1|3:1}", "b{|}", "c{-1:4|2:2}"}; !reflect.DeepEqual(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
	if _, err := AddGroupHistograms(out, "d", "x", ""); err == nil {
		t.Error("malformed latency histogram: no error")
	}
}
