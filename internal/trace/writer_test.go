package trace

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

// memorySink records batches and can be told to fail, standing in for a
// database outage. Store behaviour itself is tested against real databases
// in the store packages and end to end.
type memorySink struct {
	mu       sync.Mutex
	batches  [][]Record
	failNext int
	block    chan struct{}
}

func (s *memorySink) InsertTraces(ctx context.Context, batch []Record) error {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return errors.New("connection refused")
	}
	s.batches = append(s.batches, append([]Record(nil), batch...))
	return nil
}

func (s *memorySink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.batches {
		for _, r := range b {
			out = append(out, r.ID)
		}
	}
	return out
}

func TestWriterBatchesBySize(t *testing.T) {
	sink := &memorySink{}
	w := NewWriter(sink, WriterOptions{BatchSize: 10, FlushInterval: time.Hour})
	for i := range 25 {
		if !w.Enqueue(&Record{ID: strconv.Itoa(i)}) {
			t.Fatalf("enqueue %d refused", i)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sizes := []int{}
	for _, b := range sink.batches {
		sizes = append(sizes, len(b))
	}
	if len(sizes) != 3 || sizes[0] != 10 || sizes[1] != 10 || sizes[2] != 5 {
		t.Fatalf("batch sizes = %v, want [10 10 5]", sizes)
	}
	ids := sink.ids()
	for i, id := range ids {
		if id != strconv.Itoa(i) {
			t.Fatalf("record %d has id %s: order not kept", i, id)
		}
	}
	if s := w.Stats(); s.Written != 25 || s.Enqueued != 25 || s.Dropped != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestWriterFlushesByInterval(t *testing.T) {
	sink := &memorySink{}
	w := NewWriter(sink, WriterOptions{BatchSize: 1000, FlushInterval: 5 * time.Millisecond})
	defer w.Close(context.Background())
	w.Enqueue(&Record{ID: "a"})
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.ids()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a partial batch was never flushed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriterRetriesFailedBatch(t *testing.T) {
	sink := &memorySink{failNext: 3}
	w := NewWriter(sink, WriterOptions{BatchSize: 2, FlushInterval: time.Millisecond, RetryBackoffMax: time.Millisecond})
	w.Enqueue(&Record{ID: "1"})
	w.Enqueue(&Record{ID: "2"})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.ids(); len(got) != 2 {
		t.Fatalf("written ids = %v, want both after retries", got)
	}
	s := w.Stats()
	if s.WriteFailures != 3 || s.Written != 2 || s.Lost != 0 || s.LastError == "" {
		t.Fatalf("stats = %+v, want 3 failures, 2 written, an error recorded", s)
	}
}

func TestWriterNeverBlocksAndCountsDrops(t *testing.T) {
	sink := &memorySink{block: make(chan struct{})}
	w := NewWriter(sink, WriterOptions{QueueSize: 4, BatchSize: 1, FlushInterval: time.Millisecond})
	accepted, refused := 0, 0
	for i := range 100 {
		if w.Enqueue(&Record{ID: strconv.Itoa(i)}) {
			accepted++
		} else {
			refused++
		}
	}
	close(sink.block)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if s.Dropped != int64(refused) || refused == 0 {
		t.Fatalf("dropped = %d, refused = %d", s.Dropped, refused)
	}
	if s.Written != int64(accepted) || len(sink.ids()) != accepted {
		t.Fatalf("written = %d, accepted = %d", s.Written, accepted)
	}
	if s.HighWater < 1 || s.Capacity != 4 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestWriterCountsLostRecordsWhenShutdownDeadlinePasses(t *testing.T) {
	sink := &memorySink{failNext: 1 << 30}
	w := NewWriter(sink, WriterOptions{BatchSize: 10, FlushInterval: time.Millisecond, RetryBackoffMax: time.Millisecond})
	for i := range 3 {
		w.Enqueue(&Record{ID: strconv.Itoa(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want deadline exceeded", err)
	}
	if s := w.Stats(); s.Lost != 3 || s.Written != 0 {
		t.Fatalf("stats = %+v, want 3 lost", s)
	}
	if w.Enqueue(&Record{ID: "late"}) {
		t.Fatal("a closed writer accepted a record")
	}
	// A call that finishes after the drain has its trace lost, and counted.
	if s := w.Stats(); s.Lost != 4 || s.Dropped != 0 {
		t.Fatalf("stats = %+v, want the late record lost", s)
	}
}

// hangingSink never answers until the attempt's context ends: a store that
// accepts the connection and then freezes.
type hangingSink struct{}

func (hangingSink) InsertTraces(ctx context.Context, _ []Record) error {
	<-ctx.Done()
	return ctx.Err()
}

// A write hung on a frozen store must not hold Close past its context:
// before, each remaining batch waited out the whole WriteTimeout.
func TestWriterCloseAbandonsAHungWriteAtTheDeadline(t *testing.T) {
	w := NewWriter(hangingSink{}, WriterOptions{BatchSize: 2, FlushInterval: time.Millisecond, WriteTimeout: time.Hour})
	for i := range 5 {
		w.Enqueue(&Record{ID: strconv.Itoa(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	closed := make(chan error, 1)
	go func() { closed <- w.Close(ctx) }()
	cancel()
	if err := <-closed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want canceled", err)
	}
	if s := w.Stats(); s.Lost != 5 || s.Written != 0 {
		t.Fatalf("stats = %+v, want 5 lost", s)
	}
}

// failingRedaction stands in for a redaction that cannot make a record
// safe (the pii package's turns any panic into such an error).
type failingRedaction struct{}

func (failingRedaction) Redact(*Record, BodyCuts) error { return errors.New("cannot redact") }

// upperRedaction rewrites the bodies, so the test sees it ran before the
// write.
type upperRedaction struct{}

func (upperRedaction) Redact(r *Record, _ BodyCuts) error {
	r.RequestBody, r.ResponseBody = "redacted", "redacted"
	return nil
}

// A record's redaction runs on the writer's goroutine before the write; a
// record whose redaction fails is stored without headers and bodies, never
// raw, and counted.
func TestWriterRedactsBeforeStoring(t *testing.T) {
	sink := &memorySink{}
	w := NewWriter(sink, WriterOptions{BatchSize: 10, FlushInterval: time.Hour})
	ok := &Record{ID: "ok", RequestBody: "raw 123-45-6789", ResponseBody: "raw"}
	ok.RedactBeforeStore(upperRedaction{}, BodyCuts{})
	bad := &Record{ID: "bad", RequestBody: "raw 123-45-6789", ResponseBody: "raw",
		RequestHeaders: map[string]string{"X-User": "a@b.io"}, Metadata: []byte(`{"request_id":"r"}`)}
	bad.RedactBeforeStore(failingRedaction{}, BodyCuts{Request: true})
	plain := &Record{ID: "plain", RequestBody: "as sent"}
	for _, r := range []*Record{ok, bad, plain} {
		w.Enqueue(r)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]Record{}
	for _, r := range sink.batches[0] {
		got[r.ID] = r
	}
	if r := got["ok"]; r.RequestBody != "redacted" || r.ResponseBody != "redacted" {
		t.Errorf("redaction not applied: %+v", r)
	}
	if r := got["bad"]; r.RequestBody != "" || r.ResponseBody != "" || r.RequestHeaders != nil ||
		string(r.Metadata) != `{"request_id":"r","redaction_applied":false,"redaction_failed":true}` {
		t.Errorf("failed redaction stored content: %+v", r)
	}
	if r := got["plain"]; r.RequestBody != "as sent" {
		t.Errorf("record without redaction changed: %+v", r)
	}
	if n := w.Stats().RedactionFailures; n != 1 {
		t.Errorf("redaction failures = %d, want 1", n)
	}
}
