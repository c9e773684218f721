package harness

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the gateway and relay processes
// the harness starts (the "self" launcher), as the bench command does.
func TestMain(m *testing.M) {
	if code, ran := RunRole(); ran {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// tinyScale is far smaller than QuickScale: the test only proves that
// every scenario runs end to end and reports; its figures mean nothing.
func tinyScale() Scale {
	return Scale{
		LatencyRounds:      1,
		LatencyRound:       100 * time.Millisecond,
		LatencyRequests:    100,
		FixedRate:          200,
		ThroughputRounds:   1,
		ThroughputRound:    100 * time.Millisecond,
		Streams:            5,
		StreamEvents:       4,
		StreamInterval:     5 * time.Millisecond,
		LargeBytes:         256 << 10,
		IngestWindow:       100 * time.Millisecond,
		FootprintMinTraces: 50,
		ProfileWindow:      time.Second,
		ProfileStreams:     5,
	}
}

func TestTinyRunProducesReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes and databases")
	}
	drivers := []string{"sqlite", "postgres"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log strings.Builder
	rep, err := Run(ctx, Options{
		Drivers: drivers,
		Scale:   tinyScale(),
		Gateway: "self",
		Command: "go test ./internal/harness",
		Log:     &log,
	})
	if err != nil {
		t.Fatalf("run failed: %v\nlog:\n%s", err, log.String())
	}
	if f := rep.Failures(); len(f) > 0 {
		t.Fatalf("parts of the run failed: %v\nlog:\n%s", f, log.String())
	}

	md := rep.Markdown()
	for _, want := range []string{
		GeneratedStart, GeneratedEnd, "# Gateway benchmark results", "**Machine:**", "**Commit:**", "**Reproduce:** `go test ./internal/harness`",
		"## Targets", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## Profile of the hot path", "## Scale of this run",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every scenario reports per driver, and the harness's own accounting
	// holds: each call the gateway answered is a stored row. (Whether
	// the performance targets are met is the report's business, not the
	// test's.)
	seen := map[string]map[string]bool{}
	for _, c := range rep.Checks() {
		if seen[c.Scenario] == nil {
			seen[c.Scenario] = map[string]bool{}
		}
		seen[c.Scenario][c.Driver] = true
		if strings.HasPrefix(c.What, "rows stored = calls answered") && !c.Met {
			t.Errorf("%s: stored rows differ from answered calls: %s", c.Driver, c.Got)
		}
		if strings.HasPrefix(c.What, "requests in the rollups = rows stored") && !c.Met {
			t.Errorf("%s: the rollups do not count every stored trace: %s", c.Driver, c.Got)
		}
	}
	for _, sc := range []string{"1", "2", "3", "4", "5", "6"} {
		for _, d := range drivers {
			if !seen[sc][d] {
				t.Errorf("scenario %s has no result for %s", sc, d)
			}
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", md)
	}
}
