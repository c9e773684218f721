package trace

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/spool"
)

// outageSink fails every insert while down is set, standing in for a store
// outage in these unit tests (the real stores go down in the e2e tests).
type outageSink struct {
	memorySink
	mu   sync.Mutex
	down bool
}

func (s *outageSink) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

func (s *outageSink) InsertTraces(ctx context.Context, batch []Record) error {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return errors.New("connection refused")
	}
	return s.memorySink.InsertTraces(ctx, batch)
}

func openSpool(t *testing.T, dir string, maxBytes int64) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func waitFor(t *testing.T, what string, w *Writer, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a hang guard, not a bound
	for {
		s := w.Stats()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s: %+v %+v", what, s, s.Spool)
		}
		time.Sleep(time.Millisecond)
	}
}

// While the store is down, batches go to the spool instead of piling up in
// memory; when it is back they are written in the order they were made,
// each once, and new batches wait behind them.
func TestWriterSpoolsDuringOutageAndReplaysInOrder(t *testing.T) {
	sink := &outageSink{down: true}
	w := NewWriter(sink, WriterOptions{
		BatchSize: 5, FlushInterval: time.Millisecond, RetryBackoffMax: 5 * time.Millisecond,
		Spool: openSpool(t, t.TempDir(), 1<<20),
	})
	for i := range 50 {
		w.Enqueue(&Record{ID: strconv.Itoa(i)})
	}
	// Stats is not one atomic snapshot (the queue depth is read before the
	// spool's counters), so wait for both rather than read them once.
	s := waitFor(t, "every record spooled", w, func(s Stats) bool { return s.Spool.SpooledRecords == 50 && s.Depth == 0 })
	if s.Written != 0 || s.Spool.PendingBatches == 0 || s.Spool.Files == 0 || s.Spool.Bytes == 0 {
		t.Fatalf("during the outage: %+v %+v", s, s.Spool)
	}
	sink.setDown(false)
	for i := 50; i < 60; i++ { // arriving while the replay runs
		w.Enqueue(&Record{ID: strconv.Itoa(i)})
	}
	// Close stops replaying at the first failure, which an attempt begun
	// before the store came back may still be: wait for the writes.
	waitFor(t, "every record written", w, func(s Stats) bool { return s.Written == 60 })
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := sink.ids()
	if len(ids) != 60 {
		t.Fatalf("stored %d records, want 60: %v", len(ids), ids)
	}
	for i, id := range ids {
		if id != strconv.Itoa(i) {
			t.Fatalf("record %d is %s: order not kept (%v)", i, id, ids)
		}
	}
	s = w.Stats()
	if s.Written != 60 || s.Lost != 0 || s.Dropped != 0 || s.Spool.PendingBatches != 0 || s.Spool.ReplayedRecords < 50 || s.Spool.Files != 0 {
		t.Fatalf("after recovery: %+v %+v", s, s.Spool)
	}
}

// Closing while the store is down keeps the spooled batches on disk, not
// lost; a writer opened on the same spool later replays them.
func TestWriterSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	sink := &outageSink{down: true}
	w := NewWriter(sink, WriterOptions{
		BatchSize: 4, FlushInterval: time.Millisecond, RetryBackoffMax: 5 * time.Millisecond,
		Spool: openSpool(t, dir, 1<<20),
	})
	want := make([]Record, 10)
	for i := range want {
		want[i] = Record{
			ID: strconv.Itoa(i), Timestamp: time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC),
			Model: "m\xff\x00", CostNanoUSD: int64(i) * 7, FinishReasons: []string{"stop"},
			RequestHeaders: map[string]string{"A": "b"}, Metadata: json.RawMessage(`{"k":1}`),
		}
		w.Enqueue(&want[i])
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if s.Lost != 0 || s.Written != 0 || s.Spool.PendingBatches == 0 {
		t.Fatalf("closed during the outage: %+v %+v", s, s.Spool)
	}

	sink.setDown(false)
	w2 := NewWriter(sink, WriterOptions{Spool: openSpool(t, dir, 1<<20), FlushInterval: time.Millisecond})
	if err := w2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []Record
	for _, b := range sink.batches {
		got = append(got, b...)
	}
	// Every field comes back exactly, those the JSON API omits included.
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("replayed record %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if s := w2.Stats(); s.Written != 10 || s.Spool.ReplayedRecords != 10 || s.Spool.PendingBatches != 0 {
		t.Fatalf("second writer: %+v %+v", s, s.Spool)
	}
}

// A full spool drops and counts; the proxy is never made to wait.
func TestWriterDropsAndCountsWhenSpoolIsFull(t *testing.T) {
	sink := &outageSink{down: true}
	w := NewWriter(sink, WriterOptions{
		BatchSize: 1, FlushInterval: time.Millisecond, RetryBackoffMax: 5 * time.Millisecond,
		Spool: openSpool(t, t.TempDir(), 2048),
	})
	big := string(make([]byte, 300))
	for i := range 40 {
		w.Enqueue(&Record{ID: strconv.Itoa(i), RequestBody: big})
	}
	s := waitFor(t, "every record spooled or dropped", w, func(s Stats) bool {
		return s.Spool.SpooledRecords+s.Spool.DroppedRecords == 40
	})
	if s.Spool.DroppedRecords == 0 || s.Dropped != s.Spool.DroppedRecords || s.Spool.Bytes > 2048 {
		t.Fatalf("stats = %+v %+v, want drops counted and the bound kept", s, s.Spool)
	}
	if s.Spool.LastError == "" {
		t.Fatal("no spool error recorded")
	}
	sink.setDown(false)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Written != s.Spool.SpooledRecords || s.Written+s.Dropped != 40 {
		t.Fatalf("after recovery: %+v %+v", s, s.Spool)
	}
}

// A store that answers but slowly lets the queue back up; past the high
// water mark, batches go to the spool rather than wait in memory.
func TestWriterSpoolsPastHighWater(t *testing.T) {
	sink := &memorySink{block: make(chan struct{})}
	w := NewWriter(sink, WriterOptions{
		QueueSize: 100, SpoolHighWater: 10, BatchSize: 5, FlushInterval: time.Millisecond,
		Spool: openSpool(t, t.TempDir(), 1<<20),
	})
	w.Enqueue(&Record{ID: "0"}) // its insert blocks
	waitFor(t, "the first batch taken", w, func(s Stats) bool { return s.Depth == 0 })
	for i := 1; i <= 30; i++ {
		w.Enqueue(&Record{ID: strconv.Itoa(i)})
	}
	close(sink.block)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if s.Spool.SpooledRecords == 0 || s.Written != 31 || s.Dropped != 0 {
		t.Fatalf("stats = %+v %+v, want some batches spooled and everything written", s, s.Spool)
	}
	for i, id := range sink.ids() {
		if id != strconv.Itoa(i) {
			t.Fatalf("record %d is %s: order not kept", i, id)
		}
	}
}
