// Command gen writes an upgrade fixture (see package upgradefixture) with
// the gateway it is built from: make upgrade-fixture NAME=v1.2.3.
//
// It needs a Postgres it may create a database in (-pg, default the local
// test server) and pg_dump on PATH.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/upgradefixture"
)

func main() {
	out := flag.String("out", "", "write the fixture to `DIR` (must not exist)")
	pg := flag.String("pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "a Postgres `DSN` allowed to create databases")
	flag.Parse()
	if *out == "" {
		log.Fatal("gen: -out is required")
	}
	if _, err := os.Stat(*out); err == nil {
		log.Fatalf("gen: %s exists: a fixture is never rewritten; give the new one a new name", *out)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "upgradefixture")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	// SQLite.
	path := filepath.Join(tmp, "gw.db")
	exp := write(ctx, config.Storage{Driver: config.DriverSQLite, Path: path})
	st, err := opener.Open(ctx, config.Storage{Driver: config.DriverSQLite, Path: path})
	must(err)
	must(st.Backup(ctx, filepath.Join(*out, "sqlite.db")))
	st.Close()
	save(filepath.Join(*out, "sqlite.json"), exp)

	// Postgres: a database of its own, dumped as plain SQL.
	name := fmt.Sprintf("ongoingai_fixture_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, *pg)
	must(err)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	must(err)
	defer func() {
		_, _ = admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		admin.Close(ctx)
	}()
	u, err := url.Parse(*pg)
	must(err)
	u.Path = "/" + name
	dsn := u.String()
	exp = write(ctx, config.Storage{Driver: config.DriverPostgres, DSN: dsn})
	dump := exec.Command("pg_dump", "--inserts", "--no-owner", "--no-privileges", "--no-comments", "--dbname="+dsn)
	dump.Stderr = os.Stderr
	sql, err := dump.Output()
	must(err)
	must(os.WriteFile(filepath.Join(*out, "postgres.sql"), plainSQL(sql), 0o644))
	save(filepath.Join(*out, "postgres.json"), exp)
	log.Printf("gen: fixture written to %s", *out)
}

// write runs a gateway on storage, creates tenants and keys, sends traffic
// of every kind, then restarts the gateway and records its answers (after
// the restart, so that what was flushed at shutdown is in them).
func write(ctx context.Context, storage config.Storage) upgradefixture.Expect {
	fake := fakeupstream.New(fakeupstream.Options{})
	upstream := httptest.NewServer(fake)
	defer upstream.Close()
	defer fake.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	deadURL := "http://" + dead.Addr().String()
	dead.Close() // nothing listens there: the upstream is unreachable

	cfg := upgradefixture.Config(storage, upstream.URL, deadURL)
	g := start(ctx, cfg)
	acme, globex := upgradefixture.AcmeOwnerToken, upgradefixture.GlobexOwnerToken
	g.do(acme, "POST", "/api/workspaces", `{"org_id":"acme","id":"research","name":"Research"}`, 201)
	active := issued(g.do(acme, "POST", "/api/gateway-keys", `{"workspace_id":"research","role":"developer","name":"active"}`, 201))
	rotated := issued(g.do(acme, "POST", "/api/gateway-keys", `{"workspace_id":"research","role":"developer","name":"rotated"}`, 201))
	revoked := issued(g.do(acme, "POST", "/api/gateway-keys", `{"workspace_id":"main","role":"member","name":"revoked"}`, 201))
	globexDev := issued(g.do(globex, "POST", "/api/gateway-keys", `{"workspace_id":"main","role":"developer","name":"globex-dev"}`, 201))

	// Traffic of every outcome, spread over the keys.
	chat := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`
	stream := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hello"}]}`
	claude := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}`
	claudeStream := `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}`
	g.proxy(active.Token, "/openai/v1/chat/completions", chat, nil, 200)
	g.proxy(active.Token, "/openai/v1/chat/completions", stream, nil, 200)
	g.proxy(active.Token, "/openai/v1/chat/completions", chat, map[string]string{fakeupstream.HeaderCachedTokens: "40", fakeupstream.HeaderReasoningTokens: "30"}, 200)
	g.proxy(active.Token, "/anthropic/v1/messages", claude, map[string]string{fakeupstream.HeaderCacheWriteTokens: "20"}, 200)
	g.proxy(active.Token, "/anthropic/v1/messages", claudeStream, nil, 200)
	g.proxy(active.Token, "/openai/v1/chat/completions", `{"model":"model-nobody-prices","messages":[{"role":"user","content":"hi"}]}`, nil, 200)
	g.proxy(rotated.Token, "/openai/v1/chat/completions", chat, map[string]string{fakeupstream.HeaderStatus: "429"}, 429)
	g.proxy(rotated.Token, "/anthropic/v1/messages", claude, map[string]string{fakeupstream.HeaderStatus: "500"}, 500)
	g.proxy(rotated.Token, "/openai/v1/chat/completions", stream, map[string]string{fakeupstream.HeaderResetAfter: "2"}, 200)
	g.proxy(revoked.Token, "/dead/v1/chat/completions", chat, nil, 502)
	g.proxy(revoked.Token, "/openai/v1/chat/completions", chat, nil, 200)
	g.proxy(globexDev.Token, "/openai/v1/chat/completions", chat, nil, 200)
	g.proxy(globexDev.Token, "/anthropic/v1/messages", claudeStream, nil, 200)
	g.cancelled(active.Token, "/openai/v1/chat/completions", stream)

	newRotated := issued(g.do(acme, "POST", "/api/gateway-keys/"+rotated.ID+"/rotate", `{"grace_period":"0s"}`, 200))
	g.do(acme, "DELETE", "/api/gateway-keys/"+revoked.ID, "", 200)

	var exp upgradefixture.Expect
	for _, k := range []struct {
		name, token string
	}{{"active", active.Token}, {"rotated (old token)", rotated.Token}, {"rotated (new token)", newRotated.Token}, {"revoked", revoked.Token}, {"globex-dev", globexDev.Token}} {
		status := g.proxy(k.token, "/openai/v1/chat/completions", chat, nil, 0)
		exp.Keys = append(exp.Keys, upgradefixture.KeyCheck{Name: k.name, Token: k.token, Status: status})
	}
	g.waitForTraces(acme, 14)
	g.waitForTraces(globex, 3)
	g.stop()

	// The answers, from a gateway restarted on the store as it rests.
	g = start(ctx, cfg)
	defer g.stop()
	from := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour).Format(time.RFC3339)
	to := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour).Format(time.RFC3339)
	window := "?from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)
	for _, token := range []string{acme, globex} {
		paths := []string{"/api/traces?limit=200", "/api/gateway-keys", "/api/workspaces"}
		for _, a := range []string{"summary", "models", "keys", "latency", "errors"} {
			paths = append(paths, "/api/analytics/"+a+window)
		}
		for _, a := range []string{"usage", "cost"} {
			paths = append(paths, "/api/analytics/"+a+window+"&bucket=hour", "/api/analytics/"+a+window+"&bucket=day")
		}
		for _, p := range paths {
			exp.Answers = append(exp.Answers, g.answer(token, p))
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		must(json.Unmarshal(exp.Answers[len(exp.Answers)-len(paths)].Body, &page))
		for _, tr := range page.Items {
			exp.Answers = append(exp.Answers, g.answer(token, "/api/traces/"+tr.ID))
		}
	}
	exp.Answers = append(exp.Answers, g.answer(acme, "/api/orgs"))
	exp.Schema, err = migrate.Latest(migrations.SQLite)
	must(err)
	return exp
}

type gw struct {
	base string
	cfg  config.Config
	stop func()
}

func start(ctx context.Context, cfg config.Config) *gw {
	ctx, cancel := context.WithCancel(ctx)
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	return &gw{base: "http://" + ln.Addr().String(), cfg: cfg, stop: func() { cancel(); must(<-done) }}
}

func (g *gw) request(token, method, path, body string, headers map[string]string) (int, []byte) {
	req, err := http.NewRequest(method, g.base+path, strings.NewReader(body))
	must(err)
	req.Header.Set("X-OngoingAI-Gateway-Key", token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-fixture-not-a-real-key")
	req.Header.Set("X-Api-Key", "sk-ant-fixture-not-a-real-key")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	must(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !strings.Contains(err.Error(), "unexpected EOF") {
		must(err)
	}
	return resp.StatusCode, b
}

func (g *gw) do(token, method, path, body string, want int) []byte {
	status, b := g.request(token, method, path, body, nil)
	if status != want {
		log.Fatalf("gen: %s %s: %d %s, want %d", method, path, status, b, want)
	}
	return b
}

// proxy sends a provider call; want 0 accepts any status.
func (g *gw) proxy(token, path, body string, headers map[string]string, want int) int {
	status, b := g.request(token, "POST", path, body, headers)
	if want != 0 && status != want {
		log.Fatalf("gen: POST %s: %d %s, want %d", path, status, b, want)
	}
	return status
}

// cancelled starts a stream the upstream holds open, then leaves.
func (g *gw) cancelled(token, path, body string) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", g.base+path, strings.NewReader(body))
	must(err)
	req.Header.Set("X-OngoingAI-Gateway-Key", token)
	req.Header.Set("Authorization", "Bearer sk-fixture-not-a-real-key")
	req.Header.Set(fakeupstream.HeaderHangAfter, "1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (g *gw) answer(token, path string) upgradefixture.Answer {
	status, b := g.request(token, "GET", path, "", nil)
	if status != 200 {
		log.Fatalf("gen: GET %s: %d %s", path, status, b)
	}
	return upgradefixture.Answer{Token: token, Path: path, Status: status, Body: json.RawMessage(b)}
}

// waitForTraces waits until the tenant's analytics count n requests:
// traces are stored and rolled up in the background.
func (g *gw) waitForTraces(token string, n int64) {
	from := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour).Format(time.RFC3339)
	to := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour).Format(time.RFC3339)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var s struct {
			TotalRequests int64 `json:"total_requests"`
		}
		_, b := g.request(token, "GET", "/api/analytics/summary?from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), "", nil)
		_ = json.Unmarshal(b, &s)
		if s.TotalRequests >= n {
			return
		}
		if time.Now().After(deadline) {
			log.Fatalf("gen: analytics count %d requests after 60s, want %d", s.TotalRequests, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type issuedKey struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

func issued(b []byte) issuedKey {
	var k issuedKey
	must(json.Unmarshal(b, &k))
	if k.ID == "" || k.Token == "" {
		log.Fatalf("gen: no key in %s", b)
	}
	return k
}

// plainSQL drops psql's meta-commands (recent pg_dump releases wrap the
// dump in \restrict ... \unrestrict), leaving SQL that any client can
// run in one simple-protocol call, as the upgrade test does.
func plainSQL(dump []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(dump), "\n") {
		if !strings.HasPrefix(line, "\\") {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

func save(path string, e upgradefixture.Expect) {
	b, err := json.MarshalIndent(e, "", "  ")
	must(err)
	must(os.WriteFile(path, append(b, '\n'), 0o644))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
