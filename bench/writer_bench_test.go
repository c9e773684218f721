package bench

import (
	"context"
	"testing"
	"time"

	"github.com/ongoingai/gateway/bench/internal/tracegen"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// BenchmarkWriter measures the trace pipeline end to end: b.N records
// enqueued as the proxy enqueues them, batched by trace.Writer with the
// gateway's default settings, inserted by the real store into a fresh
// database, and the time until the last one is committed. Enqueue never
// blocks and drops when the queue is full, so the producer here waits for
// room instead: the figure is the writer's throughput, not how fast records
// can be thrown away (drops are reported and must be zero).
//
// Use a large fixed -benchtime (e.g. 200000x): with the default 1s target
// the first iterations only fill the queue and the figure is meaningless.
func BenchmarkWriter(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchWriter(b, testdb.OpenSQLite(b))
	})
	b.Run("postgres", func(b *testing.B) {
		benchWriter(b, testdb.OpenPostgres(b))
	})
}

func benchWriter(b *testing.B, s store.Store) {
	w := trace.NewWriter(s, trace.WriterOptions{})
	capacity := w.Stats().Capacity
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Checking depth every 1,024 records keeps the writer's mutex out
		// of the measurement.
		if i%1024 == 0 {
			for w.Stats().Depth > capacity-2048 {
				time.Sleep(100 * time.Microsecond)
			}
		}
		w.Enqueue(tracegen.Record(now))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := w.Stats()
	b.ReportMetric(float64(st.Written)/b.Elapsed().Seconds(), "traces/s")
	b.ReportMetric(float64(st.Dropped), "dropped")
	if st.Written != int64(b.N) {
		b.Fatalf("written %d of %d (dropped %d, lost %d)", st.Written, b.N, st.Dropped, st.Lost)
	}
}
