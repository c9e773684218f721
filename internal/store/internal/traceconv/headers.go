package traceconv

import (
	"slices"
	"strings"

	"github.com/ongoingai/gateway/internal/jsonstr"
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
		jsonstr.Write(&b, p.name)
		b.WriteByte(':')
		jsonstr.Write(&b, p.value)
	}
	b.WriteByte('}')
	return b.String()
}

// header is one entry of a header map.
type header struct{ name, value string }
