package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/retain"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
)

var (
	_ store.Retention       = (*Store)(nil)
	_ store.TracePartitions = (*Store)(nil)
)

// PurgeBodies blanks the bodies of up to limit traces started before
// before; see store.Retention.
func (s *Store) PurgeBodies(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("postgres: purge bodies", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return pgdb.New(s.pool).PurgeTraceBodies(ctx, pgdb.PurgeTraceBodiesParams{Before: cutoff, RowLimit: n})
	})
}

// DeleteTraces deletes up to limit traces started before before, in any
// partition; see store.Retention. Whole days go faster by
// DropTracePartitions.
func (s *Store) DeleteTraces(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("postgres: delete traces", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return pgdb.New(s.pool).DeleteTraces(ctx, pgdb.DeleteTracesParams{Before: cutoff, RowLimit: n})
	})
}

// DeleteRollups deletes up to limit rollup rows for hours before before;
// see store.Retention.
func (s *Store) DeleteRollups(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("postgres: delete rollups", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return pgdb.New(s.pool).DeleteRollups(ctx, pgdb.DeleteRollupsParams{Before: cutoff, RowLimit: n})
	})
}

// DeleteDailyRollups deletes up to limit daily rollup rows for days before
// before's UTC day; see store.Retention.
func (s *Store) DeleteDailyRollups(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.DaysBefore("postgres: delete daily rollups", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return pgdb.New(s.pool).DeleteDailyRollups(ctx, pgdb.DeleteDailyRollupsParams{Before: cutoff, RowLimit: n})
	})
}

// DeleteRollupBatches deletes up to limit applied-batch ledger entries
// recorded before before; see store.Retention.
func (s *Store) DeleteRollupBatches(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("postgres: delete rollup batches", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return pgdb.New(s.pool).DeleteRollupBatches(ctx, pgdb.DeleteRollupBatchesParams{Before: cutoff, RowLimit: n})
	})
}

// Day partitions are named traces_pYYYYMMDD after the UTC day they hold.
// The name is also how DropTracePartitions knows a partition's range and
// that the gateway made it: partitions named otherwise (DEFAULT, or one an
// operator attached by hand) are never dropped.
const (
	partitionPrefix    = "traces_p"
	partitionDayLayout = "20060102"
)

// partitionDDLLockTimeout bounds how long partition DDL waits for its lock.
// Creating or dropping a partition locks the whole traces table, and while
// the DDL waits behind a long query, every trace write and read queues
// behind the DDL. Giving up after a few seconds turns a possible stall of
// the gateway into a retry of the job.
const partitionDDLLockTimeout = "3s"

// EnsureTracePartitions creates the missing day partitions from the day of
// from through the day of to; see store.TracePartitions.
//
// Creating a partition makes Postgres scan DEFAULT, under lock, for rows
// that belong in it and refuse if there are any. Asking first (an index
// probe) keeps the normal case from failing; a row that arrives between the
// question and the DDL still makes the DDL fail, and that day is skipped the
// same way. In steady state DEFAULT is empty, so the scan costs nothing.
func (s *Store) EnsureTracePartitions(ctx context.Context, from, to time.Time) ([]string, error) {
	names, err := s.tracePartitions(ctx)
	if err != nil {
		return nil, err
	}
	existing := make(map[string]bool, len(names))
	for _, n := range names {
		existing[n] = true
	}
	q := pgdb.New(s.pool)
	var created []string
	for day := store.UTCDay(from); !day.After(store.UTCDay(to)); day = day.AddDate(0, 0, 1) {
		name := partitionPrefix + day.Format(partitionDayLayout)
		if existing[name] {
			continue
		}
		end := day.AddDate(0, 0, 1)
		occupied, err := q.TracesExistBetween(ctx, pgdb.TracesExistBetweenParams{FromTime: day, ToTime: end})
		if err != nil {
			return created, fmt.Errorf("postgres: ensure trace partitions: %w", err)
		}
		if occupied {
			continue // those rows stay in DEFAULT and expire by DeleteTraces
		}
		// DDL takes no bind parameters and sqlc cannot express a table name
		// chosen at run time, so this statement is built here: the name is
		// quoted by pgx.Identifier.Sanitize, and the bounds are RFC 3339
		// strings formatted from time values, which hold no quote.
		ddl := fmt.Sprintf("CREATE TABLE %s PARTITION OF traces FOR VALUES FROM ('%s') TO ('%s')",
			pgx.Identifier{name}.Sanitize(), day.Format(time.RFC3339), end.Format(time.RFC3339))
		err = s.partitionDDL(ctx, ddl)
		if hasCode(err, checkViolation, duplicateTable) {
			// DEFAULT gained a row for that day since we asked, or another
			// replica created the partition first.
			continue
		}
		if err != nil {
			return created, fmt.Errorf("postgres: create partition %s: %w", name, err)
		}
		created = append(created, name)
	}
	return created, nil
}

// DropTracePartitions drops the day partitions that end at or before
// before; see store.TracePartitions.
func (s *Store) DropTracePartitions(ctx context.Context, before time.Time) ([]string, error) {
	names, err := s.tracePartitions(ctx)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, name := range names {
		day, ok := partitionDay(name)
		if !ok || day.AddDate(0, 0, 1).After(before) {
			continue
		}
		// Built here rather than by sqlc for the same reason as the CREATE
		// in EnsureTracePartitions: the table name is only known now.
		if err := s.partitionDDL(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			return dropped, fmt.Errorf("postgres: drop partition %s: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	return dropped, nil
}

// tracePartitions returns the names of the partitions attached to traces,
// sorted (day partitions thus oldest first).
func (s *Store) tracePartitions(ctx context.Context) ([]string, error) {
	names, err := pgdb.New(s.pool).ListTracePartitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: list trace partitions: %w", err)
	}
	return names, nil
}

// partitionDDL runs one DDL statement in its own short transaction, the
// only way to scope lock_timeout to it.
func (s *Store) partitionDDL(ctx context.Context, ddl string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+partitionDDLLockTimeout+"'"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
}

// partitionDay parses a day partition's name; ok is false for any other.
func partitionDay(name string) (day time.Time, ok bool) {
	digits, ok := strings.CutPrefix(name, partitionPrefix)
	if !ok || len(digits) != len(partitionDayLayout) {
		return time.Time{}, false
	}
	day, err := time.Parse(partitionDayLayout, digits)
	return day, err == nil
}

// SQLSTATEs partition DDL can meet in normal operation.
const (
	checkViolation = "23514" // DEFAULT holds rows for the new partition's range
	duplicateTable = "42P07" // the partition already exists
)

func hasCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}

// DeleteAudit deletes up to limit audit events older than before, oldest
// first.
func (s *Store) DeleteAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("postgres: delete audit", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return pgdb.New(s.pool).DeleteAudit(ctx, pgdb.DeleteAuditParams{Before: cutoff, RowLimit: n})
	})
}
