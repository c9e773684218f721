package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// seedLedger enters id in the applied-batch ledger as applied at at,
// straight in the database.
func seedLedger(t *testing.T, raw rawDB, id string, at time.Time) {
	t.Helper()
	q := "INSERT INTO rollup_batches (id, applied_at) VALUES (" + raw.param(1) + ", " + raw.param(2) + ")"
	if err := raw.exec(t.Context(), q, id, raw.time(at)); err != nil {
		t.Fatal(err)
	}
}

// ledgerIDs lists the applied-batch ledger's ids.
func ledgerIDs(t *testing.T, raw rawDB) []string {
	t.Helper()
	ids := []string{}
	err := raw.query(t.Context(), "SELECT id FROM rollup_batches ORDER BY id", func(scan func(...any) error) error {
		var id string
		err := scan(&id)
		ids = append(ids, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestRollupJobRunAgainCountsOncePostgres(t *testing.T) {
	t.Parallel()
	s := testdb.OpenPostgres(t)
	testRollupJobRunAgain(t, s, pgxRaw(s))
}

func TestRollupJobRunAgainCountsOnceSQLite(t *testing.T) {
	t.Parallel()
	s := testdb.OpenSQLite(t)
	testRollupJobRunAgain(t, s, sqlRaw(s))
}

// A rollup job that River runs again after it completed (JobRetry, as an
// operator or CatchUpRollups may call on a job a live gateway has just
// completed) completes again without adding its batch a second time: the
// applied-batch ledger has its id.
func testRollupJobRunAgain[TTx any](t *testing.T, s store.TxStore[TTx], raw rawDB) {
	ctx := t.Context()
	client, err := river.NewClient(s.River(), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	retry := func(ctx context.Context, id int64) error {
		_, err := client.JobRetry(ctx, id)
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	r, err := jobs.Start(runCtx, s, jobs.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
		defer stop()
		if err := r.Stop(stopCtx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	now := time.Now().UTC().Truncate(time.Microsecond)
	var batch []trace.Record
	for _, id := range []string{"a", "b", "c"} {
		batch = append(batch, trace.Record{ID: id, Timestamp: now, CreatedAt: now, Provider: "openai", Model: "m", ResponseStatus: 200})
	}
	if err := r.TraceSink().InsertTraces(ctx, batch); err != nil {
		t.Fatal(err)
	}
	waitForJobs(t, raw)
	requests := func() int64 {
		t.Helper()
		totals, err := s.AggregateRollups(ctx, store.RollupQuery{From: now.Truncate(time.Hour).Add(-48 * time.Hour), To: now.Truncate(time.Hour).Add(48 * time.Hour), Bucket: store.BucketHour})
		if err != nil {
			t.Fatal(err)
		}
		return sumRequests(totals)
	}
	if n := requests(); n != 3 {
		t.Fatalf("requests after the job ran = %d, want 3", n)
	}
	var ids []int64
	if err := raw.query(ctx, "SELECT id FROM river_job WHERE kind = 'rollup_batch'", func(scan func(...any) error) error {
		var id int64
		err := scan(&id)
		ids = append(ids, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || len(ledgerIDs(t, raw)) != 1 {
		t.Fatalf("rollup jobs %v, ledger %v; want one of each", ids, ledgerIDs(t, raw))
	}
	for run := 2; run <= 3; run++ {
		if err := retry(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			var attempt int
			var state string
			if err := raw.query(ctx, "SELECT attempt, state FROM river_job WHERE kind = 'rollup_batch'", func(scan func(...any) error) error {
				return scan(&attempt, &state)
			}); err != nil {
				t.Fatal(err)
			}
			if attempt == run && state == "completed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d of the job: attempt %d, state %s", run, attempt, state)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := requests(); n != 3 {
			t.Fatalf("requests after run %d of the same job = %d, want 3", run, n)
		}
	}
}
