package sse

import (
	"bytes"
	"strings"
	"testing"
)

// dataRecorder is a DataHandler that keeps what a proxy and an observer
// would: the forwarded bytes and the streamed data.
type dataRecorder struct {
	recorder
	streamed []byte
	pieces   int
	maxPiece int
}

func (d *dataRecorder) EventData(p []byte) {
	d.streamed = append(d.streamed, p...)
	d.pieces++
	d.maxPiece = max(d.maxPiece, len(p))
}

// A 1 MiB event under a 256 KiB cap reaches a DataHandler whole, in order,
// with its lines joined, whatever the write sizes, while its raw bytes pass
// through untouched and the events around it are framed as usual.
func TestFramerStreamsOversizedData(t *testing.T) {
	const max = 256 << 10
	line := strings.Repeat("x", 512<<10)
	data := `{"type":"response.completed","response":{"output":"` + line + "\n" + line + `","usage":{"input_tokens":7}}}`
	big := "event: response.completed\ndata: " + strings.Replace(data, "\n", "\ndata: ", 1) + "\n\n"
	input := []byte("event: a\ndata: {\"small\":1}\n\n" + big + "data: after\n\n")
	for _, chunk := range []int{len(input), 1 << 20, 64 << 10, 4093, 7} {
		d := &dataRecorder{}
		f := NewFramer(max, d)
		for p := input; len(p) > 0; {
			n := min(chunk, len(p))
			f.Write(p[:n])
			p = p[n:]
		}
		f.Close()
		if !bytes.Equal(d.output(), input) {
			t.Fatalf("chunk %d: forwarded bytes differ from the input", chunk)
		}
		if string(d.streamed) != data {
			t.Fatalf("chunk %d: streamed %d bytes, want the event's %d bytes of data", chunk, len(d.streamed), len(data))
		}
		evs := d.events()
		if len(evs) != 3 || evs[0].Name != "a" || evs[2].Name != "" || string(evs[2].Data) != "after" {
			t.Fatalf("chunk %d: events %s", chunk, show(evs))
		}
		if evs[1].Name != "response.completed" || !evs[1].Truncated || len(evs[1].Data) > max {
			t.Fatalf("chunk %d: oversized event %q truncated %v with %d data bytes", chunk, evs[1].Name, evs[1].Truncated, len(evs[1].Data))
		}
		if cap(f.data) > max || cap(f.raw) > max {
			t.Fatalf("chunk %d: buffers grew past the cap: raw %d, data %d", chunk, cap(f.raw), cap(f.data))
		}
	}
}

// A plain Handler still gets the prefix only: streaming is opt-in.
func TestFramerWithoutDataHandlerKeepsAPrefix(t *testing.T) {
	r := frame(16, []byte("data: "+strings.Repeat("z", 100)+"\n\n"), nil)
	evs := r.events()
	if len(evs) != 1 || !evs[0].Truncated || len(evs[0].Data) != 16 {
		t.Fatalf("events %s", show(evs))
	}
}
