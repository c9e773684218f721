package postgres

import (
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// fullRecord maps a whole row back to a record. pgx hands times back in the
// process's local zone; records carry UTC.
func fullRecord(row *pgdb.Trace) (trace.Record, error) {
	reqHeaders, respHeaders, err := traceconv.DecodeHeaders(row.RequestHeaders, row.ResponseHeaders)
	if err != nil {
		return trace.Record{}, err
	}
	return trace.Record{
		ID:                 row.ID,
		Timestamp:          row.StartedAt.UTC(),
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
		TokensEstimated:    row.TokensEstimated,
		LatencyMS:          row.LatencyMs,
		TimeToFirstTokenMS: row.TimeToFirstTokenMs,
		TimeToFirstTokenUS: row.TimeToFirstTokenUs,
		TimeToFirstByteMS:  row.TimeToFirstByteMs,
		Streaming:          row.Streaming,
		StreamEvents:       row.StreamEvents,
		APIKeyHash:         row.ApiKeyHash,
		APIKeyLast4:        row.ApiKeyLast4,
		EstimatedCostUSD:   traceconv.CostUSD(row.CostNanoUsd),
		CostNanoUSD:        row.CostNanoUsd,
		Priced:             row.Priced,
		PricingVersion:     row.PricingVersion,
		OrgID:              row.OrgID,
		WorkspaceID:        row.WorkspaceID,
		GatewayKeyID:       row.GatewayKeyID,
		RequestHeaders:     reqHeaders,
		ResponseHeaders:    respHeaders,
		RequestBody:        row.RequestBody,
		ResponseBody:       row.ResponseBody,
		Metadata:           traceconv.ParseMetadata(row.Metadata),
		CreatedAt:          row.CreatedAt.UTC(),
	}, nil
}

// summaryRecord maps a list row: everything but headers and bodies.
func summaryRecord(row *pgdb.ListTracesRow) trace.Record {
	return trace.Record{
		ID:                 row.ID,
		Timestamp:          row.StartedAt.UTC(),
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
		TokensEstimated:    row.TokensEstimated,
		LatencyMS:          row.LatencyMs,
		TimeToFirstTokenMS: row.TimeToFirstTokenMs,
		TimeToFirstTokenUS: row.TimeToFirstTokenUs,
		TimeToFirstByteMS:  row.TimeToFirstByteMs,
		Streaming:          row.Streaming,
		StreamEvents:       row.StreamEvents,
		APIKeyHash:         row.ApiKeyHash,
		APIKeyLast4:        row.ApiKeyLast4,
		EstimatedCostUSD:   traceconv.CostUSD(row.CostNanoUsd),
		CostNanoUSD:        row.CostNanoUsd,
		Priced:             row.Priced,
		PricingVersion:     row.PricingVersion,
		OrgID:              row.OrgID,
		WorkspaceID:        row.WorkspaceID,
		GatewayKeyID:       row.GatewayKeyID,
		Metadata:           traceconv.ParseMetadata(row.Metadata),
		CreatedAt:          row.CreatedAt.UTC(),
	}
}
