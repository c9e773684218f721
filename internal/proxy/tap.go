package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ongoingai/gateway/internal/sse"
)

// tap sits between the upstream response body and the reverse proxy's copy
// loop. In passthrough mode (the usual case) it hands every chunk to the
// client untouched and observes a copy; compressed bodies are decoded on a
// side goroutine. In filter mode (an OpenAI stream whose usage the gateway
// asked for) it re-emits the stream event by event, dropping the usage-only
// chunk the client did not ask for.
//
// Taps are pooled by the Proxy (newTap, putTap) together with their SSE
// framer and output buffer.
type tap struct {
	c      *call
	body   io.ReadCloser
	sse    bool
	filter bool

	// framer is created on the first SSE response and kept across pooled
	// uses; it is in use only when sse is set.
	framer  *sse.Framer
	capture boundedBuffer

	// decoded copy of a compressed body, fed through a pipe to decode()
	pipeW       *io.PipeWriter
	decoding    sync.WaitGroup
	encoding    string
	observeDone bool

	// filter mode: bytes ready for the client
	out    []byte
	outPos int

	firstByte time.Time
	// firstToken is when the first event carrying generated content
	// arrived (see providers.Observer.GeneratedBytes): the time to first
	// token of a stream, as opposed to its first byte, which is often an
	// empty message_start or role-only chunk.
	firstToken time.Time
	eof        bool
	readErr    error
	events     int64
	bytesIn    int64
}

// keepOutBytes bounds the filter output buffer a pooled tap keeps.
const keepOutBytes = 64 << 10

func (p *Proxy) newTap(c *call, resp *http.Response) *tap {
	t, _ := p.taps.Get().(*tap)
	if t == nil {
		t = new(tap)
	}
	t.c, t.body = c, resp.Body
	t.sse = isEventStream(resp.Header.Get("Content-Type"))
	t.encoding = strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if t.encoding == "identity" {
		t.encoding = ""
	}
	if p.opts.CaptureBodies {
		t.capture.max = int(p.opts.BodyMaxSize)
	}
	t.filter = t.sse && c.info.UsageInjected && t.encoding == ""
	if t.sse && t.framer == nil {
		t.framer = sse.NewFramer(maxEventBytes, (*tapEvents)(t))
	}
	if t.encoding != "" {
		pr, pw := io.Pipe()
		t.pipeW = pw
		t.decoding.Add(1)
		go t.decode(pr)
	}
	return t
}

// putTap recycles t once its observation has ended.
func (p *Proxy) putTap(t *tap) {
	fr := t.framer
	if fr != nil {
		fr.Reset()
	}
	out := t.out[:0]
	if cap(out) > keepOutBytes {
		out = nil
	}
	capture := t.capture.b[:0]
	if cap(capture) > keepOutBytes {
		capture = nil
	}
	*t = tap{framer: fr, out: out, capture: boundedBuffer{b: capture}}
	p.taps.Put(t)
}

// isEventStream reports whether a Content-Type is text/event-stream, with
// or without parameters, without mime.ParseMediaType's allocations.
func isEventStream(contentType string) bool {
	if i := strings.IndexByte(contentType, ';'); i >= 0 {
		contentType = contentType[:i]
	}
	return strings.EqualFold(strings.TrimSpace(contentType), "text/event-stream")
}

// Read implements io.Reader for the reverse proxy's copy loop.
func (t *tap) Read(p []byte) (int, error) {
	if t.filter {
		return t.readFiltered(p)
	}
	n, err := t.body.Read(p)
	if n > 0 {
		t.sawBytes(n)
		t.observe(p[:n])
	}
	t.noteErr(err)
	return n, err
}

// readFiltered reads upstream bytes into p itself: the framer copies what
// it keeps and the events to forward are collected in t.out before p is
// overwritten with them, so filtering needs no buffer of its own.
func (t *tap) readFiltered(p []byte) (int, error) {
	for t.outPos == len(t.out) && !t.eof && t.readErr == nil {
		t.out, t.outPos = t.out[:0], 0
		n, err := t.body.Read(p)
		if n > 0 {
			t.sawBytes(n)
			t.observe(p[:n])
		}
		t.noteErr(err)
	}
	if t.outPos < len(t.out) {
		n := copy(p, t.out[t.outPos:])
		t.outPos += n
		return n, nil
	}
	if t.eof {
		return 0, io.EOF
	}
	return 0, t.readErr
}

func (t *tap) sawBytes(n int) {
	if t.firstByte.IsZero() {
		t.firstByte = time.Now()
	}
	t.bytesIn += int64(n)
}

func (t *tap) noteErr(err error) {
	if err == nil {
		return
	}
	if err == io.EOF {
		if !t.eof {
			t.eof = true
			t.endObservation()
		}
		return
	}
	if t.readErr == nil {
		t.readErr = err
	}
}

// observe feeds raw upstream bytes to the accounting side.
func (t *tap) observe(b []byte) {
	if t.pipeW != nil {
		t.pipeW.Write(b) // the decoder drains on error, so this never blocks for long
		return
	}
	t.observeDecoded(b)
}

// observeDecoded feeds decoded bytes to the framer or the observer, and to
// the body capture.
func (t *tap) observeDecoded(b []byte) {
	t.capture.Write(b)
	if t.sse {
		t.framer.Write(b)
		return
	}
	t.c.observer.Write(b)
}

// endObservation completes the accounting side: flushes the framer and
// waits for the decoder. It is idempotent.
func (t *tap) endObservation() {
	if t.observeDone {
		return
	}
	t.observeDone = true
	if t.pipeW != nil {
		t.pipeW.Close()
		t.decoding.Wait()
	}
	if t.sse {
		t.framer.Close()
	}
}

// decode runs on its own goroutine for compressed bodies: the client gets
// the upstream's compressed bytes, the observer gets a decoded copy. The
// decompressor and the buffer come from pools.
func (t *tap) decode(pr *io.PipeReader) {
	defer t.decoding.Done()
	defer io.Copy(io.Discard, pr) // unblock the writer whatever happened
	d := openDecoder(t.encoding, pr)
	if d == nil {
		return // an encoding we cannot read: accounting only from what is known
	}
	defer d.release()
	buffers := t.c.p.buffers
	buf := buffers.Get()
	defer buffers.Put(buf)
	for {
		n, err := d.r.Read(buf)
		if n > 0 {
			t.observeDecoded(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// Close is called by the reverse proxy when it is done with the body,
// whether the copy finished or failed.
func (t *tap) Close() error {
	err := t.body.Close()
	t.endObservation()
	return err
}

// tapEvents is the tap seen as the framer's handler.
type tapEvents tap

func (h *tapEvents) Event(ev sse.Event) {
	t := (*tap)(h)
	t.events++
	var out []byte
	forward := true
	switch {
	case ev.Streamed:
		// Its bytes already went to the client and its data to the
		// observer, piece by piece (EventData): read what it reported.
		t.c.observer.EndStreamEvent(ev.Name)
	default:
		// Whole data, even when the event's raw bytes outgrew the framer
		// (long comment or id lines): oversized data is always streamed.
		out, forward = t.c.observer.OnEvent(ev.Name, ev.Data)
	}
	if t.firstToken.IsZero() && t.c.observer.GeneratedBytes() > 0 {
		t.firstToken = time.Now()
	}
	if ev.Truncated {
		return // its bytes already went to the client as they arrived
	}
	if !t.filter {
		return
	}
	switch {
	case !forward:
		t.events--
	case len(out) == len(ev.Data) && (len(out) == 0 || &out[0] == &ev.Data[0]):
		t.out = append(t.out, ev.Raw...)
	default:
		t.out = sse.AppendEvent(t.out, ev.Name, out)
	}
}

// EventData feeds the data of an event too large for the framer to the
// observer as it arrives, so its usage survives in bounded memory.
func (h *tapEvents) EventData(p []byte) { (*tap)(h).c.observer.StreamEvent(p) }

func (h *tapEvents) Passthrough(b []byte) {
	t := (*tap)(h)
	if t.filter {
		t.out = append(t.out, b...)
	}
}

// boundedBuffer keeps the first max bytes written to it (body capture).
type boundedBuffer struct {
	max       int
	b         []byte
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) {
	if b.max <= 0 {
		return
	}
	room := b.max - len(b.b)
	if room <= 0 {
		if len(p) > 0 {
			b.truncated = true
		}
		return
	}
	if len(p) > room {
		p = p[:room]
		b.truncated = true
	}
	b.b = append(b.b, p...)
}
