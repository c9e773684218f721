package pii

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func types(fs []Finding) []Type {
	var out []Type
	for _, f := range fs {
		out = append(out, f.Type)
	}
	return out
}

func TestDetectorsFind(t *testing.T) {
	cases := []struct {
		text string
		want Type
		val  string
	}{
		{"mail jane.doe+x@example.co.uk today", Email, "jane.doe+x@example.co.uk"},
		{"My SSN is 123-45-6789.", SSN, "123-45-6789"},
		{"card 4111 1111 1111 1111 ok", Card, "4111 1111 1111 1111"},
		{"card 4111-1111-1111-1111", Card, "4111-1111-1111-1111"},
		{"amex 378282246310005", Card, "378282246310005"},
		{"call +14155550100 now", Phone, "+14155550100"},
		{"call +44 20 7946 0958", Phone, "+44 20 7946 0958"},
		{"call (415) 555-0100", Phone, "(415) 555-0100"},
		{"call 415-555-0100.", Phone, "415-555-0100"},
		{"key sk-proj-abcdefghijklmnop1234", Token, "sk-proj-abcdefghijklmnop1234"},
		{"key sk-ant-api03-abcdefghijklmnopqr", Token, "sk-ant-api03-abcdefghijklmnopqr"},
		{"key sk-abcdefghijklmnop1234", Token, "sk-abcdefghijklmnop1234"},
		{"gh ghp_abcdefghijklmnopqrstuvwxyz0123", Token, "ghp_abcdefghijklmnopqrstuvwxyz0123"},
		{"gh github_pat_11ABCDEFG0123456789_abcdef", Token, "github_pat_11ABCDEFG0123456789_abcdef"},
		{"slack xoxb-1234567890-abcdef", Token, "xoxb-1234567890-abcdef"},
		{"aws AKIAIOSFODNN7EXAMPLE", Token, "AKIAIOSFODNN7EXAMPLE"},
		{"gw ogw_GATEWAYSECRET0002", Token, "ogw_GATEWAYSECRET0002"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", Token,
			"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},
	}
	for _, tc := range cases {
		fs := Scan(tc.text)
		if len(fs) != 1 || fs[0].Type != tc.want || tc.text[fs[0].Start:fs[0].End] != tc.val {
			t.Errorf("%q: %v, want one %s %q", tc.text, fs, tc.want, tc.val)
		}
	}
}

// falsePositiveCorpus is text that must never be reported: ids, times,
// versions, line numbers and ordinary numbers that chat traffic is full of.
var falsePositiveCorpus = []string{
	"550e8400-e29b-41d4-a716-446655440000",
	"request id 123e4567-e89b-12d3-a456-426614174000 failed",
	"2024-01-15T10:30:00Z", "2024-01-15 10:30:00.123456+00:00", "at 1733612345678 ms",
	"unix 1733612345", "v1.2.3", "go1.26.0", "version 10.15.7.1234", "node v20.11.1",
	"main.go:123:45: undefined", "line 4111 column 12", "costs $1,234,567.89",
	"12345678901234567890123", "count 4111111111111112", // Luhn-invalid
	"0000000000000000", "1234567890123", "phone: unknown", "call me maybe",
	"max_tokens 4096", "ip 192.168.100.200", "mac 00:1B:44:11:3A:B7",
	"sha 3b18e512dba79e4c8300dd08aeb37f8e728b8dad", "isbn 978-3-16-148410-0",
	"ticket ABC-123-4567", "range 100-200-3000", "ssn 000-12-3456", "ssn 666-12-3456",
	"sk-short", "the task-runner", "email@", "@handle", "user@localhost",
	"hash a1b2c3d4e5f6a7b8c9d0", "3.14159265358979", "1e10", "-123456789",
}

func TestFalsePositiveCorpus(t *testing.T) {
	for _, s := range falsePositiveCorpus {
		if fs := Scan(s); len(fs) != 0 {
			t.Errorf("%q: false positive %v (%q)", s, types(fs), s[fs[0].Start:fs[0].End])
		}
	}
}

func TestDeniedField(t *testing.T) {
	for _, k := range []string{"email", "Email", "PHONE", "password", "token", "secret", "ssn", "api_key", "API-KEY", "Api_Key", "authorization"} {
		if !DeniedField(k) {
			t.Errorf("%q not denied", k)
		}
	}
	for _, k := range []string{"max_tokens", "prompt_tokens", "input_tokens", "tokens", "apikey", "email_verified", "content", "role", "user"} {
		if DeniedField(k) {
			t.Errorf("%q denied", k)
		}
	}
}

var placeholderRe = regexp.MustCompile(`^\[(EMAIL|PHONE|SSN|CARD|TOKEN|FIELD)_REDACTED:[0-9a-f]{12}\]$`)

func TestPlaceholderStableAndTenantSeparated(t *testing.T) {
	salt := []byte("0123456789abcdef0123456789abcdef")
	a := NewRedactor(WorkspaceKey(salt, "ws_a"), "[{type}_REDACTED:{hash}]")
	a2 := NewRedactor(WorkspaceKey(salt, "ws_a"), "[{type}_REDACTED:{hash}]")
	b := NewRedactor(WorkspaceKey(salt, "ws_b"), "[{type}_REDACTED:{hash}]")
	p := a.Placeholder(SSN, "123-45-6789")
	if !placeholderRe.MatchString(p) {
		t.Fatalf("placeholder %q", p)
	}
	if a2.Placeholder(SSN, "123-45-6789") != p {
		t.Error("same value, same workspace: different placeholders")
	}
	if b.Placeholder(SSN, "123-45-6789") == p {
		t.Error("same value, different workspace: same placeholder")
	}
	if a.Placeholder(SSN, "123-45-6780") == p {
		t.Error("different values: same placeholder")
	}
	other := NewRedactor(WorkspaceKey([]byte("another salt"), "ws_a"), "[{type}_REDACTED:{hash}]")
	if other.Placeholder(SSN, "123-45-6789") == p {
		t.Error("different salt: same placeholder")
	}
}

func TestRedactJSONIsByteIdenticalOutsideRedactions(t *testing.T) {
	r := NewRedactor(WorkspaceKey([]byte("s"), "w"), "[{type}_REDACTED:{hash}]")
	body := []byte(`{ "model" : "gpt-4o",  "max_tokens":512, "password": "hunter2", "api-key": 12345, "token": null,
  "messages":[{"role":"user","content":"My SSN is 123-45-6789 and mail a@b.io \u00e9"}], "n": 1.5e3 }`)
	out, counts, err := r.RedactJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) {
		t.Fatalf("invalid JSON: %s", out)
	}
	if counts[SSN] != 1 || counts[Email] != 1 || counts[Field] != 2 || counts.Total() != 4 {
		t.Errorf("counts %v", counts)
	}
	pw := r.Placeholder(Field, "hunter2")
	key := r.Placeholder(Field, "12345")
	ssn := r.Placeholder(SSN, "123-45-6789")
	mail := r.Placeholder(Email, "a@b.io")
	want := `{ "model" : "gpt-4o",  "max_tokens":512, "password": "` + pw + `", "api-key": "` + key + `", "token": null,
  "messages":[{"role":"user","content":"My SSN is ` + ssn + ` and mail ` + mail + ` é"}], "n": 1.5e3 }`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	clean := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hello 2024-01-15"}]}`)
	out, counts, err = r.RedactJSON(clean)
	if err != nil || !bytes.Equal(out, clean) || counts.Total() != 0 {
		t.Errorf("clean body changed: %s %v %v", out, counts, err)
	}
	if _, _, err := r.RedactJSON([]byte(`{"a":`)); err != ErrNotJSON {
		t.Errorf("truncated JSON: %v", err)
	}
}

func TestDetect(t *testing.T) {
	c, err := Detect([]byte(`{"messages":[{"content":"My SSN is 123-45-6789 card 4111 1111 1111 1111"}]}`), true)
	if err != nil || c[SSN] != 1 || c[Card] != 1 {
		t.Fatalf("%v %v", c, err)
	}
	if got := c.Types(); len(got) != 2 || got[0] != SSN || got[1] != Card {
		t.Errorf("types %v", got)
	}
	c, _ = Detect([]byte("plain text a@b.io"), false)
	if c[Email] != 1 {
		t.Errorf("text: %v", c)
	}
}

// FuzzRedactJSON: for any input, redaction never panics, accepts exactly
// the documents encoding/json.Valid accepts (the scanner validates in its
// own single pass), valid JSON stays valid, and no detected value survives
// redaction.
func FuzzRedactJSON(f *testing.F) {
	for _, s := range []string{
		`{"content":"My SSN is 123-45-6789"}`, `{"password":"x","max_tokens":1}`,
		`["4111 1111 1111 1111","a@b.io"]`, `"\u0041\"sk-abcdefghijklmnop1234"`,
		`{"email":{"nested":"+14155550100"}}`, `not json`, `{"a":"\ud800"}`, `123`, `{"k":"v"}`,
		`-0.5e+7`, `[1,]`, `{"a" : [true,false,null] }`, `01`, `"\x"`, "\"\t\"", `{"a":1}x`, `1.`, `[[[]]]`, "\xff\"",
	} {
		f.Add([]byte(s))
	}
	for _, depth := range []int{100, 10000, 10001} { // past the walker's inline stack; encoding/json's limit
		f.Add([]byte(strings.Repeat(`[`, depth) + strings.Repeat(`]`, depth)))
	}
	for _, s := range falsePositiveCorpus {
		f.Add([]byte(`{"x":` + strings.ReplaceAll(`"`+s+`"`, `\`, `\\`) + `}`))
	}
	r := NewRedactor(WorkspaceKey([]byte("s"), "w"), "[{type}_REDACTED:{hash}]")
	f.Fuzz(func(t *testing.T, body []byte) {
		out, counts, err := r.RedactJSON(body)
		if err != nil {
			if json.Valid(body) {
				t.Fatalf("valid JSON refused: %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON accepted: %q", body)
		}
		if !json.Valid(out) {
			t.Fatalf("redaction produced invalid JSON: %q -> %q", body, out)
		}
		if counts.Total() == 0 && !bytes.Equal(out, body) {
			t.Fatalf("no findings but body changed")
		}
		d, err := Detect(out, true)
		if err != nil {
			t.Fatal(err)
		}
		if n := d.Total() - d[Field]; n != 0 {
			t.Fatalf("findings survive redaction: %v in %q", d, out)
		}
	})
}
