package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/store"
)

// gatewayLimits is the limiter of one App and the background loop that
// keeps it in step with the store (durable totals, other replicas' spend,
// overrides).
type gatewayLimits struct {
	limiter *limits.Limiter
	sync    *limits.Syncer
	stop    context.CancelFunc
	done    chan struct{}
}

// startLimits builds the limiter and syncs it once before the gateway
// serves, so that a restart starts from today's spend and the stored
// overrides; startup fails rather than serve without them.
func startLimits(ctx context.Context, cfg config.Limits, st store.Limits, logger *slog.Logger) (*gatewayLimits, error) {
	l := limits.New(cfg)
	s := limits.NewSyncer(l, st, limits.SyncOptions{Logger: logger})
	if err := s.Sync(ctx); err != nil {
		return nil, fmt.Errorf("limits: reading counters and overrides: %w", err)
	}
	bg, stop := context.WithCancel(context.Background())
	g := &gatewayLimits{limiter: l, sync: s, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		s.Run(bg)
	}()
	return g, nil
}

// close stops the loop and writes the last totals, once the server stopped
// taking requests and before the store closes.
func (g *gatewayLimits) close(ctx context.Context) error {
	g.stop()
	<-g.done
	return g.sync.Flush(ctx)
}
