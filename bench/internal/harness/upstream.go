package harness

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// headerStream carries a stream's number from the load generator, through
// the gateway, to the fake upstream, which then timestamps each event it
// sends under that number. It is the only bench header a traced request
// carries; everything else the fake needs is set on its side (see
// upstream.shape), so that the stored traces hold what a real SDK sends.
const headerStream = "X-Bench-Stream"

// upstream is the fake OpenAI/Anthropic API that both the direct baseline
// and the gateway talk to, served from this process on loopback. It wraps
// internal/fakeupstream with two things a benchmark needs:
//
//   - a response shape (latency, events, interval, size, encoding) set per
//     scenario instead of per request, because X-Fake-* headers would end
//     up in every stored trace and inflate bytes per trace;
//   - the time at which each streamed event left, so that the delay the
//     gateway adds to an event can be measured exactly rather than
//     inferred from gaps.
type upstream struct {
	fake  *fakeupstream.Server
	srv   *http.Server
	url   string
	shape atomic.Pointer[http.Header]
	marks atomic.Pointer[flushTable]
}

// flushTable holds, per stream number, when each flush reached the socket.
type flushTable struct {
	epoch time.Time
	rows  []flushRow
}

type flushRow struct {
	mu sync.Mutex
	at []time.Duration // since epoch
}

func startUpstream() (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{
		// Recording off: the fake would otherwise copy every request
		// and show up in every figure.
		fake: fakeupstream.New(fakeupstream.Options{MaxRecorded: -1}),
		url:  "http://" + ln.Addr().String(),
	}
	u.srv = &http.Server{Handler: u, ReadHeaderTimeout: 30 * time.Second}
	// Serve only returns at Close; should it fail earlier, the calls that
	// follow fail and are counted as errors in the report.
	go u.srv.Serve(ln)
	return u, nil
}

// Shape sets the X-Fake-* controls applied to every request that does not
// carry its own, until the next call; nil restores the fake's defaults.
func (u *upstream) Shape(h http.Header) {
	if h == nil {
		u.shape.Store(nil)
		return
	}
	c := h.Clone()
	u.shape.Store(&c)
}

// Mark starts timestamping flushes of streams numbered 0..n-1 and returns
// the table, which is complete once WaitIdle has returned.
func (u *upstream) Mark(n int) *flushTable {
	t := &flushTable{epoch: time.Now(), rows: make([]flushRow, n)}
	u.marks.Store(t)
	return t
}

// WaitIdle waits until no fake handler is running, so that every flush
// timestamp has been written.
func (u *upstream) WaitIdle(ctx context.Context) error { return u.fake.WaitIdle(ctx) }

func (u *upstream) Close() {
	u.fake.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = u.srv.Shutdown(ctx)
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sh := u.shape.Load(); sh != nil {
		for k, v := range *sh {
			if _, set := r.Header[k]; !set {
				r.Header[k] = v
			}
		}
	}
	if v := r.Header.Get(headerStream); v != "" {
		if t := u.marks.Load(); t != nil {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < len(t.rows) {
				w = &markingWriter{ResponseWriter: w, row: &t.rows[n], epoch: t.epoch}
			}
		}
	}
	u.fake.ServeHTTP(w, r)
}

// markingWriter timestamps every flush. The fake flushes exactly once per
// SSE event (and once for the headers), so flush k+1 is event k.
type markingWriter struct {
	http.ResponseWriter
	row   *flushRow
	epoch time.Time
}

// FlushError is what http.ResponseController calls; the time is taken
// after the bytes reached the kernel, the moment the event "left".
func (m *markingWriter) FlushError() error {
	err := http.NewResponseController(m.ResponseWriter).Flush()
	at := time.Since(m.epoch)
	m.row.mu.Lock()
	m.row.at = append(m.row.at, at)
	m.row.mu.Unlock()
	return err
}

func (m *markingWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// shape builds an X-Fake-* control set.
func shape(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
