// Package tracegen makes trace records shaped like the ones the gateway
// writes for real SDK traffic, for measuring the writer and the stores
// without the proxy in front: same id format, same sizes, bodies off.
//
// Record is what the gateway stores with its default configuration: no
// headers (tracing.capture_headers is empty by default), and a metadata
// document with the request id the telemetry middleware assigns to every
// request and the finish reasons the provider gave. WithAllHeaders adds the header snapshot a gateway configured
// with capture_headers: ["*"] keeps, credentials redacted.
package tracegen

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/trace"
)

// Headers as the proxy snapshots them for an openai-go call when every
// header is captured: credentials redacted, one string per name, the
// request id the gateway's middleware set. Shared read-only by every
// record.
var (
	requestHeaders = map[string]string{
		"Accept":                      "application/json",
		"Authorization":               "[REDACTED]",
		"Content-Length":              "213",
		"Content-Type":                "application/json",
		"User-Agent":                  "OpenAI/Go 3.96.0",
		"X-Request-Id":                "0f3c9a7e5b2d4e8f9a1b2c3d4e5f6a7b",
		"X-Stainless-Arch":            "x64",
		"X-Stainless-Lang":            "go",
		"X-Stainless-Os":              "Linux",
		"X-Stainless-Package-Version": "3.96.0",
		"X-Stainless-Retry-Count":     "0",
		"X-Stainless-Runtime":         "go",
		"X-Stainless-Runtime-Version": "go1.26.0",
	}
	responseHeaders = map[string]string{
		"Content-Length": "612",
		"Content-Type":   "application/json",
		"Date":           "Mon, 02 Mar 2026 10:00:00 GMT",
		"Vary":           "Accept-Encoding",
		"X-Request-Id":   "req_8c1d2e3f4a5b6c7d8e9f0a1b",
	}
)

// Record returns a new record for a call that started at start, as a
// gateway with the default configuration stores it. Each call returns a
// fresh pointer with a fresh UUIDv7 id and request id, as the proxy does.
func Record(start time.Time) *trace.Record {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return &trace.Record{
		ID:                 id.String(),
		Timestamp:          start.UTC(),
		Provider:           "openai",
		Model:              "gpt-4o-mini-2024-07-18",
		RequestModel:       "gpt-4o-mini",
		RequestMethod:      "POST",
		RequestPath:        "/openai/v1/chat/completions",
		ResponseStatus:     200,
		Outcome:            trace.OutcomeOK,
		InputTokens:        27,
		OutputTokens:       5,
		TotalTokens:        32,
		LatencyMS:          412,
		TimeToFirstTokenMS: 388,
		TimeToFirstTokenUS: 388214,
		APIKeyHash:         "1f0a5be0b1bbbd1f5a4a0bbf77c1a0d1e1b5c9f9f0e3a1c2d3e4f5a6b7c8d9e0",
		APIKeyLast4:        "Xq7Z",
		EstimatedCostUSD:   0.00000705,
		CostNanoUSD:        7050,
		Priced:             true,
		PricingVersion:     "2026-02-01",
		Metadata:           Metadata("stop"),
		CreatedAt:          start.Add(412 * time.Millisecond).UTC(),
	}
}

// WithAllHeaders adds to r the request and response headers a gateway
// configured with tracing.capture_headers: ["*"] stores for an openai-go
// call, and returns r.
func WithAllHeaders(r *trace.Record) *trace.Record {
	r.RequestHeaders = requestHeaders
	r.ResponseHeaders = responseHeaders
	return r
}

// Metadata is the metadata document the proxy stores: a fresh request id
// as the telemetry middleware assigns it (128 random bits in hex), and the
// finish reasons, if any.
func Metadata(finishReasons ...string) json.RawMessage {
	var b [16]byte
	for i := 0; i < len(b); i += 8 {
		v := rand.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	var id [32]byte
	hex.Encode(id[:], b[:])
	out := make([]byte, 0, 64+16*len(finishReasons))
	out = append(out, `{"request_id":"`...)
	out = append(out, id[:]...)
	out = append(out, '"')
	if len(finishReasons) > 0 {
		out = append(out, `,"finish_reasons":[`...)
		for i, r := range finishReasons {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, '"')
			out = append(out, r...) // the reasons providers send need no escaping
			out = append(out, '"')
		}
		out = append(out, ']')
	}
	return append(out, '}')
}
