package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// scriptedSink fails once with each error of fail, in order, then writes.
type scriptedSink struct {
	fail []error
	n    int
}

func (s *scriptedSink) InsertTraces(context.Context, []Record) error {
	if s.n < len(s.fail) {
		s.n++
		return s.fail[s.n-1]
	}
	return nil
}

// timeoutErr is a net.Error that timed out, as a dial or read deadline
// reports it.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cases := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, FailureTimeout},
		{fmt.Errorf("insert traces: %w", context.DeadlineExceeded), FailureTimeout},
		{&net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, FailureTimeout},
		{refused, FailureConnection},
		{fmt.Errorf("postgres: %w", refused), FailureConnection},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), FailureConnection},
		{fmt.Errorf("copy: %w", io.ErrUnexpectedEOF), FailureConnection},
		{net.ErrClosed, FailureConnection},
		{errors.New("duplicate key value violates unique constraint"), FailureOther}, // only a store knows
		{errors.New("something odd"), FailureOther},
	}
	for _, tc := range cases {
		if got := ClassifyError(tc.err); got != tc.want {
			t.Errorf("ClassifyError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// A failure of each class is counted under its class, the classes always
// add up to the total, and the batch is still written once the store
// recovers. The store's classifier is asked first; an answer outside the
// fixed classes falls back to the generic classification, so a buggy
// classifier cannot grow the metric's cardinality.
func TestWriterCountsFailuresByClass(t *testing.T) {
	errConstraint := errors.New("check constraint violated")
	errWeird := errors.New("unrecognised")
	sink := &scriptedSink{fail: []error{
		fmt.Errorf("begin: %w", context.DeadlineExceeded),   // generic: timeout
		&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, // generic: connection
		errConstraint, // store classifier: constraint
		errWeird,      // store classifier says "weird": falls back to other
		errors.New("plain"),
	}}
	classify := func(err error) string {
		switch {
		case errors.Is(err, errConstraint):
			return FailureConstraint
		case errors.Is(err, errWeird):
			return "weird"
		}
		return ""
	}
	w := NewWriter(sink, WriterOptions{
		BatchSize: 1, FlushInterval: time.Millisecond, RetryBackoffMax: time.Millisecond, Classify: classify,
	})
	w.Enqueue(&Record{ID: "1"})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	want := map[string]int64{FailureTimeout: 1, FailureConnection: 1, FailureConstraint: 1, FailureOther: 2}
	if fmt.Sprint(s.WriteFailuresByClass) != fmt.Sprint(want) {
		t.Errorf("by class = %v, want %v", s.WriteFailuresByClass, want)
	}
	if s.WriteFailures != 5 || s.Written != 1 || s.LastError != "plain" || s.LastErrorClass != FailureOther {
		t.Errorf("stats = %+v, want 5 failures, 1 written, last error %q of class other", s, "plain")
	}
}

func TestStatsListEveryClassBeforeAnyFailure(t *testing.T) {
	w := NewWriter(&scriptedSink{}, WriterOptions{})
	defer w.Close(context.Background())
	s := w.Stats()
	if len(s.WriteFailuresByClass) != len(FailureClasses) {
		t.Fatalf("by class = %v, want every class", s.WriteFailuresByClass)
	}
	for _, c := range FailureClasses {
		if n, ok := s.WriteFailuresByClass[c]; !ok || n != 0 {
			t.Errorf("class %s = %d (present %v), want 0", c, n, ok)
		}
	}
}

// WriteTimeout bounds each attempt: a store that hangs until its context
// ends produces timeout failures, not a writer stuck for 30 seconds.
func TestWriteTimeoutBoundsAnAttempt(t *testing.T) {
	hang := sinkFunc(func(ctx context.Context, _ []Record) error {
		<-ctx.Done()
		return fmt.Errorf("insert: %w", ctx.Err())
	})
	w := NewWriter(hang, WriterOptions{
		BatchSize: 1, FlushInterval: time.Millisecond, RetryBackoffMax: time.Millisecond, WriteTimeout: 5 * time.Millisecond,
	})
	w.Enqueue(&Record{ID: "1"})
	deadline := time.Now().Add(5 * time.Second)
	for w.Stats().WriteFailuresByClass[FailureTimeout] < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no timeout failures after 5s: %+v", w.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	w.Close(ctx)
	if s := w.Stats(); s.Lost != 1 {
		t.Errorf("stats = %+v, want the record lost at shutdown", s)
	}
}

type sinkFunc func(context.Context, []Record) error

func (f sinkFunc) InsertTraces(ctx context.Context, b []Record) error { return f(ctx, b) }

// A batch the store keeps refusing is split until the refused record
// stands alone; the rest is written and only that record is lost, so one
// bad record cannot hold up every trace behind it.
func TestWriterIsolatesARecordTheStoreRefuses(t *testing.T) {
	errRefused := errors.New("refused")
	sink := &memorySink{}
	refusing := sinkFunc(func(ctx context.Context, batch []Record) error {
		for _, r := range batch {
			if r.ID == "poison" {
				return errRefused
			}
		}
		return sink.InsertTraces(ctx, batch)
	})
	w := NewWriter(refusing, WriterOptions{
		BatchSize: 8, FlushInterval: time.Millisecond, RetryBackoffMax: time.Millisecond,
		Classify: func(err error) string {
			if errors.Is(err, errRefused) {
				return FailureConstraint
			}
			return ""
		},
	})
	for _, id := range []string{"1", "2", "3", "poison", "5", "6", "7", "8"} {
		w.Enqueue(&Record{ID: id})
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.ids(); fmt.Sprint(got) != "[1 2 3 5 6 7 8]" {
		t.Errorf("written = %v, want every record but the refused one, in order", got)
	}
	if s := w.Stats(); s.Written != 7 || s.Lost != 1 || s.WriteFailuresByClass[FailureConstraint] != s.WriteFailures {
		t.Errorf("stats = %+v, want 7 written, 1 lost, constraint failures only", s)
	}
}
