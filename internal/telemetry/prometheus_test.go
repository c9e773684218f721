package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/spool"
	"github.com/ongoingai/gateway/internal/trace"
)

// memSink is a trace.Sink that only counts, so the pipeline metrics come
// from a real writer.
type memSink struct{}

func (memSink) InsertTraces(context.Context, []trace.Record) error { return nil }

func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	return string(body)
}

// The exposition carries the GenAI, gateway and pipeline metrics under
// Prometheus names, with the same bounded labels as OTLP.
func TestPrometheusExposition(t *testing.T) {
	h := newHarness(t, func(o *config.Observability) { o.OTel.Enabled = false })
	w := trace.NewWriter(memSink{}, trace.WriterOptions{QueueSize: 10})
	if err := h.tel.ObserveWriter(w.Stats); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		w.Enqueue(&trace.Record{ID: "x"})
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := h.client(nil)
	for _, model := range []string{"gpt-4o-mini", "gpt-4o-mini", "acme-llm-7"} {
		if _, err := c.Chat.Completions.New(context.Background(), chat(model)); err != nil {
			t.Fatal(err)
		}
	}

	h.waitServed(3)
	text := scrape(t, h.gw.URL+"/metrics")
	checkExpositionFormat(t, text)
	for _, want := range []string{
		"# TYPE gen_ai_client_token_usage histogram",
		"# TYPE gen_ai_client_operation_duration_seconds histogram",
		"# TYPE ongoingai_gateway_requests_total counter",
		"# TYPE ongoingai_trace_queue_depth gauge",
		`ongoingai_gateway_requests_total{provider="openai",route_class="proxy",status_class="2xx"} 3`,
		`ongoingai_trace_written_total 3`,
		`ongoingai_trace_enqueued_total 3`,
		`ongoingai_trace_queue_capacity 10`,
		`ongoingai_trace_flush_batch_size 3`,
		`ongoingai_trace_write_failures_total{error_type="connection"} 0`,
		`ongoingai_trace_write_failures_total{error_type="constraint"} 0`,
		`gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o-mini",gen_ai_response_model="gpt-4o-mini",gen_ai_token_type="input",`,
		`gen_ai_request_model="other"`,
		`target_info{`,
		`service_name="ongoingai-gateway"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(text, "acme-llm-7") {
		t.Errorf("an unknown model name reached the exposition")
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("exposition contains secret %q", s)
		}
	}
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (\S+)$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$`)
	leLabel    = regexp.MustCompile(`,?le="([^"]+)"`)
)

// checkExpositionFormat parses the text the way a scraper would: every
// sample belongs to the family announced by the TYPE line before it,
// values parse, and histogram buckets are cumulative up to +Inf, which
// equals _count.
func checkExpositionFormat(t *testing.T, text string) {
	t.Helper()
	family, typ := "", ""
	seen := map[string]bool{}
	var lastBucket float64
	lastSeries := ""
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		if m := typeLine.FindStringSubmatch(line); m != nil {
			if seen[m[1]] {
				t.Errorf("family %s announced twice", m[1])
			}
			seen[m[1]] = true
			family, typ = m[1], m[2]
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("malformed line %q", line)
			continue
		}
		name, labels, value := m[1], m[2], m[3]
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Errorf("bad value in %q", line)
		}
		switch typ {
		case "histogram":
			suffix := strings.TrimPrefix(name, family)
			if suffix != "_bucket" && suffix != "_sum" && suffix != "_count" {
				t.Errorf("sample %s does not belong to histogram %s", name, family)
			}
			series := leLabel.ReplaceAllString(labels, "")
			if suffix == "_bucket" {
				if series != lastSeries {
					lastSeries, lastBucket = series, 0
				}
				if v < lastBucket {
					t.Errorf("bucket counts decrease at %q", line)
				}
				lastBucket = v
			}
			if suffix == "_count" && v != lastBucket {
				t.Errorf("%s_count %v != +Inf bucket %v", family, v, lastBucket)
			}
		default:
			if name != family {
				t.Errorf("sample %s under family %s", name, family)
			}
		}
	}
}

// The separate listener serves only the metrics path, and only on loopback.
func TestMetricsServer(t *testing.T) {
	obs := config.Default().Observability
	obs.Prometheus.Enabled = true
	obs.Prometheus.Path = "/internal/metrics"
	tel, err := New(context.Background(), obs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())

	if _, err := tel.StartMetricsServer("0.0.0.0:0"); err == nil {
		t.Fatal("a metrics listener on all interfaces was accepted")
	}
	ms, err := tel.StartMetricsServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ms.Addr().String()
	scrape(t, base+"/internal/metrics")
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("other paths on the metrics listener: %d, want 404", res.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ms.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPromNames(t *testing.T) {
	cases := []struct{ name, unit, want string }{
		{"gen_ai.client.operation.duration", "s", "gen_ai_client_operation_duration_seconds"},
		{"gen_ai.client.token.usage", "{token}", "gen_ai_client_token_usage"},
		{"x.size", "By", "x_size_bytes"},
		{"already_seconds", "s", "already_seconds"},
		{"weird-name/1", "", "weird_name_1"},
	}
	for _, c := range cases {
		if got := promName(c.name, c.unit); got != c.want {
			t.Errorf("promName(%q, %q) = %q, want %q", c.name, c.unit, got, c.want)
		}
	}
	if got := escapeLabel("a\"b\\c\nd"); got != `a\"b\\c\nd` {
		t.Errorf("escapeLabel = %q", got)
	}
}

// downSink fails every insert: a store that is down.
type downSink struct{}

func (downSink) InsertTraces(context.Context, []trace.Record) error {
	return errors.New("connection refused")
}

// With a spool, its figures are exported too: what went to disk while the
// store was down, and what is still waiting there.
func TestPrometheusExpositionSpool(t *testing.T) {
	h := newHarness(t, func(o *config.Observability) { o.OTel.Enabled = false })
	sp, err := spool.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	w := trace.NewWriter(downSink{}, trace.WriterOptions{BatchSize: 2, FlushInterval: time.Millisecond, Spool: sp})
	if err := h.tel.ObserveWriter(w.Stats); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		w.Enqueue(&trace.Record{ID: "x"})
	}
	for deadline := time.Now().Add(30 * time.Second); w.Stats().Spool.SpooledRecords < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never spooled: %+v", w.Stats().Spool)
		}
	}
	text := scrape(t, h.gw.URL+"/metrics")
	checkExpositionFormat(t, text)
	for _, want := range []string{
		"# TYPE ongoingai_trace_spool_bytes gauge",
		"ongoingai_trace_spool_files 1",
		"# TYPE ongoingai_trace_spool_pending_batches gauge",
		"ongoingai_trace_spool_spooled_total 4",
		"ongoingai_trace_spool_replayed_total 0",
		"ongoingai_trace_spool_dropped_total 0",
		"ongoingai_trace_spool_corrupt_skipped_total 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(text, "ongoingai_trace_spool_pending_batches 0") || strings.Contains(text, "ongoingai_trace_spool_bytes 0") {
		t.Errorf("the spool's backlog is not exported")
	}
	if err := w.Close(context.Background()); err != nil { // the store is down: kept on disk
		t.Fatal(err)
	}
}
