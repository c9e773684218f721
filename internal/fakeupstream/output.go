package fakeupstream

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// encoder is what every supported compressor offers; Flush matters because
// a compressed stream must still deliver each SSE event as it is written.
type encoder interface {
	io.Writer
	Flush() error
	Close() error
	Reset(io.Writer)
}

// encoderPools hold reusable compressors per Content-Encoding: building one
// (zstd and brotli above all) costs far more than a small response. The
// fastest levels are used because compression ratio is not under test.
var encoderPools = map[string]*sync.Pool{
	"gzip": {New: func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return w
	}},
	"deflate": {New: func() any {
		w, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
		return w
	}},
	"br": {New: func() any {
		return brotli.NewWriterLevel(io.Discard, brotli.BestSpeed)
	}},
	"zstd": {New: func() any {
		w, _ := zstd.NewWriter(io.Discard,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1))
		return w
	}},
}

func knownEncoding(e string) bool {
	if e == "" || e == "identity" {
		return true
	}
	_, ok := encoderPools[e]
	return ok
}

// chooseEncoding applies the fake's policy: a forced encoding wins; otherwise
// JSON is gzipped when the client offers gzip, and event streams are not
// compressed, which is what the real APIs do.
func chooseEncoding(forced string, r *http.Request, sse bool) string {
	if forced != "" {
		if forced == "identity" {
			return ""
		}
		return forced
	}
	if sse {
		return ""
	}
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		return "gzip"
	}
	return ""
}

// acceptsGzip reports whether gzip (or *) is offered with a non-zero q.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && name != "*" {
				continue
			}
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if q > 0 {
				return true
			}
		}
	}
	return false
}

// bufPool recycles the buffered writers in front of every response so each
// SSE event or JSON fragment is one write to the connection or compressor.
var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, 32<<10) }}

// output is one response body on its way out: a buffer, an optional
// compressor and the connection. Write errors are sticky (bufio keeps the
// first), so callers write freely and check once per event.
type output struct {
	rw      http.ResponseWriter
	rc      *http.ResponseController
	bw      *bufio.Writer
	enc     encoder
	encName string
}

// start sends the status line and headers and returns the body writer.
// contentLength is used only when no compression applies and it is known
// (≥ 0), so identity JSON carries a Content-Length as it does from the real
// APIs, while compressed and streamed bodies are chunked.
func start(w http.ResponseWriter, r *http.Request, status int, contentType, forced string, sse bool, contentLength int64) *output {
	o := &output{rw: w, rc: http.NewResponseController(w)}
	h := w.Header()
	h.Set("Content-Type", contentType)
	if sse {
		h.Set("Cache-Control", "no-cache")
	}
	if forced == "" && !sse {
		h.Add("Vary", "Accept-Encoding")
	}
	o.encName = chooseEncoding(forced, r, sse)
	target := io.Writer(w)
	if o.encName != "" {
		h.Set("Content-Encoding", o.encName)
		o.enc = encoderPools[o.encName].Get().(encoder)
		o.enc.Reset(w)
		target = o.enc
	} else if contentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(contentLength, 10))
	}
	w.WriteHeader(status)
	o.bw = bufPool.Get().(*bufio.Writer)
	o.bw.Reset(target)
	return o
}

func (o *output) write(p []byte)       { _, _ = o.bw.Write(p) }
func (o *output) writeString(s string) { _, _ = o.bw.WriteString(s) }

// flush pushes everything written so far to the client: the SSE contract is
// one flush per event so the gateway's tap sees events as they happen.
func (o *output) flush() error {
	if err := o.bw.Flush(); err != nil {
		return err
	}
	if o.enc != nil {
		if err := o.enc.Flush(); err != nil {
			return err
		}
	}
	return o.rc.Flush()
}

// err reports the first write failure, typically a client that went away.
func (o *output) err() error {
	// A zero-length Write returns the sticky error without side effects.
	_, err := o.bw.Write(nil)
	return err
}

// finish completes the body and returns the pooled pieces.
func (o *output) finish() error {
	err := o.bw.Flush()
	if o.enc != nil {
		if cerr := o.enc.Close(); err == nil {
			err = cerr
		}
		o.enc.Reset(io.Discard)
		encoderPools[o.encName].Put(o.enc)
		o.enc = nil
	}
	o.bw.Reset(io.Discard)
	bufPool.Put(o.bw)
	o.bw = nil
	return err
}
