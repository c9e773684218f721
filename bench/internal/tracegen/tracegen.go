// Package tracegen makes trace records shaped like the ones the gateway
// writes for real SDK traffic, for measuring the writer and the stores
// without the proxy in front: same id format, same header snapshot, same
// sizes, bodies off (the default).
package tracegen

import (
	"time"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/trace"
)

// Headers as the proxy snapshots them for an openai-go call: credentials
// redacted, one string per name. Shared read-only by every record.
var (
	requestHeaders = map[string]string{
		"Accept":                      "application/json",
		"Authorization":               "[REDACTED]",
		"Content-Length":              "213",
		"Content-Type":                "application/json",
		"User-Agent":                  "OpenAI/Go 3.96.0",
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
	}
)

// Record returns a new record for a call that started at start. Each call
// returns a fresh pointer with a fresh UUIDv7 id, as the proxy does.
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
		RequestHeaders:     requestHeaders,
		ResponseHeaders:    responseHeaders,
		CreatedAt:          start.Add(412 * time.Millisecond).UTC(),
	}
}
