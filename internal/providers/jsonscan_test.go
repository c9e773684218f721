package providers

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// scanPieces scans doc in pieces of size n (the whole doc when n < 1) and
// reports whether it was one valid JSON value.
func scanPieces(s *scanner, root *node, doc []byte, n int) bool {
	s.reset(root)
	if n < 1 {
		n = len(doc) + 1
	}
	for p := doc; len(p) > 0; {
		k := min(n, len(p))
		s.Write(p[:k])
		p = p[k:]
	}
	return s.finish()
}

func TestScannerValidityMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `true`, `false`, `null`, ` {"a" : [1, {"b":null}] } `,
		`"\u00e9\ud83d\ude00\n\"\\\/"`, `{"a":1,"a":2}`, `[1,2,3]`, `-12.5E-3`, `123`, "\"\x80\xff\"",
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`,
		`tru`, `truex`, `nul`, `"\x"`, `"\u12G4"`, "\"\x01\"", `[1 2]`, `{"a":1}{}`, `{"a":1} x`, `[}`, `{]`,
		`"unterminated`, `{"a":}`, `{,}`, `[,1]`, `1 2`,
		strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
		strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	}
	var s scanner
	for _, doc := range docs {
		want := json.Valid([]byte(doc))
		for _, n := range []int{0, 1, 2, 7} {
			if got := scanPieces(&s, requestSchema, []byte(doc), n); got != want {
				t.Errorf("valid(%.40q) in pieces of %d = %v, encoding/json says %v", doc, n, got, want)
			}
		}
	}
}

func TestScannerCapturesAtPaths(t *testing.T) {
	doc := `{"choices":[{"message":{"model":"inner","content":"a\u00e9\ud83d\ude00\n"}}],` +
		`"usage":{"prompt_tokens":10,"extra":{"prompt_tokens":99},"completion_tokens":-1,"prompt_tokens_details":{"cached_tokens":1e3}},` +
		`"model":"gpt-\u0034o","nested":{"model":"no"}}`
	var s scanner
	for n := 0; n <= len(doc); n++ {
		if !scanPieces(&s, chatBodySchema, []byte(doc), n) {
			t.Fatalf("pieces of %d: not valid", n)
		}
		if got := decodeString(s.slots[slotModel].raw); got != "gpt-4o" {
			t.Fatalf("pieces of %d: model %q", n, got)
		}
		if in := s.slots[slotInput]; !in.intOK || in.n != 10 {
			t.Fatalf("pieces of %d: prompt_tokens %+v", n, in)
		}
		if s.slots[slotOutput].intOK || s.slots[slotCached].intOK {
			t.Fatalf("pieces of %d: negative or float count accepted", n)
		}
		// "a" + "é" (2) + "😀" (4) + "\n" (1) = 8 decoded bytes.
		if got := s.slots[slotText].n; got != 8 {
			t.Fatalf("pieces of %d: text bytes %d, want 8", n, got)
		}
	}
}

func TestScannerRepeatedKeyReplaces(t *testing.T) {
	var s scanner
	doc := `{"usage":{"prompt_tokens":1,"prompt_tokens_details":{"cached_tokens":5}},"usage":{"completion_tokens":3}}`
	scanPieces(&s, chatBodySchema, []byte(doc), 0)
	u, ok := usageFrom(&s, endpointChatCompletions)
	if !ok || u.InputTokens != 0 || u.OutputTokens != 3 || u.CachedInputTokens != 0 {
		t.Fatalf("usage %+v %v: the second usage object must replace the first", u, ok)
	}
}

func TestScannerIgnoresOversizedCapture(t *testing.T) {
	var s scanner
	doc := `{"model":"` + strings.Repeat("m", maxCapture) + `"}`
	scanPieces(&s, modelOnlySchema, []byte(doc), 1000)
	if m := s.slots[slotModel]; !m.overflow || len(m.raw) != 0 {
		t.Fatalf("oversized model kept: overflow %v, %d bytes", m.overflow, len(m.raw))
	}
}

// reference is what encoding/json finds at the schema paths of a valid
// document: the model and the usage as the observer should report them.
type reference struct {
	model string
	usage Usage
	found bool
}

// referenceUsage decodes doc with encoding/json (exact key matching, last
// key wins) and applies the same rules the observer documents.
func referenceUsage(t *testing.T, doc []byte, ep endpoint) reference {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json rejects a document the scanner accepted: %v", err)
	}
	var r reference
	root, _ := v.(map[string]any)
	if root == nil {
		return r
	}
	r.model, _ = root["model"].(string)
	u, _ := root["usage"].(map[string]any)
	if u == nil {
		return r
	}
	count := func(m map[string]any, name string) (int64, bool) {
		n, ok := m[name].(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE") {
			return 0, false
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || i < 0 {
			return 0, false
		}
		return i, true
	}
	sub := func(name string) map[string]any {
		m, _ := u[name].(map[string]any)
		return m
	}
	var in, out, cached, write, reasoning int64
	var ok [5]bool
	switch ep {
	case endpointMessages:
		in, ok[0] = count(u, "input_tokens")
		out, ok[1] = count(u, "output_tokens")
		cached, ok[2] = count(u, "cache_read_input_tokens")
		write, ok[3] = count(u, "cache_creation_input_tokens")
		r.usage = Usage{InputTokens: in + cached + write, OutputTokens: out, CachedInputTokens: cached, CacheWriteTokens: write, Found: true}
	case endpointResponses:
		in, ok[0] = count(u, "input_tokens")
		out, ok[1] = count(u, "output_tokens")
		cached, ok[2] = count(sub("input_tokens_details"), "cached_tokens")
		reasoning, ok[4] = count(sub("output_tokens_details"), "reasoning_tokens")
		r.usage = Usage{InputTokens: in, OutputTokens: out, CachedInputTokens: cached, ReasoningTokens: reasoning, Found: true}
	default:
		in, ok[0] = count(u, "prompt_tokens")
		out, ok[1] = count(u, "completion_tokens")
		cached, ok[2] = count(sub("prompt_tokens_details"), "cached_tokens")
		reasoning, ok[4] = count(sub("completion_tokens_details"), "reasoning_tokens")
		r.usage = Usage{InputTokens: in, OutputTokens: out, CachedInputTokens: cached, ReasoningTokens: reasoning, Found: true}
	}
	r.found = ok != [5]bool{}
	if !r.found {
		r.usage = Usage{}
	}
	return r
}

// FuzzJSONUsage checks that the scanner never panics, agrees with
// encoding/json on validity, and on valid documents finds the same model
// and usage as encoding/json, however the document is split.
func FuzzJSONUsage(f *testing.F) {
	f.Add([]byte(chatCompletionBody), uint8(0), uint8(0))
	f.Add([]byte(responsesBody), uint8(1), uint8(3))
	f.Add([]byte(anthropicBody), uint8(2), uint8(1))
	f.Add([]byte(`{"usage":{"prompt_tokens":-0,"completion_tokens":9223372036854775807}}`), uint8(0), uint8(2))
	f.Add([]byte(`{"model":"\ud800","usage":{"\u0070rompt_tokens":1}}`), uint8(0), uint8(5))
	f.Add([]byte(`{"choices":[{"finish_reason":"stop"},{"finish_reason":"len\u0067th"},{"finish_reason":null}],"choices":[{"finish_reason":"x"}]}`), uint8(0), uint8(4))
	f.Add([]byte(`{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}`), uint8(1), uint8(7))
	f.Add([]byte(`{"stop_reason":"end_turn","stop_reason":"max_tokens"}`), uint8(2), uint8(9))
	f.Fuzz(func(t *testing.T, doc []byte, which, split uint8) {
		bodies := []struct {
			ep     endpoint
			schema *node
		}{
			{endpointChatCompletions, chatBodySchema},
			{endpointResponses, responsesBodySchema},
			{endpointMessages, anthropicBodySchema},
		}
		b := bodies[int(which)%len(bodies)]
		var reasons reasonCollector
		s := scanner{collector: &reasons}
		valid := scanPieces(&s, b.schema, doc, int(split))
		if want := json.Valid(doc); valid != want {
			t.Fatalf("scanner says valid=%v, encoding/json says %v", valid, want)
		}
		if !valid {
			return
		}
		want := referenceUsage(t, doc, b.ep)
		var model string
		if m := s.slots[slotModel]; m.kind == kindString && !m.overflow {
			model = decodeString(m.raw)
		}
		if model != want.model {
			t.Fatalf("model %q, encoding/json says %q", model, want.model)
		}
		got, found := usageFrom(&s, b.ep)
		if found != want.found || got != want.usage {
			t.Fatalf("usage %+v (found %v), encoding/json says %+v (found %v)", got, found, want.usage, want.found)
		}
		if raw := responsesReason(&s); raw != nil {
			reasons.add(raw)
		}
		if got, want := reasons.list(), referenceFinishReasons(t, doc, b.ep); !reflect.DeepEqual(got, want) {
			t.Fatalf("finish reasons %q, encoding/json says %q", got, want)
		}
	})
}

// proseChatBody is a large chat completion with ordinary text: an escape
// every few dozen bytes, as in markdown answers.
func proseChatBody(size int) []byte {
	const unit = `The gateway forwards each request to the upstream, and reads usage as it streams.\n`
	text := strings.Repeat(unit, size/len(unit))
	return []byte(`{"id":"chatcmpl-big","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		text + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`)
}

// BenchmarkScan measures scan throughput on large chat completion bodies
// read in 32 KiB pieces; BenchmarkScanBaselineValid is encoding/json's
// validator on the same bodies, for scale on a given machine.
func BenchmarkScan(b *testing.B) {
	for _, body := range scanBodies() {
		b.Run(body.name, func(b *testing.B) {
			var s scanner
			b.SetBytes(int64(len(body.doc)))
			b.ReportAllocs()
			for b.Loop() {
				scanPieces(&s, chatBodySchema, body.doc, 32<<10)
			}
		})
	}
}

func BenchmarkScanBaselineValid(b *testing.B) {
	for _, body := range scanBodies() {
		b.Run(body.name, func(b *testing.B) {
			b.SetBytes(int64(len(body.doc)))
			b.ReportAllocs()
			for b.Loop() {
				json.Valid(body.doc)
			}
		})
	}
}

func scanBodies() []struct {
	name string
	doc  []byte
} {
	return []struct {
		name string
		doc  []byte
	}{
		{"prose", proseChatBody(8 << 20)},
		{"escapes", bigChatBody(8 << 20)},
	}
}

// BenchmarkScanNumbers measures the worst realistic case: an embeddings
// response, which is mostly numbers.
func BenchmarkScanNumbers(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"object":"list","data":[`)
	for i := range 64 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"object":"embedding","index":` + strconv.Itoa(i) + `,"embedding":[`)
		for j := range 1536 {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.FormatFloat(float64(j%97)/-977.0, 'g', -1, 64))
		}
		sb.WriteString(`]}`)
	}
	sb.WriteString(`],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`)
	body := []byte(sb.String())
	var s scanner
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		scanPieces(&s, chatBodySchema, body, 32<<10)
	}
}

func TestPlainRunMatchesByteTable(t *testing.T) {
	slow := func(p []byte) int {
		i := 0
		for i < len(p) && plainStringByte[p[i]] {
			i++
		}
		return i
	}
	// Every byte value at every position of a 17-byte window, so both the
	// eight-byte and the byte loop see each special byte.
	for c := range 256 {
		for pos := range 17 {
			p := bytes.Repeat([]byte{'a'}, 17)
			p[pos] = byte(c)
			if got, want := plainRun(p), slow(p); got != want {
				t.Fatalf("byte %#x at %d: plainRun %d, want %d", c, pos, got, want)
			}
		}
	}
}
