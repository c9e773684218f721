package trace

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// The classes of a failed batch write. They are few and fixed on purpose:
// they become a metric attribute and a diagnostics map, and each calls for
// a different fix.
const (
	// FailureTimeout: the attempt ran out of time (WriterOptions.WriteTimeout,
	// a statement or lock timeout, a busy database file). The store is slow
	// or locked; look at its load and long transactions.
	FailureTimeout = "timeout"
	// FailureConnection: the store could not be reached or the connection
	// broke (refused, reset, terminated by the server, database closed).
	// The store is down or restarting.
	FailureConnection = "connection"
	// FailureConstraint: the store rejected the rows (an integrity
	// constraint, a trigger). Retrying will not help; the schema and the
	// gateway disagree, which is a bug to report.
	FailureConstraint = "constraint"
	// FailureOther is everything else; the last error and the logs say more.
	FailureOther = "other"
)

// FailureClasses lists every class in a stable order: the keys of
// Stats.WriteFailuresByClass and the values of the write-failure metric's
// error.type attribute.
var FailureClasses = [...]string{FailureTimeout, FailureConnection, FailureConstraint, FailureOther}

// ClassifyError is the driver-independent classification of a failed
// write: deadlines and network timeouts are "timeout", network and
// end-of-stream errors are "connection", everything else is "other" (only
// a store's own classifier can recognise a constraint violation).
func ClassifyError(err error) string {
	if err == nil {
		return FailureOther
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return FailureTimeout
	}
	if ne, ok := errors.AsType[net.Error](err); ok {
		if ne.Timeout() {
			return FailureTimeout
		}
		return FailureConnection
	}
	for _, target := range connectionErrors {
		if errors.Is(err, target) {
			return FailureConnection
		}
	}
	return FailureOther
}

// connectionErrors are the errors that mean the connection to the store
// failed or broke, whichever driver reports them.
var connectionErrors = []error{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
	net.ErrClosed, io.EOF, io.ErrUnexpectedEOF,
}

// classify asks the store's classifier first and falls back to
// ClassifyError, so that the answer is always one of FailureClasses.
func (w *Writer) classify(err error) string { return Classify(w.opts.Classify, err) }

// Classify names the class of a failed store call: classify's answer (a
// store's, see ClassifierOf) when it gives one of FailureClasses, else
// ClassifyError's. The writer classifies its failed batches with it, and
// the API tells an unreachable store (timeout, connection) from a bug.
func Classify(classify func(error) string, err error) string {
	if classify != nil {
		if c := classify(err); classIndex(c) >= 0 {
			return c
		}
	}
	return ClassifyError(err)
}

// Unavailable reports whether a class means the store could not be
// reached or did not answer in time (timeout, connection), as opposed to
// refusing the data or failing some other way.
func Unavailable(class string) bool {
	return class == FailureTimeout || class == FailureConnection
}

// classIndex is class's position in FailureClasses, or -1.
func classIndex(class string) int {
	for i, c := range FailureClasses {
		if c == class {
			return i
		}
	}
	return -1
}

// FailureClassifier is implemented by stores that can name the class of
// their own write errors (postgres.Store and sqlite.Store do), which only
// they can do without this package importing a database driver.
type FailureClassifier interface {
	// ClassifyWriteError returns one of FailureClasses, or "" when it
	// does not recognise err.
	ClassifyWriteError(err error) string
}

// ClassifierOf returns store's ClassifyWriteError when store is a
// FailureClassifier, and nil otherwise: the WriterOptions.Classify of a
// writer whose sink is, or wraps, that store.
func ClassifierOf(store any) func(error) string {
	if c, ok := store.(FailureClassifier); ok {
		return c.ClassifyWriteError
	}
	return nil
}
