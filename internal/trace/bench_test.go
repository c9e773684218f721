package trace

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// benchBatch is a writer batch of records shaped like the proxy's with the
// default configuration: UUID-sized ids, real model names, a key hash, a
// request id in the metadata, no headers or bodies.
func benchBatch(n int) []Record {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	batch := make([]Record, n)
	for i := range batch {
		batch[i] = Record{
			ID: fmt.Sprintf("0195f1c2-7a3b-7c4d-8e5f-%012x", i), Timestamp: start.Add(time.Duration(i) * time.Millisecond),
			Provider: "openai", Model: "gpt-4o-mini-2024-07-18", RequestModel: "gpt-4o-mini",
			RequestMethod: "POST", RequestPath: "/openai/v1/chat/completions", ResponseStatus: 200, Outcome: OutcomeOK,
			InputTokens: 27, OutputTokens: 5, TotalTokens: 32, LatencyMS: 412, TimeToFirstTokenMS: 388, TimeToFirstTokenUS: 388214,
			APIKeyHash: "1f0a5be0b1bbbd1f5a4a0bbf77c1a0d1e1b5c9f9f0e3a1c2d3e4f5a6b7c8d9e0", APIKeyLast4: "Xq7Z",
			EstimatedCostUSD: 0.00000705, CostNanoUSD: 7050, Priced: true,
			Metadata: json.RawMessage(`{"request_id":"0f3c9a7e5b2d4e8f9a1b2c3d4e5f6a7b","finish_reasons":["stop"]}`),
		}
	}
	return batch
}

// BenchmarkSpoolEncode measures encoding a full default batch into one
// spool frame, and decoding it back on replay, per record: the per-trace
// work the writer adds while the store is down.
func BenchmarkSpoolEncode(b *testing.B) {
	batch := benchBatch(DefaultBatchSize)
	frame, err := encodeBatch(batch)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeBatch(batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(frame))/float64(len(batch)), "bytes/trace")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/trace")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeBatch(frame); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/trace")
	})
}
