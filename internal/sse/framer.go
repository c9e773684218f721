// Package sse owns bounded, incremental framing of Server-Sent Events
// streams: it cuts an arbitrary byte stream into events as the bytes arrive,
// keeps the exact bytes of every event so a proxy can forward them untouched,
// and never holds more than a fixed number of bytes of any one event.
//
// The parser follows the event-stream grammar of the WHATWG HTML standard:
// lines end in "\r\n", "\n" or "\r"; a blank line ends an event; lines that
// start with ":" are comments; "data" lines are joined with "\n" after one
// optional leading space is stripped; "id", "retry" and unknown fields are
// kept in the raw bytes and otherwise ignored. A leading byte-order mark is
// not stripped (it only affects the first field name, and the APIs this
// gateway proxies never send one).
package sse

import "bytes"

// DefaultMaxEventBytes is the cap NewFramer uses when given a cap below 1.
const DefaultMaxEventBytes = 1 << 20

// Event is one complete SSE event.
type Event struct {
	// Name is the value of the last "event:" field, "" if absent.
	Name string
	// Data is the "data:" lines joined with "\n", each with one optional
	// leading space stripped; nil when the event has no data field. It is
	// valid only during the callback.
	Data []byte
	// Raw is the exact bytes of the event including its terminating blank
	// line. It is valid only during the callback, and nil when Truncated.
	Raw []byte
	// Truncated means the event exceeded the cap: its raw bytes were already
	// handed to Passthrough as they arrived, and Data holds only a prefix.
	Truncated bool
	// Streamed means the event's data outgrew the cap and the handler, a
	// DataHandler, received all of it through EventData as it arrived;
	// Data then holds only a prefix. Streamed implies Truncated.
	Streamed bool
}

// DataHandler is a Handler that wants the whole data of an event too large
// to hold, as it streams: usage at the end of a multi-megabyte event must
// not be lost to the cap. A Framer whose handler implements it calls
// EventData with the event's data (lines joined with "\n" as in
// Event.Data), from the first byte, in order, as soon as the data would
// outgrow the cap, and then delivers the event with Streamed set.
type DataHandler interface {
	Handler
	// EventData receives the next piece of the current oversized event's
	// data; p is valid only during the call.
	EventData(p []byte)
}

// Handler receives what a Framer cuts out of the stream. Its methods are
// called synchronously from Write and Close, in stream order.
type Handler interface {
	// Event is called for each complete event. At Close it is also called
	// for a trailing event that lacks its blank line, if any bytes of it
	// remain; its Raw then holds exactly those bytes.
	Event(ev Event)
	// Passthrough receives the bytes of an oversized event, to be forwarded
	// to the client untouched, as they arrive. b is valid only during the
	// call.
	Passthrough(b []byte)
}

// parse states of the line grammar.
type state uint8

const (
	atLineStart  state = iota // at the first byte of a line
	inComment                 // after a leading ':', up to the line end
	inFieldName               // reading a field name, before any ':'
	atValueStart              // just after the ':', an optional space to strip
	inValue                   // reading a field value
	afterBlankCR              // saw a blank line ending in '\r'; a '\n' may follow
)

// field is the kind of the field on the current line; only data and event
// influence Event, the rest are skipped.
type field uint8

const (
	fieldOther field = iota
	fieldData
	fieldEvent
)

// Framer cuts a stream of SSE bytes into events. Memory is bounded by about
// twice the cap whatever the stream: the raw bytes and the joined data of
// one event. A Framer is not safe for concurrent use.
type Framer struct {
	max int
	h   Handler
	dh  DataHandler // h, when it wants oversized data streamed

	raw       []byte // raw bytes of the current event, unless truncated
	data      []byte // joined data of the current event, at most max bytes
	name      []byte // event name of the current event, at most max bytes
	dataLines int
	truncated bool
	streamed  bool // the current event's data goes to dh.EventData

	st state
	// lineCR is set when the previous line ended in '\r', so that a '\n'
	// right after it belongs to the same line break.
	lineCR bool
	fld    field
	// fieldName holds the start of a field name; only names up to the
	// length of the longest known field can match, so longer ones are
	// marked tooLong instead of being stored.
	fieldName [5]byte
	fieldLen  int
	tooLong   bool

	// names interns event names so steady-state dispatch does not allocate
	// a string per event; it stops growing at maxInternedNames.
	names map[string]string
}

// maxInternedNames bounds the name cache: real streams use a handful of
// names, and a hostile one must not grow memory without bound.
const maxInternedNames = 64

// NewFramer returns a Framer that delivers events to h and passes through
// any event whose raw size exceeds maxEventBytes (DefaultMaxEventBytes when
// maxEventBytes < 1).
func NewFramer(maxEventBytes int, h Handler) *Framer {
	if maxEventBytes < 1 {
		maxEventBytes = DefaultMaxEventBytes
	}
	dh, _ := h.(DataHandler)
	return &Framer{max: maxEventBytes, h: h, dh: dh}
}

// Write feeds stream bytes. It calls the handler synchronously for every
// event that p completes and for every byte of an oversized event. It never
// returns an error.
//
// An event whose blank line ends in a bare '\r' at the very end of p is
// delivered by the next Write (or Close), because only the next byte tells
// whether a '\n' belongs to it.
func (f *Framer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		end, done := f.scan(p)
		f.appendRaw(p[:end])
		if done {
			f.dispatch()
		}
		p = p[end:]
	}
	return n, nil
}

// Close ends the stream: a pending event is delivered, even one missing its
// blank line. The Framer is reset and may be reused for a new stream.
func (f *Framer) Close() {
	if f.st == inFieldName {
		// A last line cut before its colon still names a field.
		f.startValue()
	}
	switch f.st {
	case afterBlankCR:
		f.dispatch()
	default:
		if len(f.raw) > 0 || f.truncated {
			f.endLine()
			f.dispatch()
		}
	}
	f.st = atLineStart
	f.lineCR = false
}

// resetKeepBytes bounds the buffers Reset keeps: enough for the events of
// real streams, small enough that a pooled Framer costs little.
const resetKeepBytes = 16 << 10

// maxInternedNameBytes bounds the event names intern keeps.
const maxInternedNameBytes = 64

// Reset discards any pending event, without delivering it, and readies the
// Framer for a new stream with the same cap and handler, as NewFramer would.
// Buffers that grew past 16 KiB are dropped, so a Framer kept for reuse
// does not pin the memory of one large event; interned names are kept.
func (f *Framer) Reset() {
	*f = Framer{
		max: f.max, h: f.h, dh: f.dh, names: f.names,
		raw: keepBuf(f.raw), data: keepBuf(f.data), name: keepBuf(f.name),
	}
}

func keepBuf(b []byte) []byte {
	if cap(b) > resetKeepBytes {
		return nil
	}
	return b[:0]
}

// scan parses p up to the end of the current event. It returns how many
// bytes of p belong to the current event and whether the event ended there.
func (f *Framer) scan(p []byte) (end int, done bool) {
	i := 0
	for i < len(p) {
		b := p[i]
		switch f.st {
		case atLineStart:
			if f.lineCR {
				f.lineCR = false
				if b == '\n' {
					i++
					continue
				}
			}
			switch b {
			case '\n':
				return i + 1, true
			case '\r':
				f.st = afterBlankCR
			case ':':
				f.st = inComment
			default:
				f.st = inFieldName
				f.fieldLen = 0
				f.tooLong = false
				continue // the byte is the first of the field name
			}
			i++

		case afterBlankCR:
			if b == '\n' {
				return i + 1, true
			}
			return i, true

		case inComment:
			j := i + lineEnd(p[i:])
			if j == len(p) {
				return j, false
			}
			f.breakLine(p[j])
			i = j + 1

		case inFieldName:
			switch b {
			case ':':
				f.startValue()
				f.st = atValueStart
			case '\r', '\n':
				// A line without a colon is a field with an empty value.
				f.startValue()
				f.endLine()
				f.breakLine(b)
			default:
				if f.fieldLen < len(f.fieldName) {
					f.fieldName[f.fieldLen] = b
					f.fieldLen++
				} else {
					f.tooLong = true
				}
			}
			i++

		case atValueStart:
			f.st = inValue
			if b == ' ' {
				i++
			}

		case inValue:
			j := i + lineEnd(p[i:])
			f.appendValue(p[i:j])
			if j == len(p) {
				return j, false
			}
			f.endLine()
			f.breakLine(p[j])
			i = j + 1
		}
	}
	return len(p), false
}

// lineEnd returns the index of the first '\r' or '\n' in p, or len(p).
// Two byte searches beat a per-byte loop on long data lines.
func lineEnd(p []byte) int {
	n := bytes.IndexByte(p, '\n')
	if n < 0 {
		n = len(p)
	}
	if r := bytes.IndexByte(p[:n], '\r'); r >= 0 {
		return r
	}
	return n
}

// breakLine records a line terminator byte and moves to the next line.
func (f *Framer) breakLine(b byte) {
	f.lineCR = b == '\r'
	f.st = atLineStart
}

// startValue classifies the field whose name just ended and prepares its
// value buffer: each data line adds a separator, each event line restarts
// the name (the last one wins).
func (f *Framer) startValue() {
	f.fld = fieldOther
	if f.tooLong {
		return
	}
	switch string(f.fieldName[:f.fieldLen]) {
	case "data":
		f.fld = fieldData
		if f.dataLines > 0 {
			f.appendData(newline)
		}
		f.dataLines++
	case "event":
		f.fld = fieldEvent
		f.name = f.name[:0]
	}
}

// appendValue adds bytes of the current field's value where they belong.
func (f *Framer) appendValue(v []byte) {
	switch f.fld {
	case fieldData:
		f.appendData(v)
	case fieldEvent:
		f.name = appendCapped(f.name, v, f.max)
	}
}

// newline joins data lines.
var newline = []byte{'\n'}

// appendData adds to the current event's data: kept up to the cap, and,
// for a DataHandler, streamed whole once it would outgrow the cap.
func (f *Framer) appendData(v []byte) {
	switch {
	case len(v) == 0:
	case f.streamed:
		f.dh.EventData(v)
	case f.dh != nil && len(f.data)+len(v) > f.max:
		f.streamed = true
		f.dh.EventData(f.data)
		f.dh.EventData(v)
	default:
		f.data = appendCapped(f.data, v, f.max)
	}
}

// endLine closes the current field; the next line starts fresh.
func (f *Framer) endLine() {
	f.fld = fieldOther
}

// appendRaw keeps the event's bytes, or streams them to Passthrough once
// the event has grown past the cap.
func (f *Framer) appendRaw(seg []byte) {
	if len(seg) == 0 {
		return
	}
	if f.truncated {
		f.h.Passthrough(seg)
		return
	}
	if len(f.raw)+len(seg) > f.max {
		f.truncated = true
		if len(f.raw) > 0 {
			f.h.Passthrough(f.raw)
		}
		f.h.Passthrough(seg)
		f.raw = f.raw[:0]
		return
	}
	f.raw = appendCapped(f.raw, seg, f.max)
}

// dispatch delivers the current event and resets for the next one.
func (f *Framer) dispatch() {
	// Data larger than the cap means raw bytes larger than the cap, so a
	// streamed event is always a truncated one.
	ev := Event{Name: f.intern(f.name), Truncated: f.truncated || f.streamed, Streamed: f.streamed}
	if f.dataLines > 0 {
		ev.Data = f.data
		if ev.Data == nil {
			ev.Data = []byte{} // a data field with an empty value is not "no data"
		}
	}
	if !f.truncated {
		ev.Raw = f.raw
	}
	f.h.Event(ev)

	f.raw = f.raw[:0]
	f.data = f.data[:0]
	f.name = f.name[:0]
	f.dataLines = 0
	f.truncated = false
	f.streamed = false
	f.st = atLineStart
	f.lineCR = false
	f.fld = fieldOther
}

// intern returns name as a string, reusing an earlier string for a name
// seen before.
func (f *Framer) intern(name []byte) string {
	if len(name) == 0 {
		return ""
	}
	if s, ok := f.names[string(name)]; ok {
		return s
	}
	s := string(name)
	if f.names == nil {
		f.names = make(map[string]string)
	}
	// Only short names are kept: real event names are a few words, and a
	// pooled Framer keeps its names across streams, so a long one from a
	// misbehaving upstream would otherwise stay pinned for good.
	if len(f.names) < maxInternedNames && len(name) <= maxInternedNameBytes {
		f.names[s] = s
	}
	return s
}

// appendCapped appends as much of src to dst as fits under limit, growing
// dst geometrically but never past limit so a buffer's capacity stays
// bounded by the cap.
func appendCapped(dst, src []byte, limit int) []byte {
	room := limit - len(dst)
	if room <= 0 {
		return dst
	}
	if len(src) > room {
		src = src[:room]
	}
	if need := len(dst) + len(src); need > cap(dst) {
		c := max(2*cap(dst), need, 512)
		c = min(c, limit)
		grown := make([]byte, len(dst), c)
		copy(grown, dst)
		dst = grown
	}
	return append(dst, src...)
}
