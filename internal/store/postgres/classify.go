package postgres

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ongoingai/gateway/internal/trace"
)

// ClassifyError names the class of a failed trace write from what Postgres
// and pgx report, for trace.WriterOptions.Classify: SQLSTATE class 23
// (integrity constraint) is a constraint failure; a cancelled statement,
// lock or idle timeout, or a pgx deadline is a timeout; SQLSTATE class 08,
// a server shutting down or refusing connections, and a failed connect are
// connection failures. It answers "" when it does not recognise err, which
// leaves the writer's generic classification to decide.
func ClassifyError(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch code := pgErr.Code; {
		case strings.HasPrefix(code, "23"): // integrity_constraint_violation and its subclasses
			return trace.FailureConstraint
		case code == "57014", // query_canceled: statement_timeout, or a cancel after a deadline
			code == "55P03", // lock_not_available: lock_timeout
			code == "25P03", // idle_in_transaction_session_timeout
			code == "57P05": // idle_session_timeout
			return trace.FailureTimeout
		case strings.HasPrefix(code, "08"), // connection_exception
			code == "57P01", // admin_shutdown: the backend was terminated
			code == "57P02", // crash_shutdown
			code == "57P03", // cannot_connect_now: the server is starting or stopping
			code == "53300": // too_many_connections
			return trace.FailureConnection
		}
		return trace.FailureOther
	}
	if pgconn.Timeout(err) {
		return trace.FailureTimeout
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return trace.FailureConnection
	}
	return ""
}

// ClassifyWriteError is ClassifyError, which makes the store a
// trace.FailureClassifier.
func (s *Store) ClassifyWriteError(err error) string { return ClassifyError(err) }

var _ trace.FailureClassifier = (*Store)(nil)
