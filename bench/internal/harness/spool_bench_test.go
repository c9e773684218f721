package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/bench/internal/load"
	"github.com/ongoingai/gateway/internal/testdb"
)

// Flags of the spool benchmarks (after -args), so a smoke run can be short:
//
//	go test ./internal/harness -run '^$' -bench 'Spool' -benchtime 1x -timeout 40m -args -spool.outage 5m -spool.rate 2000
var (
	spoolRate   = flag.Float64("spool.rate", 2000, "requests per second through the gateway")
	spoolOutage = flag.Duration("spool.outage", 5*time.Minute, "how long Postgres is down")
	spoolWarm   = flag.Duration("spool.warm", 20*time.Second, "traffic before the outage, and after it")

	spoolKillNormal = flag.Bool("spool.kill-normal", true, "BenchmarkSpoolKill: kill with the store up")
	spoolKillOutage = flag.Bool("spool.kill-outage", true, "BenchmarkSpoolKill: kill during an outage")
)

// BenchmarkSpoolOutage runs the gateway (the real binary, its own process)
// on a throwaway Postgres cluster with the trace spool on, sends
// -spool.rate requests a second for -spool.warm, stops Postgres for
// -spool.outage while the traffic goes on, starts it again, keeps the
// traffic going for another -spool.warm, waits for the spool to drain and
// the rollups to be applied, and counts: requests answered 200 against
// traces stored, distinct trace ids and requests counted in the rollups.
// Zero lost means stored = answered, with no duplicates.
func BenchmarkSpoolOutage(b *testing.B) {
	for range b.N {
		r := newSpoolRun(b)
		g := r.start(b)
		answered := make(chan *load.Result, 1)
		go func() { answered <- r.traffic(b, g, 2*(*spoolWarm)+*spoolOutage) }()
		time.Sleep(*spoolWarm)
		r.cluster.Stop()
		b.Logf("postgres stopped for %s", *spoolOutage)
		peak := r.watchSpool(b, g, *spoolOutage)
		r.cluster.Start()
		upAgain := time.Now()
		b.Log("postgres started again")
		res := <-answered
		drained := r.waitDrained(b, g)
		stopGateway(b, g)
		stored := r.countStored(b)
		b.ReportMetric(float64(res.Status[200]), "answered")
		b.ReportMetric(float64(stored.traces), "stored")
		b.ReportMetric(float64(res.Status[200]-stored.distinct), "lost")
		b.Logf("answered 200: %d (of %d sent, %d errors: %s); traces stored: %d, distinct ids: %d, rollup requests: %d; "+
			"spool peak: %d bytes in %d files, %d batches; spooled %d records, replayed %d; drained %s after postgres came back; corrupt %d, spool drops %d, dropped %d, lost %d",
			res.Status[200], res.Completed, res.Errors, res.FirstError, stored.traces, stored.distinct, stored.rollupRequests,
			peak.Bytes, peak.Files, peak.PendingBatches, drained.Spool.SpooledRecords, drained.Spool.ReplayedRecords,
			drained.at.Sub(upAgain).Round(time.Second), drained.Spool.CorruptSkipped, drained.Spool.DroppedRecords,
			drained.Records.Dropped, drained.Records.Lost)
	}
}

// BenchmarkSpoolKill runs the same gateway at -spool.rate on a healthy
// Postgres and kills it with SIGKILL mid-traffic, then counts the traces
// answered but never stored: what the writer held in memory (the queue and
// the batch being written), to compare with the flush interval. A second
// round does the same during an outage (traces going to the spool), then
// restarts the gateway on the same spool with Postgres back, which replays
// what the killed one spooled.
func BenchmarkSpoolKill(b *testing.B) {
	for range b.N {
		for _, outage := range []bool{false, true} {
			if outage && !*spoolKillOutage || !outage && !*spoolKillNormal {
				continue
			}
			r := newSpoolRun(b)
			g := r.start(b)
			var res *load.Result
			done := make(chan struct{})
			go func() { res = r.traffic(b, g, 2*(*spoolWarm)); close(done) }()
			time.Sleep(*spoolWarm)
			if outage {
				r.cluster.Stop()
				time.Sleep(*spoolWarm / 2)
			}
			kill(b, g)
			<-done
			if outage {
				r.cluster.Start()
			}
			spooled := r.spoolFrames(b)
			g2 := r.start(b) // replays what the first left in the spool
			drained := r.waitDrained(b, g2)
			stopGateway(b, g2)
			stored := r.countStored(b)
			lost := res.Status[200] - stored.distinct
			b.Logf("outage=%v: answered 200 before the kill: %d; stored: %d (distinct %d, rollup requests %d); lost: %d = %.0f ms of traffic at %.0f/s; "+
				"spool files left by the killed gateway: %d, replayed by the next: %d records; corrupt %d",
				outage, res.Status[200], stored.traces, stored.distinct, stored.rollupRequests, lost,
				float64(lost)/(*spoolRate)*1000, *spoolRate, spooled, drained.Spool.ReplayedRecords, drained.Spool.CorruptSkipped)
			b.ReportMetric(float64(lost), fmt.Sprintf("lost-outage=%v", outage))
		}
	}
}

// spoolRun is one gateway binary, fake upstream, throwaway cluster and
// spool directory.
type spoolRun struct {
	binary, dsn, spoolDir, work, upstream string
	cluster                               *testdb.Cluster
}

func newSpoolRun(b *testing.B) *spoolRun {
	b.Helper()
	work := b.TempDir()
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := buildGateway(b.Context(), root, work)
	if err != nil {
		b.Fatal(err)
	}
	up, err := startUpstream()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(up.Close)
	c := testdb.StartCluster(b)
	dsn := c.DSN()
	// The throwaway cluster runs with synchronous_commit off, so its
	// immediate stop (a crashed host) would also lose commits it had
	// acknowledged, a loss no gateway can help that would be counted as
	// the gateway's. A database setting outranks the server's command
	// line: the gateway's sessions commit durably.
	conn, err := pgx.Connect(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(b.Context(), `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$`); err != nil {
		b.Fatal(err)
	}
	return &spoolRun{binary: bin, cluster: c, dsn: dsn, spoolDir: filepath.Join(work, "spool"), work: work, upstream: up.url}
}

// start starts a gateway on the cluster and the spool directory, in a
// directory of its own (so each keeps its log).
func (r *spoolRun) start(b *testing.B) *gateway {
	b.Helper()
	dir, err := os.MkdirTemp(r.work, "gateway-")
	if err != nil {
		b.Fatal(err)
	}
	g, err := startGateway(b.Context(), gatewaySpec{binary: r.binary, driver: "postgres", dsn: r.dsn, upstream: r.upstream, dir: dir,
		env: []string{"ONGOINGAI_TRACE_SPOOL_DIR=" + r.spoolDir}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.cmd.Process.Kill() })
	return g
}

// stopGateway drains and stops g as an orchestrator would (SIGTERM).
func stopGateway(b *testing.B, g *gateway) {
	b.Helper()
	if err := g.stop(); err != nil {
		b.Fatal(err)
	}
}

// kill stops g with SIGKILL: no drain, whatever the writer holds is lost
// or left in the spool.
func kill(b *testing.B, g *gateway) {
	b.Helper()
	_ = g.cmd.Process.Kill()
	<-g.exited
	g.logFile.Close()
}

// traffic sends small OpenAI chat completions at -spool.rate for d.
func (r *spoolRun) traffic(b *testing.B, g *gateway, d time.Duration) *load.Result {
	client := load.NewClient(256)
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Summarise the plot of Hamlet in one sentence."}]}`)
	var seq atomic.Int64
	op := func(ctx context.Context, _ int) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+"/openai/v1/chat/completions", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer sk-bench")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", fmt.Sprint(seq.Add(1)))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}
	res, err := load.Run(context.Background(), load.Options{
		Concurrency: 256, Rate: *spoolRate, Requests: int64(*spoolRate*d.Seconds()) + 1, Duration: d,
	}, op)
	if err != nil {
		b.Error(err)
		return &load.Result{Status: map[int]int64{}}
	}
	return res
}

// pipeline is the part of /api/diagnostics/trace-pipeline read here.
type pipeline struct {
	Records struct {
		Enqueued int64 `json:"enqueued_total"`
		Written  int64 `json:"written_total"`
		Dropped  int64 `json:"dropped_total"`
		Lost     int64 `json:"lost_total"`
	} `json:"records"`
	Spool struct {
		Bytes           int64 `json:"bytes"`
		Files           int   `json:"files"`
		PendingBatches  int64 `json:"pending_batches"`
		SpooledRecords  int64 `json:"spooled_records_total"`
		ReplayedRecords int64 `json:"replayed_records_total"`
		DroppedRecords  int64 `json:"dropped_records_total"`
		CorruptSkipped  int64 `json:"corrupt_skipped_total"`
	} `json:"spool"`
	at time.Time
}

func (g *gateway) pipeline() (pipeline, error) {
	var p pipeline
	resp, err := g.client.Get(g.url + "/api/diagnostics/trace-pipeline")
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return p, fmt.Errorf("trace-pipeline: HTTP %d", resp.StatusCode)
	}
	err = json.NewDecoder(resp.Body).Decode(&p)
	p.at = time.Now()
	return p, err
}

// watchSpool polls the spool for d and returns its largest extent.
func (r *spoolRun) watchSpool(b *testing.B, g *gateway, d time.Duration) (peak struct {
	Bytes          int64
	Files          int
	PendingBatches int64
}) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Second) {
		p, err := g.pipeline()
		if err != nil {
			continue
		}
		if p.Spool.Bytes > peak.Bytes {
			peak.Bytes, peak.Files, peak.PendingBatches = p.Spool.Bytes, p.Spool.Files, p.Spool.PendingBatches
		}
	}
	return peak
}

// waitDrained waits until every enqueued trace is written, dropped or lost
// and the spool is empty.
func (r *spoolRun) waitDrained(b *testing.B, g *gateway) pipeline {
	b.Helper()
	for deadline := time.Now().Add(20 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		p, err := g.pipeline()
		if err == nil && p.Spool.PendingBatches == 0 && p.Records.Written+p.Records.Dropped+p.Records.Lost >= p.Records.Enqueued {
			return p
		}
		if time.Now().After(deadline) {
			b.Fatalf("spool not drained: %+v %v", p, err)
		}
	}
}

// spoolFrames counts the segment files in the spool directory.
func (r *spoolRun) spoolFrames(b *testing.B) int {
	m, _ := filepath.Glob(filepath.Join(r.spoolDir, "*.seg"))
	return len(m)
}

type storedCounts struct{ traces, distinct, rollupRequests int64 }

// countStored counts traces and, once every rollup job has completed, the
// requests the hourly rollups hold.
func (r *spoolRun) countStored(b *testing.B) storedCounts {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var c storedCounts
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FROM traces`).Scan(&c.traces, &c.distinct); err != nil {
		b.Fatal(err)
	}
	// The gateway has stopped: rollup jobs it left are worked by the
	// next gateway on this database; start one briefly if any are left.
	var pending int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'rollup_batch' AND state <> 'completed'`).Scan(&pending); err != nil {
		b.Fatal(err)
	}
	if pending > 0 {
		g := r.start(b)
		for deadline := time.Now().Add(10 * time.Minute); pending > 0 && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'rollup_batch' AND state <> 'completed'`).Scan(&pending); err != nil {
				b.Fatal(err)
			}
		}
		stopGateway(b, g)
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(requests), 0) FROM trace_rollups`).Scan(&c.rollupRequests); err != nil {
		b.Fatal(err)
	}
	return c
}
