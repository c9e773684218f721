package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ongoingai/gateway/internal/trace"
)

func getTracePipeline(t *testing.T, s trace.Stats) map[string]any {
	t.Helper()
	a := New(Deps{QueueStats: func() trace.Stats { return s }})
	rec := httptest.NewRecorder()
	a.TracePipeline(rec, httptest.NewRequest(http.MethodGet, "/api/diagnostics/trace-pipeline", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

func TestTracePipelineReportsWriterStats(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	body := getTracePipeline(t, trace.Stats{
		Capacity: 200, Depth: 50, HighWater: 120, Enqueued: 1000, Written: 940, Dropped: 7, WriteFailures: 3, Lost: 2,
		LastError: "insert traces: connection refused", LastFlushAt: at, LastFlushDuration: 4.25, LastBatchSize: 31,
	})
	want := `{"last_flush":{"at":"2026-01-02T03:04:05Z","batch_size":31,"duration_ms":4.25},` +
		`"queue":{"capacity":200,"depth":50,"high_water":120,"utilization":0.25},` +
		`"records":{"dropped_total":7,"enqueued_total":1000,"lost_total":2,"written_total":940},` +
		`"write_failures":{"by_class":{"dropped":7,"lost":2,"retried":3},"last_error":"insert traces: connection refused","total":3}}`
	got, _ := json.Marshal(body) // map keys marshal sorted: a stable comparison
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestTracePipelineBeforeFirstFlush(t *testing.T) {
	body := getTracePipeline(t, trace.Stats{Capacity: 10})
	if body["last_flush"] != nil {
		t.Errorf("last_flush = %v, want null before any batch was written", body["last_flush"])
	}
	if _, ok := body["write_failures"].(map[string]any)["last_error"]; ok {
		t.Errorf("an empty last_error should be omitted")
	}
}

func TestTracePipelineTruncatesLongErrors(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes of two-byte characters
	body := getTracePipeline(t, trace.Stats{LastError: long})
	got := body["write_failures"].(map[string]any)["last_error"].(string)
	if len(got) > maxLastErrorLen+len("…") || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("last_error not cut cleanly: %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}
