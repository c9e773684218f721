package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/testdb"
)

// lockedBuffer collects log lines written from River's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// River's housekeeping (its migrations, "entering poll only mode" on
// SQLite, client start and stop, the minutely "Producer job counts") is
// debug, not info: at info a gateway logs only its own lines, the
// retention job's among them.
func TestRiverHousekeepingLogsAtDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			s := testdb.OpenSQLite(t)
			var buf lockedBuffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
			r, err := jobs.Start(t.Context(), s, jobs.Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			// The retention job runs at start and logs at info through the
			// gateway's own logger: wait for it, so River has been busy.
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(buf.String(), `"msg":"retention"`) {
				if time.Now().After(deadline) {
					t.Fatalf("no retention line within the deadline:\n%s", buf.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := r.Stop(stopCtx); err != nil {
				t.Fatal(err)
			}

			levels := map[string]string{} // message -> level
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var rec struct{ Level, Msg string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				levels[rec.Msg] = rec.Level
			}
			if levels["retention"] != "INFO" {
				t.Errorf("retention logged at %q, want INFO", levels["retention"])
			}
			river := []string{"Driver does not support listener; entering poll only mode", "River client started", "River client stopped"}
			for _, msg := range river {
				got, ok := levels[msg]
				switch {
				case level == slog.LevelInfo && ok:
					t.Errorf("%q logged at %s with the level at info", msg, got)
				case level == slog.LevelDebug && got != "DEBUG":
					t.Errorf("%q logged at %q, want DEBUG", msg, got)
				}
			}
			migrations := 0
			for msg, lvl := range levels {
				if strings.Contains(msg, "Applied migration") {
					migrations++
					if lvl != "DEBUG" {
						t.Errorf("%q at %s", msg, lvl)
					}
				}
			}
			if (level == slog.LevelDebug) != (migrations > 0) {
				t.Errorf("River migration lines: %d at level %s", migrations, level)
			}
		})
	}
}
