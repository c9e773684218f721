package proxy

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// The decompressors that read a copy of compressed responses for
// accounting are pooled per encoding: a gzip reader alone carries about
// 40 KiB of window and tables, which a gzip-encoded JSON answer (what the
// official SDKs get by default) would otherwise allocate on every call.
// Only the state between two responses is shared; each response still has
// its own decompressor while it is read, so memory per response stays
// bounded as before.
var (
	bufReaders    sync.Pool // *bufio.Reader, the byte reader under gzip and deflate
	gzipReaders   sync.Pool // *gzip.Reader
	zlibReaders   sync.Pool // io.ReadCloser that is a zlib.Resetter
	flateReaders  sync.Pool // io.ReadCloser that is a flate.Resetter
	brotliReaders sync.Pool // *brotli.Reader
)

// decoder is a decompressor reading one response, and what to return to
// the pools when the response is done.
type decoder struct {
	r  io.Reader
	br *bufio.Reader
	// put returns the decompressor to its pool; nil when there is none.
	put func()
}

// release returns the decoder's parts to their pools, dropping their
// references to the response.
func (d *decoder) release() {
	if d.put != nil {
		d.put()
	}
	if d.br != nil {
		d.br.Reset(nil)
		bufReaders.Put(d.br)
	}
}

func getBufReader(src io.Reader) *bufio.Reader {
	if br, ok := bufReaders.Get().(*bufio.Reader); ok {
		br.Reset(src)
		return br
	}
	return bufio.NewReader(src)
}

// openDecoder returns a decoder of src for a Content-Encoding, or nil for
// an encoding the gateway cannot read or a body that does not start as the
// encoding says. It reads the stream header, so it blocks until the first
// bytes arrive.
func openDecoder(encoding string, src io.Reader) *decoder {
	switch encoding {
	case "gzip", "x-gzip":
		d := &decoder{br: getBufReader(src)}
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(d.br)
		} else {
			err = zr.Reset(d.br)
		}
		if zr != nil {
			d.put = func() { gzipReaders.Put(zr) }
		}
		if err != nil {
			d.release()
			return nil
		}
		zr.Multistream(true)
		d.r = zr
		return d
	case "deflate":
		return openDeflate(src)
	case "br":
		zr, _ := brotliReaders.Get().(*brotli.Reader)
		if zr == nil {
			zr = brotli.NewReader(src)
		} else if zr.Reset(src) != nil {
			return nil
		}
		// A brotli reader keeps its ring buffer across Reset, and the
		// buffer grows with the output up to the stream's window (16 MiB),
		// so only a reader that decoded little goes back to the pool.
		counted := &countingReader{r: zr}
		return &decoder{r: counted, put: func() {
			if counted.n <= brotliPoolMaxBytes {
				zr.Reset(nil)
				brotliReaders.Put(zr)
			}
		}}
	case "zstd":
		// Not pooled: a zstd decoder keeps history buffers up to the
		// window (8 MiB here), which a pool would hold on to, and LLM APIs
		// rarely send zstd. One synchronous decoder (no goroutines of its
		// own), low memory, and a window cap, so a hostile frame cannot
		// make the accounting copy allocate without bound.
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20))
		if err != nil {
			return nil
		}
		return &decoder{r: zr, put: zr.Close}
	}
	return nil
}

// brotliPoolMaxBytes is the most a brotli reader may have decoded and still
// be pooled; see open's "br" case.
const brotliPoolMaxBytes = 256 << 10

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// openDeflate reads HTTP "deflate", which the RFC defines as zlib but
// some servers send as raw DEFLATE; the zlib header tells them apart.
func openDeflate(src io.Reader) *decoder {
	d := &decoder{br: getBufReader(src)}
	if h, err := d.br.Peek(2); err == nil && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
		zr, _ := zlibReaders.Get().(io.ReadCloser)
		var err error
		if zr == nil {
			zr, err = zlib.NewReader(d.br)
		} else {
			err = zr.(zlib.Resetter).Reset(d.br, nil)
		}
		if err == nil {
			d.r, d.put = zr, func() { zlibReaders.Put(zr) }
			return d
		}
		if zr != nil {
			zlibReaders.Put(zr)
		}
	}
	fr, _ := flateReaders.Get().(io.ReadCloser)
	if fr == nil {
		fr = flate.NewReader(d.br)
	} else if fr.(flate.Resetter).Reset(d.br, nil) != nil {
		d.release()
		return nil
	}
	d.r, d.put = fr, func() { flateReaders.Put(fr) }
	return d
}
