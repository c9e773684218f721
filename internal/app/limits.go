package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
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

// OpenLimitsService opens the configured store for the CLI's limits
// commands: the operator's tenancy.Service (targets and audit) and a
// limits.Manager whose "used" figures are every gateway's totals as last
// written to the store (within a second of the calls). Running gateways
// load overrides set here within a second (limits.DefaultSyncInterval).
func OpenLimitsService(ctx context.Context, cfg config.Config) (*tenancy.Service, *limits.Manager, func(context.Context) error, error) {
	st, err := opener.Open(ctx, cfg.Storage)
	if err != nil {
		return nil, nil, nil, err
	}
	l := limits.New(cfg.Limits)
	if err := limits.NewSyncer(l, st, limits.SyncOptions{}).Sync(ctx); err != nil {
		st.Close()
		return nil, nil, nil, fmt.Errorf("limits: reading counters and overrides: %w", err)
	}
	audit := auditlog.New(st, auditlog.Options{})
	svc := tenancy.NewService(tenancy.ServiceOptions{Store: st, AuditReader: st, Auditor: audit})
	return svc, limits.NewManager(l, st), func(ctx context.Context) error {
		return errors.Join(audit.Close(ctx), st.Close())
	}, nil
}
