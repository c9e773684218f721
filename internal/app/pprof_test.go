package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
)

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago (the config does not accept port 0).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPprofOnlyOnItsOwnListener: with debug.pprof_addr set, the profiles
// are served there, and the gateway's own listener still serves none of
// them, to anyone.
func TestPprofOnlyOnItsOwnListener(t *testing.T) {
	addr := freeLoopbackAddr(t)
	_, srv := newTestApp(t, config.DriverSQLite, func(c *config.Config) { c.Debug.PprofAddr = addr })

	status, body := get(t, "http://"+addr+"/debug/pprof/")
	if status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index on %s: %d %.200s", addr, status, body)
	}
	status, body = get(t, "http://"+addr+"/debug/pprof/goroutine?debug=1")
	if status != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.200s", status, body)
	}

	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		for _, token := range []string{"", roleToken("owner")} {
			status, body := get(t, srv.URL+path, "X-OngoingAI-Gateway-Key", token)
			if status == http.StatusOK || strings.Contains(body, "goroutine") || strings.Contains(body, "heap profile") {
				t.Errorf("main listener answers %s (token %v): %d %.200s", path, token != "", status, body)
			}
		}
	}
}

func TestPprofOffByDefault(t *testing.T) {
	a, _ := newTestApp(t, config.DriverSQLite)
	if a.pprof != nil {
		t.Fatalf("pprof listener started without debug.pprof_addr: %v", a.pprof.addr)
	}
}

func TestPprofShutdownClosesTheListener(t *testing.T) {
	s, err := startPprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addr := s.addr.String()
	if status, _ := get(t, "http://"+addr+"/debug/pprof/"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.shutdown(ctx)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("pprof listener still accepts connections after shutdown")
	}
	var none *pprofServer
	none.shutdown(ctx) // nil: nothing started, nothing to stop
}
