package testdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/testdb"
)

// TestClusterStopFreezeThaw proves the cluster does what fault tests rely
// on: it answers, refuses connections when stopped, hangs when frozen, and
// recovers from both.
func TestClusterStopFreezeThaw(t *testing.T) {
	c := testdb.StartCluster(t)
	dsn := c.DSN()
	ping := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		return conn.Ping(ctx)
	}
	if err := ping(10 * time.Second); err != nil {
		t.Fatalf("fresh cluster: %v", err)
	}

	c.Stop()
	if err := ping(5 * time.Second); err == nil {
		t.Fatal("stopped cluster answered")
	}
	c.Start()
	if err := ping(10 * time.Second); err != nil {
		t.Fatalf("restarted cluster: %v", err)
	}

	c.Freeze()
	err := ping(300 * time.Millisecond)
	if err == nil {
		t.Fatal("frozen cluster answered")
	}
	c.Thaw()
	if err := ping(10 * time.Second); err != nil {
		t.Fatalf("thawed cluster: %v", err)
	}
}
