package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/sqlite"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// classifiedWriter is a trace writer on s that retries quickly and
// classifies failures with the store's classifier, as the gateway does.
func classifiedWriter(t *testing.T, s *sqlite.Store, writeTimeout time.Duration) *trace.Writer {
	t.Helper()
	w := trace.NewWriter(s, trace.WriterOptions{
		BatchSize: 1, FlushInterval: time.Millisecond, RetryBackoffMax: 20 * time.Millisecond,
		WriteTimeout: writeTimeout, Classify: trace.ClassifierOf(s),
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		w.Close(ctx)
	})
	return w
}

// waitStats polls w until ok holds, for at most 30 seconds.
func waitStats(t *testing.T, w *trace.Writer, what string, ok func(trace.Stats) bool) trace.Stats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := w.Stats()
		if ok(s) {
			t.Logf("%s: failures by class %v, last error %q", what, s.WriteFailuresByClass, s.LastError)
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after 30s: %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func record(id, model string) *trace.Record {
	now := time.Now().UTC()
	return &trace.Record{ID: id, Timestamp: now, CreatedAt: now, Model: model, Provider: "openai", ResponseStatus: 200, Outcome: trace.OutcomeOK}
}

// only reports whether every failure in s is of class.
func only(s trace.Stats, class string) bool {
	return s.WriteFailures > 0 && s.WriteFailuresByClass[class] == s.WriteFailures
}

// Each class of write failure, produced by a real SQLite file, is counted
// under its class.
func TestWriterClassifiesRealFailures(t *testing.T) {
	t.Parallel()
	t.Run("constraint", func(t *testing.T) {
		s := openAt(t, testdb.SQLitePath(t))
		// A trigger's RAISE(ABORT) fails the insert with
		// SQLITE_CONSTRAINT_TRIGGER, as a CHECK constraint would.
		if _, err := s.DB().Exec(`CREATE TRIGGER classify_test BEFORE INSERT ON traces
			WHEN NEW.model = 'rejected-model' BEGIN SELECT RAISE(ABORT, 'rejected'); END`); err != nil {
			t.Fatal(err)
		}
		w := classifiedWriter(t, s, 0)
		w.Enqueue(record("tr_rejected", "rejected-model"))
		st := waitStats(t, w, "a constraint failure", func(s trace.Stats) bool { return s.WriteFailures > 0 })
		if !only(st, trace.FailureConstraint) {
			t.Errorf("by class = %v, want constraint failures only", st.WriteFailuresByClass)
		}
	})

	t.Run("a refused record does not hold up the others", func(t *testing.T) {
		s := openAt(t, testdb.SQLitePath(t))
		if _, err := s.DB().Exec(`CREATE TRIGGER classify_test BEFORE INSERT ON traces
			WHEN NEW.model = 'rejected-model' BEGIN SELECT RAISE(ABORT, 'rejected'); END`); err != nil {
			t.Fatal(err)
		}
		w := trace.NewWriter(s, trace.WriterOptions{
			BatchSize: 5, FlushInterval: 10 * time.Millisecond, RetryBackoffMax: 5 * time.Millisecond,
			Classify: trace.ClassifierOf(s),
		})
		for _, id := range []string{"tr_1", "tr_2", "tr_3", "tr_4"} {
			w.Enqueue(record(id, "gpt-4o"))
		}
		w.Enqueue(record("tr_rejected", "rejected-model"))
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		if st.Written != 4 || st.Lost != 1 || !only(st, trace.FailureConstraint) {
			t.Errorf("stats = %+v, want the 4 good records written and the refused one lost", st)
		}
		for _, id := range []string{"tr_1", "tr_2", "tr_3", "tr_4"} {
			if _, err := s.GetTrace(t.Context(), store.Tenant{}, id); err != nil {
				t.Errorf("trace %s: %v", id, err)
			}
		}
	})

	t.Run("timeout", func(t *testing.T) {
		// Another process holds the write lock: the writer's attempt
		// runs out of time waiting for it. SQLite's busy wait does not
		// heed the context, so this takes the store's whole busy_timeout
		// (10s); it runs beside the package's other tests.
		t.Parallel()
		path := testdb.SQLitePath(t)
		s := openAt(t, path)
		other, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		conn, err := other.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		w := classifiedWriter(t, s, 100*time.Millisecond)
		w.Enqueue(record("tr_waits", "gpt-4o-mini"))
		st := waitStats(t, w, "a timeout failure", func(s trace.Stats) bool { return s.WriteFailures > 0 })
		if !only(st, trace.FailureTimeout) {
			t.Errorf("by class = %v, want timeouts only", st.WriteFailuresByClass)
		}
		if _, err := conn.ExecContext(t.Context(), `COMMIT`); err != nil {
			t.Fatal(err)
		}
		waitStats(t, w, "the batch written after the lock was released", func(s trace.Stats) bool { return s.Written == 1 })
	})

	t.Run("connection", func(t *testing.T) {
		// A closed store: what a write meets after the store was shut
		// down under it.
		s, err := sqlite.Open(t.Context(), testdb.SQLitePath(t))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		w := classifiedWriter(t, s, 0)
		w.Enqueue(record("tr_closed", "gpt-4o-mini"))
		st := waitStats(t, w, "a connection failure", func(s trace.Stats) bool { return s.WriteFailures > 0 })
		if !only(st, trace.FailureConnection) {
			t.Errorf("by class = %v, want connection failures only", st.WriteFailuresByClass)
		}
	})
}

func TestClassifyErrorLeavesUnknownErrorsToTheWriter(t *testing.T) {
	if got := sqlite.ClassifyError(errors.New("unknown")); got != "" {
		t.Errorf("an unrecognised error: %q, want \"\"", got)
	}
}
