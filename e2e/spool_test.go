package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/testdb"
)

// outageStore is a store a test can take away from the gateway and give
// back, for real: a throwaway Postgres cluster stopped and started again,
// or a SQLite file whose write lock another connection holds.
type outageStore struct {
	t      *testing.T
	driver string
	dsn    string // postgres
	path   string // sqlite
	down   func()
	up     func()
}

func newOutageStore(t *testing.T, driver string) *outageStore {
	s := &outageStore{t: t, driver: driver}
	switch driver {
	case config.DriverPostgres:
		c := testdb.StartCluster(t)
		s.dsn = c.DSN()
		s.down = func() {
			// The throwaway cluster runs with synchronous_commit off, so
			// an immediate stop would also lose the last commits it
			// acknowledged, which no gateway can help: flush them first.
			conn, err := pgx.Connect(context.Background(), s.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), "CHECKPOINT"); err != nil {
				t.Fatal(err)
			}
			c.Stop()
		}
		s.up = c.Start
	case config.DriverSQLite:
		s.path = testdb.SQLitePath(t)
		var lock *sql.Conn
		var db *sql.DB
		s.down = func() {
			// Every write waits for the lock for the store's busy
			// timeout, then fails: a store that does not answer.
			var err error
			// It waits its turn like the store's connections do: the
			// gateway may be writing (a rollup) at that moment.
			if db, err = sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(10000)"); err != nil {
				t.Fatal(err)
			}
			if lock, err = db.Conn(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := lock.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
		}
		s.up = func() {
			if _, err := lock.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
			lock.Close()
			db.Close()
		}
	}
	return s
}

// rollupJobs counts the rollup jobs ever enqueued (completed ones are kept
// for ten minutes, longer than the test): one per batch of new traces.
func (s *outageStore) rollupJobs() int {
	s.t.Helper()
	const q = `SELECT count(*) FROM river_job WHERE kind = 'rollup_batch'`
	var n int
	switch s.driver {
	case config.DriverPostgres:
		conn, err := pgx.Connect(context.Background(), s.dsn)
		if err != nil {
			s.t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			s.t.Fatal(err)
		}
	default:
		db, err := sql.Open("sqlite", s.path)
		if err != nil {
			s.t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow(q).Scan(&n); err != nil {
			s.t.Fatal(err)
		}
	}
	return n
}

// startSpooled starts a gateway on st with its trace spool in dir.
func startSpooled(t *testing.T, st *outageStore, dir string) *gateway {
	t.Helper()
	fake := fakeupstream.New(fakeupstream.Options{})
	upstream := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); upstream.Close() })
	cfg := config.Default()
	cfg.Server.Host = "127.0.0.1"
	cfg.Server.ShutdownTimeout = 2 * time.Minute // SQLite's busy waits are 10s each
	cfg.Storage.Driver = st.driver
	cfg.Storage.DSN, cfg.Storage.Path = st.dsn, st.path
	for name, p := range cfg.Providers {
		p.Upstream = upstream.URL
		cfg.Providers[name] = p
	}
	cfg.Tracing.FlushInterval = 5 * time.Millisecond
	cfg.Tracing.BatchSize = 10
	cfg.Tracing.Spool.Dir = dir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, cfg, fake, upstream)
}

// spoolPipeline is the part of /api/diagnostics/trace-pipeline read here.
type spoolPipeline struct {
	Records struct {
		Enqueued int64 `json:"enqueued_total"`
		Written  int64 `json:"written_total"`
		Dropped  int64 `json:"dropped_total"`
		Lost     int64 `json:"lost_total"`
	} `json:"records"`
	Spool *struct {
		Bytes           int64 `json:"bytes"`
		Files           int   `json:"files"`
		PendingBatches  int64 `json:"pending_batches"`
		SpooledRecords  int64 `json:"spooled_records_total"`
		ReplayedRecords int64 `json:"replayed_records_total"`
		CorruptSkipped  int64 `json:"corrupt_skipped_total"`
	} `json:"spool"`
}

// waitPipeline polls the writer's diagnostics until cond holds. The
// deadline is a hang guard: SQLite's lock waits take ten seconds each.
func (g *gateway) waitPipeline(what string, cond func(spoolPipeline) bool) spoolPipeline {
	g.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var p spoolPipeline
		g.getJSON("/api/diagnostics/trace-pipeline", &p)
		if p.Spool == nil {
			g.t.Fatal("trace-pipeline has no spool although tracing.spool.dir is set")
		}
		if cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting until %s: %+v %+v", what, p.Records, *p.Spool)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *gateway) chats(n int) {
	g.t.Helper()
	for range n {
		if status, body := g.do(http.MethodPost, "/openai/v1/chat/completions", chatBody,
			map[string]string{"Authorization": "Bearer " + openAIKey}); status != http.StatusOK {
			g.t.Fatalf("proxied call: %d %s", status, body)
		}
	}
}

// requireExactlyOnce checks, through the API, that the store holds n
// traces with distinct ids and that the rollups count n requests.
func requireExactlyOnce(t *testing.T, g *gateway, n int) {
	t.Helper()
	traces := g.traces(n) // fails on more than n
	ids := map[string]bool{}
	for _, tr := range traces {
		ids[tr.ID] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct trace ids among %d traces", len(ids), n)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	window := "from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
	deadline := time.Now().Add(time.Minute)
	for {
		s, _ := analyticsGet[analytics.Summary](g, "", "/api/analytics/summary", window)
		if s.TotalRequests > int64(n) {
			t.Fatalf("rollups count %d requests, more than the %d made", s.TotalRequests, n)
		}
		if s.TotalRequests == int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollups count %d requests, want %d", s.TotalRequests, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// While the store is down, the proxy keeps answering and its traces go to
// the spool on disk; when the store is back they are all stored, each
// once, and the rollups count each once.
func TestStoreOutageIsSpooledAndReplayedExactlyOnce(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		st := newOutageStore(t, driver)
		dir := t.TempDir()
		g := startSpooled(t, st, dir)
		g.chats(10)
		g.waitPipeline("the first traces are written", func(p spoolPipeline) bool { return p.Records.Written == 10 })
		// Rolled up too: a rollup job cut off by the outage would wait
		// for River's rescue of stuck jobs, which is not what this tests.
		requireExactlyOnce(t, g, 10)

		st.down()
		g.chats(30) // answered although the store is down
		p := g.waitPipeline("the outage's traces are spooled", func(p spoolPipeline) bool { return p.Spool.SpooledRecords == 30 })
		if p.Records.Written != 10 || p.Spool.PendingBatches == 0 || p.Spool.Bytes == 0 || len(segmentFiles(t, dir)) == 0 {
			t.Fatalf("during the outage: %+v %+v, files %v", p.Records, *p.Spool, segmentFiles(t, dir))
		}

		st.up()
		p = g.waitPipeline("the spool is replayed", func(p spoolPipeline) bool {
			return p.Spool.PendingBatches == 0 && p.Records.Written >= 40
		})
		if p.Records.Written != 40 || p.Records.Dropped != 0 || p.Records.Lost != 0 || p.Spool.ReplayedRecords != 30 || p.Spool.Files != 0 {
			t.Fatalf("after the outage: %+v %+v", p.Records, *p.Spool)
		}
		if m := segmentFiles(t, dir); len(m) != 0 {
			t.Fatalf("spool files left after replay: %v", m)
		}
		requireExactlyOnce(t, g, 40)
	})
}

// A gateway stopped while the store is down leaves its spooled traces on
// disk, not lost; the next one replays them. A torn write at the end of a
// spool file (a crash mid-write) is skipped and counted. And if a gateway
// dies after the store committed a replayed batch but before the spool
// forgot it, the next replays it again, and the store still holds every
// trace once and the rollups count each once.
func TestSpooledTracesSurviveRestartAndCrashReplayCountsOnce(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		st := newOutageStore(t, driver)
		dir := t.TempDir()
		g1 := startSpooled(t, st, dir)
		g1.chats(1) // creates the schema's first rows while the store is up
		g1.waitPipeline("the first trace is written", func(p spoolPipeline) bool { return p.Records.Written == 1 })
		requireExactlyOnce(t, g1, 1)
		st.down()
		g1.chats(30)
		g1.waitPipeline("the traces are spooled", func(p spoolPipeline) bool { return p.Spool.SpooledRecords == 30 })
		if err := g1.stop(); err != nil {
			t.Fatalf("stopping with the store down: %v", err)
		}
		segs := segmentFiles(t, dir)
		if len(segs) == 0 {
			t.Fatal("no spool files left for the next start")
		}
		// The state a crash right after replaying every batch would leave.
		snapshot := copyDir(t, dir)
		// And a torn frame at the end, as a crash mid-write leaves it.
		f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{200, 0, 0, 0, 1, 2})
		f.Close()

		st.up()
		g2 := startSpooled(t, st, dir)
		p := g2.waitPipeline("the spool left by the last gateway is replayed", func(p spoolPipeline) bool {
			return p.Spool.PendingBatches == 0 && p.Spool.ReplayedRecords >= 30
		})
		if p.Spool.ReplayedRecords != 30 || p.Spool.CorruptSkipped != 1 {
			t.Fatalf("second gateway: %+v %+v, want 30 replayed and the torn frame counted", p.Records, *p.Spool)
		}
		requireExactlyOnce(t, g2, 31)
		jobs := st.rollupJobs()
		if err := g2.stop(); err != nil {
			t.Fatal(err)
		}

		// Crash between the store's commit and the spool's forgetting:
		// every batch is there again.
		restoreDir(t, snapshot, dir)
		g3 := startSpooled(t, st, dir)
		p = g3.waitPipeline("the batches are replayed again", func(p spoolPipeline) bool {
			return p.Spool.PendingBatches == 0 && p.Spool.ReplayedRecords >= 30
		})
		if p.Spool.ReplayedRecords != 30 {
			t.Fatalf("third gateway: %+v %+v", p.Records, *p.Spool)
		}
		requireExactlyOnce(t, g3, 31)
		if again := st.rollupJobs(); again != jobs {
			t.Fatalf("replaying committed batches enqueued %d more rollup jobs", again-jobs)
		}
	})
}

func copyDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = raw
	}
	return out
}

func restoreDir(t *testing.T, files map[string][]byte, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.Remove(filepath.Join(dir, e.Name()))
	}
	for name, raw := range files {
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Two gateways on one spool directory would replay each other's batches:
// the second refuses to start, naming the setting.
func TestSpoolDirectoryServesOneGateway(t *testing.T) {
	st := &outageStore{t: t, driver: config.DriverSQLite, path: testdb.SQLitePath(t)}
	dir := t.TempDir()
	startSpooled(t, st, dir)
	cfg := config.Default()
	cfg.Storage.Path = testdb.SQLitePath(t)
	cfg.Tracing.Spool.Dir = dir
	a, err := app.New(t.Context(), cfg, nil)
	if err == nil {
		a.Close(t.Context())
		t.Fatal("a second gateway started on a spool directory in use")
	}
	if !strings.Contains(err.Error(), "tracing.spool.dir") || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("error = %v, want it to name tracing.spool.dir and say it is in use", err)
	}
}
