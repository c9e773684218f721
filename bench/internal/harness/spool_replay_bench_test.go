package harness

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ongoingai/gateway/bench/internal/tracegen"
	"github.com/ongoingai/gateway/internal/spool"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// switchSink fails every insert until up is set: a store that comes back.
type switchSink struct {
	up   atomic.Bool
	sink trace.Sink
}

func (s *switchSink) InsertTraces(ctx context.Context, b []trace.Record) error {
	if !s.up.Load() {
		return errors.New("connection refused")
	}
	return s.sink.InsertTraces(ctx, b)
}

// BenchmarkSpoolReplay measures how fast a spool of b.N records, spooled
// while the store was down, is replayed into Postgres once it is back:
//
//	go test ./internal/harness -run '^$' -bench SpoolReplay -benchtime 100000x
func BenchmarkSpoolReplay(b *testing.B) {
	st := testdb.OpenPostgres(b)
	sp, err := spool.Open(b.TempDir(), 1<<40)
	if err != nil {
		b.Fatal(err)
	}
	sink := &switchSink{sink: st}
	w := trace.NewWriter(sink, trace.WriterOptions{Spool: sp, RetryBackoffMax: 10 * time.Millisecond})
	now := time.Now()
	for i := range b.N {
		if i%1024 == 0 {
			for w.Stats().Depth > 30000 {
				time.Sleep(100 * time.Microsecond)
			}
		}
		w.Enqueue(tracegen.Record(now))
	}
	for w.Stats().Spool.SpooledRecords < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	s := w.Stats()
	b.ReportMetric(float64(s.Spool.Bytes)/float64(b.N), "spool-B/trace")
	b.ResetTimer()
	sink.up.Store(true)
	for w.Stats().Written < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "replayed/s")
	b.ReportMetric(float64(s.Spool.PendingBatches), "batches")
	w.Close(context.Background())
}
