package telemetry

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/ongoingai/gateway/internal/trace"
)

// RequestIDHeader carries the request id in both directions. The
// middleware sets it on the incoming request too, so that handlers behind
// it (the proxy's trace record) read the id the client sees.
const RequestIDHeader = "X-Request-ID"

// UpstreamRequestIDHeader receives an upstream's own X-Request-ID (OpenAI
// sends one), which would otherwise sit beside the gateway's id as a second
// value of the same header. Provider support asks for that id, so it is
// kept rather than dropped.
const UpstreamRequestIDHeader = "X-Upstream-Request-ID"

// maxRequestIDLen bounds a client-supplied request id: it is logged and
// stored with every trace.
const maxRequestIDLen = 128

// ValidRequestID reports whether a client-supplied request id is accepted
// as is: 1 to 128 characters of [A-Za-z0-9._-]. The set covers UUIDs, ULIDs
// and the ids of common proxies and SDKs, and excludes anything that could
// break a log line or a header.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex: unique without coordination
// between replicas, and the same shape as a trace id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Route classes: the bounded vocabulary of the route_class metric label.
const (
	RouteClassProxy   = "proxy"
	RouteClassAPI     = "api"
	RouteClassConsole = "console"
	RouteClassMetrics = "metrics"
	RouteClassOther   = "other"
)

// exchange is what the middleware learns about one request while it runs.
// The call observer fills in the proxied call's outcome, so the access line
// and the request metrics can name the provider and model.
type exchange struct {
	requestID string
	provider  string
	call      *callSummary
}

// callSummary is the part of a trace record the access line reports. It is
// a copy, because the record itself belongs to the trace writer once the
// call ends.
type callSummary struct {
	model                     string
	inputTokens, outputTokens int64
	outcome                   trace.Outcome
	costUSD                   float64
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// Middleware wraps the whole router: it assigns the request id (see
// ValidRequestID), continues an incoming W3C traceparent with a server
// span, and when the response is complete records the request metrics and
// writes one access log line. Mount it as the router's first middleware
// (chi's r.Use), so the matched route pattern is known afterwards and
// rejections by later middleware (auth, policy) are logged too.
func (t *Telemetry) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !ValidRequestID(id) {
			id = newRequestID()
		}
		// Set even when valid: it drops any extra values, so every reader
		// of the header sees the one id.
		r.Header.Set(RequestIDHeader, id)
		w.Header().Set(RequestIDHeader, id)

		ex := &exchange{requestID: id}
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		var span oteltrace.Span
		if t.tracing {
			ctx, span = t.tracer.Start(ctx, r.Method,
				oteltrace.WithSpanKind(oteltrace.SpanKindServer),
				oteltrace.WithTimestamp(start),
				oteltrace.WithAttributes(serverSpanAttrs(r, id)...))
		}
		ctx = context.WithValue(ctx, exchangeKey{}, ex)
		// The route pattern is known only once chi has routed. When this
		// wraps the router from outside, no route context exists yet, so
		// make the one chi will use (a chi.Mux routes into a context it
		// finds rather than into one of its own) and read it afterwards.
		rctx := chi.RouteContext(r.Context())
		if rctx == nil {
			rctx = chi.NewRouteContext()
			ctx = context.WithValue(ctx, chi.RouteCtxKey, rctx)
		}
		rec := &responseRecorder{ResponseWriter: w, requestID: id}

		defer func() {
			p := recover()
			if p != nil && !rec.wroteHeader {
				// The server answers a panicking handler with a broken
				// connection; count it as what the client experienced.
				rec.status = http.StatusInternalServerError
			}
			t.finishRequest(ctx, r, rec, ex, rctx, span, start)
			if p != nil {
				panic(p) // http.ErrAbortHandler and friends keep their meaning
			}
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// finishRequest ends the server span and records the request's metrics and
// access line.
func (t *Telemetry) finishRequest(ctx context.Context, r *http.Request, rec *responseRecorder, ex *exchange, rctx *chi.Context, span oteltrace.Span, start time.Time) {
	elapsed := time.Since(start)
	status := rec.status
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	route := ""
	if rctx != nil {
		route = rctx.RoutePattern()
	}
	provider := ex.provider
	if provider == "" {
		provider = t.providerOf(r.URL.Path)
	}
	class := t.routeClass(r.URL.Path, provider)

	if span != nil && span.IsRecording() {
		if route != "" {
			span.SetName(r.Method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			// Server spans mark only 5xx as errors: a 4xx is the client's
			// mistake, not the gateway's failure.
			span.SetStatus(codes.Error, "")
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		}
	}
	if span != nil {
		span.End()
	}

	if t.metrics {
		providerLabel := provider
		if providerLabel == "" {
			providerLabel = "none"
		}
		attrs := metric.WithAttributeSet(attribute.NewSet(
			attribute.String("provider", providerLabel),
			attribute.String("route_class", class),
			attribute.String("status_class", statusClass(status)),
		))
		t.inst.requests.Add(ctx, 1, attrs)
		t.inst.requestDuration.Record(ctx, elapsed.Seconds(), attrs)
	}

	if !t.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.String("route_class", class),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
		slog.Int64("bytes", rec.bytes),
	)
	if provider != "" {
		attrs = append(attrs, slog.String("provider", provider))
	}
	if c := ex.call; c != nil {
		attrs = append(attrs,
			slog.String("model", c.model),
			slog.Int64("input_tokens", c.inputTokens),
			slog.Int64("output_tokens", c.outputTokens),
			slog.String("outcome", string(c.outcome)),
			slog.Float64("estimated_cost_usd", c.costUSD),
		)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, slog.String("remote", host))
	}
	// The logger's handler adds request_id, trace_id and span_id from ctx.
	t.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

// serverSpanAttrs are the HTTP server attributes known at arrival. Headers
// are deliberately absent: they carry credentials.
func serverSpanAttrs(r *http.Request, requestID string) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(r.Method),
		semconv.URLPath(r.URL.Path),
		semconv.URLScheme(scheme),
		AttrRequestID.String(requestID),
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	} else if r.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(r.Host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.ClientAddress(host))
	}
	return attrs
}

// providerOf returns the provider whose prefix covers path, segment-safe as
// the router mounts them (/openai never matches /openaiX).
func (t *Telemetry) providerOf(path string) string {
	for _, p := range t.prefixes {
		if strings.HasPrefix(path, p.prefix) && (len(path) == len(p.prefix) || path[len(p.prefix)] == '/') {
			return p.name
		}
	}
	return ""
}

func (t *Telemetry) routeClass(path, provider string) string {
	switch {
	case provider != "":
		return RouteClassProxy
	case path == "/api" || strings.HasPrefix(path, "/api/"):
		return RouteClassAPI
	case path == "/console" || strings.HasPrefix(path, "/console/"):
		return RouteClassConsole
	case t.cfg.Prometheus.Enabled && path == t.cfg.Prometheus.Path:
		return RouteClassMetrics
	}
	return RouteClassOther
}

func statusClass(status int) string {
	switch {
	case status < 200:
		return "1xx"
	case status < 300:
		return "2xx"
	case status < 400:
		return "3xx"
	case status < 500:
		return "4xx"
	}
	return "5xx"
}

// responseRecorder notes the status and size of a response. It reaches
// Flush and Hijack through Unwrap (http.ResponseController) and also
// implements them directly for code that type-asserts.
type responseRecorder struct {
	http.ResponseWriter
	requestID   string
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *responseRecorder) WriteHeader(code int) {
	// 1xx other than 101 are interim (103 Early Hints): the final status
	// is still to come.
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.sendHeader(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseRecorder) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.sendHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// sendHeader records the final status and settles the request id header
// just before the headers leave.
func (w *responseRecorder) sendHeader(code int) {
	w.wroteHeader, w.status = true, code
	h := w.ResponseWriter.Header()
	vals := h.Values(RequestIDHeader)
	if len(vals) == 1 && vals[0] == w.requestID {
		return
	}
	// A reverse proxy adds the upstream's X-Request-ID beside ours.
	for _, v := range vals {
		if v != w.requestID {
			h.Add(UpstreamRequestIDHeader, v)
		}
	}
	h.Set(RequestIDHeader, w.requestID)
}

func (w *responseRecorder) Flush() {
	if !w.wroteHeader {
		w.sendHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over. A reverse proxy upgrading to a
// WebSocket writes the 101 itself on the hijacked connection, headers
// taken from this writer, so the status is recorded (and the headers
// settled) here.
func (w *responseRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && !w.wroteHeader {
		w.sendHeader(http.StatusSwitchingProtocols)
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
