package sse

import (
	"bytes"
	"testing"
)

// FuzzFramer checks, for any stream, any cap and any split, that the
// forwarded bytes reproduce the input exactly and that every event matches
// the whole-stream reference parser.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"), uint16(64), uint8(3))
	f.Add([]byte("event: x\r\ndata: y\r\n\r\n: c\rdata\r\r"), uint16(8), uint8(1))
	f.Fuzz(func(t *testing.T, input []byte, max uint16, chunk uint8) {
		limit := int(max%512) + 1
		size := int(chunk%64) + 1
		checkAgainstReference(t, limit, input, []int{size, 1, size * 3})
		r := frame(limit, input, []int{size})
		if !bytes.Equal(r.output(), input) {
			t.Fatalf("output differs from input")
		}
	})
}
