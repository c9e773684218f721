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
	Spool         *pipelineSpool   `json:"spool"`      // null when tracing.spool.dir is empty
}

// pipelineSpool is the on-disk spool (tracing.spool): batches the store
// could not take, waiting to be replayed. Pending batches that keep growing
// mean the store is still failing; corrupt skips mean a crash tore a write
// (or the disk damaged one).
type pipelineSpool struct {
	MaxBytes        int64  `json:"max_bytes"`
	Bytes           int64  `json:"bytes"`
	Files           int    `json:"files"`
	PendingBatches  int64  `json:"pending_batches"`
	SpooledBatches  int64  `json:"spooled_batches_total"`
	SpooledRecords  int64  `json:"spooled_records_total"`
	ReplayedBatches int64  `json:"replayed_batches_total"`
	ReplayedRecords int64  `json:"replayed_records_total"`
	DroppedRecords  int64  `json:"dropped_records_total"`
	CorruptSkipped  int64  `json:"corrupt_skipped_total"`
	LastError       string `json:"last_error,omitempty"`
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
	// RedactionFailed were stored without headers and bodies because
	// their redaction (pii.mode) failed.
	RedactionFailed int64 `json:"redaction_failures_total"`
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
	ByClass map[string]int64 `json:"by_class"`
	// LastError describes the latest failure by its class, one of
	// lastErrorMessages: never the store's own text, which can name the
	// database host, port, user and database (that is in the log).
	LastError string `json:"last_error,omitempty"`
}

type pipelineFlush struct {
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	BatchSize  int       `json:"batch_size"`
}

// lastErrorMessages are the stable last_error texts, one per failure class.
// A driver's error text is not shown to any client: it can carry connection
// details (host:port, user, database), and the log has it in full.
var lastErrorMessages = map[string]string{
	trace.FailureTimeout:    "timeout: the store did not answer in time; the gateway's log has the details",
	trace.FailureConnection: "connection: the store could not be reached; the gateway's log has the details",
	trace.FailureConstraint: "constraint: the store refused the rows; the gateway's log has the details",
	trace.FailureOther:      "other: the store failed; the gateway's log has the details",
}

// spoolErrorMessages are the stable texts of the spool's last error, by
// kind; the error itself names files on the gateway's host.
var spoolErrorMessages = map[string]string{
	trace.SpoolErrorFull:    "full: the spool reached tracing.spool.max_bytes and batches were dropped",
	trace.SpoolErrorDisk:    "disk: the spool's files could not be written or read; the gateway's log has the details",
	trace.SpoolErrorCorrupt: "corrupt: a spooled batch could not be decoded and was skipped; the gateway's log has the details",
}

// lastErrorMessage is the text shown for the latest failure of class, ""
// when nothing failed yet.
func lastErrorMessage(s trace.Stats) string {
	if s.LastErrorClass == "" && s.LastError == "" {
		return ""
	}
	if m, ok := lastErrorMessages[s.LastErrorClass]; ok {
		return m
	}
	return lastErrorMessages[trace.FailureOther]
}

// TracePipeline serves GET /api/diagnostics/trace-pipeline
// (installation:read: the pipeline is the whole gateway's, every tenant's
// traffic counted together) from the trace writer's in-memory counters, so
// it is as cheap as health.
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
			RedactionFailed: s.RedactionFailures,
		},
		WriteFailures: pipelineFailures{Total: s.WriteFailures, ByClass: s.WriteFailuresByClass},
	}
	if s.Capacity > 0 {
		resp.Queue.Utilization = float64(s.Depth) / float64(s.Capacity)
	}
	resp.WriteFailures.LastError = lastErrorMessage(s)
	if sp := s.Spool; sp != nil {
		resp.Spool = &pipelineSpool{
			MaxBytes: sp.MaxBytes, Bytes: sp.Bytes, Files: sp.Files, PendingBatches: sp.PendingBatches,
			SpooledBatches: sp.SpooledBatches, SpooledRecords: sp.SpooledRecords,
			ReplayedBatches: sp.ReplayedBatches, ReplayedRecords: sp.ReplayedRecords,
			DroppedRecords: sp.DroppedRecords, CorruptSkipped: sp.CorruptSkipped,
			LastError: spoolErrorMessages[sp.LastErrorKind],
		}
	}
	if !s.LastFlushAt.IsZero() {
		resp.LastFlush = &pipelineFlush{
			At:         s.LastFlushAt.UTC(),
			DurationMS: s.LastFlushDuration,
			BatchSize:  s.LastBatchSize,
		}
	}
	return resp
}
