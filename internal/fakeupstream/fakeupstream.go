// Package fakeupstream is an in-process stand-in for the OpenAI and Anthropic
// HTTP APIs. End-to-end tests point the gateway at it to learn exactly what
// the gateway forwarded and to get responses whose token usage is known in
// advance; the load harness under bench/ uses it as an upstream that costs
// almost nothing per request.
//
// It speaks the wire formats closely enough that the official Go SDKs work
// against it unchanged: JSON and SSE bodies for chat completions, legacy
// completions, embeddings, the Responses API and Anthropic messages, the
// dialects' error bodies, their authentication headers and a WebSocket echo
// endpoint for upgrade pass-through tests.
//
// Every response is shaped by X-Fake-* request headers (see the Header
// constants) whose defaults come from [Options]. Usage numbers follow each
// dialect's own rules, so a test can assert what the gateway must compute:
//
//   - output tokens = content events + reasoning tokens, in every dialect;
//   - OpenAI reports cached and cache-write tokens as parts of prompt/input
//     tokens, so keep them no larger than X-Fake-Input-Tokens;
//   - Anthropic reports input_tokens, cache_read_input_tokens and
//     cache_creation_input_tokens as separate, additive counts.
//
// Bodies are assembled from pre-encoded fragments and streamed in chunks, so
// a 10 MB response never sits in memory and the fake stays cheap under load.
package fakeupstream

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults used when neither Options nor a control header says otherwise.
const (
	// DefaultInputTokens is the input (prompt) token count reported when
	// X-Fake-Input-Tokens is absent and Options.InputTokens is zero.
	DefaultInputTokens = 11
	// DefaultStreamEvents is the number of content events, and so of
	// output tokens, when X-Fake-Events is absent and
	// Options.StreamEvents is zero.
	DefaultStreamEvents = 5
	// DefaultMaxRecorded is how many requests Requests keeps when
	// Options.MaxRecorded is zero.
	DefaultMaxRecorded = 1000
	// DefaultMaxRecordedBody is how many body bytes each recorded request
	// keeps when Options.MaxRecordedBody is zero.
	DefaultMaxRecordedBody = 1 << 20
)

// Options sets the server-wide defaults; each X-Fake-* header overrides its
// counterpart for one request. The zero value is ready to use.
type Options struct {
	// Latency delays every response before its status line, like a
	// model's time to first byte (X-Fake-Latency).
	Latency time.Duration
	// StreamEvents is the number of content events in a stream and the
	// number of output tokens (before reasoning) of any response; zero
	// means DefaultStreamEvents (X-Fake-Events).
	StreamEvents int
	// StreamInterval is the pause between consecutive content events
	// (X-Fake-Interval).
	StreamInterval time.Duration
	// InputTokens is the reported input token count; zero means
	// DefaultInputTokens (X-Fake-Input-Tokens).
	InputTokens int64
	// CachedTokens is the reported cache-read token count
	// (X-Fake-Cached-Tokens).
	CachedTokens int64
	// CacheWriteTokens is the reported cache-write token count
	// (X-Fake-Cache-Write-Tokens).
	CacheWriteTokens int64
	// ReasoningTokens is the reported reasoning token count, which is
	// added to the output tokens (X-Fake-Reasoning-Tokens).
	ReasoningTokens int64
	// ContentBytes pads the generated text to this many bytes
	// (X-Fake-Content-Bytes).
	ContentBytes int64
	// Encoding forces a Content-Encoding for every response: gzip, br,
	// deflate, zstd or identity. Empty means negotiate (X-Fake-Encoding).
	Encoding string
	// APIKey, when set, is the only credential accepted; any other key
	// gets a 401. Empty accepts any non-empty key, which is what tests
	// usually want.
	APIKey string
	// MaxRecorded bounds how many requests Requests remembers; zero
	// means DefaultMaxRecorded and a negative value turns recording off,
	// which the load harness does to keep the fake out of its profile.
	MaxRecorded int
	// MaxRecordedBody bounds the body bytes kept per recorded request;
	// zero means DefaultMaxRecordedBody, negative keeps whole bodies.
	MaxRecordedBody int
}

// RecordedRequest is one request as the fake received it, for asserting what
// the gateway forwarded.
type RecordedRequest struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	// Body holds the request body, cut at Options.MaxRecordedBody.
	Body []byte
	// BodySize is the full body length, which exceeds len(Body) when the
	// body was cut.
	BodySize int64
	// Trailer holds the request trailers received after the body (nil
	// when there were none): how a test sees what the gateway forwarded
	// in them.
	Trailer http.Header
	// Canceled is true when the client went away (or Close was called)
	// before the response was complete: how a test sees that the gateway
	// propagated a cancellation upstream.
	Canceled bool
}

// Server is the fake upstream; it is an http.Handler and safe for
// concurrent use.
type Server struct {
	opts       Options
	defaults   controls
	maxRecords int
	maxBody    int

	ids atomic.Uint64

	mu        sync.Mutex
	records   []recordSlot // ring buffer of the last maxRecords requests
	next      int          // ring index of the next write
	count     int          // live entries in records
	seq       uint64       // id of the last recorded request
	active    int          // handlers running right now
	idle      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

// recordSlot pairs a recording with its sequence number so a handler that
// finishes after its slot was reused does not mark someone else's request.
type recordSlot struct {
	seq uint64
	req RecordedRequest
}

// New returns a fake upstream configured by opts.
func New(opts Options) *Server {
	s := &Server{
		opts:       opts,
		defaults:   defaultControls(opts),
		maxRecords: opts.MaxRecorded,
		maxBody:    opts.MaxRecordedBody,
		closed:     make(chan struct{}),
	}
	if s.maxRecords == 0 {
		s.maxRecords = DefaultMaxRecorded
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxRecordedBody
	}
	if s.maxRecords > 0 {
		s.records = make([]recordSlot, s.maxRecords)
	}
	return s
}

// ListenAndServe serves a fake upstream configured by opts on addr until the
// listener fails; it is the one-liner the load harness needs.
func ListenAndServe(addr string, opts Options) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           New(opts),
		ReadHeaderTimeout: 30 * time.Second,
	}
	return srv.ListenAndServe()
}

// Requests returns the recorded requests, oldest first. The result is a copy
// the caller may keep.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedRequest, 0, s.count)
	start := s.next - s.count
	if start < 0 {
		start += len(s.records)
	}
	for i := range s.count {
		out = append(out, s.records[(start+i)%len(s.records)].req)
	}
	return out
}

// Reset forgets every recorded request.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.records)
	s.next, s.count = 0, 0
}

// InFlight reports how many handlers are running, WebSocket echoes included.
// A request counts from the moment ServeHTTP starts until it returns.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// WaitIdle blocks until no handler is running or ctx ends. Tests use it to
// prove that a cancelled call really stopped its upstream handler.
func (s *Server) WaitIdle(ctx context.Context) error {
	s.mu.Lock()
	if s.active == 0 {
		s.mu.Unlock()
		return nil
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends every in-flight response at once: hanging and sleeping handlers
// return, streams stop where they are and WebSocket echoes drop their
// connection. Later requests get a 503. Without it, a hanging handler would
// keep httptest.Server.Close waiting for a client that never leaves.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

func (s *Server) enter() {
	s.mu.Lock()
	if s.active == 0 {
		s.idle = make(chan struct{})
	}
	s.active++
	s.mu.Unlock()
}

func (s *Server) leave() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
}

// record stores r and returns the sequence number that later identifies it,
// or zero when recording is off.
func (s *Server) record(r *http.Request, body []byte) uint64 {
	if s.maxRecords < 0 {
		return 0
	}
	kept := body
	if s.maxBody > 0 && len(kept) > s.maxBody {
		kept = kept[:s.maxBody]
	}
	rec := RecordedRequest{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     bytes.Clone(kept),
		BodySize: int64(len(body)),
	}
	if len(r.Trailer) > 0 {
		rec.Trailer = r.Trailer.Clone()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.records[s.next] = recordSlot{seq: s.seq, req: rec}
	s.next = (s.next + 1) % len(s.records)
	if s.count < len(s.records) {
		s.count++
	}
	return s.seq
}

// markCanceled flags the recording seq, if it is still held.
func (s *Server) markCanceled(seq uint64) {
	if seq == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.count {
		idx := s.next - 1 - i
		if idx < 0 {
			idx += len(s.records)
		}
		slot := &s.records[idx]
		if slot.seq == seq {
			slot.req.Canceled = true
			return
		}
		if slot.seq < seq {
			return
		}
	}
}

// isClosed reports whether Close was called.
func (s *Server) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// bodyPool recycles request-body buffers; only the fields the fake needs are
// ever copied out of them.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 1 << 20

// ServeHTTP routes a request to the endpoint that the real API serves at the
// same path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.enter()
	defer s.leave()

	if r.URL.Path == "/ws" {
		if s.isClosed() {
			http.Error(w, "fakeupstream: server closed", http.StatusServiceUnavailable)
			return
		}
		seq := s.record(r, nil)
		s.serveWebSocket(w, r, seq)
		return
	}

	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		// A one-off huge upload should not stay pinned in the pool.
		if buf.Cap() <= maxPooledBody {
			bodyPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		// The client vanished mid-body; there is nobody to answer.
		return
	}
	seq := s.record(r, buf.Bytes())

	c := &call{
		s:       s,
		w:       w,
		r:       r,
		ctx:     r.Context(),
		body:    buf.Bytes(),
		dialect: dialectOf(r.URL.Path),
	}
	c.serve()
	// Only a response cut short counts: a client that hangs up after the
	// last byte did not cancel anything.
	if c.aborted {
		s.markCanceled(seq)
	}
}
