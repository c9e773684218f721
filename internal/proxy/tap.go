package proxy

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/ongoingai/gateway/internal/sse"
)

// tap sits between the upstream response body and the reverse proxy's copy
// loop. In passthrough mode (the usual case) it hands every chunk to the
// client untouched and observes a copy; compressed bodies are decoded on a
// side goroutine. In filter mode (an OpenAI stream whose usage the gateway
// asked for) it re-emits the stream event by event, dropping the usage-only
// chunk the client did not ask for.
type tap struct {
	c      *call
	body   io.ReadCloser
	sse    bool
	filter bool

	framer  *sse.Framer
	capture boundedBuffer

	// decoded copy of a compressed body, fed through a pipe to decode()
	pipeW       *io.PipeWriter
	decodeDone  chan struct{}
	encoding    string
	observeDone bool

	// filter mode: bytes ready for the client
	out    []byte
	outPos int
	buf    []byte

	firstByte time.Time
	eof       bool
	readErr   error
	events    int64
	bytesIn   int64
}

func newTap(c *call, resp *http.Response) *tap {
	t := &tap{c: c, body: resp.Body}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	t.sse = ct == "text/event-stream"
	t.encoding = strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if t.encoding == "identity" {
		t.encoding = ""
	}
	if c.p.opts.CaptureBodies {
		t.capture.max = int(c.p.opts.BodyMaxSize)
	}
	t.filter = t.sse && c.info.UsageInjected && t.encoding == ""
	if t.sse {
		t.framer = sse.NewFramer(maxEventBytes, (*tapEvents)(t))
	}
	if t.encoding != "" {
		pr, pw := io.Pipe()
		t.pipeW = pw
		t.decodeDone = make(chan struct{})
		go t.decode(pr)
	}
	if t.filter {
		t.buf = make([]byte, 32<<10)
	}
	return t
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

func (t *tap) readFiltered(p []byte) (int, error) {
	for t.outPos == len(t.out) && !t.eof && t.readErr == nil {
		t.out, t.outPos = t.out[:0], 0
		n, err := t.body.Read(t.buf)
		if n > 0 {
			t.sawBytes(n)
			t.observe(t.buf[:n])
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
	if t.framer != nil {
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
		<-t.decodeDone
	}
	if t.framer != nil {
		t.framer.Close()
	}
}

// decode runs on its own goroutine for compressed bodies: the client gets
// the upstream's compressed bytes, the observer gets a decoded copy.
func (t *tap) decode(pr *io.PipeReader) {
	defer close(t.decodeDone)
	defer io.Copy(io.Discard, pr) // unblock the writer whatever happened
	var r io.Reader
	switch t.encoding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(pr)
		if err != nil {
			return
		}
		zr.Multistream(true)
		r = zr
	case "deflate":
		r = deflateReader(pr)
	case "br":
		r = brotli.NewReader(pr)
	case "zstd":
		zr, err := zstd.NewReader(pr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20))
		if err != nil {
			return
		}
		defer zr.Close()
		r = zr
	default:
		return // an encoding we cannot read: accounting only from what is known
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			t.observeDecoded(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// deflateReader reads HTTP "deflate", which the RFC defines as zlib but
// some servers send as raw DEFLATE; the zlib header tells them apart.
func deflateReader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if h, err := br.Peek(2); err == nil && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
		if zr, err := zlib.NewReader(br); err == nil {
			return zr
		}
	}
	return flate.NewReader(br)
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
	if ev.Truncated {
		return // its bytes already went to the client; too large to be usage
	}
	out, forward := t.c.observer.OnEvent(ev.Name, ev.Data)
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
