package api

import (
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/ongoingai/gateway/internal/trace"
)

// tracePipelineResponse is GET /api/diagnostics/trace-pipeline: everything
// an operator needs to tell a healthy trace pipeline from a backed-up or
// failing one, without a database query.
type tracePipelineResponse struct {
	Queue         pipelineQueue    `json:"queue"`
	Records       pipelineRecords  `json:"records"`
	WriteFailures pipelineFailures `json:"write_failures"`
	LastFlush     *pipelineFlush   `json:"last_flush"` // null until the first batch is written
}

type pipelineQueue struct {
	Capacity  int   `json:"capacity"`
	Depth     int   `json:"depth"`
	HighWater int64 `json:"high_water"`
	// Utilization is depth/capacity, 0..1: above a few percent the store
	// is not keeping up.
	Utilization float64 `json:"utilization"`
}

type pipelineRecords struct {
	Enqueued int64 `json:"enqueued_total"`
	Written  int64 `json:"written_total"`
	Dropped  int64 `json:"dropped_total"`
	Lost     int64 `json:"lost_total"`
}

// pipelineFailures are the failed batch inserts, by cause. Each failed
// attempt was retried, so a failure here cost latency, not records; the
// records given up on are records.dropped_total and records.lost_total.
type pipelineFailures struct {
	Total int64 `json:"total"`
	// ByClass splits Total by cause, every class present (zeros too):
	// "timeout" (the store is slow or locked), "connection" (it is down or
	// restarting), "constraint" (it rejects the rows: a bug, retrying will
	// not help), "other".
	ByClass   map[string]int64 `json:"by_class"`
	LastError string           `json:"last_error,omitempty"`
}

type pipelineFlush struct {
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	BatchSize  int       `json:"batch_size"`
}

// maxLastErrorLen keeps one driver error message from dominating the
// response; the full text is in the logs.
const maxLastErrorLen = 512

// TracePipeline serves GET /api/diagnostics/trace-pipeline (analytics:read)
// from the trace writer's in-memory counters, so it is as cheap as health.
func (a *API) TracePipeline(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, newTracePipelineResponse(a.d.QueueStats()))
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func newTracePipelineResponse(s trace.Stats) tracePipelineResponse {
	resp := tracePipelineResponse{
		Queue: pipelineQueue{Capacity: s.Capacity, Depth: s.Depth, HighWater: s.HighWater},
		Records: pipelineRecords{
			Enqueued: s.Enqueued, Written: s.Written, Dropped: s.Dropped, Lost: s.Lost,
		},
		WriteFailures: pipelineFailures{Total: s.WriteFailures, ByClass: s.WriteFailuresByClass},
	}
	if s.Capacity > 0 {
		resp.Queue.Utilization = float64(s.Depth) / float64(s.Capacity)
	}
	resp.WriteFailures.LastError = truncateUTF8(s.LastError, maxLastErrorLen)
	if !s.LastFlushAt.IsZero() {
		resp.LastFlush = &pipelineFlush{
			At:         s.LastFlushAt.UTC(),
			DurationMS: s.LastFlushDuration,
			BatchSize:  s.LastBatchSize,
		}
	}
	return resp
}
