// Package rollup owns the hourly rollup model that analytics answer from:
// the key a trace is counted under (hour × tenant × provider × model ×
// gateway key × provider key × status class), the sums and histograms kept
// per key, and the folding of a batch of trace records into rows.
//
// Rollups are exact because each batch is folded once: the trace writer's
// sink commits a batch and, in the same transaction, enqueues a River job
// carrying that batch's rows (internal/jobs); the job adds them to the
// rollup tables and completes itself in one transaction (the stores'
// ApplyRollupsTx). Nothing here touches a database.
package rollup

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

// Key identifies one rollup row. Hour is the UTC start of the hour the
// traces started in. Empty strings stand for "none" (no auth, no provider
// key seen), exactly as stored in traces.
type Key struct {
	Hour         time.Time `json:"hour"`
	OrgID        string    `json:"org_id"`
	WorkspaceID  string    `json:"workspace_id"`
	Provider     string    `json:"provider"`
	Model        string    `json:"model"`
	GatewayKeyID string    `json:"gateway_key_id"`
	APIKeyHash   string    `json:"api_key_hash"`
	StatusClass  string    `json:"status_class"` // "2xx" … "5xx"; see StatusClass
}

// Sums are the additive measures of a set of traces. Min and max are not
// additive but merge just as simply; the zero Sums is the identity.
type Sums struct {
	Requests          int64 `json:"requests"`
	ClientErrors      int64 `json:"client_errors"` // status 400–499
	ServerErrors      int64 `json:"server_errors"` // status 500–599 (an unreachable upstream is a 502)
	Cancelled         int64 `json:"cancelled"`     // outcome client_cancelled, whatever the status
	Unpriced          int64 `json:"unpriced"`      // traces whose model had no price
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	TotalTokens       int64 `json:"total_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	CacheWriteTokens  int64 `json:"cache_write_tokens"`
	ReasoningTokens   int64 `json:"reasoning_tokens"`
	CostNanoUSD       int64 `json:"cost_nano_usd"`
	LatencySumMS      int64 `json:"latency_sum_ms"`
	LatencyMinMS      int64 `json:"latency_min_ms"` // meaningful when Requests > 0
	LatencyMaxMS      int64 `json:"latency_max_ms"`
	TTFTCount         int64 `json:"ttft_count"` // traces that measured a time to first token
	TTFTSumUS         int64 `json:"ttft_sum_us"`
	TTFTMinUS         int64 `json:"ttft_min_us"` // meaningful when TTFTCount > 0
	TTFTMaxUS         int64 `json:"ttft_max_us"`
	// LastActiveAt is the latest trace start counted (UTC).
	LastActiveAt time.Time `json:"last_active_at"`
}

// Add folds o into s.
func (s *Sums) Add(o Sums) {
	if o.Requests > 0 {
		if s.Requests == 0 || o.LatencyMinMS < s.LatencyMinMS {
			s.LatencyMinMS = o.LatencyMinMS
		}
		s.LatencyMaxMS = max(s.LatencyMaxMS, o.LatencyMaxMS)
	}
	if o.TTFTCount > 0 {
		if s.TTFTCount == 0 || o.TTFTMinUS < s.TTFTMinUS {
			s.TTFTMinUS = o.TTFTMinUS
		}
		s.TTFTMaxUS = max(s.TTFTMaxUS, o.TTFTMaxUS)
	}
	if o.LastActiveAt.After(s.LastActiveAt) {
		s.LastActiveAt = o.LastActiveAt
	}
	s.Requests += o.Requests
	s.ClientErrors += o.ClientErrors
	s.ServerErrors += o.ServerErrors
	s.Cancelled += o.Cancelled
	s.Unpriced += o.Unpriced
	s.InputTokens += o.InputTokens
	s.OutputTokens += o.OutputTokens
	s.TotalTokens += o.TotalTokens
	s.CachedInputTokens += o.CachedInputTokens
	s.CacheWriteTokens += o.CacheWriteTokens
	s.ReasoningTokens += o.ReasoningTokens
	s.CostNanoUSD += o.CostNanoUSD
	s.LatencySumMS += o.LatencySumMS
	s.TTFTCount += o.TTFTCount
	s.TTFTSumUS += o.TTFTSumUS
}

// Row is one rollup row: a key, its sums, and histograms of latency (ms)
// and time to first token (µs) for percentiles.
type Row struct {
	Key
	Sums
	Latency Histogram `json:"latency_hist"`
	TTFT    Histogram `json:"ttft_hist"`
}

// Merge folds o (same key) into r. r's histograms are updated in place, so
// r must own them (see Clone).
func (r *Row) Merge(o Row) {
	r.Sums.Add(o.Sums)
	r.Latency.Merge(o.Latency)
	r.TTFT.Merge(o.TTFT)
}

// Clone returns a copy of r that shares no histogram storage with it.
func (r Row) Clone() Row {
	r.Latency = r.Latency.Clone()
	r.TTFT = r.TTFT.Clone()
	return r
}

// StatusClass names the class of an HTTP status: "2xx", "4xx" and so on;
// "other" outside 100–599.
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// KeyOf returns the key r is counted under.
func KeyOf(r *trace.Record) Key {
	// Key text as the stores keep it (trace.StorableText): the key must
	// equal the stored trace's, and a NUL byte would not even survive the
	// trip through a Postgres job's jsonb arguments.
	text := trace.StorableText
	return Key{
		Hour:         r.Timestamp.UTC().Truncate(time.Hour),
		OrgID:        text(r.OrgID),
		WorkspaceID:  text(r.WorkspaceID),
		Provider:     text(r.Provider),
		Model:        text(r.Model),
		GatewayKeyID: text(r.GatewayKeyID),
		APIKeyHash:   text(r.APIKeyHash),
		StatusClass:  StatusClass(r.ResponseStatus),
	}
}

// rowOf is the row of a single trace.
func rowOf(r *trace.Record) Row {
	row := Row{Key: KeyOf(r)}
	s := &row.Sums
	s.Requests = 1
	switch {
	case r.ResponseStatus >= 400 && r.ResponseStatus < 500:
		s.ClientErrors = 1
	case r.ResponseStatus >= 500 && r.ResponseStatus < 600:
		s.ServerErrors = 1
	}
	if r.Outcome == trace.OutcomeClientCancelled {
		s.Cancelled = 1
	}
	if !r.Priced {
		s.Unpriced = 1
	}
	s.InputTokens = r.InputTokens
	s.OutputTokens = r.OutputTokens
	s.TotalTokens = r.TotalTokens
	s.CachedInputTokens = r.CachedInputTokens
	s.CacheWriteTokens = r.CacheWriteTokens
	s.ReasoningTokens = r.ReasoningTokens
	s.CostNanoUSD = r.CostNanoUSD
	s.LatencySumMS, s.LatencyMinMS, s.LatencyMaxMS = r.LatencyMS, r.LatencyMS, r.LatencyMS
	row.Latency.Add(r.LatencyMS)
	if r.TimeToFirstTokenUS > 0 {
		s.TTFTCount = 1
		s.TTFTSumUS, s.TTFTMinUS, s.TTFTMaxUS = r.TimeToFirstTokenUS, r.TimeToFirstTokenUS, r.TimeToFirstTokenUS
		row.TTFT.Add(r.TimeToFirstTokenUS)
	}
	// Stores keep microseconds; truncating here makes the row carry exactly
	// what will be stored, so a row compares equal before and after a trip
	// through a job's arguments and a table.
	s.LastActiveAt = r.Timestamp.UTC().Truncate(time.Microsecond)
	return row
}

// Repriced is the correction a repriced trace makes to the row that counts
// it: the cost difference, and one unpriced trace less (or more), with no
// request of its own, so applying it leaves every other measure as it was.
// r is the trace as stored before the change.
func Repriced(r *trace.Record, costNanoUSD int64, priced bool) Row {
	row := Row{Key: KeyOf(r)}
	row.CostNanoUSD = costNanoUSD - r.CostNanoUSD
	switch {
	case r.Priced && !priced:
		row.Unpriced = 1
	case !r.Priced && priced:
		row.Unpriced = -1
	}
	return row
}

// Fold folds records into one row per key, in key order (so two
// transactions applying overlapping batches lock rows in the same order).
func Fold(records []trace.Record) []Row {
	byKey := make(map[Key]int, 8)
	var rows []Row
	for i := range records {
		row := rowOf(&records[i])
		if at, ok := byKey[row.Key]; ok {
			rows[at].Merge(row)
			continue
		}
		byKey[row.Key] = len(rows)
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b Row) int { return CompareKeys(a.Key, b.Key) })
	return rows
}

// Canonical readies rows for storage, leaving rows untouched: every key's
// hour must be a whole UTC hour (it comes back in UTC), its text goes
// through text (the stores pass traceconv.Text, so keys match the traces
// they count, as stored), rows whose keys then coincide are merged, and the
// result is in key order. Callers may thus hand a store rows from several
// folds, unsorted and overlapping, and one statement still writes each key
// once.
func Canonical(rows []Row, text func(string) string) ([]Row, error) {
	out := make([]Row, 0, len(rows))
	for i := range rows {
		row := rows[i].Clone()
		k := &row.Key
		if !k.Hour.Equal(k.Hour.Truncate(time.Hour)) {
			return nil, fmt.Errorf("rollup: row hour %s is not a whole hour", k.Hour.Format(time.RFC3339Nano))
		}
		// One representation per instant (no monotonic reading, UTC), so
		// keys compare with == and serve as map keys.
		k.Hour = time.Unix(k.Hour.Unix(), 0).UTC()
		for _, f := range [...]*string{&k.OrgID, &k.WorkspaceID, &k.Provider, &k.Model, &k.GatewayKeyID, &k.APIKeyHash, &k.StatusClass} {
			*f = text(*f)
		}
		out = append(out, row)
	}
	slices.SortStableFunc(out, func(a, b Row) int { return CompareKeys(a.Key, b.Key) })
	merged := out[:0]
	for _, row := range out {
		if n := len(merged); n > 0 && CompareKeys(merged[n-1].Key, row.Key) == 0 {
			merged[n-1].Merge(row)
			continue
		}
		merged = append(merged, row)
	}
	return merged, nil
}

// CompareKeys orders keys by hour, then by each text field in turn.
func CompareKeys(a, b Key) int {
	if c := a.Hour.Compare(b.Hour); c != 0 {
		return c
	}
	for _, pair := range [...][2]string{
		{a.OrgID, b.OrgID}, {a.WorkspaceID, b.WorkspaceID}, {a.Provider, b.Provider},
		{a.Model, b.Model}, {a.GatewayKeyID, b.GatewayKeyID}, {a.APIKeyHash, b.APIKeyHash},
		{a.StatusClass, b.StatusClass},
	} {
		if pair[0] != pair[1] {
			if pair[0] < pair[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Totals is the answer to an aggregate query: the sums of every row in one
// (bucket, group) cell. BucketStart is zero when the query had no bucket,
// Group is "" when it had no grouping.
type Totals struct {
	BucketStart time.Time
	Group       string
	Sums
}

// GroupHistograms holds the merged histograms of one group.
type GroupHistograms struct {
	Group   string
	Latency Histogram // milliseconds
	TTFT    Histogram // microseconds
}

// AddGroupHistograms folds one stored row's histograms, in their text form,
// into out: into its last entry when that is group, else into a new entry.
// Fed rows ordered by group, it yields one entry per group in that order,
// which is how the stores answer RollupHistograms.
func AddGroupHistograms(out []GroupHistograms, group, latency, ttft string) ([]GroupHistograms, error) {
	lat, err := ParseHistogram(latency)
	if err != nil {
		return nil, fmt.Errorf("latency histogram: %w", err)
	}
	tt, err := ParseHistogram(ttft)
	if err != nil {
		return nil, fmt.Errorf("ttft histogram: %w", err)
	}
	if n := len(out); n > 0 && out[n-1].Group == group {
		out[n-1].Latency.Merge(lat)
		out[n-1].TTFT.Merge(tt)
		return out, nil
	}
	return append(out, GroupHistograms{Group: group, Latency: lat, TTFT: tt}), nil
}
