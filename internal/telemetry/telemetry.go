// Package telemetry owns the gateway's observability: OpenTelemetry traces
// and metrics exported over OTLP/HTTP, the Prometheus text exposition, the
// structured logger, and the middleware that gives every request an id, a
// server span and one access log line.
//
// Telemetry sits beside the request path, never in it. Spans leave through
// a batch span processor and metrics through a periodic reader, so a slow
// or dead collector drops data instead of slowing the proxy; with every
// signal off the providers are no-ops and the middleware does little more
// than write the access line. Metric labels are bounded on purpose: models
// outside the price catalog are reported as "other", and no key id, tenant
// id or raw path ever becomes a label (they go on spans, which are sampled
// and not aggregated).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	oteltrace "go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/pricing"
)

// ScopeName is the instrumentation scope of every span and metric the
// gateway produces.
const ScopeName = "github.com/ongoingai/gateway"

// Options carries what Telemetry needs beyond the observability settings.
type Options struct {
	// Version is reported as service.version.
	Version string
	// Logger receives the access log and exporter errors; nil discards.
	Logger *slog.Logger
	// Providers are the configured upstreams (config.Config.Providers).
	// Their prefixes classify requests that never reach the proxy (an auth
	// rejection is still a proxy request of that provider), and their
	// upstream URLs give client spans and metrics their server.address.
	Providers map[string]config.Provider
	// Prices bounds the model label of metrics: a model the catalog does
	// not resolve is reported as "other". Nil means pricing.Default().
	Prices *pricing.Catalog
}

// Telemetry is the gateway's observability: create one with New, wrap the
// router with Middleware, give it to the proxy as its CallObserver, and
// call Shutdown last. It is safe for concurrent use.
type Telemetry struct {
	cfg    config.Observability
	log    *slog.Logger
	prices *pricing.Catalog

	prefixes  []providerPrefix // longest first, so nested prefixes resolve to the deepest
	upstreams map[string]serverAddr

	// tracing is false when spans are not recorded at all; the propagator
	// still reads an incoming traceparent so that logs carry the caller's
	// trace id.
	tracing    bool
	tracer     oteltrace.Tracer
	tp         *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator

	// metrics is false when no reader exists; instruments are then no-ops
	// and the hot path skips building their attributes.
	metrics    bool
	meter      metric.Meter
	mp         *sdkmetric.MeterProvider
	promReader *sdkmetric.ManualReader
	inst       instruments

	shutdownOnce sync.Once
	shutdownErr  error
}

type providerPrefix struct {
	prefix, name string
}

// serverAddr is an upstream's host and port, for server.address and
// server.port.
type serverAddr struct {
	host string
	port int
}

// New builds the telemetry described by cfg. OTLP exporters are created
// but never dialled here: a collector that is down at start-up costs
// nothing but dropped telemetry. ctx bounds only the construction.
func New(ctx context.Context, cfg config.Observability, opts Options) (*Telemetry, error) {
	t := &Telemetry{
		cfg:        cfg,
		log:        opts.Logger,
		prices:     opts.Prices,
		upstreams:  map[string]serverAddr{},
		propagator: propagation.TraceContext{},
		tracer:     tracenoop.NewTracerProvider().Tracer(ScopeName),
		meter:      metricnoop.NewMeterProvider().Meter(ScopeName),
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.prices == nil {
		t.prices = pricing.Default()
	}
	for name, p := range opts.Providers {
		t.prefixes = append(t.prefixes, providerPrefix{prefix: strings.TrimSuffix(p.Prefix, "/"), name: name})
		if u, err := url.Parse(p.Upstream); err == nil && u.Host != "" {
			t.upstreams[name] = hostPort(u)
		}
	}
	slices.SortFunc(t.prefixes, func(a, b providerPrefix) int { return len(b.prefix) - len(a.prefix) })

	o := cfg.OTel
	wantTraces := o.Enabled && o.TracesEnabled
	wantOTLPMetrics := o.Enabled && o.MetricsEnabled
	if !wantTraces && !wantOTLPMetrics && !cfg.Prometheus.Enabled {
		t.inst = newInstruments(t.meter)
		return t, nil
	}

	res, err := newResource(ctx, o.ServiceName, opts.Version)
	if err != nil {
		return nil, err
	}
	if wantTraces {
		exp, err := otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(signalURL(o.EndpointURL(), "v1/traces")),
			otlptracehttp.WithHeaders(o.Headers),
			otlptracehttp.WithTimeout(exportTimeout(o)),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		)
		if err != nil {
			return nil, fmt.Errorf("observability.otel: trace exporter: %w", err)
		}
		t.tp = sdktrace.NewTracerProvider(
			// The batcher's queue is bounded and never blocks Span.End:
			// when the collector cannot keep up, spans are dropped.
			sdktrace.WithBatcher(exp),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SamplingRatio))),
			sdktrace.WithResource(res),
		)
		t.tracer = t.tp.Tracer(ScopeName, oteltrace.WithInstrumentationVersion(opts.Version))
		t.tracing = true
	}

	var readers []sdkmetric.Option
	if wantOTLPMetrics {
		exp, err := otlpmetrichttp.New(ctx,
			otlpmetrichttp.WithEndpointURL(signalURL(o.EndpointURL(), "v1/metrics")),
			otlpmetrichttp.WithHeaders(o.Headers),
			otlpmetrichttp.WithTimeout(exportTimeout(o)),
			otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression),
		)
		if err != nil {
			t.shutdownProviders(ctx)
			return nil, fmt.Errorf("observability.otel: metric exporter: %w", err)
		}
		var ropts []sdkmetric.PeriodicReaderOption
		if o.ExportInterval > 0 {
			ropts = append(ropts, sdkmetric.WithInterval(o.ExportInterval))
		}
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, ropts...)))
	}
	if cfg.Prometheus.Enabled {
		// A manual reader collects only when scraped, so Prometheus costs
		// nothing between scrapes and shares the instruments with OTLP.
		t.promReader = sdkmetric.NewManualReader()
		readers = append(readers, sdkmetric.WithReader(t.promReader))
	}
	if len(readers) > 0 {
		t.mp = sdkmetric.NewMeterProvider(append(readers, sdkmetric.WithResource(res))...)
		t.meter = t.mp.Meter(ScopeName, metric.WithInstrumentationVersion(opts.Version))
		t.metrics = true
	}
	t.inst = newInstruments(t.meter)

	if t.tp != nil || wantOTLPMetrics {
		// Exporters report failures through OTel's process-wide handler;
		// routing it to our logger keeps those lines structured and rate
		// limited instead of free text on stderr.
		otel.SetErrorHandler(newExportErrorHandler(t.log))
	}
	return t, nil
}

// newResource describes this process. OTEL_RESOURCE_ATTRIBUTES is honoured
// so operators can add deployment attributes without a config change.
func newResource(ctx context.Context, serviceName, version string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{semconv.ServiceName(serviceName)}
	if version != "" {
		attrs = append(attrs, semconv.ServiceVersion(version))
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(attrs...),
	)
	// A schema URL conflict between detectors still yields every
	// attribute; only a resource that could not be built at all is fatal.
	if err != nil && res == nil {
		return nil, fmt.Errorf("observability.otel: resource: %w", err)
	}
	return res, nil
}

// exportTimeout bounds each OTLP request; zero (a Config built in code
// without defaults) keeps the exporters' own 10 s.
func exportTimeout(o config.OTel) time.Duration {
	if d := o.ExportTimeout(); d > 0 {
		return d
	}
	return 10 * time.Second
}

// signalURL appends an OTLP signal path to the configured base URL, as the
// OTLP specification does for OTEL_EXPORTER_OTLP_ENDPOINT.
func signalURL(base, signal string) string {
	u, err := url.JoinPath(base, signal)
	if err != nil {
		return base // validation already rejected such endpoints
	}
	return u
}

func hostPort(u *url.URL) serverAddr {
	a := serverAddr{host: u.Hostname()}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		a.port = p
	} else if u.Scheme == "https" {
		a.port = 443
	} else if u.Scheme == "http" {
		a.port = 80
	}
	return a
}

// ForceFlush exports every finished span and the current metrics now. It
// is for tests and for tools that exit right after a request; the gateway
// itself relies on the batch processor and the periodic reader.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	var errs []error
	if t.tp != nil {
		errs = append(errs, t.tp.ForceFlush(ctx))
	}
	if t.mp != nil {
		errs = append(errs, t.mp.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown flushes what is buffered and stops the exporters, giving up
// when ctx ends. Call it after the HTTP server has drained, so the last
// requests' spans are exported. Later calls return the first result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() { t.shutdownErr = t.shutdownProviders(ctx) })
	return t.shutdownErr
}

func (t *Telemetry) shutdownProviders(ctx context.Context) error {
	var errs []error
	if t.tp != nil {
		if err := t.tp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: traces: %w", err))
		}
	}
	if t.mp != nil {
		if err := t.mp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("telemetry: metrics: %w", err))
		}
	}
	return errors.Join(errs...)
}

// exportErrorHandler logs exporter failures at most once per interval: a
// collector that is down would otherwise log on every export attempt.
type exportErrorHandler struct {
	log      *slog.Logger
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func newExportErrorHandler(log *slog.Logger) *exportErrorHandler {
	return &exportErrorHandler{log: log, interval: time.Minute}
}

// Handle implements otel.ErrorHandler.
func (h *exportErrorHandler) Handle(err error) {
	h.mu.Lock()
	now := time.Now()
	if !h.last.IsZero() && now.Sub(h.last) < h.interval {
		h.suppressed++
		h.mu.Unlock()
		return
	}
	suppressed := h.suppressed
	h.last, h.suppressed = now, 0
	h.mu.Unlock()
	h.log.Warn("telemetry export failed; data is dropped, requests are unaffected",
		"err", err, "suppressed_since_last", suppressed)
}

// isLoopback reports whether host (a name or an IP, without port) only
// reaches this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
