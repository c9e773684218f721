package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cpuMeter reads the CPU time spent on the queries: this process (the
// service, the store's driver, SQLite itself, and for the HTTP path the
// server and the client) plus, on Postgres, the backends serving this
// database (read from /proc/PID/schedstat, so the server must be local).
// On a machine busy with other work, wall-clock latency includes waiting
// for a core; CPU per call is what a query costs, whatever the neighbours
// do.
type cpuMeter struct {
	conn *pgx.Conn // the meter's own connection; nil: this process only
	pids []int
}

// newCPUMeter returns a meter of this process and, for Postgres, of the
// backends serving dsn's database; close it when done.
func newCPUMeter(ctx context.Context, driver, dsn string) (*cpuMeter, error) {
	m := &cpuMeter{}
	if driver == "postgres" {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, err
		}
		m.conn = conn
	}
	return m, nil
}

func (m *cpuMeter) close() {
	if m.conn != nil {
		m.conn.Close(context.Background())
	}
}

// refresh finds the backends of the database (other than the meter's own).
func (m *cpuMeter) refresh(ctx context.Context) error {
	if m.conn == nil {
		return nil
	}
	rows, err := m.conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		return fmt.Errorf("list backends: %w", err)
	}
	defer rows.Close()
	m.pids = m.pids[:0]
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return err
		}
		m.pids = append(m.pids, pid)
	}
	return rows.Err()
}

// read returns the CPU time used so far by this process and the backends.
func (m *cpuMeter) read() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	for _, pid := range m.pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
		if err != nil {
			continue // the backend went away
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				t += time.Duration(ns)
			}
		}
	}
	return t
}
