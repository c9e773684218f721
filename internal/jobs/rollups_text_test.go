package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// A client controls the model name, and a NUL byte or invalid UTF-8 in it
// must neither fail the batch it travels in (Postgres keeps job arguments
// as jsonb, which rejects \u0000) nor leave the rollups keyed differently
// from the stored trace.
func TestRollupsOfUnstorableTextPostgres(t *testing.T) {
	t.Parallel()
	s := testdb.OpenPostgres(t)
	testRollupsOfUnstorableText(t, s)
}

func TestRollupsOfUnstorableTextSQLite(t *testing.T) {
	t.Parallel()
	s := testdb.OpenSQLite(t)
	testRollupsOfUnstorableText(t, s)
}

func testRollupsOfUnstorableText[TTx any](t *testing.T, s store.TxStore[TTx]) {
	ctx := t.Context()
	r, err := jobs.Start(ctx, s, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = r.Stop(stopCtx)
	})
	start := time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)
	batch := []trace.Record{
		{ID: "t-good", Timestamp: start, Provider: "openai", Model: "gpt-4o", ResponseStatus: 200, Outcome: trace.OutcomeOK, CreatedAt: start},
		{ID: "t-nul", Timestamp: start, Provider: "openai", Model: "x\x00y", ResponseStatus: 400, Outcome: trace.OutcomeUpstreamError, CreatedAt: start},
		{ID: "t-bad", Timestamp: start, Provider: "openai", Model: "z\xff\xfe", ResponseStatus: 400, Outcome: trace.OutcomeUpstreamError, CreatedAt: start},
	}
	if err := r.TraceSink().InsertTraces(ctx, batch); err != nil {
		t.Fatalf("batch with unstorable text: %v", err)
	}
	want := map[string]int64{"gpt-4o": 1, "x\uFFFDy": 1, "z\uFFFD": 1}
	q := store.RollupQuery{From: start.Truncate(time.Hour), To: start.Truncate(time.Hour).Add(time.Hour), GroupBy: store.GroupModel}
	deadline := time.Now().Add(30 * time.Second)
	for {
		totals, err := s.AggregateRollups(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, tot := range totals {
			got[tot.Group] = tot.Requests
		}
		if len(got) == len(want) && got["gpt-4o"] == 1 && got["x\uFFFDy"] == 1 && got["z\uFFFD"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollups by model = %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for id, model := range map[string]string{"t-nul": "x\uFFFDy", "t-bad": "z\uFFFD"} {
		rec, err := s.(store.Traces).GetTrace(ctx, store.Tenant{}, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Model != model {
			t.Errorf("stored model of %s = %q, want %q (the rollup key)", id, rec.Model, model)
		}
	}
}
