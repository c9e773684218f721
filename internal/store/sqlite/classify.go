package sqlite

import (
	"database/sql"
	"errors"
	"strings"

	moderncsqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ongoingai/gateway/internal/trace"
)

// ClassifyError names the class of a failed trace write from what SQLite
// reports, for trace.WriterOptions.Classify: SQLITE_CONSTRAINT (and its
// extended codes, a trigger's RAISE(ABORT) included) is a constraint
// failure; SQLITE_BUSY and SQLITE_LOCKED, which mean the busy timeout ran
// out waiting for another writer, are timeouts; a file that cannot be
// opened, or a store already closed, is a connection failure. It answers ""
// when it does not recognise err, which leaves the writer's generic
// classification to decide.
func ClassifyError(err error) string {
	if e, ok := errors.AsType[*moderncsqlite.Error](err); ok {
		switch e.Code() & 0xff { // the primary result code of an extended one
		case sqlite3.SQLITE_CONSTRAINT:
			return trace.FailureConstraint
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return trace.FailureTimeout
		case sqlite3.SQLITE_CANTOPEN:
			return trace.FailureConnection
		}
		return trace.FailureOther
	}
	// database/sql does not export its "database is closed" error; its
	// message has not changed since Go 1.0.
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed") {
		return trace.FailureConnection
	}
	return ""
}

// ClassifyWriteError is ClassifyError, which makes the store a
// trace.FailureClassifier.
func (s *Store) ClassifyWriteError(err error) string { return ClassifyError(err) }

var _ trace.FailureClassifier = (*Store)(nil)
