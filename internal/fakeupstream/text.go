package fakeupstream

import (
	"strings"
)

// words is the vocabulary the fake "generates" from. Tokens are words, so a
// test can predict the text of n events with Text(n). None needs JSON
// escaping, which lets the text go out without an escaping pass.
var words = [...]string{"Hello", "from", "the", "fake", "upstream."}

// pieces holds each word as it appears in a stream delta: every delta but
// the first carries its leading space, as real tokenisers do.
var pieces = func() (p [len(words)][2]string) {
	for i, w := range words {
		p[i] = [2]string{w, " " + w}
	}
	return p
}()

// piece returns the unpadded text of content event i.
func piece(i int) string {
	if i == 0 {
		return pieces[0][0]
	}
	return pieces[i%len(words)][1]
}

// Text returns the unpadded text of a response with the given number of
// content events: what a client reassembles from the stream deltas and what
// a non-streaming response carries.
func Text(events int) string {
	var b strings.Builder
	for i := range events {
		b.WriteString(piece(i))
	}
	return b.String()
}

// padBlock is the filler appended to deltas when X-Fake-Content-Bytes asks
// for a bigger body; large pads are written as repeated slices of it, so
// padding never allocates however large it is.
var padBlock = func() []byte {
	const unit = "lorem ipsum dolor sit amet "
	b := make([]byte, 16<<10)
	for i := range b {
		b[i] = unit[i%len(unit)]
	}
	return b
}()

// textPlan says how the generated text is laid out over the content events:
// each event carries its word plus a share of the padding.
type textPlan struct {
	events  int
	padEach int64 // padding in every event
	padRest int64 // the first padRest events get one more byte
	total   int64 // length of the whole text
}

// planText spreads the padding needed to reach contentBytes over the events.
func planText(events int, contentBytes int64) textPlan {
	p := textPlan{events: events}
	for i := range events {
		p.total += int64(len(piece(i)))
	}
	if events > 0 && contentBytes > p.total {
		extra := contentBytes - p.total
		p.padEach = extra / int64(events)
		p.padRest = extra % int64(events)
		p.total = contentBytes
	}
	return p
}

// pad returns the padding length of event i.
func (p textPlan) pad(i int) int64 {
	if int64(i) < p.padRest {
		return p.padEach + 1
	}
	return p.padEach
}

// writePiece writes the text of event i, padding included.
func (p textPlan) writePiece(o *output, i int) {
	o.writeString(piece(i))
	for n := p.pad(i); n > 0; {
		chunk := min(n, int64(len(padBlock)))
		o.write(padBlock[:chunk])
		n -= chunk
		// Stop early for a client that left: a huge pad should not keep
		// the handler busy writing into a dead connection.
		if o.err() != nil {
			return
		}
	}
}

// writeAll writes the whole text, as a non-streaming body carries it.
func (p textPlan) writeAll(o *output) {
	for i := range p.events {
		p.writePiece(o, i)
		if o.err() != nil {
			return
		}
	}
}
