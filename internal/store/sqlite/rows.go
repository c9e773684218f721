package sqlite

import (
	"time"

	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
	"github.com/ongoingai/gateway/internal/trace"
)

// insertParams maps a record to a row: times become unix microseconds,
// booleans 0 or 1, and text is made storable by traceconv.Text, the same way
// the Postgres store does it.
func insertParams(r *trace.Record) (litedb.InsertTraceParams, error) {
	reqHeaders, respHeaders, err := traceconv.EncodeHeaders(r)
	if err != nil {
		return litedb.InsertTraceParams{}, err
	}
	text := traceconv.Text
	return litedb.InsertTraceParams{
		ID:                 text(r.ID),
		StartedAt:          micros(r.Timestamp),
		OrgID:              text(r.OrgID),
		WorkspaceID:        text(r.WorkspaceID),
		GatewayKeyID:       text(r.GatewayKeyID),
		Provider:           text(r.Provider),
		Model:              text(r.Model),
		RequestModel:       text(r.RequestModel),
		RequestMethod:      text(r.RequestMethod),
		RequestPath:        text(r.RequestPath),
		ResponseStatus:     int64(r.ResponseStatus),
		Outcome:            text(string(r.Outcome)),
		InputTokens:        r.InputTokens,
		OutputTokens:       r.OutputTokens,
		TotalTokens:        r.TotalTokens,
		CachedInputTokens:  r.CachedInputTokens,
		CacheWriteTokens:   r.CacheWriteTokens,
		CacheWrite1hTokens: r.CacheWrite1hTokens,
		ReasoningTokens:    r.ReasoningTokens,
		TokensEstimated:    boolInt(r.TokensEstimated),
		LatencyMs:          r.LatencyMS,
		TimeToFirstTokenMs: r.TimeToFirstTokenMS,
		TimeToFirstTokenUs: r.TimeToFirstTokenUS,
		TimeToFirstByteMs:  r.TimeToFirstByteMS,
		Streaming:          boolInt(r.Streaming),
		StreamEvents:       r.StreamEvents,
		ApiKeyHash:         text(r.APIKeyHash),
		ApiKeyLast4:        text(r.APIKeyLast4),
		CostNanoUsd:        r.CostNanoUSD,
		Priced:             boolInt(r.Priced),
		PricingVersion:     text(r.PricingVersion),
		CreatedAt:          micros(r.CreatedAt),
		RequestHeaders:     reqHeaders,
		ResponseHeaders:    respHeaders,
		RequestBody:        text(r.RequestBody),
		ResponseBody:       text(r.ResponseBody),
		Metadata:           traceconv.Metadata(r.Metadata),
	}, nil
}

// fullRecord maps a whole row back to a record.
func fullRecord(row *litedb.Trace) (trace.Record, error) {
	reqHeaders, respHeaders, err := traceconv.DecodeHeaders(row.RequestHeaders, row.ResponseHeaders)
	if err != nil {
		return trace.Record{}, err
	}
	return trace.Record{
		ID:                 row.ID,
		Timestamp:          fromMicros(row.StartedAt),
		Provider:           row.Provider,
		Model:              row.Model,
		RequestModel:       row.RequestModel,
		RequestMethod:      row.RequestMethod,
		RequestPath:        row.RequestPath,
		ResponseStatus:     int(row.ResponseStatus),
		Outcome:            trace.Outcome(row.Outcome),
		InputTokens:        row.InputTokens,
		OutputTokens:       row.OutputTokens,
		TotalTokens:        row.TotalTokens,
		CachedInputTokens:  row.CachedInputTokens,
		CacheWriteTokens:   row.CacheWriteTokens,
		CacheWrite1hTokens: row.CacheWrite1hTokens,
		ReasoningTokens:    row.ReasoningTokens,
		TokensEstimated:    row.TokensEstimated != 0,
		LatencyMS:          row.LatencyMs,
		TimeToFirstTokenMS: row.TimeToFirstTokenMs,
		TimeToFirstTokenUS: row.TimeToFirstTokenUs,
		TimeToFirstByteMS:  row.TimeToFirstByteMs,
		Streaming:          row.Streaming != 0,
		StreamEvents:       row.StreamEvents,
		APIKeyHash:         row.ApiKeyHash,
		APIKeyLast4:        row.ApiKeyLast4,
		EstimatedCostUSD:   traceconv.CostUSD(row.CostNanoUsd),
		CostNanoUSD:        row.CostNanoUsd,
		Priced:             row.Priced != 0,
		PricingVersion:     row.PricingVersion,
		OrgID:              row.OrgID,
		WorkspaceID:        row.WorkspaceID,
		GatewayKeyID:       row.GatewayKeyID,
		RequestHeaders:     reqHeaders,
		ResponseHeaders:    respHeaders,
		RequestBody:        row.RequestBody,
		ResponseBody:       row.ResponseBody,
		Metadata:           traceconv.ParseMetadata(row.Metadata),
		CreatedAt:          fromMicros(row.CreatedAt),
	}, nil
}

// summaryRecord maps a list row: everything but headers and bodies.
func summaryRecord(row *litedb.ListTracesRow) trace.Record {
	return trace.Record{
		ID:                 row.ID,
		Timestamp:          fromMicros(row.StartedAt),
		Provider:           row.Provider,
		Model:              row.Model,
		RequestModel:       row.RequestModel,
		RequestMethod:      row.RequestMethod,
		RequestPath:        row.RequestPath,
		ResponseStatus:     int(row.ResponseStatus),
		Outcome:            trace.Outcome(row.Outcome),
		InputTokens:        row.InputTokens,
		OutputTokens:       row.OutputTokens,
		TotalTokens:        row.TotalTokens,
		CachedInputTokens:  row.CachedInputTokens,
		CacheWriteTokens:   row.CacheWriteTokens,
		CacheWrite1hTokens: row.CacheWrite1hTokens,
		ReasoningTokens:    row.ReasoningTokens,
		TokensEstimated:    row.TokensEstimated != 0,
		LatencyMS:          row.LatencyMs,
		TimeToFirstTokenMS: row.TimeToFirstTokenMs,
		TimeToFirstTokenUS: row.TimeToFirstTokenUs,
		TimeToFirstByteMS:  row.TimeToFirstByteMs,
		Streaming:          row.Streaming != 0,
		StreamEvents:       row.StreamEvents,
		APIKeyHash:         row.ApiKeyHash,
		APIKeyLast4:        row.ApiKeyLast4,
		EstimatedCostUSD:   traceconv.CostUSD(row.CostNanoUsd),
		CostNanoUSD:        row.CostNanoUsd,
		Priced:             row.Priced != 0,
		PricingVersion:     row.PricingVersion,
		OrgID:              row.OrgID,
		WorkspaceID:        row.WorkspaceID,
		GatewayKeyID:       row.GatewayKeyID,
		Metadata:           traceconv.ParseMetadata(row.Metadata),
		CreatedAt:          fromMicros(row.CreatedAt),
	}
}

// micros and fromMicros convert between record times and the stored unix
// microseconds. Records carry UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
