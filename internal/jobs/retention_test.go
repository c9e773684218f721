package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

func TestRetentionJobPostgres(t *testing.T) {
	t.Parallel()
	s := testdb.OpenPostgres(t)
	testRetentionJob(t, s, pgxRaw(s))

	// The job also created the coming days' partitions.
	today := time.Now().UTC()
	for d := 1; d <= jobs.PartitionDaysAhead; d++ {
		name := "traces_p" + today.AddDate(0, 0, d).Format("20060102")
		var exists bool
		if err := s.InTx(t.Context(), func(tx pgx.Tx) error {
			return tx.QueryRow(t.Context(),
				`SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = 'traces'::regclass)`,
				name).Scan(&exists)
		}); err != nil {
			t.Fatal(err)
		}
		if !exists {
			t.Errorf("partition %s was not created ahead", name)
		}
	}
}

func TestRetentionJobSQLite(t *testing.T) {
	t.Parallel()
	s := testdb.OpenSQLite(t)
	testRetentionJob(t, s, sqlRaw(s))
}

// The periodic job runs at start and, through River, enforces each
// retention: traces past traces_days are deleted (in several batches),
// bodies past bodies_days are blanked with the rest of the trace kept,
// rollups past rollups_days are deleted, everything newer is untouched, and
// the run logs what it removed.
func testRetentionJob[TTx any](t *testing.T, s store.TxStore[TTx], raw rawDB) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	rec := func(id string, ts time.Time, model string) trace.Record {
		return trace.Record{
			ID: id, Timestamp: ts, CreatedAt: ts, Provider: "openai", Model: model,
			ResponseStatus: 200, InputTokens: 11, OutputTokens: 5, TotalTokens: 16, CostNanoUSD: 42, Priced: true,
			RequestHeaders: map[string]string{"Content-Type": "application/json"},
			RequestBody:    `{"model":"` + model + `"}`, ResponseBody: `{"ok":true}`,
			Metadata: []byte(`{"team":"a"}`),
		}
	}
	var expired []trace.Record
	for i := range 5 { // with batches of 2: three DELETEs
		expired = append(expired, rec(fmt.Sprintf("expired-%d", i), now.Add(-10*24*time.Hour-time.Duration(i)*time.Minute), "m"))
	}
	bodyExpired := rec("body-expired", now.Add(-36*time.Hour), "m")
	fresh := rec("fresh", now.Add(-time.Hour), "m")
	if err := s.InsertTraces(ctx, append(expired, bodyExpired, fresh)); err != nil {
		t.Fatal(err)
	}
	var rollupSeed []trace.Record
	for _, model := range []string{"m1", "m2", "m3"} {
		rollupSeed = append(rollupSeed, rec("r-old-"+model, now.Add(-10*24*time.Hour), model), rec("r-new-"+model, now.Add(-time.Hour), model))
	}
	// Applied as the rollup job applies a batch, whose id the ledger keeps.
	if err := s.InTx(ctx, func(tx TTx) error {
		_, err := s.ApplyRollupsTx(ctx, tx, "seed", rollup.Fold(rollupSeed))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	bodyBefore, freshBefore := getTrace(t, s, bodyExpired.ID), getTrace(t, s, fresh.ID)
	// Two ledger entries past RollupLedgerRetention, one within it.
	seedLedger(t, raw, "ledger-old-1", now.Add(-jobs.RollupLedgerRetention-time.Hour))
	seedLedger(t, raw, "ledger-old-2", now.Add(-jobs.RollupLedgerRetention-48*time.Hour))
	seedLedger(t, raw, "ledger-new", now.Add(-jobs.RollupLedgerRetention+time.Hour))
	// Audit events past audit_days (an aggregated denial among them) go.
	if err := s.InsertAudit(ctx, []store.AuditEvent{
		{ID: "audit-old-1", Time: now.Add(-5 * 24 * time.Hour), Action: "auth.deny", Count: 40},
		{ID: "audit-old-2", Time: now.Add(-4*24*time.Hour - time.Minute), Action: "key.create"},
		{ID: "audit-new", Time: now.Add(-4*24*time.Hour + time.Hour), Action: "key.create"},
	}); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	startRunner(t, s, jobs.Options{
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
		Retention:      config.Retention{TracesDays: 2, BodiesDays: 1, RollupsDays: 3, AuditDays: 4},
		RetentionBatch: 2,
	})
	// The log line is written when the run is over, so once it is there,
	// everything the run does is done.
	line := waitForLog(t, logs, "msg=retention ")
	t.Log(line)
	for _, want := range []string{"traces_deleted=5 ", "bodies_purged=1 ", "rollups_deleted=3 ", "daily_rollups_deleted=3 ", "audit_deleted=2 ", "rollup_batches_deleted=2"} {
		if !strings.Contains(line, want) {
			t.Errorf("retention log %q lacks %q", line, want)
		}
	}

	for _, r := range expired {
		if _, err := s.GetTrace(ctx, store.Tenant{}, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTrace(%q) = %v, want ErrNotFound", r.ID, err)
		}
	}
	wantBody := bodyBefore
	wantBody.RequestBody, wantBody.ResponseBody = "", ""
	if got := getTrace(t, s, bodyExpired.ID); !reflect.DeepEqual(got, wantBody) {
		t.Errorf("trace past bodies_days =\n%+v\nwant\n%+v", got, wantBody)
	}
	if got := getTrace(t, s, fresh.ID); !reflect.DeepEqual(got, freshBefore) || got.RequestBody == "" {
		t.Errorf("fresh trace =\n%+v\nwant it unchanged\n%+v", got, freshBefore)
	}

	hour := now.Truncate(time.Hour)
	totals, err := s.AggregateRollups(ctx, store.RollupQuery{
		From: hour.Add(-11 * 24 * time.Hour), To: hour.Add(time.Hour),
		GroupBy: store.GroupModel, Bucket: store.BucketHour,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tot := range totals {
		got = append(got, fmt.Sprintf("%s %s %d", tot.BucketStart.Format(time.RFC3339), tot.Group, tot.Requests))
	}
	newHour := now.Add(-time.Hour).Truncate(time.Hour).Format(time.RFC3339)
	if want := []string{newHour + " m1 1", newHour + " m2 1", newHour + " m3 1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rollups left = %v, want %v", got, want)
	}
	// The daily tier went by the same whole days: only today's are left
	// (and yesterday's, when the hour before now was yesterday).
	today := now.Truncate(24 * time.Hour)
	daily, err := s.AggregateRollups(ctx, store.RollupQuery{
		From: today.AddDate(0, 0, -11), To: today.AddDate(0, 0, 1),
		GroupBy: store.GroupModel, Bucket: store.BucketDay,
	})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, tot := range daily {
		got = append(got, fmt.Sprintf("%s %s %d", tot.BucketStart.Format(time.RFC3339), tot.Group, tot.Requests))
	}
	newDay := now.Add(-time.Hour).Truncate(24 * time.Hour).Format(time.RFC3339)
	if want := []string{newDay + " m1 1", newDay + " m2 1", newDay + " m3 1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("daily rollups left = %v, want %v", got, want)
	}
	if ids := ledgerIDs(t, raw); !reflect.DeepEqual(ids, []string{"ledger-new", "seed"}) {
		t.Errorf("ledger left = %v, want [ledger-new seed]", ids)
	}
	evs, _, err := s.ListAudit(ctx, store.AuditFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "audit-new" {
		t.Errorf("audit events left = %+v, want only audit-new", evs)
	}
}

// Started without Retention, the job keeps everything: an unset number of
// days is "forever", never "nothing".
func TestRetentionJobKeepsEverythingWhenUnset(t *testing.T) {
	t.Parallel()
	s := testdb.OpenSQLite(t)
	old := trace.Record{ID: "old", Timestamp: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), RequestBody: "b"}
	if err := s.InsertTraces(t.Context(), []trace.Record{old}); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	startRunner(t, s, jobs.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	line := waitForLog(t, logs, "msg=retention")
	if regexp.MustCompile(`(deleted|purged)=[1-9]`).MatchString(line) {
		t.Errorf("retention log %q: nothing should have been removed", line)
	}
	if got := getTrace(t, s, "old"); got.RequestBody != "b" {
		t.Errorf("old trace body = %q, want it kept", got.RequestBody)
	}
}

func startRunner[TTx any](t *testing.T, s store.TxStore[TTx], opts jobs.Options) {
	t.Helper()
	runCtx, cancel := context.WithCancel(t.Context())
	r, err := jobs.Start(runCtx, s, opts)
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
}

func getTrace(t *testing.T, s store.Traces, id string) trace.Record {
	t.Helper()
	r, err := s.GetTrace(t.Context(), store.Tenant{}, id)
	if err != nil {
		t.Fatalf("GetTrace(%q): %v", id, err)
	}
	return r
}

// waitForLog returns the first logged line containing marker. The deadline
// is generous: leader election and the first poll take a few seconds on a
// busy machine, and the test only checks that the job runs, not how fast.
func waitForLog(t *testing.T, logs *syncBuffer, marker string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for line := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(line, marker) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within the deadline; logs:\n%s", marker, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that River's goroutines and the test can
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
