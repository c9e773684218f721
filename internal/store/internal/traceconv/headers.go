package traceconv

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// encodeHeaders writes h as a JSON object with sorted keys, byte for byte
// what encoding/json.Marshal writes for a map[string]string (the stored
// form predates this encoder, and both must read the same), in one
// allocation instead of Marshal's reflection, map iteration copy and
// buffer growth. Every trace with captured headers goes through it twice.
func encodeHeaders(h map[string]string) string {
	var small [32]header // header maps are small; they sort on the stack
	pairs := small[:0]
	size := 2
	for k, v := range h {
		pairs = append(pairs, header{k, v})
		size += len(k) + len(v) + 6 // two pairs of quotes, ':' and ','
	}
	slices.SortFunc(pairs, func(a, b header) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, p.name)
		b.WriteByte(':')
		writeJSONString(&b, p.value)
	}
	b.WriteByte('}')
	return b.String()
}

// header is one entry of a header map.
type header struct{ name, value string }

const hexDigits = "0123456789abcdef"

// jsonPlain marks the bytes encoding/json writes as they are: ASCII other
// than '"', '\\', control characters and, because Marshal escapes HTML by
// default, '<', '>' and '&'. Bytes from 0x80 up start UTF-8 sequences and
// take the slow path.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// writeJSONString writes s as a JSON string with encoding/json's escaping
// rules: the short escapes \" \\ \b \f \n \r \t, \u00XX for the other
// control characters and for <, > and &, \ufffd for each byte of invalid
// UTF-8, and \u2028 and \u2029, which JavaScript treats as line ends.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && jsonPlain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
