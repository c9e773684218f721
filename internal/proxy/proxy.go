// Package proxy forwards provider calls and taps their responses. It routes
// by path prefix (segment-safe), lets the provider adapter inspect and, when
// needed, adjust the request, forwards it with net/http/httputil's reverse
// proxy, and watches the response as it streams to the client to produce a
// trace record with exact usage and cost. The client's bytes are never held
// back beyond one SSE event, and the tap's memory is bounded whatever the
// response size.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/pathguard"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/internal/trace"
)

// ErrGatewayShutdown is the cause the gateway gives its handlers' base
// context when it cuts the requests still running at the end of its
// graceful drain (context.WithCancelCause). A call cut that way is traced
// with outcome gateway_shutdown rather than client_cancelled.
var ErrGatewayShutdown = errors.New("gateway shutting down")

// Upstream is one provider route: requests under Prefix go to Target.
type Upstream struct {
	Name    string // provider name recorded in traces, e.g. "openai", "groq"
	Prefix  string // e.g. "/openai"
	Target  *url.URL
	Adapter providers.Adapter
}

// Identity is who made a call, as far as the trace is concerned.
type Identity struct {
	OrgID, WorkspaceID, GatewayKeyID string
}

// Enqueuer receives finished trace records; trace.Writer is one. Enqueue
// must never block.
type Enqueuer interface {
	Enqueue(r *trace.Record) bool
}

// Options configures a Proxy.
type Options struct {
	Transport           http.RoundTripper
	MaxRequestBodyBytes int64
	// ReadBodyTimeout bounds the time to receive a request body, from the
	// moment the proxy starts reading it; a body not complete by then is
	// answered 408 (MsgRequestBodyTimeout). Zero waits as long as the
	// client keeps the connection open.
	ReadBodyTimeout time.Duration
	// InjectStreamUsage asks OpenAI-style upstreams for stream usage the
	// client did not request, and hides the extra chunk from the client.
	InjectStreamUsage bool
	// CaptureHeaderNames stores only the headers named (in any case);
	// the entry "*" stores every header. Credentials and the gateway key
	// header are stored as "[REDACTED]" whatever is named.
	CaptureHeaderNames []string
	CaptureBodies      bool
	BodyMaxSize        int64
	// GatewayKeyHeader is removed before forwarding (from headers and
	// trailers) and redacted in traces.
	GatewayKeyHeader string
	// GatewayTokenPrefix starts every gateway token (keyauth.TokenPrefix;
	// passed in because this package cannot import tenancy). A request
	// carrying such a token in any other header or trailer is refused
	// rather than forwarded: the upstream must never see a gateway secret.
	// Empty turns the check off.
	GatewayTokenPrefix string
	Prices             *pricing.Live
	Traces             Enqueuer
	// Identity returns the caller's tenant; nil means anonymous.
	Identity func(*http.Request) Identity
	// Calls observes each upstream call (telemetry); nil means none.
	Calls  CallObserver
	Logger *slog.Logger
	// Policy checks each request body before forwarding (pii.mode); nil
	// means none.
	Policy Policy
	// Limits admits each call against the caller's rate limits and
	// budgets before forwarding, and settles it with the trace's exact
	// usage and cost (see limits.go); nil means none.
	Limits *limits.Limiter
}

// CallObserver lets telemetry follow each upstream call without the proxy
// knowing about OpenTelemetry. StartCall runs before the request is
// forwarded; the returned context is the outgoing request's (so a client
// span and its traceparent reach the upstream); end runs once with the
// finished trace record, after the response is complete or abandoned.
type CallObserver interface {
	StartCall(ctx context.Context, provider string, r *http.Request) (context.Context, func(*trace.Record))
}

// Proxy forwards requests to upstreams and traces them.
//
// The state of a call (with the reverse proxy bound to it) and its response
// tap are recycled through pools once the call's trace record is built, so
// a proxied call allocates little beyond what net/http does and the record
// it produces.
type Proxy struct {
	opts    Options
	buffers *bufferPool
	headers headerCapture
	calls   sync.Pool // *call
	// errorLog carries net/http/httputil's messages into the logger.
	errorLog *log.Logger
	taps     sync.Pool // *tap
}

// maxEventBytes bounds the SSE framer: usage events are small, and a larger
// event is passed through to the client without being buffered.
const maxEventBytes = 256 << 10

// New returns a Proxy.
func New(opts Options) *Proxy {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Prices == nil {
		opts.Prices = pricing.NewLive(pricing.Default())
	}
	p := &Proxy{opts: opts, buffers: newBufferPool()}
	p.errorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	p.headers = newHeaderCapture(opts.CaptureHeaderNames, opts.GatewayKeyHeader)
	return p
}

// Handler returns the handler for one upstream. The router mounts it at the
// upstream's prefix and everything below it.
func (p *Proxy) Handler(u *Upstream) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(w, r, u)
	})
}

// call is the state of one proxied request, shared by the request rewrite,
// the response tap and the final trace record. Calls are pooled: each
// carries a reverse proxy whose hooks are bound to it, so serving a call
// builds no proxy and no closures.
type call struct {
	p  *Proxy
	rp httputil.ReverseProxy // hooks bound to this call; reused with it

	up           *Upstream
	start        time.Time
	req          *http.Request
	info         providers.RequestInfo
	reqBody      []byte
	upstreamPath string          // the path below the route's prefix
	outPath      string          // the path sent upstream: the target's base path joined with upstreamPath
	fwd          []byte          // the body to forward
	outCtx       context.Context // the outgoing request's context, when telemetry changed it
	observer     providers.Observer
	resp         *http.Response
	tap          *tap
	// transportErr is set when no upstream response arrived.
	transportErr error
	client       clientWriter
	endCall      func(*trace.Record)
	policy       PolicyDecision // what Options.Policy decided
	refused      bool           // the policy refused the request
	limit        limits.Reservation
	limited      bool // refused by Options.Limits (429)
}

// getCall returns a call from the pool, or a new one with its reverse
// proxy bound to it.
func (p *Proxy) getCall() *call {
	if c, ok := p.calls.Get().(*call); ok {
		return c
	}
	c := &call{p: p}
	c.rp = httputil.ReverseProxy{
		Transport:      p.opts.Transport,
		BufferPool:     p.buffers,
		Rewrite:        c.rewrite,
		ModifyResponse: c.modifyResponse,
		ErrorHandler:   c.errorHandler,
		// A cut stream is already traced (client_cancelled, upstream_error,
		// gateway_shutdown); the reverse proxy's own line about it goes to
		// the gateway's logger at debug, not to stderr.
		ErrorLog: p.errorLog,
	}
	return c
}

// putCall recycles c once nothing refers to it any more: the reverse proxy
// has returned (it closes the response body before it does) and the tap's
// decoder has finished (endObservation waits for it).
func (p *Proxy) putCall(c *call) {
	if c.tap != nil {
		p.putTap(c.tap)
	}
	if c.observer != nil {
		c.observer.Release()
	}
	*c = call{p: p, rp: c.rp}
	p.calls.Put(c)
}

// identity is the caller's tenant, or anonymous.
func (p *Proxy) identity(r *http.Request) Identity {
	if p.opts.Identity == nil {
		return Identity{}
	}
	return p.opts.Identity(r)
}

// Messages of the proxy's own refusals, answered as {"error": msg}. They
// are part of the public contract (documented in openapi.yaml).
const (
	MsgRequestBodyTooLarge = "request body too large"
	MsgRequestBodyTimeout  = "request body timeout"
	MsgUpstreamFailed      = "upstream request failed"
	// MsgResponsesWebSocket answers a WebSocket upgrade of the Responses
	// API with 426, the one answer on which Codex falls back to HTTP
	// streaming at once; over HTTP the gateway reads exact usage.
	MsgResponsesWebSocket = "the Responses API is not proxied over WebSocket: use HTTP streaming"
)

// isResponsesWebSocket reports whether r asks to upgrade a Responses API
// call (an OpenAI-dialect path ending in /responses) to a WebSocket. Other
// upgrades pass through untouched.
func isResponsesWebSocket(r *http.Request, u *Upstream, upstreamPath string) bool {
	return u.Adapter != nil && u.Adapter.Format() == providers.FormatOpenAI &&
		strings.HasSuffix(strings.TrimSuffix(upstreamPath, "/"), "/responses") &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether a comma-separated header lists token,
// case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// serve refuses what must not reach the upstream (a path leaving the
// target's base path, a gateway token in a forwarded header or trailer, a
// body too large or too slow), then forwards the call and traces it.
// Refusals are not traced (nothing was sent upstream), except the
// PII policy's, which are part of the privacy record.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, u *Upstream) {
	upstreamPath := strings.TrimPrefix(r.URL.Path, u.Prefix)
	outPath := joinPath(u.Target.Path, upstreamPath)
	// The router refuses such paths already (pathguard.Middleware); this
	// is the proxy's own guarantee, whoever mounts it.
	if !pathguard.Safe(r.URL) || !pathguard.Within(u.Target.Path, outPath) {
		pathguard.Refuse(w)
		return
	}
	if msg := p.gatewayTokenIn(r.Header); msg != "" {
		writeJSONError(w, http.StatusBadRequest, msg)
		return
	}
	if isResponsesWebSocket(r, u, upstreamPath) {
		writeJSONError(w, http.StatusUpgradeRequired, MsgResponsesWebSocket)
		return
	}
	body, err := p.readBody(w, r)
	if err != nil {
		switch {
		case errors.Is(err, errBodyTooLarge):
			writeJSONError(w, http.StatusRequestEntityTooLarge, MsgRequestBodyTooLarge)
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The rest of the body may still be on its way: the
			// connection cannot carry another request.
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusRequestTimeout, MsgRequestBodyTimeout)
		}
		// Otherwise the client went away while sending; nobody to answer.
		return
	}
	// Trailers arrive with the end of the body, so they are checked now,
	// before the reverse proxy copies them into the outgoing request.
	if len(r.Trailer) > 0 {
		if p.opts.GatewayKeyHeader != "" {
			r.Trailer.Del(p.opts.GatewayKeyHeader)
		}
		if msg := p.gatewayTokenIn(r.Trailer); msg != "" {
			writeJSONError(w, http.StatusBadRequest, msg)
			return
		}
	}
	var decision PolicyDecision
	if p.opts.Policy != nil {
		if decision = p.opts.Policy.Check(r, u.Name, p.identity(r), body); decision.Status != 0 {
			p.refuse(w, r, u, body, decision)
			return
		}
		if decision.Forward != nil {
			body = decision.Forward
		}
	}
	c := p.getCall()
	c.policy = decision
	c.up, c.start, c.req = u, time.Now(), r
	c.reqBody = body
	c.upstreamPath, c.outPath = upstreamPath, outPath
	c.info, c.fwd = u.Adapter.PrepareRequest(c.upstreamPath, body, p.opts.InjectStreamUsage)
	if !c.admitWithinLimits(w) {
		return
	}

	if p.opts.Calls != nil {
		var outCtx context.Context
		outCtx, c.endCall = p.opts.Calls.StartCall(r.Context(), u.Name, r)
		if outCtx != r.Context() {
			c.outCtx = outCtx
		}
	}
	c.client = clientWriter{ResponseWriter: w}
	defer c.finish()
	c.rp.ServeHTTP(&c.client, r)
}

// clientWriter remembers a failed write to the client, the surest sign
// that the client went away mid-response.
type clientWriter struct {
	http.ResponseWriter
	err error
}

func (w *clientWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *clientWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var errBodyTooLarge = errors.New("request body too large")

// readBody reads the whole request body, refusing more than the cap: the
// adapter needs the model and stream flag before forwarding, and the cap
// keeps that bounded. With ReadBodyTimeout set, the connection's read
// deadline bounds the wait (the error then wraps os.ErrDeadlineExceeded);
// it is lifted once the body is in, so that the server's watch for a
// client hanging up (a background read) does not end a long stream.
func (p *Proxy) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	max := p.opts.MaxRequestBodyBytes
	if max > 0 && r.ContentLength > max {
		return nil, errBodyTooLarge
	}
	if t := p.opts.ReadBodyTimeout; t > 0 {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(t)) == nil {
			body, err := p.readAll(r)
			if err == nil {
				rc.SetReadDeadline(time.Time{})
			}
			return body, err
		}
	}
	return p.readAll(r)
}

// initialBodyBuffer is the most readAll allocates before bytes arrive.
// Smaller bodies (nearly all of them) get one exact buffer; a larger one
// grows as it arrives, so a client announcing 32 MiB and trickling bytes
// holds only what it sent, not 32 MiB per connection.
const initialBodyBuffer = 64 << 10

// readAll reads r's body: exactly ContentLength bytes when known, else up
// to the cap (plus one byte, to tell an oversized body).
func (p *Proxy) readAll(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > 0 {
		buf := make([]byte, 0, min(n, initialBodyBuffer))
		for int64(len(buf)) < n {
			if len(buf) == cap(buf) {
				buf = slices.Grow(buf, int(min(n, 2*int64(cap(buf))))-len(buf))
			}
			m, err := r.Body.Read(buf[len(buf):min(int64(cap(buf)), n)])
			buf = buf[:len(buf)+m]
			if err == io.EOF {
				if int64(len(buf)) < n {
					return nil, io.ErrUnexpectedEOF
				}
				break
			}
			if err != nil {
				return nil, err
			}
		}
		return buf, nil
	}
	max := p.opts.MaxRequestBodyBytes
	var buf bytes.Buffer
	reader := io.Reader(r.Body)
	if max > 0 {
		reader = io.LimitReader(r.Body, max+1)
	}
	if _, err := buf.ReadFrom(reader); err != nil {
		return nil, err
	}
	if max > 0 && int64(buf.Len()) > max {
		return nil, errBodyTooLarge
	}
	return buf.Bytes(), nil
}

// rewrite points the outgoing request at the upstream.
func (c *call) rewrite(pr *httputil.ProxyRequest) {
	body, target := c.fwd, c.up.Target
	out := pr.Out
	out.URL.Scheme = target.Scheme
	out.URL.Host = target.Host
	out.URL.Path = c.outPath
	out.URL.RawPath = ""
	if pr.In.URL.RawPath != "" {
		out.URL.RawPath = joinPath(target.EscapedPath(), strings.TrimPrefix(pr.In.URL.RawPath, c.up.Prefix))
	}
	out.URL.RawQuery = pr.In.URL.RawQuery
	out.Host = target.Host
	if k := c.p.opts.GatewayKeyHeader; k != "" {
		out.Header.Del(k)
		out.Trailer.Del(k)
	}
	if body != nil {
		out.Body = newBodyReader(body)
		out.ContentLength = int64(len(body))
		out.Header.Del("Content-Length")
		out.GetBody = func() (io.ReadCloser, error) { return newBodyReader(body), nil }
	}
	if c.info.UsageInjected {
		// The gateway must remove the usage chunk it asked for, which it
		// cannot do inside a compressed stream.
		out.Header.Set("Accept-Encoding", "identity")
	}
	if c.outCtx != nil {
		pr.Out = out.WithContext(c.outCtx)
	}
}

// bodyReader is an outgoing request body: a bytes.Reader that closes, in
// one allocation instead of io.NopCloser's two.
type bodyReader struct{ bytes.Reader }

func newBodyReader(b []byte) *bodyReader {
	r := new(bodyReader)
	r.Reset(b)
	return r
}

// Close implements io.Closer; there is nothing to release.
func (*bodyReader) Close() error { return nil }

// modifyResponse installs the tap on the response body.
func (c *call) modifyResponse(resp *http.Response) error {
	c.resp = resp
	c.limitHeaders(resp.Header)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return nil // a WebSocket: the body is the connection, not ours to read
	}
	c.observer = c.up.Adapter.NewObserver(c.upstreamPath, c.info, resp.Header.Get("Content-Type"))
	c.tap = c.p.newTap(c, resp)
	resp.Body = c.tap
	if c.tap.filter {
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
	}
	return nil
}

// errorHandler answers when no upstream response arrived.
func (c *call) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	c.transportErr = err
	if c.req.Context().Err() != nil {
		if errors.Is(context.Cause(c.req.Context()), ErrGatewayShutdown) {
			// The client is still there: tell it why, not an empty 200.
			writeJSONError(w, http.StatusServiceUnavailable, "gateway shutting down")
		}
		return // otherwise the client is gone; nobody to answer
	}
	c.p.opts.Logger.WarnContext(r.Context(), "upstream request failed", "provider", c.up.Name, "err", err)
	writeJSONError(w, http.StatusBadGateway, MsgUpstreamFailed)
}

// writeJSONError writes {"error": msg}; msg must be a constant, documented
// message, never an internal error's text.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"error":"`+msg+`"}`+"\n")
}

func joinPath(base, p string) string {
	base = strings.TrimSuffix(base, "/")
	if p == "" {
		if base == "" {
			return "/"
		}
		return base
	}
	if p[0] != '/' {
		p = "/" + p
	}
	return base + p
}

// copyBufferSize is the reverse proxy's copy buffer, and so the largest
// read of a response body.
const copyBufferSize = 32 << 10

// bufferPool recycles the reverse proxy's copy buffers, which the tap's
// filter and decoder borrow as well. It pools array pointers: converting
// the returned slice back to one allocates nothing, where pooling
// &slice would allocate a slice header on every Put.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool { return &bufferPool{} }

// Get returns a buffer of copyBufferSize bytes.
func (b *bufferPool) Get() []byte {
	if a, ok := b.pool.Get().(*[copyBufferSize]byte); ok {
		return a[:]
	}
	return new([copyBufferSize]byte)[:]
}

// Put takes back a buffer that Get returned; other slices are dropped.
func (b *bufferPool) Put(x []byte) {
	if cap(x) >= copyBufferSize {
		b.pool.Put((*[copyBufferSize]byte)(x[:copyBufferSize]))
	}
}

// clientGone reports whether the client went away: its context ended or a
// write to it failed.
func (c *call) clientGone() bool {
	return c.req.Context().Err() != nil || c.client.err != nil
}
