package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

// BenchBatch is the batch size BenchmarkInsertTraces writes, about what the
// trace writer flushes under load.
const BenchBatch = 1000

// BenchmarkInsertTraces measures InsertTraces on s with batches of
// BenchBatch new records and reports traces/s. It returns the number of
// records it left in s, so a driver can add its own measures (bytes per
// trace) on top.
//
// The records look like production ones with body capture off: UUID-sized
// ids, real model names, an API key hash, no headers, bodies or metadata.
func BenchmarkInsertTraces(b *testing.B, s store.Store) int {
	start := time.Now().UTC()
	inserted := 0
	batch := make([]trace.Record, BenchBatch)
	for b.Loop() {
		for i := range batch {
			batch[i] = benchRecord(inserted+i, start)
		}
		if err := s.InsertTraces(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
		inserted += len(batch)
	}
	b.ReportMetric(float64(inserted)/b.Elapsed().Seconds(), "traces/s")
	return inserted
}

func benchRecord(n int, start time.Time) trace.Record {
	ts := start.Add(time.Duration(n) * 100 * time.Microsecond) // 10k traces/s
	return trace.Record{
		ID:                 uuidV7Like(ts, n),
		Timestamp:          ts,
		Provider:           "openai",
		Model:              "gpt-4o-mini-2024-07-18",
		RequestModel:       "gpt-4o-mini",
		RequestMethod:      "POST",
		RequestPath:        "/openai/v1/chat/completions",
		ResponseStatus:     200,
		Outcome:            trace.OutcomeOK,
		InputTokens:        812,
		OutputTokens:       164,
		TotalTokens:        976,
		CachedInputTokens:  512,
		LatencyMS:          1840,
		TimeToFirstTokenMS: 412,
		TimeToFirstTokenUS: 412337,
		Streaming:          true,
		StreamEvents:       167,
		APIKeyHash:         "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		APIKeyLast4:        "x7Qz",
		CostNanoUSD:        220_200,
		Priced:             true,
		PricingVersion:     "2025-03-01",
		OrgID:              fmt.Sprintf("org_%02d", n%20),
		WorkspaceID:        fmt.Sprintf("ws_%03d", n%100),
		GatewayKeyID:       fmt.Sprintf("gk_%04d", n%1000),
		CreatedAt:          ts.Add(1850 * time.Millisecond),
	}
}

// uuidV7Like shapes an id the way the proxy makes them (UUIDv7): the start
// millisecond first, then bits that scatter traces within a millisecond.
// Id order matters to index page fill, so the benchmark must not use ids
// that are more (or less) ordered than real ones.
func uuidV7Like(ts time.Time, n int) string {
	ms := ts.UnixMilli()
	scatter := uint64(n) * 0x9E3779B97F4A7C15 // Fibonacci hashing: spread, repeatable
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x",
		ms>>16, ms&0xffff, scatter>>52, 0x8000|(scatter>>36)&0x3fff, scatter&0xffffffffffff)
}
