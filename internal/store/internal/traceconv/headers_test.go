package traceconv

import (
	"encoding/json"
	"strings"
	"testing"
)

// The stored header text must stay exactly what encoding/json wrote before
// the hand-written encoder, so old and new rows read alike and
// ParseHeaders (encoding/json) round-trips every value.

var headerCases = []map[string]string{
	{"A": "b"},
	{"Content-Type": "application/json", "Anthropic-Version": "2023-06-01", "Accept": "*/*"},
	{"X-Empty": "", "X-Quote": `"<a&b>"`, "X-Backslash": `C:\path\`},
	{"X-Ctl": "\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f"},
	{"X-Unicode": "héllo ✓ 日本 🎉", "X-Sep": "a\u2028b\u2029c", "X-Bom": "\ufeff"},
	{"X-Bad": "\xff\xfe", "X-Cut": "\xe2\x82", "X-Surrogate": "\xed\xa0\x80", "X-Overlong": "\xc0\xaf"},
	{"\xffkey": "v", "ke\"y": "v", "<k>": "&"},
	{"X-Long": strings.Repeat("abc<>&\u00e9\n", 500)},
}

func marshalHeaders(t testing.TB, h map[string]string) string {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHeadersMatchEncodingJSON(t *testing.T) {
	many := map[string]string{}
	for i := range 100 {
		many[string(rune('A'+i%26))+strings.Repeat("x", i)] = strings.Repeat("v", i)
	}
	for _, h := range append(headerCases, many) {
		got, err := Headers(h)
		if err != nil {
			t.Fatal(err)
		}
		if want := marshalHeaders(t, h); got != want {
			t.Errorf("Headers(%q)\n got %s\nwant %s", h, got, want)
		}
		back, err := ParseHeaders(got)
		if err != nil {
			t.Fatalf("ParseHeaders(%s): %v", got, err)
		}
		if len(back) != len(h) {
			t.Errorf("round trip lost entries: %q", back)
		}
	}
	if got, _ := Headers(nil); got != "" {
		t.Errorf("Headers(nil) = %q", got)
	}
	if got, _ := Headers(map[string]string{}); got != "" {
		t.Errorf("Headers({}) = %q", got)
	}
}

func FuzzHeadersMatchEncodingJSON(f *testing.F) {
	for _, h := range headerCases {
		var kv []string
		for k, v := range h {
			kv = append(kv, k, v)
		}
		for len(kv) < 4 {
			kv = append(kv, "X-Pad"+string(rune('0'+len(kv))), "")
		}
		f.Add(kv[0], kv[1], kv[2], kv[3])
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := map[string]string{k1: v1, k2: v2}
		got, err := Headers(h)
		if err != nil {
			t.Fatal(err)
		}
		if want := marshalHeaders(t, h); got != want {
			t.Fatalf("Headers(%q)\n got %s\nwant %s", h, got, want)
		}
	})
}

// sdkHeaders is the header snapshot of an openai-go call (credentials
// redacted), the shape the benchmark encodes.
var sdkHeaders = map[string]string{
	"Accept":                      "application/json",
	"Authorization":               "[REDACTED]",
	"Content-Length":              "213",
	"Content-Type":                "application/json",
	"User-Agent":                  "OpenAI/Go 3.96.0",
	"X-Stainless-Arch":            "x64",
	"X-Stainless-Lang":            "go",
	"X-Stainless-Os":              "Linux",
	"X-Stainless-Package-Version": "3.96.0",
	"X-Stainless-Retry-Count":     "0",
	"X-Stainless-Runtime":         "go",
	"X-Stainless-Runtime-Version": "go1.26.0",
}

// BenchmarkHeaders compares the encoder with encoding/json, which Headers
// used before, on an SDK call's request headers and on one header.
func BenchmarkHeaders(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    map[string]string
	}{
		{"sdk-12", sdkHeaders},
		{"one", map[string]string{"X-Request-Id": "req_0123456789abcdef"}},
	} {
		b.Run(tc.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, _ := json.Marshal(tc.h)
				_ = string(s)
			}
		})
		b.Run(tc.name+"/hand-written", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Headers(tc.h)
			}
		})
	}
}
