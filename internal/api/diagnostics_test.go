package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

// classifiedSink fails once with each error, then writes.
type classifiedSink struct{ errs []error }

func (s *classifiedSink) InsertTraces(context.Context, []trace.Record) error {
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

// The failures a real writer counted, by class, are what the endpoint
// reports; before any failure every class is there with zero.
func TestTracePipelineReportsFailuresByClass(t *testing.T) {
	errRejected := errors.New("check constraint violated")
	sink := &classifiedSink{errs: []error{
		fmt.Errorf("begin: %w", context.DeadlineExceeded),
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		errRejected,
	}}
	w := trace.NewWriter(sink, trace.WriterOptions{
		BatchSize: 1, FlushInterval: time.Millisecond, RetryBackoffMax: time.Millisecond,
		Classify: func(err error) string {
			if errors.Is(err, errRejected) {
				return trace.FailureConstraint
			}
			return ""
		},
	})
	before := getTracePipeline(t, w.Stats())["write_failures"].(map[string]any)
	if got, _ := json.Marshal(before); string(got) != `{"by_class":{"connection":0,"constraint":0,"other":0,"timeout":0},"total":0}` {
		t.Errorf("before any failure: %s", got)
	}
	w.Enqueue(&trace.Record{ID: "tr_1"})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := getTracePipeline(t, w.Stats())["write_failures"].(map[string]any)
	delete(after, "last_error")
	if got, _ := json.Marshal(after); string(got) != `{"by_class":{"connection":2,"constraint":1,"other":0,"timeout":1},"total":4}` {
		t.Errorf("after four failures: %s", got)
	}
}

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
		Capacity: 200, Depth: 50, HighWater: 120, Enqueued: 1000, Written: 940, Dropped: 7, WriteFailures: 3, Lost: 2, RedactionFailures: 1,
		WriteFailuresByClass: map[string]int64{"timeout": 1, "connection": 2, "constraint": 0, "other": 0},
		LastError:            "insert traces: connection refused", LastErrorClass: "connection",
		LastFlushAt: at, LastFlushDuration: 4.25, LastBatchSize: 31,
	})
	want := `{"last_flush":{"at":"2026-01-02T03:04:05Z","batch_size":31,"duration_ms":4.25},` +
		`"queue":{"capacity":200,"depth":50,"high_water":120,"utilization":0.25},` +
		`"records":{"dropped_total":7,"enqueued_total":1000,"lost_total":2,"redaction_failures_total":1,"written_total":940},` +
		`"spool":null,` +
		`"write_failures":{"by_class":{"connection":2,"constraint":0,"other":0,"timeout":1},"last_error":"connection: the store could not be reached; the gateway's log has the details","total":3}}`
	got, _ := json.Marshal(body) // map keys marshal sorted: a stable comparison
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// With a spool, its figures are served as the writer counted them, the
// last error cut like the writer's.
func TestTracePipelineReportsSpool(t *testing.T) {
	body := getTracePipeline(t, trace.Stats{Capacity: 10, Spool: &trace.SpoolStats{
		MaxBytes: 1 << 30, Bytes: 4096, Files: 2, PendingBatches: 3, SpooledBatches: 5, SpooledRecords: 50,
		ReplayedBatches: 2, ReplayedRecords: 20, DroppedRecords: 7, CorruptSkipped: 1,
		LastError: "spool: open /var/lib/secret-place/00000000000000000001.seg: no space left on device", LastErrorKind: trace.SpoolErrorDisk,
	}})
	sp := body["spool"].(map[string]any)
	if le := sp["last_error"]; le != "disk: the spool's files could not be written or read; the gateway's log has the details" {
		t.Errorf("last_error = %q, want the stable text of its kind", le)
	}
	delete(sp, "last_error")
	got, _ := json.Marshal(sp)
	want := `{"bytes":4096,"corrupt_skipped_total":1,"dropped_records_total":7,"files":2,"max_bytes":1073741824,` +
		`"pending_batches":3,"replayed_batches_total":2,"replayed_records_total":20,"spooled_batches_total":5,"spooled_records_total":50}`
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

// A driver's error text can name the database host, port, user and
// database: whatever it says, last_error shows only its class.
func TestTracePipelineNeverShowsTheStoresErrorText(t *testing.T) {
	dsnError := `failed to connect to host=db.internal user=gateway database=ongoingai: dial tcp 10.0.0.7:5432: connect: connection refused`
	for class, want := range lastErrorMessages {
		body := getTracePipeline(t, trace.Stats{LastError: dsnError, LastErrorClass: class})
		if got := body["write_failures"].(map[string]any)["last_error"]; got != want {
			t.Errorf("class %s: last_error = %q, want %q", class, got, want)
		}
	}
	// A class the API does not know (a writer newer than this table) still
	// shows no text of the store's.
	body := getTracePipeline(t, trace.Stats{LastError: dsnError, LastErrorClass: "novel"})
	got, _ := json.Marshal(body)
	for _, leak := range []string{"db.internal", "10.0.0.7", "5432", "gateway database", "user="} {
		if strings.Contains(string(got), leak) {
			t.Errorf("the answer shows %q: %s", leak, got)
		}
	}
}
