// Package jsonstr writes JSON string literals byte for byte as
// encoding/json.Marshal writes them, for the few documents the gateway
// encodes by hand (stored header maps, trace metadata) because Marshal's
// reflection and buffer growth would cost more than the value. Sharing one
// escaper keeps every hand-written document valid JSON that reads back the
// same as Marshal's, and leaves one place to get the rules right.
package jsonstr

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Append appends s to dst as a JSON string, quotes included, and returns
// the extended slice. See Write for the escaping rules.
func Append(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for {
		n, esc, skip := next(s)
		dst = append(dst, s[:n]...)
		if skip == 0 {
			return append(dst, '"')
		}
		dst = append(dst, esc...)
		s = s[n+skip:]
	}
}

// Write writes s to b as a JSON string, quotes included, with
// encoding/json's escaping rules: the short escapes \" \\ \b \f \n \r \t,
// \u00XX for the other control characters and, as Marshal escapes HTML by
// default, for <, > and &; \ufffd for each byte of invalid UTF-8; and
// \u2028 and \u2029, which JavaScript treats as line ends.
func Write(b *strings.Builder, s string) {
	b.WriteByte('"')
	for {
		n, esc, skip := next(s)
		b.WriteString(s[:n])
		if skip == 0 {
			b.WriteByte('"')
			return
		}
		b.WriteString(esc)
		s = s[n+skip:]
	}
}

// next finds the first part of s that must be escaped: s[:n] is written as
// is, then esc replaces the skip bytes at s[n:]. skip is 0 when nothing in
// s needs escaping (n is then len(s)).
func next(s string) (n int, esc string, skip int) {
	for i := 0; i < len(s); {
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			return i, asciiEscape[c], 1
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return i, `\ufffd`, 1
		case r == '\u2028':
			return i, `\u2028`, size
		case r == '\u2029':
			return i, `\u2029`, size
		}
		i += size
	}
	return len(s), "", 0
}

// plain marks the bytes encoding/json writes as they are: ASCII other than
// '"', '\\', control characters, '<', '>' and '&'. Bytes from 0x80 up start
// UTF-8 sequences and are checked rune by rune.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// asciiEscape is the escape of each ASCII byte that plain excludes, built
// once so that escaping never allocates.
var asciiEscape = func() (t [utf8.RuneSelf]string) {
	const hex = "0123456789abcdef"
	for c := range utf8.RuneSelf {
		if plain[c] {
			continue
		}
		switch c {
		case '"':
			t[c] = `\"`
		case '\\':
			t[c] = `\\`
		case '\b':
			t[c] = `\b`
		case '\f':
			t[c] = `\f`
		case '\n':
			t[c] = `\n`
		case '\r':
			t[c] = `\r`
		case '\t':
			t[c] = `\t`
		default:
			t[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
		}
	}
	return t
}()

// AppendMembers returns the JSON object obj with members (`"k":v,...`,
// already encoded) added at its end; obj itself when there are none. An
// empty obj (nil or {}) becomes an object of members alone. The hand-written
// trace metadata grows this way from several places (tiers, redaction).
func AppendMembers(obj, members []byte) []byte {
	if len(members) == 0 {
		return obj
	}
	out := make([]byte, 0, len(obj)+len(members)+2)
	if len(obj) < 2 {
		out = append(out, '{')
	} else {
		out = append(out, obj[:len(obj)-1]...)
		if len(bytes.TrimSpace(out[1:])) > 0 { // not {}
			out = append(out, ',')
		}
	}
	out = append(out, members...)
	return append(out, '}')
}
