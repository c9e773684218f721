package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// syncBuffer is an io.Writer the gateway's goroutines and the test can
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// servedGateway is `ongoingai serve` running in-process until stop.
type servedGateway struct {
	base   string // http://127.0.0.1:PORT
	port   int
	stdout *syncBuffer // the banner
	stderr *syncBuffer
	stop   func() int // cancels the serve context, waits, returns the exit code
}

// startServe runs the serve command with env and args, in front of a fake
// OpenAI upstream, and waits until it answers.
func startServe(t *testing.T, env map[string]string, args ...string) *servedGateway {
	t.Helper()
	// serve sets the process's default logger; give the next test its own.
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })

	fake := httptest.NewServer(fakeupstream.New(fakeupstream.Options{}))
	t.Cleanup(fake.Close)
	port := freePort(t)
	full := map[string]string{
		"ONGOINGAI_HOST":               "127.0.0.1",
		"ONGOINGAI_PORT":               strconv.Itoa(port),
		"ONGOINGAI_STORAGE_PATH":       filepath.Join(t.TempDir(), "gw.db"),
		"ONGOINGAI_OPENAI_UPSTREAM":    fake.URL,
		"ONGOINGAI_ANTHROPIC_UPSTREAM": "http://" + closedAddr(t), // every call fails: a warning to log
	}
	for k, v := range env {
		full[k] = v
	}
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	c := &cli{
		stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
		getenv:  func(k string) (string, bool) { v, ok := full[k]; return v, ok },
		environ: func() []string { return []string{"PATH=" + os.Getenv("PATH")} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- runServe(ctx, c, args) }()
	var once sync.Once
	code := -1
	g := &servedGateway{
		base:   "http://127.0.0.1:" + strconv.Itoa(port),
		port:   port,
		stdout: stdout,
		stderr: stderr,
		stop: func() int {
			once.Do(func() { cancel(); code = <-exited })
			return code
		},
	}
	t.Cleanup(func() { g.stop() })

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(g.base + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited with %d before answering:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not up after 20s:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// call sends a chat completion through the gateway with headers.
func (g *servedGateway) call(t *testing.T, prefix string, headers map[string]string) *http.Response {
	t.Helper()
	path := "/openai/v1/chat/completions"
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	if prefix == "anthropic" {
		path = "/anthropic/v1/messages"
		body = `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	}
	req, err := http.NewRequest(http.MethodPost, g.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-test-not-a-real-key")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// jsonLines decodes every line of a JSON log; a line that is not JSON
// fails the test, since the whole stream is one format.
func jsonLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// lineWith is the first line whose field key equals value.
func lineWith(t *testing.T, lines []map[string]any, key, value string) map[string]any {
	t.Helper()
	for _, l := range lines {
		if l[key] == value {
			return l
		}
	}
	t.Fatalf("no log line with %s=%q among %d lines", key, value, len(lines))
	return nil
}

var hexID = regexp.MustCompile(`^[0-9a-f]+$`)

func isID(v any, n int) bool {
	s, ok := v.(string)
	return ok && len(s) == n && hexID.MatchString(s) && strings.Trim(s, "0") != ""
}

// serve logs through telemetry's logger: a line logged inside a request
// carries the request id and the ids of the span it was logged in (the
// caller's trace when a traceparent came in); a line logged outside any
// request carries none.
func TestServeLogsCarryTraceIDs(t *testing.T) {
	// A collector that accepts and discards, so that spans exist and
	// their export costs nothing.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	g := startServe(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL})

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	if resp := g.call(t, "openai", map[string]string{
		"X-Request-ID": "serve-log-1",
		"traceparent":  "00-" + callerTrace + "-" + callerSpan + "-01",
	}); resp.StatusCode != http.StatusOK {
		t.Fatalf("openai call: %d", resp.StatusCode)
	}
	if resp := g.call(t, "openai", map[string]string{"X-Request-ID": "serve-log-2"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("openai call: %d", resp.StatusCode)
	}
	if resp := g.call(t, "anthropic", map[string]string{"X-Request-ID": "serve-log-3"}); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("call to an unreachable upstream: %d, want 502", resp.StatusCode)
	}
	if code := g.stop(); code != exitOK {
		t.Fatalf("serve exited with %d:\n%s", code, g.stderr.String())
	}
	lines := jsonLines(t, g.stderr.String())

	// The caller's trace continues into the access line.
	access := lineWith(t, lines, "request_id", "serve-log-1")
	if access["trace_id"] != callerTrace || !isID(access["span_id"], 16) || access["span_id"] == callerSpan {
		t.Errorf("access line with a traceparent: trace_id %v span_id %v, want the caller's trace and the gateway's span", access["trace_id"], access["span_id"])
	}
	// The router is wrapped from outside, yet the matched pattern is known.
	if access["route"] != "/openai/*" {
		t.Errorf("access line route = %v, want /openai/*", access["route"])
	}
	// Without one, the gateway's own trace.
	access = lineWith(t, lines, "request_id", "serve-log-2")
	if !isID(access["trace_id"], 32) || access["trace_id"] == callerTrace || !isID(access["span_id"], 16) {
		t.Errorf("access line without a traceparent: trace_id %v span_id %v, want the gateway's own", access["trace_id"], access["span_id"])
	}
	// A warning the proxy logs mid-request (WarnContext) joins its trace.
	var warn, warnAccess map[string]any
	for _, l := range lines {
		if l["request_id"] == "serve-log-3" {
			if l["msg"] == "upstream request failed" {
				warn = l
			} else {
				warnAccess = l
			}
		}
	}
	if warn == nil || warnAccess == nil {
		t.Fatalf("no upstream warning and access line for serve-log-3:\n%s", g.stderr.String())
	}
	if warn["level"] != "WARN" || !isID(warn["trace_id"], 32) || warn["trace_id"] != warnAccess["trace_id"] {
		t.Errorf("upstream warning: level %v trace_id %v, want WARN in the request's trace %v", warn["level"], warn["trace_id"], warnAccess["trace_id"])
	}
	// Outside a request: no correlation ids.
	listening := lineWith(t, lines, "msg", "gateway listening")
	if _, ok := listening["trace_id"]; ok {
		t.Errorf("a line logged outside any request has a trace_id: %v", listening)
	}
}

// The configured level and format hold: at warn, in text, the access lines
// and start-up lines are gone and the proxy's warning is a text line that
// still carries its request and trace ids.
func TestServeLogLevelAndFormat(t *testing.T) {
	cfg := writeFile(t, "ongoingai.yaml", "observability:\n  log: {level: warn, format: text}\n")
	g := startServe(t, nil, "--config", cfg)
	g.call(t, "openai", map[string]string{"X-Request-ID": "quiet-1"})
	g.call(t, "anthropic", map[string]string{
		"X-Request-ID": "quiet-2",
		"traceparent":  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	})
	if code := g.stop(); code != exitOK {
		t.Fatalf("serve exited with %d:\n%s", code, g.stderr.String())
	}
	log := g.stderr.String()
	if strings.Contains(log, "quiet-1") || strings.Contains(log, "gateway listening") || strings.Contains(log, "level=INFO") {
		t.Errorf("info lines written at level warn:\n%s", log)
	}
	var warning string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "request_id=quiet-2") {
			if warning != "" {
				t.Errorf("more than one line for quiet-2 at level warn:\n%s", log)
			}
			warning = l
		}
	}
	// Tracing is off here, so the span id is the caller's: the line still
	// joins the caller's trace.
	for _, want := range []string{"level=WARN", `msg="upstream request failed"`, "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "span_id=00f067aa0ba902b7"} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning line lacks %s: %q\n%s", want, warning, log)
		}
	}
}

// The trace-pipeline diagnostics of a served gateway report write failures
// by class, every class present.
func TestServeDiagnosticsReportFailuresByClass(t *testing.T) {
	g := startServe(t, nil)
	resp, err := http.Get(g.base + "/api/diagnostics/trace-pipeline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		WriteFailures struct {
			Total   *int64           `json:"total"`
			ByClass map[string]int64 `json:"by_class"`
		} `json:"write_failures"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET trace-pipeline: %d, %v", resp.StatusCode, err)
	}
	for _, class := range []string{"timeout", "connection", "constraint", "other"} {
		if n, ok := body.WriteFailures.ByClass[class]; !ok || n != 0 {
			t.Errorf("by_class[%s] = %d (present %v), want 0 on a healthy gateway", class, n, ok)
		}
	}
	if body.WriteFailures.Total == nil {
		t.Error("write_failures.total missing")
	}
}
