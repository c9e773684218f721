package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// gatewayKeys is the gateway-key machinery of one App: the key cache and
// the Authorizer it feeds, the last-used tracker, the audit log, the
// request guard and the management service, plus the background loops
// that keep the cache fresh and flush last-used times.
type gatewayKeys struct {
	auth    *keyauth.Authenticator
	service *tenancy.Service
	cache   *keyauth.KeyCache
	usage   *keyauth.UsageTracker
	audit   *auditlog.Log
	log     *slog.Logger
	stop    context.CancelFunc
	done    chan struct{}
}

// startGatewayKeys syncs the config's static keys into the store, loads
// every key into memory and starts the background loops. Startup fails
// rather than serve with keys it could not load.
func startGatewayKeys(ctx context.Context, cfg config.Auth, ts store.Store, logger *slog.Logger) (*gatewayKeys, error) {
	static := make([]tenancy.StaticKey, 0, len(cfg.Keys))
	for _, k := range cfg.Keys {
		static = append(static, tenancy.StaticKey{
			ID: k.ID, Token: k.Token, OrgID: k.OrgID, WorkspaceID: k.WorkspaceID, Role: k.Role, Permissions: k.Permissions,
		})
		if len(k.Token) < 32 {
			logger.Warn("static gateway key has a short token; use `ongoingai keys create` or at least 32 random characters", "key_id", k.ID)
		}
	}
	keys, err := tenancy.StaticKeys(static, time.Now())
	if err != nil {
		return nil, err
	}
	if err := ts.SyncStaticKeys(ctx, keys); err != nil {
		return nil, fmt.Errorf("auth.keys: storing static keys: %w", err)
	}

	authz, err := rbac.New()
	if err != nil {
		return nil, err
	}
	g := &gatewayKeys{
		cache: keyauth.NewKeyCache(ts, authz, keyauth.CacheOptions{Logger: logger}),
		usage: keyauth.NewUsageTracker(ts, 0, logger),
		audit: auditlog.New(ts, auditlog.Options{Logger: logger}),
		log:   logger,
		done:  make(chan struct{}),
	}
	if err := g.cache.Reload(ctx); err != nil {
		g.audit.Close(ctx)
		return nil, fmt.Errorf("loading gateway keys: %w", err)
	}
	g.auth = keyauth.NewAuthenticator(keyauth.Options{
		Enabled: cfg.Enabled, Header: cfg.Header,
		Cache: g.cache, Authorizer: authz, Usage: g.usage, Audit: g.audit,
	})
	g.service = tenancy.NewService(tenancy.ServiceOptions{
		Store: ts, AuditReader: ts, Authorizer: authz, Cache: g.cache, Usage: g.usage, Auditor: g.audit, Logger: logger,
	})

	bg, stop := context.WithCancel(context.Background())
	g.stop = stop
	go func() {
		defer close(g.done)
		usageDone := make(chan struct{})
		go func() { defer close(usageDone); g.usage.Run(bg) }()
		g.cache.Run(bg)
		<-usageDone
	}()
	return g, nil
}

// close stops the background loops, then writes the last last-used times
// and the queued audit events. It runs after the server stopped taking
// requests and before the store closes.
func (g *gatewayKeys) close(ctx context.Context) error {
	g.stop()
	<-g.done
	uerr := g.usage.Flush(ctx)
	aerr := g.audit.Close(ctx)
	if s := g.audit.Stats(); s.Dropped > 0 || s.Lost > 0 {
		// Never silent: an operator reading the audit log must know it has gaps.
		g.log.Warn("audit events were not stored", "dropped_total", s.Dropped, "lost_total", s.Lost)
	}
	return errors.Join(uerr, aerr)
}

// identity tells the proxy who made a call, for its trace.
func identity(r *http.Request) proxy.Identity {
	id, ok := keyauth.IdentityFrom(r.Context())
	if !ok {
		return proxy.Identity{}
	}
	return proxy.Identity{OrgID: id.OrgID, WorkspaceID: id.WorkspaceID, GatewayKeyID: id.KeyID}
}

// OpenKeyService opens the configured store for the CLI's key commands: a
// tenancy.Service on the store directly, acting as the operator (see
// tenancy.OperatorActor). Gateways on the same store, Postgres or SQLite
// file, see the CLI's changes within a second (store.Tenancy.WatchKeys).
// close writes the audit events and closes the store.
func OpenKeyService(ctx context.Context, cfg config.Config) (svc *tenancy.Service, close func(context.Context) error, err error) {
	st, err := opener.Open(ctx, cfg.Storage)
	if err != nil {
		return nil, nil, err
	}
	audit := auditlog.New(st, auditlog.Options{})
	svc = tenancy.NewService(tenancy.ServiceOptions{Store: st, AuditReader: st, Auditor: audit})
	return svc, func(ctx context.Context) error {
		return errors.Join(audit.Close(ctx), st.Close())
	}, nil
}
