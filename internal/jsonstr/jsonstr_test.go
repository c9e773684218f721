package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
)

// cases cover every escaping rule: short escapes, other control
// characters, HTML, invalid and truncated UTF-8, surrogates encoded in
// UTF-8, U+2028/U+2029, DEL (left alone) and multi-byte runes.
var cases = []string{
	"", "stop", "end_turn", "a\"b", `C:\path\`, "\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f",
	"<script>&amp;</script>", "héllo ✓ 日本 🎉", "a\u2028b\u2029c", "\ufeff",
	"\xff\xfe", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "tail\xe2",
	strings.Repeat("abc<>&\u00e9\n", 500),
}

func marshal(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMatchesEncodingJSON(t *testing.T) {
	for _, s := range cases {
		want := marshal(t, s)
		if got := string(Append(nil, s)); got != want {
			t.Errorf("Append(%q) = %s, want %s", s, got, want)
		}
		if got := string(Append([]byte("x,"), s)); got != "x,"+want {
			t.Errorf("Append after a prefix (%q) = %s", s, got)
		}
		var b strings.Builder
		Write(&b, s)
		if got := b.String(); got != want {
			t.Errorf("Write(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	buf := make([]byte, 0, 64<<10)
	for _, s := range cases {
		if n := testing.AllocsPerRun(10, func() { Append(buf[:0], s) }); n != 0 {
			t.Errorf("Append(%.20q) allocates %.0f times into a large enough buffer", s, n)
		}
	}
}

func FuzzMatchesEncodingJSON(f *testing.F) {
	for _, s := range cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := marshal(t, s)
		if got := string(Append(nil, s)); got != want {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
		var b strings.Builder
		Write(&b, s)
		if got := b.String(); got != want {
			t.Fatalf("Write(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestAppendMembers(t *testing.T) {
	for _, c := range []struct{ obj, members, want string }{
		{"", `"a":1`, `{"a":1}`},
		{"{}", `"a":1`, `{"a":1}`},
		{`{"x":"y"}`, `"a":1,"b":[2]`, `{"x":"y","a":1,"b":[2]}`},
		{`{"x":"y"}`, "", `{"x":"y"}`},
	} {
		got := string(AppendMembers([]byte(c.obj), []byte(c.members)))
		if got != c.want || !json.Valid([]byte(got)) {
			t.Errorf("AppendMembers(%q, %q) = %q, want %q", c.obj, c.members, got, c.want)
		}
	}
}
