package sse

import (
	"strings"
	"testing"
)

type discard struct{ n int }

func (d *discard) Event(ev Event)       { d.n += len(ev.Raw) }
func (d *discard) Passthrough(b []byte) { d.n += len(b) }

// BenchmarkFramer measures framing a realistic chat-completions stream
// written in network-sized pieces; allocations per op should be zero once
// the buffers have grown.
func BenchmarkFramer(b *testing.B) {
	var sb strings.Builder
	for range 200 {
		sb.WriteString(`data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	}
	sb.WriteString("data: [DONE]\n\n")
	stream := []byte(sb.String())
	h := &discard{}
	f := NewFramer(DefaultMaxEventBytes, h)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		for p := stream; len(p) > 0; {
			n := min(1400, len(p))
			f.Write(p[:n])
			p = p[n:]
		}
		f.Close()
	}
}
