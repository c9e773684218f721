package upgradefixture_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/upgradefixture"
)

// Every fixture, on both stores, opened by this build's gateway: it
// migrates the store at start, then answers every question the writing
// build answered with the same answer (fields added since are allowed),
// and each key authenticates as it did.
func TestUpgradeFromFixtures(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures under testdata (%v): run make upgrade-fixture NAME=...", err)
	}
	for _, dir := range dirs {
		for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
			t.Run(filepath.Base(dir)+"/"+driver, func(t *testing.T) {
				exp, err := upgradefixture.Load(dir, driver)
				if err != nil {
					t.Fatal(err)
				}
				storage := restore(t, dir, driver)
				g := start(t, storage)
				if len(exp.Answers) == 0 || len(exp.Keys) == 0 {
					t.Fatal("the fixture records no answers or no keys")
				}
				for _, a := range exp.Answers {
					status, body := g.get(t, a.Token, a.Path)
					if status != a.Status {
						t.Errorf("GET %s: %d %s, want %d", a.Path, status, body, a.Status)
						continue
					}
					var want, got any
					if err := json.Unmarshal(a.Body, &want); err != nil {
						t.Fatal(err)
					}
					forgetAskersLastUse(want)
					if err := json.Unmarshal(body, &got); err != nil {
						t.Fatalf("GET %s: %v", a.Path, err)
					}
					if err := contains(want, got, ""); err != nil {
						t.Errorf("GET %s after the upgrade: %v", a.Path, err)
					}
				}
				// After the comparison: these calls add traces and touch keys.
				for _, k := range exp.Keys {
					if status := g.chat(t, k.Token); status != k.Status {
						t.Errorf("key %s: a call with it answers %d, want %d as before the upgrade", k.Name, status, k.Status)
					}
				}
			})
		}
	}
}

// restore puts the fixture's store where this test owns it.
func restore(t *testing.T, dir, driver string) config.Storage {
	t.Helper()
	if driver == config.DriverSQLite {
		b, err := os.ReadFile(filepath.Join(dir, "sqlite.db"))
		if err != nil {
			t.Fatal(err)
		}
		path := testdb.SQLitePath(t)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return config.Storage{Driver: driver, Path: path}
	}
	sql, err := os.ReadFile(filepath.Join(dir, "postgres.sql"))
	if err != nil {
		t.Fatal(err)
	}
	dsn := testdb.EmptyPostgresDSN(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// No arguments: the simple protocol runs the whole file.
	if _, err := conn.Exec(t.Context(), string(sql)); err != nil {
		t.Fatalf("restore %s/postgres.sql: %v", dir, err)
	}
	return config.Storage{Driver: driver, DSN: dsn}
}

type gateway struct{ base string }

func start(t *testing.T, storage config.Storage) *gateway {
	t.Helper()
	fake := fakeupstream.New(fakeupstream.Options{})
	upstream := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); upstream.Close() })
	cfg := upgradefixture.Config(storage, upstream.URL, "http://127.0.0.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatalf("the gateway refused the fixture's store: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return &gateway{base: "http://" + ln.Addr().String()}
}

func (g *gateway) do(t *testing.T, req *http.Request, token string) (int, []byte) {
	t.Helper()
	req.Header.Set("X-OngoingAI-Gateway-Key", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (g *gateway) get(t *testing.T, token, path string) (int, []byte) {
	req, err := http.NewRequest(http.MethodGet, g.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g.do(t, req, token)
}

func (g *gateway) chat(t *testing.T, token string) int {
	req, err := http.NewRequest(http.MethodPost, g.base+"/openai/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-fixture-not-a-real-key")
	status, _ := g.do(t, req, token)
	return status
}

// forgetAskersLastUse drops last_used_at from the config keys in a key
// listing: the questions are asked with those keys, which touches them.
func forgetAskersLastUse(body any) {
	page, ok := body.(map[string]any)
	if !ok {
		return
	}
	items, _ := page["items"].([]any)
	for _, it := range items {
		if k, ok := it.(map[string]any); ok && k["static"] == true {
			delete(k, "last_used_at")
		}
	}
}

// contains reports where got differs from want, ignoring object members
// want does not have (fields a later release added).
func contains(want, got any, at string) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", at, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", at, k)
			}
			if err := contains(wv, gv, at+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %d elements", at, got, len(w))
		}
		for i := range w {
			if err := contains(w[i], g[i], fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Errorf("%s: got %v, want %v", at, got, want)
		}
		return nil
	}
}
