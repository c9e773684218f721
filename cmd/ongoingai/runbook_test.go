package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/testdb"
)

// runbook returns the README's upgrade runbook: the shell block that takes
// the backup.
func runbook(t *testing.T) codeBlock {
	t.Helper()
	for _, b := range codeBlocks(readme(t)) {
		if b.lang == "sh" && strings.Contains(strings.Join(b.lines, "\n"), "ongoingai backup --out") {
			return b
		}
	}
	t.Fatal("no upgrade runbook (a sh block running ongoingai backup) in the README")
	return codeBlock{}
}

// The README's upgrade runbook, walked as written on both stores: a gateway
// serves and stores traffic, the backup is taken while it serves, then the
// checks, the restart and the three verifications, which must find the
// traffic from before and the same analytics totals.
func TestUpgradeRunbook(t *testing.T) {
	book := runbook(t)
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env := map[string]string{"ONGOINGAI_STORAGE_DRIVER": driver}
			if driver == config.DriverSQLite {
				env["ONGOINGAI_STORAGE_PATH"] = filepath.Join(t.TempDir(), "gw.db")
			} else {
				env["ONGOINGAI_STORAGE_DSN"] = testdb.PostgresDSN(t)
			}
			old := startServe(t, env)
			for range 3 {
				if resp := old.call(t, "openai", nil); resp.StatusCode != http.StatusOK {
					t.Fatalf("call through the gateway: %d", resp.StatusCode)
				}
			}
			before := waitForSummary(t, old.base, 3)
			serving := old
			dir := t.TempDir()

			for i, line := range book.lines {
				words, _ := shellWords(strings.TrimSpace(line))
				if len(words) == 0 {
					continue
				}
				at := book.line + i
				switch words[0] {
				case "ongoingai":
					args := words[1:]
					if args[0] == "serve" {
						// The restart: the old process stops, the new one
						// starts on the same store (on a port of its own:
						// the curls below go to wherever it listens).
						serving.stop()
						serving = startServe(t, env, args[1:]...)
						continue
					}
					for j, a := range args {
						if strings.HasSuffix(a, ".bak") {
							args[j] = filepath.Join(dir, a)
						}
					}
					r := runCLI(t, env, "", args...)
					if r.code != 0 {
						t.Fatalf("README.md:%d: ongoingai %s exited %d\n%s%s", at, strings.Join(args, " "), r.code, r.stdout, r.stderr)
					}
				case "curl":
					url := words[len(words)-1]
					path := url[strings.Index(url, "/"):]
					body := getOK(t, serving.base+path)
					switch {
					case strings.HasPrefix(path, "/api/health"):
						if !strings.Contains(body, `"status":"ok"`) {
							t.Errorf("README.md:%d: health = %s", at, body)
						}
					case strings.HasPrefix(path, "/api/traces"):
						var page struct {
							Items []json.RawMessage `json:"items"`
						}
						if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Items) != 3 {
							t.Errorf("README.md:%d: traces after the upgrade = %s", at, body)
						}
					case strings.HasPrefix(path, "/api/analytics/summary"):
						if after := summaryTotals(t, body); after != before {
							t.Errorf("README.md:%d: summary after the upgrade %+v, before %+v", at, after, before)
						}
					default:
						t.Fatalf("README.md:%d: the runbook curls %s, which this test does not check", at, path)
					}
				default:
					t.Fatalf("README.md:%d: the runbook runs %q, which this test does not know", at, words[0])
				}
			}
			if serving == old {
				t.Fatal("the runbook never restarted the gateway")
			}
		})
	}
}

func getOK(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// summaryTotals is a summary without its window (which moves with the
// clock).
func summaryTotals(t *testing.T, body string) analytics.Summary {
	t.Helper()
	var s analytics.Summary
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	s.Range = analytics.Range{}
	s.TopModel = nil // compared through the totals; a pointer never equals
	return s
}

// waitForSummary waits until the analytics count n requests (traces are
// written and rolled up in the background) and returns the totals.
func waitForSummary(t *testing.T, base string, n int64) analytics.Summary {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := summaryTotals(t, getOK(t, base+"/api/analytics/summary"))
		if s.TotalRequests == n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("analytics count %d requests after 30s, want %d", s.TotalRequests, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
