package opener_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// TestJobListSeesTheRollupQueue proves DB.JobList reads River's jobs in the
// store's own database on both engines: a batch committed by the
// insert-only sink leaves one rollup job, available, and JobList finds it.
func TestJobListSeesTheRollupQueue(t *testing.T) {
	for _, cfg := range []config.Storage{
		{Driver: config.DriverPostgres, DSN: testdb.PostgresDSN(t)},
		{Driver: config.DriverSQLite, Path: testdb.SQLitePath(t)},
	} {
		t.Run(cfg.Driver, func(t *testing.T) {
			ctx := context.Background()
			db, err := opener.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			sink, err := db.NewInsertOnlySink(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			if err := sink.InsertTraces(ctx, []trace.Record{{ID: "t1", Timestamp: now, CreatedAt: now, Provider: "openai", Model: "m", ResponseStatus: 200}}); err != nil {
				t.Fatal(err)
			}
			res, err := db.JobList(ctx, river.NewJobListParams().Kinds(jobs.RollupArgs{}.Kind()))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Jobs) != 1 || res.Jobs[0].State != rivertype.JobStateAvailable {
				t.Fatalf("JobList found %d rollup jobs (%+v), want the one available job the batch committed", len(res.Jobs), res.Jobs)
			}
		})
	}
}
