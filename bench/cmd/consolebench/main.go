// Command consolebench measures the operator console's pages over a store
// seeded by bench/cmd/seed, through the real handler chain (app.New on the
// same store, serving on loopback), as a browser asks for them: once with
// auth off (every tenant, read-only) and once signed in with an owner key
// of the org acme (its whole org). It reports p50, p95 and max server
// round-trip time and the page size per page.
//
//	go run ./cmd/consolebench -driver sqlite -dsn /tmp/scale.db
//	go run ./cmd/consolebench -driver postgres -dsn postgres://postgres@127.0.0.1:5432/ongoingai_scale
//
// The pages: Overview (today and 7 days from the rollups), Traces (first
// page, a filtered page, the 20th page by keyset, one trace's detail),
// Analytics (the default 7 days, and 30 days grouped by model), Keys,
// Workspaces and the Audit log. Calls are interleaved, round by round in a
// shuffled order, so a burst of load from other work hits every page alike.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ongoingai/gateway/bench/internal/harness"
	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
)

// ownerToken is the owner key of acme the auth-on gateway declares.
const ownerToken = "ogw_consolebench_owner_token_0123456789abc"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "consolebench:", err)
		os.Exit(1)
	}
}

// page is one console page and its measurements.
type page struct {
	scope, name, path string
	sample            []time.Duration
	bytes             int
}

func run() error {
	driver := flag.String("driver", "sqlite", "store: sqlite or postgres")
	dsn := flag.String("dsn", "", "Postgres DSN, or the SQLite file path")
	calls := flag.Int("calls", 100, "measured calls per page")
	warmup := flag.Int("warmup", 5, "unmeasured calls per page first")
	flag.Parse()
	if *dsn == "" {
		return errors.New("-dsn is required")
	}
	ctx := context.Background()
	fmt.Printf("consolebench: %s %s, %d calls per page after %d warm-up calls\n", *driver, *dsn, *calls, *warmup)
	fmt.Printf("consolebench: machine: %s\n", harness.DescribeMachine(ctx, *dsn, *driver == "postgres"))
	fmt.Printf("consolebench: load average at start %s\n", harness.LoadAverage())
	var results []*page
	for _, auth := range []bool{false, true} {
		ps, err := measureGateway(ctx, *driver, *dsn, auth, *calls, *warmup)
		if err != nil {
			return err
		}
		results = append(results, ps...)
	}
	fmt.Printf("consolebench: load average at end %s\n\n", harness.LoadAverage())
	fmt.Println("| scope | page | p50 | p95 | max | bytes |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, p := range results {
		s := slices.Clone(p.sample)
		slices.Sort(s)
		fmt.Printf("| %s | %s | %s | %s | %s | %d |\n", p.scope, p.name, fmtDur(quantile(s, 0.5)), fmtDur(quantile(s, 0.95)), fmtDur(s[len(s)-1]), p.bytes)
	}
	return nil
}

var (
	traceLink = regexp.MustCompile(`href="(/console/traces/[^"]+)"`)
	nextLink  = regexp.MustCompile(`href="(/console/traces\?[^"]*cursor=[^"]+)"`)
)

// measureGateway starts a gateway on the store and measures every page.
// Retention is off so that starting it deletes nothing of the seeded data.
func measureGateway(ctx context.Context, driver, dsn string, auth bool, calls, warmup int) ([]*page, error) {
	cfg := config.Default()
	cfg.Storage.Driver = driver
	if driver == "postgres" {
		cfg.Storage.DSN = dsn
	} else {
		cfg.Storage.Path = dsn
	}
	cfg.Retention = config.Retention{}
	scope := "all tenants (auth off)"
	if auth {
		scope = "org acme (owner key)"
		cfg.Auth.Enabled = true
		cfg.Auth.Keys = []config.StaticKey{{ID: "consolebench-owner", Token: ownerToken, OrgID: "acme", WorkspaceID: "acme-prod", Role: "owner"}}
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		srv.Shutdown(ctx)
		a.Close(ctx)
	}()
	base := "http://" + ln.Addr().String()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if auth {
		resp, err := client.PostForm(base+"/console/login", url.Values{"gateway_key": {ownerToken}})
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("sign in: %s", resp.Status)
		}
	}
	get := func(ctx context.Context, path string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: %s", path, resp.Status)
		}
		return string(body), nil
	}

	// Find a trace, a deep page and a model to filter by, as a user
	// clicking through would.
	first, err := get(ctx, "/console/traces")
	if err != nil {
		return nil, err
	}
	m := traceLink.FindStringSubmatch(first)
	if m == nil {
		return nil, errors.New("the traces page lists no trace: is the store seeded?")
	}
	detail := m[1]
	deep, body := "", first
	for range 19 {
		n := nextLink.FindStringSubmatch(body)
		if n == nil {
			return nil, errors.New("fewer than 20 pages of traces")
		}
		deep = strings.ReplaceAll(n[1], "&amp;", "&")
		if body, err = get(ctx, deep); err != nil {
			return nil, err
		}
	}
	// The model of the newest trace: row cells are time, provider, model.
	model := regexp.MustCompile(`</a></td><td>[^<]*</td><td>([^<]+)</td>`).FindStringSubmatch(first)
	filtered := "/console/traces?status=200"
	if model != nil {
		filtered = "/console/traces?model=" + url.QueryEscape(model[1]) + "&status=200"
	}
	now := time.Now().UTC()
	month := "/console/analytics?group_by=model&from=" + now.AddDate(0, 0, -30).Format(time.DateOnly) + "&to=" + now.Format(time.DateOnly)

	pages := []*page{
		{name: "Overview", path: "/console"},
		{name: "Traces, first page", path: "/console/traces"},
		{name: "Traces, model and status filter", path: filtered},
		{name: "Traces, 20th page (keyset)", path: deep},
		{name: "Trace detail", path: detail},
		{name: "Analytics, 7 days", path: "/console/analytics"},
		{name: "Analytics, 30 days by model", path: month},
		{name: "Keys", path: "/console/keys"},
		{name: "Workspaces", path: "/console/workspaces"},
		{name: "Audit log", path: "/console/audit"},
	}
	for _, p := range pages {
		p.scope = scope
		for range warmup {
			if _, err := get(ctx, p.path); err != nil {
				return nil, err
			}
		}
	}
	for range calls {
		order := slices.Clone(pages)
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, p := range order {
			start := time.Now()
			b, err := get(ctx, p.path)
			if err != nil {
				return nil, err
			}
			p.sample = append(p.sample, time.Since(start))
			p.bytes = len(b)
		}
	}
	return pages, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
