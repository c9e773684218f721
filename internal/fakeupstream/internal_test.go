package fakeupstream

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendStringIsValidJSON(t *testing.T) {
	for _, s := range []string{
		"gpt-4o",
		`quote " and backslash \`,
		"control \x00\x01\x1f\n\r\t chars",
		"unicode ✓ 模型 🚀",
		"invalid \xff\xfe utf-8",
		"</script>&",
	} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if !utf8.ValidString(s) {
			// Each invalid byte becomes its own replacement character.
			want = strings.ReplaceAll(strings.ReplaceAll(s, "\xff", "\ufffd"), "\xfe", "\ufffd")
		}
		if got != want {
			t.Errorf("round trip of %q = %q", s, got)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1234": 1234, "10MB": 10_000_000, "10 MB": 10_000_000,
		"2KiB": 2048, "1MiB": 1 << 20, "3kb": 3000, "1GB": 1e9, "7B": 7,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1", "ten", "1.5MB", "99999999999999GB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for in, want := range map[string]bool{
		"gzip":                 true,
		"br, gzip;q=0.5":       true,
		"GZIP":                 true,
		"*":                    true,
		"gzip;q=0":             false,
		"gzip; q=0.0, br":      false,
		"br, zstd":             false,
		"":                     false,
		"identity, *;q=0":      false,
		"deflate, gzip ; q=1 ": true,
	} {
		if got := acceptsGzip([]string{in}); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestPlanTextSpreadsPadding(t *testing.T) {
	for _, tc := range []struct {
		events int
		bytes  int64
	}{
		{5, 0}, {5, 3}, {5, 1000}, {3, 1001}, {7, 123457}, {0, 500},
	} {
		p := planText(tc.events, tc.bytes)
		natural := int64(len(Text(tc.events)))
		sum := natural
		for i := range tc.events {
			sum += p.pad(i)
		}
		want := max(natural, tc.bytes)
		if tc.events == 0 {
			want = 0
		}
		if sum != want || p.total != want {
			t.Errorf("planText(%d, %d): pieces sum to %d, total %d, want %d", tc.events, tc.bytes, sum, p.total, want)
		}
	}
}

func TestText(t *testing.T) {
	if got := Text(7); got != "Hello from the fake upstream. Hello from" {
		t.Errorf("Text(7) = %q", got)
	}
	if Text(0) != "" {
		t.Error("Text(0) is not empty")
	}
}
