package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// classifiedWriter is a trace writer on s that retries quickly and
// classifies failures with the store's classifier, as the gateway does.
func classifiedWriter(t *testing.T, s *postgres.Store, writeTimeout time.Duration) *trace.Writer {
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

// waitStats polls w until ok holds, for at most 20 seconds.
func waitStats(t *testing.T, w *trace.Writer, what string, ok func(trace.Stats) bool) trace.Stats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := w.Stats()
		if ok(s) {
			t.Logf("%s: failures by class %v, last error %q", what, s.WriteFailuresByClass, s.LastError)
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after 20s: %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func record(id, model string) *trace.Record {
	now := time.Now().UTC()
	return &trace.Record{ID: id, Timestamp: now, CreatedAt: now, Model: model, Provider: "openai", ResponseStatus: 200, Outcome: trace.OutcomeOK}
}

// exec runs sql on a connection of its own, as another client would.
func exec(t *testing.T, dsn, sql string) {
	t.Helper()
	if _, err := openPool(t, dsn).Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Each class of write failure, produced by a real Postgres server, is
// counted under its class; once a passing cause goes away the batch lands.
func TestWriterClassifiesRealFailures(t *testing.T) {
	t.Run("constraint", func(t *testing.T) {
		dsn := testdb.PostgresDSN(t)
		s := openStoreAt(t, dsn)
		exec(t, dsn, `ALTER TABLE traces ADD CONSTRAINT classify_test CHECK (model <> 'rejected-model')`)
		w := classifiedWriter(t, s, 0)
		w.Enqueue(record("tr_rejected", "rejected-model"))
		st := waitStats(t, w, "a constraint failure", func(s trace.Stats) bool { return s.WriteFailuresByClass[trace.FailureConstraint] > 0 })
		if st.WriteFailuresByClass[trace.FailureConnection]+st.WriteFailuresByClass[trace.FailureTimeout]+st.WriteFailuresByClass[trace.FailureOther] != 0 {
			t.Errorf("by class = %v, want constraint failures only (last error %q)", st.WriteFailuresByClass, st.LastError)
		}
		// The store keeps refusing the record, so after a few attempts
		// the writer gives up on it alone rather than block what follows.
		w.Enqueue(record("tr_after", "gpt-4o"))
		waitStats(t, w, "the refused record given up on and the next one written", func(s trace.Stats) bool { return s.Lost == 1 && s.Written == 1 })
	})

	t.Run("timeout", func(t *testing.T) {
		dsn := testdb.PostgresDSN(t)
		s := openStoreAt(t, dsn)
		locker := openPool(t, dsn)
		tx, err := locker.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), `LOCK TABLE traces IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		w := classifiedWriter(t, s, 150*time.Millisecond)
		w.Enqueue(record("tr_waits", "gpt-4o-mini"))
		st := waitStats(t, w, "a timeout failure", func(s trace.Stats) bool { return s.WriteFailuresByClass[trace.FailureTimeout] > 0 })
		if st.WriteFailures != st.WriteFailuresByClass[trace.FailureTimeout] {
			t.Errorf("by class = %v, want timeouts only (last error %q)", st.WriteFailuresByClass, st.LastError)
		}
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitStats(t, w, "the batch written after the lock was released", func(s trace.Stats) bool { return s.Written == 1 })
	})

	t.Run("connection", func(t *testing.T) {
		// The writer's backend is terminated while it waits on a lock, as
		// when the server restarts or an administrator kills sessions.
		dsn := testdb.PostgresDSN(t)
		s := openStoreAt(t, dsn)
		locker := openPool(t, dsn)
		tx, err := locker.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), `LOCK TABLE traces IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		w := classifiedWriter(t, s, 0)
		w.Enqueue(record("tr_cut", "gpt-4o-mini"))
		admin := openPool(t, dsn)
		deadline := time.Now().Add(20 * time.Second)
		for {
			var n int
			err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the writer never waited on the lock")
			}
			time.Sleep(5 * time.Millisecond)
		}
		st := waitStats(t, w, "a connection failure", func(s trace.Stats) bool { return s.WriteFailures > 0 })
		if st.WriteFailuresByClass[trace.FailureConnection] != 1 {
			t.Errorf("by class = %v, want one connection failure (last error %q)", st.WriteFailuresByClass, st.LastError)
		}
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitStats(t, w, "the batch written on a new connection", func(s trace.Stats) bool { return s.Written == 1 })
	})
}

func openStoreAt(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Errors the server did not produce here, classified from their SQLSTATE.
func TestClassifyErrorCodes(t *testing.T) {
	for code, want := range map[string]string{
		"23505": trace.FailureConstraint, // unique_violation
		"23503": trace.FailureConstraint, // foreign_key_violation
		"57014": trace.FailureTimeout,    // statement_timeout
		"55P03": trace.FailureTimeout,    // lock_timeout
		"08006": trace.FailureConnection, // connection_failure
		"57P01": trace.FailureConnection, // admin_shutdown
		"57P03": trace.FailureConnection, // cannot_connect_now
		"53300": trace.FailureConnection, // too_many_connections
		"22003": trace.FailureOther,      // numeric_value_out_of_range
		"40P01": trace.FailureOther,      // deadlock_detected
	} {
		err := fmt.Errorf("postgres: insert traces: %w", &pgconn.PgError{Code: code})
		if got := postgres.ClassifyError(err); got != want {
			t.Errorf("SQLSTATE %s: %q, want %q", code, got, want)
		}
	}
	if got := postgres.ClassifyError(errors.New("unknown")); got != "" {
		t.Errorf("an unrecognised error: %q, want \"\" (the writer's generic classification decides)", got)
	}
}
