package providers

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// The scanner below reads a JSON document incrementally, in pieces of any
// size, in constant memory: it validates the grammar byte by byte, tracks
// nesting with one bit per level, and records only the values that sit at
// the paths of a small schema. Everything else, however large, is skipped
// without being buffered. That is what lets an observer find the usage at
// the end of a 50 MB response without holding the response.

const (
	// maxNesting matches encoding/json, so both agree on which documents
	// are valid.
	maxNesting = 10000
	// maxTracked bounds how deep a schema path may reach; deeper levels
	// are only validated.
	maxTracked = 8
	// maxKeyBytes is longer than any key a schema names; longer keys
	// cannot match and are not stored.
	maxKeyBytes = 32
	// maxCapture caps a captured string value (a model name); a longer
	// value is ignored rather than buffered.
	maxCapture = 64 << 10
)

// valueKind is the JSON type of a value seen at a schema path.
type valueKind uint8

const (
	kindNone valueKind = iota // absent
	kindObject
	kindArray
	kindString
	kindNumber
	kindTrue
	kindFalse
	kindNull
)

// action is what the scanner does with the value at a schema node.
type action uint8

const (
	actRecord  action = iota // record the value's kind and offsets
	actCapture               // also keep a string's raw bytes (quotes and escapes included)
	actInt                   // also parse a non-negative integer literal
	actCount                 // add the decoded length of every string here to the slot, across the document
	// actCollect captures a string like actCapture and, once it ends,
	// hands it to the scanner's collector: unlike a slot, which keeps the
	// last value at its path, this sees every value, one per array element.
	actCollect
)

// collector receives the raw strings (quotes and escapes included) of
// actCollect nodes as each one ends; raw is only valid during the call.
type collector interface {
	collect(raw []byte)
}

// slotID names where a schema node's findings are stored. Nodes on
// different paths may share a slot when they never occur in the same
// document (for example Anthropic's message.usage and top-level usage).
type slotID uint8

const (
	slotNone slotID = iota
	slotModel
	slotStream
	slotStreamOptions
	slotIncludeUsage
	slotUsage
	slotInput      // prompt_tokens or input_tokens
	slotOutput     // completion_tokens or output_tokens
	slotCached     // cached_tokens or cache_read_input_tokens
	slotCacheWrite // cache_creation_input_tokens
	slotReasoning  // reasoning_tokens
	slotChoices
	slotType
	slotDelta            // the "delta" string of a Responses API event
	slotText             // generated text bytes
	slotReason           // finish_reason or stop_reason (actCollect's capture)
	slotStatus           // a Responses API response's status
	slotIncompleteReason // its incomplete_details.reason
	slotMaxOutput        // a request's max_tokens, max_output_tokens or max_completion_tokens
	slotCacheWrite1h     // Anthropic cache_creation.ephemeral_1h_input_tokens
	slotServiceTier      // OpenAI service_tier, Anthropic usage.service_tier
	slotSpeed            // Anthropic usage.speed ("fast")
	slotInferenceGeo     // Anthropic usage.inference_geo
	numSlots
)

// slot holds what the scanner found at one schema path. When a key occurs
// twice, the last occurrence wins, as it does for encoding/json.
type slot struct {
	kind valueKind
	done bool // the value was read to its end
	// n is the integer of an actInt node (valid when intOK), the number of
	// members or elements of a container, or the byte count of an actCount
	// node.
	n     int64
	intOK bool
	// Byte offsets from the start of the document: the key's opening quote
	// and the ',' or '{' before it (object members only), and the value.
	keyStart, sep, start, end int64
	raw                       []byte // actCapture, actCollect: the raw string, quotes included
	overflow                  bool   // raw exceeded maxCapture and is unusable
}

// node is one position in a schema: a key of an object or the elements of
// an array, and what to do with the value found there.
type node struct {
	action action
	slot   slotID
	fields []field // children when the value is an object
	elem   *node   // child when the value is an array
	// resets lists the slots below this node; they are cleared whenever
	// the node's value starts again, so a repeated key replaces, not
	// merges.
	resets []slotID
}

// field is one named child of an object node.
type field struct {
	name string
	node *node
}

func (n *node) child(key []byte) *node {
	for i := range n.fields {
		if n.fields[i].name == string(key) {
			return n.fields[i].node
		}
	}
	return nil
}

// scanState is where the scanner is in the JSON grammar.
type scanState uint8

const (
	stValue        scanState = iota // a value must start
	stFirstElem                     // after '[': a value or ']'
	stFirstKey                      // after '{': a key or '}'
	stKey                           // after ',' in an object: a key
	stColon                         // after a key
	stAfterValue                    // after a value in a container: ',' or its close
	stEnd                           // after the top-level value: only whitespace
	stString                        // inside a string (key or value)
	stEscape                        // after a backslash in a string
	stHex                           // inside \uXXXX
	stNumMinus                      // after a leading '-'
	stNumZero                       // after a leading '0'
	stNumInt                        // in integer digits
	stNumDot                        // after '.'
	stNumFrac                       // in fraction digits
	stNumExp                        // after 'e' or 'E'
	stNumExpSign                    // after the exponent's sign
	stNumExpDigits                  // in exponent digits
	stLiteral                       // inside true, false or null
	stError                         // not JSON; the rest is ignored
)

// scanner is an incremental, validating JSON reader that records values at
// the paths of one schema. The zero value is unusable; call reset.
type scanner struct {
	root *node
	st   scanState
	off  int64 // document offset of the current Write's first byte
	// collector receives actCollect strings; nil drops them. It outlives
	// reset: a scanner serves one owner.
	collector collector

	depth  int
	arrays [maxNesting/64 + 1]uint64 // bit d set: the container at depth d is an array
	nodes  [maxTracked]*node         // schema node of the container at each depth

	// Object keys: the decoded key is kept only while the object is on a
	// schema path, to find the child node.
	inKey      bool
	keyTracked bool
	key        [maxKeyBytes]byte
	keyLen     int
	keyMiss    bool // the key cannot match any schema name
	child      *node
	sepPos     int64 // offset of the last '{' or ','
	keyStart   int64
	keySep     int64

	// The scalar being read and its node, when it is on a schema path.
	scalar    *node
	counting  *slot // the actCount slot of the current string, if any
	capturing *slot // the actCapture slot of the current string, if any
	capFrom   int   // index in the current Write where capture resumes
	hex       rune
	hexN      int
	high      bool // the previous escape was a high surrogate
	numNeg    bool
	numBad    bool // not a non-negative integer that fits int64
	numVal    int64
	lit       string
	litPos    int

	slots [numSlots]slot
	// inline is where the captures of inlineSlots start, so that a new
	// scanner reads the usual finish reason or status (31 bytes at most,
	// quotes included) without allocating; a longer one moves to the heap.
	// It makes a scanner unsafe to copy once reset.
	inline [len(inlineSlots)][32]byte
}

// inlineSlots are the short captures kept in scanner.inline.
var inlineSlots = [...]slotID{slotReason, slotStatus, slotIncompleteReason, slotServiceTier, slotSpeed, slotInferenceGeo}

// reset prepares the scanner for a new document read against root.
func (s *scanner) reset(root *node) {
	s.root = root
	s.st = stValue
	s.off = 0
	s.depth = 0
	s.inKey = false
	s.child = nil
	s.scalar, s.counting, s.capturing = nil, nil, nil
	s.high = false
	for i := range s.slots {
		s.slots[i] = slot{raw: s.slots[i].raw[:0]}
	}
	for i, id := range inlineSlots {
		if s.slots[id].raw == nil {
			s.slots[id].raw = s.inline[i][:0]
		}
	}
}

// trim drops capture buffers that grew past keepBytes, so a pooled scanner
// does not pin the memory of one unusually long value.
func (s *scanner) trim() {
	for i := range s.slots {
		if cap(s.slots[i].raw) > keepBytes {
			s.slots[i].raw = nil
		}
	}
}

// finish ends the document and reports whether it was exactly one valid
// JSON value. A number at the very end is only complete here, since
// numbers end at the byte after them.
func (s *scanner) finish() bool {
	switch s.st {
	case stNumZero, stNumInt, stNumFrac, stNumExpDigits:
		// Only a top-level number can end with the input; one inside a
		// container may have been cut short and must not be recorded.
		if s.depth == 0 {
			s.endNumber(s.off)
		}
	}
	return s.st == stEnd
}

// Write scans the next piece of the document. It never fails: after a
// grammar error the rest of the input is ignored.
func (s *scanner) Write(p []byte) (int, error) {
	s.capFrom = 0
	i := 0
	for i < len(p) {
		c := p[i]
		switch s.st {
		case stValue, stFirstElem:
			if isSpace(c) {
				i++
				continue
			}
			if c == ']' && s.st == stFirstElem {
				s.closeContainer(c, s.off+int64(i))
				i++
				continue
			}
			s.beginValue(p, i)
			i++

		case stFirstKey, stKey:
			if isSpace(c) {
				i++
				continue
			}
			if c == '}' && s.st == stFirstKey {
				s.closeContainer(c, s.off+int64(i))
				i++
				continue
			}
			if c != '"' {
				s.st = stError
				continue
			}
			s.beginKey(s.off + int64(i))
			i++

		case stColon:
			if isSpace(c) {
				i++
				continue
			}
			if c != ':' {
				s.st = stError
				continue
			}
			s.st = stValue
			i++

		case stAfterValue:
			if isSpace(c) {
				i++
				continue
			}
			switch c {
			case ',':
				s.sepPos = s.off + int64(i)
				if s.isArray() {
					s.st = stValue
				} else {
					s.st = stKey
				}
			case '}', ']':
				s.closeContainer(c, s.off+int64(i))
			default:
				s.st = stError
				continue
			}
			i++

		case stEnd:
			if !isSpace(c) {
				s.st = stError
				continue
			}
			i++

		case stString:
			i = s.scanString(p, i)

		case stEscape:
			if c == 'u' {
				s.st = stHex
				s.hex, s.hexN = 0, 0
				i++
				continue
			}
			b, ok := simpleEscape(c)
			if !ok {
				s.st = stError
				continue
			}
			s.escaped(b)
			s.st = stString
			i++

		case stHex:
			v := hexValue(c)
			if v < 0 {
				s.st = stError
				continue
			}
			s.hex = s.hex<<4 | rune(v)
			s.hexN++
			if s.hexN == 4 {
				s.endUnicodeEscape()
				s.st = stString
			}
			i++

		case stNumMinus:
			switch {
			case c == '0':
				s.st = stNumZero
			case '1' <= c && c <= '9':
				s.addDigit(c)
				s.st = stNumInt
			default:
				s.st = stError
				continue
			}
			i++

		case stNumZero, stNumInt, stNumFrac, stNumExpDigits:
			if isDigit(c) {
				if s.st == stNumZero {
					s.endNumber(s.off + int64(i)) // a leading zero ends the number
					continue
				}
				if s.st == stNumInt && s.scalar != nil && s.scalar.action == actInt {
					s.addDigit(c)
					i++
					continue
				}
				for i < len(p) && isDigit(p[i]) {
					i++
				}
				continue
			}
			switch {
			case c == '.' && (s.st == stNumZero || s.st == stNumInt):
				s.numBad = true
				s.st = stNumDot
			case (c == 'e' || c == 'E') && s.st != stNumExpDigits:
				s.numBad = true
				s.st = stNumExp
			default:
				s.endNumber(s.off + int64(i))
				continue // the byte after a number belongs to what follows
			}
			i++

		case stNumDot:
			if !isDigit(c) {
				s.st = stError
				continue
			}
			s.st = stNumFrac
			i++

		case stNumExp:
			switch {
			case c == '+' || c == '-':
				s.st = stNumExpSign
			case isDigit(c):
				s.st = stNumExpDigits
			default:
				s.st = stError
				continue
			}
			i++

		case stNumExpSign:
			if !isDigit(c) {
				s.st = stError
				continue
			}
			s.st = stNumExpDigits
			i++

		case stLiteral:
			if c != s.lit[s.litPos] {
				s.st = stError
				continue
			}
			s.litPos++
			i++
			if s.litPos == len(s.lit) {
				s.endValue(s.scalar, s.off+int64(i))
			}

		case stError:
			i = len(p)
		}
	}
	if s.capturing != nil && s.st != stError {
		s.capture(p[s.capFrom:])
	}
	s.off += int64(len(p))
	return len(p), nil
}

// scanString reads string bytes from p[i:] until the string ends, an escape
// needs the next piece of input, or p ends, and returns where to resume.
// Plain runs and two-byte escapes stay in this loop: long strings are most
// of any large body.
func (s *scanner) scanString(p []byte, i int) int {
	for i < len(p) {
		j := i + plainRun(p[i:])
		if j > i {
			s.high = false
			if s.counting != nil {
				s.counting.n += int64(j - i)
			}
			if s.inKey && s.keyTracked {
				s.appendKey(p[i:j])
			}
			i = j
			if i == len(p) {
				break
			}
		}
		switch p[i] {
		case '"':
			if s.inKey {
				s.endKey()
			} else {
				s.endString(p, i)
			}
			return i + 1
		case '\\':
			if i+1 < len(p) {
				if b, ok := simpleEscape(p[i+1]); ok {
					s.escaped(b)
					i += 2
					continue
				}
			}
			s.st = stEscape
			return i + 1
		default: // a control character
			s.st = stError
			return i
		}
	}
	return i
}

// simpleEscape decodes the byte after a backslash, other than 'u'.
func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// escaped accounts for a decoded two-byte escape.
func (s *scanner) escaped(b byte) {
	s.high = false
	if s.counting != nil {
		s.counting.n++
	}
	if s.inKey && s.keyTracked {
		s.appendKey([]byte{b})
	}
}

// isArray reports whether the innermost open container is an array.
func (s *scanner) isArray() bool {
	return s.arrays[s.depth/64]&(1<<(s.depth%64)) != 0
}

// parent returns the schema node of the innermost open container, or nil
// when it is off every schema path.
func (s *scanner) parent() *node {
	if s.depth == 0 || s.depth >= maxTracked {
		return nil
	}
	return s.nodes[s.depth]
}

// beginValue starts the value whose first byte is p[i].
func (s *scanner) beginValue(p []byte, i int) {
	c := p[i]
	pos := s.off + int64(i)

	var n *node
	switch {
	case s.depth == 0:
		n = s.root
	case s.isArray():
		if par := s.parent(); par != nil {
			if par.slot != slotNone {
				s.slots[par.slot].n++
			}
			n = par.elem
		}
	default:
		n = s.child
	}

	var sl *slot
	if n != nil {
		for _, id := range n.resets {
			s.slots[id] = slot{raw: s.slots[id].raw[:0]}
		}
		if n.slot != slotNone && n.action != actCount {
			sl = &s.slots[n.slot]
			*sl = slot{raw: sl.raw[:0], keyStart: s.keyStart, sep: s.keySep, start: pos}
		}
	}

	s.scalar = n
	switch c {
	case '{', '[':
		if sl != nil {
			sl.kind = kindArray
			if c == '{' {
				sl.kind = kindObject
			}
		}
		s.push(c == '[', n)
		if c == '{' {
			s.sepPos = pos
			s.st = stFirstKey
		} else {
			s.st = stFirstElem
		}
	case '"':
		if sl != nil {
			sl.kind = kindString
		}
		s.inKey = false
		s.high = false
		s.st = stString
		s.counting, s.capturing = nil, nil
		if n != nil {
			switch n.action {
			case actCount:
				s.counting = &s.slots[n.slot]
			case actCapture, actCollect:
				s.capturing = sl
				s.capFrom = i
			}
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if sl != nil {
			sl.kind = kindNumber
		}
		s.numNeg, s.numBad, s.numVal = false, false, 0
		switch c {
		case '-':
			s.numNeg = true
			s.st = stNumMinus
		case '0':
			s.st = stNumZero
		default:
			s.addDigit(c)
			s.st = stNumInt
		}
	case 't', 'f', 'n':
		s.lit, s.litPos = literalFor(c, sl), 1
		s.st = stLiteral
	default:
		s.st = stError
	}
}

// literalFor returns the literal starting with c and records its kind.
func literalFor(c byte, sl *slot) string {
	lit, kind := "null", kindNull
	switch c {
	case 't':
		lit, kind = "true", kindTrue
	case 'f':
		lit, kind = "false", kindFalse
	}
	if sl != nil {
		sl.kind = kind
	}
	return lit
}

// push opens a container for node n (nil when off every schema path).
func (s *scanner) push(array bool, n *node) {
	s.depth++
	if s.depth > maxNesting {
		s.st = stError
		return
	}
	word, bit := s.depth/64, uint(s.depth%64)
	if array {
		s.arrays[word] |= 1 << bit
	} else {
		s.arrays[word] &^= 1 << bit
	}
	if s.depth < maxTracked {
		s.nodes[s.depth] = n
	}
}

// closeContainer handles '}' or ']' at offset pos.
func (s *scanner) closeContainer(c byte, pos int64) {
	if (c == ']') != s.isArray() {
		s.st = stError
		return
	}
	n := s.parent()
	s.depth--
	s.endValue(n, pos+1)
}

// beginKey starts an object key at offset pos.
func (s *scanner) beginKey(pos int64) {
	par := s.parent()
	s.inKey = true
	s.keyTracked = par != nil && par.fields != nil
	s.keyLen = 0
	s.keyMiss = false
	s.child = nil
	s.keyStart = pos
	s.keySep = s.sepPos
	s.counting, s.capturing = nil, nil
	s.high = false
	if par != nil && par.slot != slotNone {
		s.slots[par.slot].n++
	}
	s.st = stString
}

// appendKey adds decoded key bytes, giving up on keys too long to match.
func (s *scanner) appendKey(b []byte) {
	if s.keyMiss {
		return
	}
	if s.keyLen+len(b) > len(s.key) {
		s.keyMiss = true
		return
	}
	s.keyLen += copy(s.key[s.keyLen:], b)
}

// endKey looks the finished key up among the object's schema fields.
func (s *scanner) endKey() {
	s.inKey = false
	s.st = stColon
	if s.keyTracked && !s.keyMiss {
		s.child = s.parent().child(s.key[:s.keyLen])
	}
}

// endUnicodeEscape accounts for a completed \uXXXX escape. Decoded lengths
// follow encoding/json: a surrogate pair is one 4-byte rune and a lone
// surrogate becomes U+FFFD (3 bytes).
func (s *scanner) endUnicodeEscape() {
	r := s.hex
	if s.inKey && s.keyTracked {
		if r < utf8.RuneSelf {
			s.appendKey([]byte{byte(r)})
		} else {
			s.keyMiss = true // schema keys are ASCII
		}
	}
	if s.counting == nil {
		return
	}
	switch {
	case 0xD800 <= r && r < 0xDC00:
		s.counting.n += 3 // U+FFFD unless a low surrogate follows
		s.high = true
		return
	case 0xDC00 <= r && r < 0xE000:
		if s.high {
			s.counting.n++ // the pair is 4 bytes, 3 already counted
		} else {
			s.counting.n += 3
		}
	default:
		s.counting.n += int64(utf8.RuneLen(r))
	}
	s.high = false
}

// endString finishes a string value whose closing quote is p[i].
func (s *scanner) endString(p []byte, i int) {
	if sl := s.capturing; sl != nil {
		s.capture(p[s.capFrom : i+1])
		s.capturing = nil
		if s.scalar.action == actCollect && s.collector != nil && !sl.overflow {
			s.collector.collect(sl.raw)
		}
	}
	s.counting = nil
	s.endValue(s.scalar, s.off+int64(i)+1)
}

// capture keeps raw string bytes, up to maxCapture.
func (s *scanner) capture(b []byte) {
	sl := s.capturing
	if sl.overflow {
		return
	}
	if len(sl.raw)+len(b) > maxCapture {
		sl.overflow = true
		sl.raw = sl.raw[:0]
		return
	}
	sl.raw = append(sl.raw, b...)
}

// addDigit accumulates an integer literal for an actInt node.
func (s *scanner) addDigit(c byte) {
	if s.numBad || s.scalar == nil || s.scalar.action != actInt {
		return
	}
	d := int64(c - '0')
	if s.numVal > (math.MaxInt64-d)/10 {
		s.numBad = true
		return
	}
	s.numVal = s.numVal*10 + d
}

// endNumber finishes a number whose first following byte is at end.
func (s *scanner) endNumber(end int64) {
	if n := s.scalar; n != nil && n.action == actInt && n.slot != slotNone {
		sl := &s.slots[n.slot]
		// "-0" is zero; any other negative count is not a count.
		sl.intOK = !s.numBad && !(s.numNeg && s.numVal != 0)
		if sl.intOK {
			sl.n = s.numVal
		}
	}
	s.endValue(s.scalar, end)
}

// endValue marks the value of node n complete at offset end.
func (s *scanner) endValue(n *node, end int64) {
	if n != nil && n.slot != slotNone && n.action != actCount {
		sl := &s.slots[n.slot]
		sl.done = true
		sl.end = end
	}
	s.scalar = nil
	if s.depth == 0 {
		s.st = stEnd
	} else {
		s.st = stAfterValue
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// plainRun returns the length of the longest prefix of p that needs no
// special handling inside a string. Long strings dominate large bodies, so
// it tests eight bytes at a time before finding the exact stop byte.
func plainRun(p []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(p); i += 8 {
		w := binary.LittleEndian.Uint64(p[i:])
		quote := w ^ (ones * '"')
		backslash := w ^ (ones * '\\')
		// A byte is zero in quote or backslash, or below 0x20 in w, exactly
		// when its high bit survives these masks.
		special := (quote-ones)&^quote | (backslash-ones)&^backslash | (w-ones*0x20)&^w
		if special&highs != 0 {
			break
		}
	}
	for i < len(p) && plainStringByte[p[i]] {
		i++
	}
	return i
}

// plainStringByte marks the bytes a string may contain without special
// handling: anything but the quote, the backslash and control characters.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
