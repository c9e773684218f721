package load

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClosedLoopStopsAtRequestBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	c := NewClient(4)
	op := func(path string) Op {
		return func(ctx context.Context, _ int) (int, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
			resp, err := c.Do(req)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
	}
	res, err := Run(context.Background(), Options{Concurrency: 4, Requests: 50, Duration: time.Minute}, op("/"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed != 50 || res.Errors != 0 || res.Latency.Count() != 50 {
		t.Fatalf("completed %d errors %d samples %d, want 50/0/50", res.Completed, res.Errors, res.Latency.Count())
	}
	res, err = Run(context.Background(), Options{Concurrency: 2, Requests: 10, Duration: time.Minute}, op("/fail"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 10 || res.Status[http.StatusBadGateway] != 10 || res.Latency.Count() != 0 || res.FirstError == "" {
		t.Fatalf("errors %d status %v samples %d first %q", res.Errors, res.Status, res.Latency.Count(), res.FirstError)
	}
}

func TestFixedRateStopsAtTimeBound(t *testing.T) {
	calls := 0
	op := func(context.Context, int) (int, error) { calls++; return 200, nil }
	// One worker: calls never overlap, so the plain counter is safe.
	res, err := Run(context.Background(), Options{Concurrency: 1, Rate: 100, Requests: 1_000_000, Duration: 100 * time.Millisecond}, op)
	if err != nil {
		t.Fatal(err)
	}
	// The time bound, not the request bound, ended the run: at 100/s for
	// 100 ms at most ten calls are scheduled.
	if res.Completed == 0 || res.Completed > 10 || int64(calls) != res.Completed {
		t.Fatalf("completed %d (calls %d), want 1..10", res.Completed, calls)
	}
}

func TestRunRejectsUnboundedRuns(t *testing.T) {
	op := func(context.Context, int) (int, error) { return 200, nil }
	if _, err := Run(context.Background(), Options{Concurrency: 1, Requests: 10}, op); err == nil {
		t.Fatal("a run without a time bound must be refused")
	}
	if _, err := Run(context.Background(), Options{Concurrency: 1, Duration: time.Second}, op); err == nil {
		t.Fatal("a run without a request bound must be refused")
	}
}

func TestClientRefusesNonLoopback(t *testing.T) {
	c := NewClient(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://192.0.2.1:9/", nil)
	if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a loopback refusal", err)
	}
}

func TestReadEvents(t *testing.T) {
	body := "data: a\n\nevent: x\ndata: b\r\n\r\n: comment\n\ndata: [DONE]"
	var idx []int
	n, err := ReadEvents(bufio.NewReaderSize(strings.NewReader(body), 16), func(i int, _ time.Time) { idx = append(idx, i) })
	if err != nil || n != 4 || len(idx) != 4 {
		t.Fatalf("n=%d err=%v idx=%v, want 4 events", n, err, idx)
	}
}
