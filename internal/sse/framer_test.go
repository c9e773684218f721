package sse

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// got is one callback the recorder saw, in order.
type got struct {
	passthrough bool
	ev          Event // copies; Raw is nil for passthrough
	bytes       []byte
}

// recorder copies everything a Framer hands it, since the slices are only
// valid during the callback.
type recorder struct {
	calls []got
}

func (r *recorder) Event(ev Event) {
	c := Event{Name: ev.Name, Truncated: ev.Truncated, Streamed: ev.Streamed}
	if ev.Data != nil {
		c.Data = bytes.Clone(ev.Data)
		if c.Data == nil {
			c.Data = []byte{}
		}
	}
	if ev.Raw != nil {
		c.Raw = bytes.Clone(ev.Raw)
	}
	r.calls = append(r.calls, got{ev: c})
}

func (r *recorder) Passthrough(b []byte) {
	r.calls = append(r.calls, got{passthrough: true, bytes: bytes.Clone(b)})
}

// events returns the delivered events only.
func (r *recorder) events() []Event {
	var out []Event
	for _, c := range r.calls {
		if !c.passthrough {
			out = append(out, c.ev)
		}
	}
	return out
}

// output concatenates what a proxy would forward: every untruncated event's
// Raw and every Passthrough chunk, in order.
func (r *recorder) output() []byte {
	var out []byte
	for _, c := range r.calls {
		if c.passthrough {
			out = append(out, c.bytes...)
		} else {
			out = append(out, c.ev.Raw...)
		}
	}
	return out
}

// frame runs input through a Framer in chunks of the given sizes (cycled;
// nil means one Write) and closes it.
func frame(max int, input []byte, chunks []int) *recorder {
	r := &recorder{}
	f := NewFramer(max, r)
	for i := 0; len(input) > 0; i++ {
		n := len(input)
		if len(chunks) > 0 {
			n = min(chunks[i%len(chunks)], len(input))
		}
		if w, err := f.Write(input[:n]); w != n || err != nil {
			panic(fmt.Sprintf("Write returned %d, %v", w, err))
		}
		input = input[n:]
	}
	f.Close()
	return r
}

// show formats events for failure messages.
func show(evs []Event) string {
	var sb strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&sb, "{Name:%q Data:%q Raw:%q Truncated:%v} ", ev.Name, ev.Data, ev.Raw, ev.Truncated)
	}
	return sb.String()
}

// refEvent is what the reference parser expects for one event.
type refEvent struct {
	name string
	data []byte // nil when no data field
	raw  []byte
}

// reference parses a whole stream the simple way, line by line, as the
// SSE specification describes it; the Framer must agree with it however the
// stream is split.
func reference(input []byte) []refEvent {
	var out []refEvent
	var cur refEvent
	start := 0
	flush := func(end int) {
		cur.raw = input[start:end]
		out = append(out, cur)
		cur = refEvent{}
		start = end
	}
	i := 0
	for i < len(input) {
		j := i
		for j < len(input) && input[j] != '\r' && input[j] != '\n' {
			j++
		}
		line := input[i:j]
		next := j
		if j < len(input) {
			next = j + 1
			if input[j] == '\r' && j+1 < len(input) && input[j+1] == '\n' {
				next = j + 2
			}
		}
		if len(line) == 0 && j < len(input) {
			flush(next)
			i = next
			continue
		}
		applyLine(&cur, line)
		i = next
	}
	if start < len(input) {
		flush(len(input))
	}
	return out
}

func applyLine(ev *refEvent, line []byte) {
	if len(line) > 0 && line[0] == ':' {
		return
	}
	name, value, found := bytes.Cut(line, []byte(":"))
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(name) {
	case "data":
		if ev.data != nil {
			ev.data = append(ev.data, '\n')
		} else {
			ev.data = []byte{}
		}
		ev.data = append(ev.data, value...)
	case "event":
		ev.name = string(value)
	}
}

// checkAgainstReference asserts the two properties every stream must have:
// the forwarded bytes equal the input, and each event equals the
// reference's (with Data and Name cut to the cap when truncated).
func checkAgainstReference(t *testing.T, max int, input []byte, chunks []int) {
	t.Helper()
	r := frame(max, input, chunks)
	if out := r.output(); !bytes.Equal(out, input) {
		t.Fatalf("chunks %v: forwarded bytes differ from input\n got %q\nwant %q", chunks, out, input)
	}
	want := reference(input)
	evs := r.events()
	if len(evs) != len(want) {
		t.Fatalf("chunks %v: got %d events, want %d\n got %+v\nwant %+v", chunks, len(evs), len(want), evs, want)
	}
	for i, ev := range evs {
		w := want[i]
		wantTrunc := len(w.raw) > max
		if ev.Truncated != wantTrunc {
			t.Fatalf("chunks %v: event %d Truncated = %v, want %v", chunks, i, ev.Truncated, wantTrunc)
		}
		wantData, wantName := w.data, w.name
		if wantTrunc {
			if ev.Raw != nil {
				t.Fatalf("chunks %v: event %d truncated but Raw = %q", chunks, i, ev.Raw)
			}
			if len(wantData) > max {
				wantData = wantData[:max]
			}
			if len(wantName) > max {
				wantName = wantName[:max]
			}
		} else if !bytes.Equal(ev.Raw, w.raw) {
			t.Fatalf("chunks %v: event %d Raw = %q, want %q", chunks, i, ev.Raw, w.raw)
		}
		if (ev.Data == nil) != (wantData == nil) || !bytes.Equal(ev.Data, wantData) {
			t.Fatalf("chunks %v: event %d Data = %q, want %q", chunks, i, ev.Data, wantData)
		}
		if ev.Name != wantName {
			t.Fatalf("chunks %v: event %d Name = %q, want %q", chunks, i, ev.Name, wantName)
		}
	}
}

func TestFramerEvents(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []refEvent
	}{
		{
			name:  "openai chunks and done",
			input: "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			want: []refEvent{
				{data: []byte(`{"a":1}`), raw: []byte("data: {\"a\":1}\n\n")},
				{data: []byte("[DONE]"), raw: []byte("data: [DONE]\n\n")},
			},
		},
		{
			name:  "named event with crlf",
			input: "event: message_start\r\ndata: {}\r\n\r\n",
			want: []refEvent{
				{name: "message_start", data: []byte("{}"), raw: []byte("event: message_start\r\ndata: {}\r\n\r\n")},
			},
		},
		{
			name:  "bare cr line endings",
			input: "event: a\rdata: x\r\rdata: y\r\r",
			want: []refEvent{
				{name: "a", data: []byte("x"), raw: []byte("event: a\rdata: x\r\r")},
				{data: []byte("y"), raw: []byte("data: y\r\r")},
			},
		},
		{
			name:  "multi-line data, comment, id and retry",
			input: ": keep-alive\nid: 7\nretry: 100\ndata: one\ndata:two\ndata:  three\n\n",
			want: []refEvent{
				{data: []byte("one\ntwo\n three"), raw: []byte(": keep-alive\nid: 7\nretry: 100\ndata: one\ndata:two\ndata:  three\n\n")},
			},
		},
		{
			name:  "comment-only event still delivered for forwarding",
			input: ": ping\n\n",
			want:  []refEvent{{raw: []byte(": ping\n\n")}},
		},
		{
			name:  "field without colon",
			input: "data\ndata\n\n",
			want:  []refEvent{{data: []byte("\n"), raw: []byte("data\ndata\n\n")}},
		},
		{
			name:  "last event name wins, unknown fields ignored",
			input: "event: a\nevent: b\nfoo: bar\ndatas: no\ndata: yes\n\n",
			want:  []refEvent{{name: "b", data: []byte("yes"), raw: []byte("event: a\nevent: b\nfoo: bar\ndatas: no\ndata: yes\n\n")}},
		},
		{
			name:  "trailing event without blank line delivered at close",
			input: "data: a\n\ndata: partial",
			want: []refEvent{
				{data: []byte("a"), raw: []byte("data: a\n\n")},
				{data: []byte("partial"), raw: []byte("data: partial")},
			},
		},
		{
			name:  "extra blank lines are empty events",
			input: "\n\ndata: x\n\n\n",
			want: []refEvent{
				{raw: []byte("\n")},
				{raw: []byte("\n")},
				{data: []byte("x"), raw: []byte("data: x\n\n")},
				{raw: []byte("\n")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ref := reference([]byte(tt.input)); fmt.Sprintf("%q", ref) != fmt.Sprintf("%q", tt.want) {
				t.Fatalf("reference parser disagrees with the table:\n got %q\nwant %q", ref, tt.want)
			}
			for _, chunks := range [][]int{nil, {1}, {2}, {3, 1}, {7}} {
				checkAgainstReference(t, 1<<10, []byte(tt.input), chunks)
			}
		})
	}
}

func TestFramerTruncatesOversizedEvent(t *testing.T) {
	big := strings.Repeat("x", 100)
	input := []byte("data: small\n\nevent: big\ndata: " + big + "\n\ndata: after\n\n")
	const max = 32
	for _, chunks := range [][]int{nil, {1}, {5}, {31}} {
		r := frame(max, input, chunks)
		if !bytes.Equal(r.output(), input) {
			t.Fatalf("chunks %v: output %q", chunks, r.output())
		}
		evs := r.events()
		if len(evs) != 3 {
			t.Fatalf("chunks %v: %d events", chunks, len(evs))
		}
		if evs[0].Truncated || string(evs[0].Data) != "small" {
			t.Errorf("chunks %v: first event %+v", chunks, evs[0])
		}
		ev := evs[1]
		if !ev.Truncated || ev.Raw != nil || ev.Name != "big" || string(ev.Data) != big[:max] {
			t.Errorf("chunks %v: big event = {Name:%q Truncated:%v Raw:%q Data:%q}", chunks, ev.Name, ev.Truncated, ev.Raw, ev.Data)
		}
		if evs[2].Truncated || string(evs[2].Data) != "after" {
			t.Errorf("chunks %v: last event %+v", chunks, evs[2])
		}
		// With small writes the oversized event must flow out as it
		// arrives, not in one piece at its end.
		if len(chunks) > 0 && chunks[0] < max {
			n := 0
			for _, c := range r.calls {
				if c.passthrough {
					n++
				}
			}
			if n < 2 {
				t.Errorf("chunks %v: oversized event passed through in %d call(s)", chunks, n)
			}
		}
	}
}

// TestFramerBoundedMemory streams one 8 MiB event and checks that the
// framer's buffers never grow past the cap.
func TestFramerBoundedMemory(t *testing.T) {
	const max = 4 << 10
	var passed int
	h := &countingHandler{passthrough: func(b []byte) { passed += len(b) }}
	f := NewFramer(max, h)
	chunk := bytes.Repeat([]byte("y"), 32<<10)
	f.Write([]byte("data: "))
	for range 256 {
		f.Write(chunk)
		if cap(f.raw) > max || cap(f.data) > max {
			t.Fatalf("buffers grew past the cap: raw %d, data %d", cap(f.raw), cap(f.data))
		}
	}
	f.Write([]byte("\n\n"))
	f.Close()
	if want := len("data: ") + 256*len(chunk) + 2; passed != want {
		t.Fatalf("passed through %d bytes, want %d", passed, want)
	}
	if h.events != 1 || !h.lastTruncated || h.lastDataLen != max {
		t.Fatalf("events %d, truncated %v, data %d", h.events, h.lastTruncated, h.lastDataLen)
	}
}

type countingHandler struct {
	events        int
	lastTruncated bool
	lastDataLen   int
	passthrough   func([]byte)
}

func (h *countingHandler) Event(ev Event) {
	h.events++
	h.lastTruncated = ev.Truncated
	h.lastDataLen = len(ev.Data)
}

func (h *countingHandler) Passthrough(b []byte) {
	if h.passthrough != nil {
		h.passthrough(b)
	}
}

func TestFramerSplitAtEveryByte(t *testing.T) {
	input := []byte("event: response.created\r\ndata: {\"type\":\"response.created\"}\r\n\r\n" +
		": comment\rdata: a\rdata: b\r\r" +
		"id: 1\ndata: " + strings.Repeat("z", 40) + "\n\n" +
		"data: tail")
	for _, max := range []int{16, 64, 1 << 10} {
		for i := 0; i <= len(input); i++ {
			for j := i; j <= len(input); j++ {
				r := &recorder{}
				f := NewFramer(max, r)
				f.Write(input[:i])
				f.Write(input[i:j])
				f.Write(input[j:])
				f.Close()
				whole := frame(max, input, nil)
				if show(r.events()) != show(whole.events()) {
					t.Fatalf("max %d split at %d,%d: events differ\n got %s\nwant %s", max, i, j, show(r.events()), show(whole.events()))
				}
				if !bytes.Equal(r.output(), input) {
					t.Fatalf("max %d split at %d,%d: output differs", max, i, j)
				}
			}
		}
		checkAgainstReference(t, max, input, nil)
	}
}

func TestFramerCRAtWriteBoundary(t *testing.T) {
	// The blank line's '\r' ends the first Write; the event must wait for
	// the next byte to learn whether a '\n' belongs to it.
	r := &recorder{}
	f := NewFramer(1<<10, r)
	f.Write([]byte("data: a\r\n\r"))
	if len(r.calls) != 0 {
		t.Fatalf("event delivered before its line break was complete: %+v", r.calls)
	}
	f.Write([]byte("\ndata: b\n\n"))
	evs := r.events()
	if len(evs) != 2 || string(evs[0].Raw) != "data: a\r\n\r\n" || string(evs[1].Raw) != "data: b\n\n" {
		t.Fatalf("events %s", show(evs))
	}
}

func TestFramerReusableAfterClose(t *testing.T) {
	r := &recorder{}
	f := NewFramer(1<<10, r)
	f.Write([]byte("data: a"))
	f.Close()
	f.Write([]byte("data: b\n\n"))
	f.Close()
	evs := r.events()
	if len(evs) != 2 || string(evs[0].Data) != "a" || string(evs[1].Data) != "b" {
		t.Fatalf("events %s", show(evs))
	}
}

func TestNewFramerDefaultCap(t *testing.T) {
	if f := NewFramer(0, &recorder{}); f.max != DefaultMaxEventBytes {
		t.Fatalf("max = %d", f.max)
	}
}

func TestFramerInternsNames(t *testing.T) {
	h := &countingHandler{}
	f := NewFramer(1<<10, h)
	ev := []byte("event: content_block_delta\ndata: {}\n\n")
	f.Write(ev)
	allocs := testing.AllocsPerRun(100, func() { f.Write(ev) })
	if allocs != 0 {
		t.Fatalf("steady-state Write allocates %v times per event", allocs)
	}
	// A hostile stream of ever-new names must not grow the cache forever.
	for i := range 1000 {
		fmt.Fprintf(f, "event: e%d\ndata: {}\n\n", i)
	}
	if len(f.names) > maxInternedNames {
		t.Fatalf("name cache holds %d names", len(f.names))
	}
}

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"", `{"a":1}`, "data: {\"a\":1}\n\n"},
		{"message_delta", `{}`, "event: message_delta\ndata: {}\n\n"},
		{"", "a\nb", "data: a\ndata: b\n\n"},
		{"", "a\r\nb\rc", "data: a\ndata: b\ndata: c\n\n"},
		{"", "", "data: \n\n"},
		{"", "x\n", "data: x\ndata: \n\n"},
		{"", " lead", "data:  lead\n\n"},
	}
	for _, tt := range tests {
		got := AppendEvent([]byte("prefix|"), tt.name, []byte(tt.data))
		if string(got) != "prefix|"+tt.want {
			t.Errorf("AppendEvent(%q, %q) = %q, want %q", tt.name, tt.data, got, tt.want)
		}
		// Round trip: the framer reads back what was encoded (line breaks
		// normalised to '\n').
		r := frame(1<<10, []byte(tt.want), nil)
		evs := r.events()
		wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(tt.data)
		if len(evs) != 1 || evs[0].Name != tt.name || string(evs[0].Data) != wantData {
			t.Errorf("round trip of %q: %s", tt.data, show(evs))
		}
	}
}

// TestFramerReset: a Framer reset in the middle of an event (a stream cut
// short) frames the next stream exactly as a new Framer would, and drops
// buffers a large event grew.
func TestFramerReset(t *testing.T) {
	r := &recorder{}
	f := NewFramer(1<<20, r)
	big := "data: " + strings.Repeat("x", 100<<10) + "\n\n"
	f.Write([]byte(big))
	f.Write([]byte("event: half\r\ndata: cut he"))
	f.Reset()
	if len(r.calls) != 1 {
		t.Fatalf("Reset delivered the pending event: %d calls", len(r.calls))
	}
	if cap(f.raw) > resetKeepBytes || cap(f.data) > resetKeepBytes {
		t.Fatalf("Reset kept large buffers: raw %d, data %d", cap(f.raw), cap(f.data))
	}
	next := []byte("\nevent: a\ndata: 1\r\n\r\n: c\ndata: 2\ndata: 3\n\n")
	r.calls = nil
	f.Write(next)
	f.Close()
	want := frame(1<<20, next, nil).events()
	if got := r.events(); show(got) != show(want) {
		t.Fatalf("after Reset:\n got %s\nwant %s", show(got), show(want))
	}
}
