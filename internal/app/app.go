// Package app is the composition root: it builds the store, the trace
// writer, the gateway-key machinery (auth, key cache, audit log), the proxy
// and the router from a Config, serves until the context ends, then drains
// gracefully. Nothing depends on it but cmd and the
// end-to-end tests.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/console"
	"github.com/ongoingai/gateway/internal/health"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/pii"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/spool"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/telemetry"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/trace"
	"github.com/ongoingai/gateway/internal/version"
)

// App is one running gateway.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	store   store.Store
	writer  *trace.Writer
	keys    *gatewayKeys   // nil until built; closed before the store
	limits  *gatewayLimits // nil until built; closed before the store
	tel     *telemetry.Telemetry
	metrics *telemetry.MetricsServer // the optional loopback /metrics listener
	pprof   *pprofServer             // the optional loopback pprof listener (debug.pprof_addr)
	jobs    *jobs.Runner             // background jobs (River), rollups included
	probe   *health.Probe            // background store/writer checks behind /api/health
	routes  []api.Route
	handler http.Handler
	banner  io.Writer // where the startup banner goes; nil: none (see WithBanner)
	// stopSweep ends the console's session sweep; nil until started.
	stopSweep func()
	prices    *pricing.Live // the catalog calls are priced with; see ReloadPrices
}

// New builds the gateway: opens the store (applying migrations), starts the
// background jobs and the trace writer (whose batches they roll up), syncs
// the config's static keys and loads every gateway key into memory (see
// startGatewayKeys), and wires the router. Close releases what New
// started.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger.Info("opening store", "storage", cfg.Storage.Driver, "connect_timeout", cfg.Storage.ConnectTimeout.String())
	st, err := opener.Open(ctx, cfg.Storage)
	if err != nil {
		return nil, err
	}
	prices, err := LoadPrices(cfg.Pricing)
	if err != nil {
		st.Close()
		return nil, err
	}
	livePrices := pricing.NewLive(prices)
	// The jobs runner comes before the writer: the writer writes through
	// the runner's sink, which commits each batch with its rollup job.
	feat := cfg.Features
	runner, err := st.StartJobs(ctx, jobs.Options{
		Logger: logger, Retention: cfg.Retention,
		NoRetention: !feat.On(config.FeatureRetention),
		NoRollups:   !feat.On(config.FeatureAnalytics),
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("background jobs: %w", err)
	}
	traceSpool, err := openSpool(cfg.Tracing.Spool)
	if err != nil {
		runner.Stop(ctx)
		st.Close()
		return nil, err
	}
	writer := trace.NewWriter(runner.TraceSink(), trace.WriterOptions{
		Spool:         traceSpool, // nil when tracing.spool.dir is empty
		QueueSize:     cfg.Tracing.QueueSize,
		BatchSize:     cfg.Tracing.BatchSize,
		FlushInterval: cfg.Tracing.FlushInterval,
		Classify:      trace.ClassifierOf(st), // failures counted by cause (timeout, connection, constraint)
		Logger:        logger,
	})
	a := &App{cfg: cfg, log: logger, store: st, writer: writer, jobs: runner, prices: livePrices}
	a.probe = health.Start(health.Options{
		Ping: st.Ping, Stats: writer.Stats,
		Interval: cfg.Storage.HealthInterval, Timeout: cfg.Storage.ReadTimeout,
		Logger: logger,
	})
	if a.tel, err = telemetry.New(ctx, observability(cfg), telemetry.Options{
		Version: version.Version, Logger: logger, Providers: cfg.Providers, Prices: prices,
	}); err != nil {
		a.Close(ctx)
		return nil, fmt.Errorf("observability: %w", err)
	}
	if err := a.tel.ObserveWriter(writer.Stats); err != nil {
		a.Close(ctx)
		return nil, fmt.Errorf("observability: %w", err)
	}

	upstreams, err := buildUpstreams(cfg)
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	if a.keys, err = startGatewayKeys(ctx, cfg.Auth, st, logger); err != nil {
		a.Close(ctx)
		return nil, err
	}
	// Limits off: no limiter, so the proxy's limits hook returns at once
	// and the limits routes answer 404 (see disableFeatures).
	var limiter *limits.Limiter
	if feat.On(config.FeatureLimits) {
		if a.limits, err = startLimits(ctx, cfg.Limits, st, logger); err != nil {
			a.Close(ctx)
			return nil, err
		}
		limiter = a.limits.limiter
		if err := a.tel.ObserveLimitRefusals(limiter.Refusals); err != nil {
			a.Close(ctx)
			return nil, fmt.Errorf("observability: %w", err)
		}
	}
	var policy proxy.Policy
	var engine *pii.Engine
	if feat.On(config.FeaturePII) {
		if engine, err = piiPolicy(ctx, cfg, st, a.keys.audit); err != nil {
			a.Close(ctx)
			return nil, err
		}
	}
	if engine != nil {
		policy = engine
		err = a.tel.ObservePII(func() telemetry.PIIStats {
			s := engine.Stats()
			return telemetry.PIIStats{
				Redactions: s.Redactions, Blocked: s.Blocked,
				RequestFailures: s.Unevaluable, StorageFailures: writer.Stats().RedactionFailures,
			}
		})
		if err != nil {
			a.Close(ctx)
			return nil, fmt.Errorf("observability: %w", err)
		}
	}
	px := proxy.New(proxy.Options{
		Transport: proxy.NewTransport(proxy.TransportOptions{
			DialTimeout:           cfg.Proxy.DialTimeout,
			TLSHandshakeTimeout:   cfg.Proxy.TLSHandshakeTimeout,
			ResponseHeaderTimeout: cfg.Proxy.ResponseHeaderTimeout,
			IdleConnTimeout:       cfg.Proxy.IdleConnTimeout,
			MaxIdleConnsPerHost:   cfg.Proxy.MaxIdleConnsPerHost,
		}),
		MaxRequestBodyBytes: cfg.Proxy.MaxRequestBodyBytes,
		ReadBodyTimeout:     cfg.Server.ReadBodyTimeout,
		InjectStreamUsage:   cfg.ProxyInjectStreamUsage(),
		CaptureHeaderNames:  cfg.Tracing.CaptureHeaders,
		CaptureBodies:       cfg.Tracing.CaptureBodies,
		BodyMaxSize:         cfg.Tracing.BodyMaxSize,
		GatewayKeyHeader:    http.CanonicalHeaderKey(cfg.Auth.Header),
		GatewayTokenPrefix:  keyauth.TokenPrefix,
		Prices:              livePrices,
		Traces:              writer,
		Identity:            identity,
		Calls:               a.tel,
		Logger:              logger,
		Policy:              policy,
		Limits:              limiter,
	})
	apiHandlers := api.New(api.Deps{
		Store:           st,
		Version:         version.Version,
		Started:         time.Now(),
		QueueStats:      writer.Stats,
		Tenant:          a.keys.auth.Tenant,
		Tenancy:         a.keys.service,
		Actor:           tenancy.RequestActor,
		Health:          a.probe.Report,
		ReadTimeout:     cfg.Storage.ReadTimeout,
		ReadBodyTimeout: cfg.Server.ReadBodyTimeout,
		Limits:          limits.NewManager(limiter, st),
		Features:        feat.Enabled(),
	})
	consoleHandlers := console.New(console.Deps{
		Auth:          a.keys.auth,
		Tenancy:       a.keys.service,
		Sessions:      st,
		Store:         st,
		QueueStats:    writer.Stats,
		Audit:         a.keys.audit,
		SecureCookies: cfg.Console.SecureCookies,
		IdleTimeout:   cfg.Console.IdleTimeout,
		Lifetime:      cfg.Console.SessionLifetime,
		ReadTimeout:   cfg.Storage.ReadTimeout,
		Logger:        logger,
	})
	if feat.On(config.FeatureConsole) {
		sweepCtx, stopSweep := context.WithCancel(context.Background())
		sweepDone := make(chan struct{})
		go func() { defer close(sweepDone); consoleHandlers.SweepSessions(sweepCtx) }()
		a.stopSweep = func() { stopSweep(); <-sweepDone }
	}
	a.routes = append(apiHandlers.Routes(), featureRoutes(config.FeatureConsole, consoleHandlers.Routes())...)
	a.routes = append(a.routes, proxyRoutes(px, upstreams)...)
	if p := cfg.Observability.Prometheus; p.Enabled {
		if p.Listen == "" || !feat.On(config.FeaturePrometheus) {
			// installation:read: the metrics count every tenant's traffic.
			// With the feature off the path answers 404 (disableFeatures)
			// and no listener is opened.
			a.routes = append(a.routes, api.Route{Method: http.MethodGet, Pattern: p.Path, Resource: "installation", Action: "read", Feature: config.FeaturePrometheus, Handler: a.tel.MetricsHandler().ServeHTTP})
		} else if a.metrics, err = a.tel.StartMetricsServer(p.Listen); err != nil {
			a.Close(ctx)
			return nil, fmt.Errorf("observability.prometheus.listen: %w", err)
		}
	}
	if a.pprof, err = startPprof(cfg.Debug.PprofAddr, logger); err != nil {
		a.Close(ctx)
		return nil, fmt.Errorf("debug.pprof_addr: %w", err)
	}
	a.routes = disableFeatures(a.routes, feat)
	a.handler = a.tel.Middleware(bodyDeadline(cfg.Server.ReadBodyTimeout, newRouter(a.routes, a.keys.auth)))
	return a, nil
}

// Handler is the gateway's full handler chain.
func (a *App) Handler() http.Handler { return a.handler }

// Routes is the route table the handler was built from: the API's routes
// and the provider routes, each with the permission it requires.
func (a *App) Routes() []api.Route { return a.routes }

// Serve serves on ln until ctx ends, then stops accepting and lets
// in-flight requests finish for up to server.shutdown_timeout. Requests
// still running then (long streams, WebSocket sessions) are cut: their
// contexts end with cause proxy.ErrGatewayShutdown, so each is traced with
// outcome gateway_shutdown and what it delivered. Once the handlers have
// returned, the trace writer gets server.trace_drain_timeout of its own to
// store what is queued (what it cannot store is counted as lost_total and
// logged); then the store is closed.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	// The handlers' base context: cancelled only at the drain deadline,
	// never by ctx, so that a graceful stop lets requests finish.
	base, cut := context.WithCancelCause(context.Background())
	defer cut(nil)
	var inflight activeRequests
	srv := &http.Server{
		Handler:           inflight.track(a.handler),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	// Announced before serving (ln is bound already), so that whoever sees
	// the first answer has seen the banner.
	a.announce(ln.Addr())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	timeout := a.cfg.Server.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	drainTimeout := a.cfg.Server.TraceDrainTimeout
	if drainTimeout <= 0 {
		drainTimeout = 10 * time.Second
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a.log.Info("shutting down: draining in-flight requests and queued traces")
	// Shutdown waits for every ordinary request; hijacked connections
	// (WebSockets) are tracked by inflight alone, so wait for both.
	if shutdownErr := srv.Shutdown(drainCtx); shutdownErr != nil && !errors.Is(shutdownErr, context.DeadlineExceeded) && err == nil {
		err = fmt.Errorf("graceful shutdown: %w", shutdownErr)
	}
	if !inflight.wait(drainCtx) {
		a.log.Warn("shutdown_timeout reached: cutting requests still in flight", "requests", inflight.count(),
			"shutdown_timeout", timeout.String())
		cut(proxy.ErrGatewayShutdown)
		// Cut requests return promptly (their upstream calls end with the
		// context); the wait is bounded all the same, by the writer's own
		// drain time, so a stuck handler cannot hold shutdown forever.
		cutCtx, cancelCut := context.WithTimeout(context.Background(), drainTimeout)
		if !inflight.wait(cutCtx) {
			a.log.Error("requests still running after being cut; their traces will be counted as lost",
				"requests", inflight.count())
		}
		cancelCut()
	}
	srv.Close()
	// The other flushes (last-used times, audit events, jobs, telemetry)
	// get a fresh shutdown_timeout; the writer its trace_drain_timeout.
	closeCtx, cancelClose := context.WithTimeout(context.Background(), timeout)
	defer cancelClose()
	if closeErr := a.close(closeCtx, drainTimeout); closeErr != nil && err == nil {
		err = closeErr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// activeRequests counts the handlers running, hijacked ones included,
// which http.Server.Shutdown does not wait for.
type activeRequests struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero; nil while n is zero
}

func (a *activeRequests) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		if a.n == 0 {
			a.idle = make(chan struct{})
		}
		a.n++
		a.mu.Unlock()
		defer func() {
			a.mu.Lock()
			if a.n--; a.n == 0 {
				close(a.idle)
				a.idle = nil
			}
			a.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// wait returns true once no handler runs, false if ctx ends first.
func (a *activeRequests) wait(ctx context.Context) bool {
	for {
		a.mu.Lock()
		idle := a.idle
		a.mu.Unlock()
		if idle == nil {
			return true
		}
		select {
		case <-idle:
			// A request may have started since (a keep-alive
			// connection's next one, before Shutdown closed it): look
			// again.
		case <-ctx.Done():
			return false
		}
	}
}

func (a *activeRequests) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// Close flushes queued traces, last-used times and audit events, stops
// the background jobs and closes the store. The writer drains before the
// jobs runner stops, because it writes through the runner's sink; rollup
// jobs still queued then are worked at the next start, by this gateway or
// any replica. Traces not stored are counted and logged at error level.
func (a *App) Close(ctx context.Context) error { return a.close(ctx, 0) }

// close is Close; a positive traceDrain gives the trace writer that long
// of its own, from the moment it starts draining, instead of ctx: a store
// hanging the other flushes must not eat the writer's time (Serve).
func (a *App) close(ctx context.Context, traceDrain time.Duration) error {
	if a.probe != nil {
		a.probe.Stop()
	}
	if a.stopSweep != nil {
		a.stopSweep() // before the store closes
	}
	var kerr error
	if a.keys != nil {
		kerr = a.keys.close(ctx)
	}
	if a.limits != nil {
		if err := a.limits.close(ctx); err != nil {
			a.log.Warn("writing the last limit counters failed; up to a second of spend is not remembered", "err", err)
		}
	}
	wctx := ctx
	if traceDrain > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(context.Background(), traceDrain)
		defer cancel()
	}
	werr := a.writer.Close(wctx)
	s := a.writer.Stats()
	level := slog.LevelInfo
	if s.Lost > 0 || s.Dropped > 0 {
		level = slog.LevelError
	}
	a.log.Log(ctx, level, "trace writer drained", "written_total", s.Written, "dropped_total", s.Dropped, "lost_total", s.Lost)
	if err := a.jobs.Stop(ctx); err != nil {
		a.log.Warn("stopping background jobs", "err", err)
	}
	if a.metrics != nil {
		a.metrics.Shutdown(ctx)
	}
	a.pprof.shutdown(ctx)
	if a.tel != nil {
		if err := a.tel.Shutdown(ctx); err != nil {
			a.log.Warn("flushing telemetry", "err", err)
		}
	}
	serr := a.store.Close()
	if werr != nil {
		return fmt.Errorf("flushing traces: %w", werr)
	}
	if kerr != nil {
		return fmt.Errorf("flushing gateway key state: %w", kerr)
	}
	return serr
}

// Run serves the gateway on the configured address until ctx is cancelled
// (SIGINT/SIGTERM in the CLI), then drains and returns nil.
//
// The address is bound first: a port held by another process (often a
// gateway still running) fails the start at once, with an explanation,
// before the store is opened and background jobs are started for nothing.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) error {
	addr := cfg.Server.Addr()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return listenError(addr, err)
	}
	a, err := New(ctx, cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	for _, o := range opts {
		o(a)
	}
	// SIGHUP reloads the price catalog file, nothing else: every other
	// setting needs a restart.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go a.reloadPricesOn(reloadCtx, hup)
	return a.Serve(ctx, ln)
}

// openSpool opens the trace spool tracing.spool configures, or returns
// nil when it is off.
func openSpool(c config.TraceSpool) (*spool.Spool, error) {
	if c.Dir == "" {
		return nil, nil
	}
	sp, err := spool.Open(c.Dir, c.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("tracing.spool.dir: %w", err)
	}
	return sp, nil
}

func buildUpstreams(cfg config.Config) ([]*proxy.Upstream, error) {
	var out []*proxy.Upstream
	for _, np := range cfg.SortedProviders() {
		name, p := np.Name, np.Provider
		target, err := url.Parse(p.Upstream)
		if err != nil {
			return nil, fmt.Errorf("providers.%s.upstream: %w", name, err)
		}
		adapter, ok := providers.ForFormat(p.Format)
		if !ok {
			return nil, fmt.Errorf("providers.%s.format: unknown format %q", name, p.Format)
		}
		out = append(out, &proxy.Upstream{Name: name, Prefix: p.Prefix, Target: target, Adapter: adapter})
	}
	return out, nil
}

// LoadPrices builds the price catalog the configuration asks for: the
// embedded catalog, pricing.catalog_file merged over it, then
// pricing.overrides. Errors name the setting, the file and every invalid
// entry.
func LoadPrices(p config.Pricing) (*pricing.Catalog, error) {
	var file []byte
	if p.CatalogFile != "" {
		var err error
		if file, err = os.ReadFile(p.CatalogFile); err != nil {
			return nil, fmt.Errorf("pricing.catalog_file: %w", err)
		}
		if _, err := pricing.NewWithFile(file, nil); err != nil {
			return nil, fmt.Errorf("pricing.catalog_file %s: %w", p.CatalogFile, err)
		}
	}
	c, err := pricing.NewWithFile(file, priceOverrides(p))
	if err != nil {
		return nil, fmt.Errorf("pricing.overrides: %w", err)
	}
	return c, nil
}

// ReloadPrices reads pricing.catalog_file again and, when it is valid,
// prices every call from now on with it; an invalid file leaves the prices
// in use unchanged. The serve command calls it on SIGHUP.
func (a *App) ReloadPrices() error {
	c, err := LoadPrices(a.cfg.Pricing)
	if err != nil {
		a.log.Error("prices not reloaded; the previous ones stay in use", "err", err)
		return err
	}
	a.prices.Store(c)
	a.log.Info("prices reloaded", "pricing_version", c.Version(), "catalog_file", a.cfg.Pricing.CatalogFile)
	return nil
}

// reloadPricesOn calls ReloadPrices for every value received until ctx ends.
func (a *App) reloadPricesOn(ctx context.Context, signals <-chan os.Signal) {
	for {
		select {
		case <-signals:
			_ = a.ReloadPrices()
		case <-ctx.Done():
			return
		}
	}
}

func priceOverrides(p config.Pricing) map[string]pricing.Override {
	if len(p.Overrides) == 0 {
		return nil
	}
	out := make(map[string]pricing.Override, len(p.Overrides))
	for model, mp := range p.Overrides {
		out[model] = pricing.Override{Input: mp.Input, Output: mp.Output, CachedInput: mp.CachedInput, CacheWrite: mp.CacheWrite, Reasoning: mp.Reasoning}
	}
	return out
}

// piiPolicy builds the PII engine (pii.*), or nil when no request can be
// affected, so the default configuration adds nothing to the request path.
// Blocked requests are audited through audit (asynchronously).
func piiPolicy(ctx context.Context, cfg config.Config, st store.PIISalts, audit auditlog.Auditor) (*pii.Engine, error) {
	probe := pii.NewEngine(cfg, nil, nil)
	if !probe.Active() {
		return nil, nil
	}
	salt, err := pii.LoadSalt(ctx, cfg.PII.Replacement.HashSalt, st)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	return pii.NewEngine(cfg, salt, audit), nil
}
