package api

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDecodeBodyMessages pins every form of the BadBody message, which
// clients may match on: none may leak encoding/json's wording or Go types.
func TestDecodeBodyMessages(t *testing.T) {
	type body struct {
		Role   string   `json:"role"`
		Scopes []string `json:"scopes"`
		Grace  *int     `json:"grace_seconds"`
		Flag   bool     `json:"flag"`
	}
	cases := []struct{ in, want string }{
		{``, ""},
		{`{"role":"viewer"}`, ""},
		{`{"expires":"x"}`, `invalid JSON body: unknown field "expires"`},
		{`{"role":1}`, `invalid JSON body: field "role" must be a string`},
		{`{"scopes":"a"}`, `invalid JSON body: field "scopes" must be an array`},
		{`{"grace_seconds":"10"}`, `invalid JSON body: field "grace_seconds" must be a number`},
		{`{"flag":"yes"}`, `invalid JSON body: field "flag" must be a boolean`},
		{`{"role":`, `invalid JSON body: malformed JSON`},
		{`[1,2]`, `invalid JSON body: not an object`},
		{`{} {}`, `invalid JSON body: more than one JSON value`},
		{`{"role":"` + strings.Repeat("a", maxJSONBody) + `"}`, `invalid JSON body: larger than 65536 bytes`},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.in))
		var got string
		if err := decodeBody(httptest.NewRecorder(), r, &body{}); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("decodeBody(%.40q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A value that cannot be encoded must not leave the client a 200 with an
// empty body: the answer becomes a documented 500.
func TestWriteJSONEncodesBeforeTheStatusLine(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, 200, map[string]float64{"x": math.Inf(1)})
	if rec.Code != 500 || rec.Body.String() != `{"error":"`+MsgInternal+`"}`+"\n" {
		t.Errorf("unencodable value: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	WriteJSON(rec, 201, map[string]string{"a": "<b>"})
	if rec.Code != 201 || rec.Body.String() != `{"a":"<b>"}`+"\n" || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("plain value: %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
	}
}
