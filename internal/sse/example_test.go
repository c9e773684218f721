package sse_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/ongoingai/gateway/internal/sse"
)

// printer shows what a proxy would receive from the framer.
type printer struct{}

func (printer) Event(ev sse.Event) {
	if ev.Truncated {
		fmt.Printf("oversized event %q, data prefix %d bytes\n", ev.Name, len(ev.Data))
		return
	}
	fmt.Printf("event %q data %q (%d raw bytes)\n", ev.Name, ev.Data, len(ev.Raw))
}

func (printer) Passthrough(b []byte) {
	fmt.Printf("passthrough %d bytes\n", len(b))
}

// A stream arrives in arbitrary pieces; the framer delivers whole events,
// and an event over the cap flows through untouched as it arrives.
func Example() {
	f := sse.NewFramer(64, printer{})
	f.Write([]byte("event: message_start\ndata: {\"type\":"))
	f.Write([]byte("\"message_start\"}\n\n: ping\n\n"))
	f.Write([]byte("event: big\ndata: " + strings.Repeat("x", 50)))
	f.Write([]byte(strings.Repeat("x", 50) + "\n\n"))
	f.Close()

	// An event the proxy rewrote is encoded again before forwarding.
	os.Stdout.Write(sse.AppendEvent(nil, "message_stop", []byte(`{"type":"message_stop"}`)))
	// Output:
	// event "message_start" data "{\"type\":\"message_start\"}" (53 raw bytes)
	// event "" data "" (8 raw bytes)
	// passthrough 67 bytes
	// passthrough 52 bytes
	// oversized event "big", data prefix 64 bytes
	// event: message_stop
	// data: {"type":"message_stop"}
}
