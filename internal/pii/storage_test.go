package pii

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/trace"
)

// storageFor returns the stored-copy redaction Check attaches for cfg.
func storageFor(t *testing.T, cfg config.Config, body string) (*Engine, proxy.PolicyDecision) {
	t.Helper()
	e := NewEngine(cfg, []byte("salt"), nil)
	r := httptest.NewRequest("POST", "/openai/v1/chat/completions", nil)
	r.Header.Set("Content-Type", "application/json")
	d := e.Check(r, "openai", proxy.Identity{WorkspaceID: "w"}, []byte(body))
	if d.Storage == nil {
		t.Fatal("no storage redaction attached")
	}
	return e, d
}

const sseWithPII = "event: x\ndata: {\"choices\":[{\"delta\":{\"content\":\"call +1 415 555 0100\"}}]}\n\n" +
	"data: {\"choices\":[{\"delta\":{\"content\":\" or mail a@b.io\"}}],\"password\":\"hunter2\"}\n\n" +
	"data: [DONE]\n\n"

// redact_storage: forwarding is untouched; headers, bodies and a streamed
// response (event by event, the field denylist included) are redacted in
// the stored copy, credentials stay [REDACTED], and the metadata carries
// the counts and the policy id after what was there.
func TestStorageRedactsEveryStage(t *testing.T) {
	cfg := config.Default()
	cfg.Tracing.CaptureBodies = true // auto: redact_storage
	cfg.PII.PolicyID = "p/1"
	body := `{"messages":[{"content":"SSN 123-45-6789"}],"email":"x@y.io"}`
	e, d := storageFor(t, cfg, body)
	if d.Status != 0 || d.Forward != nil || d.Stored != nil {
		t.Fatalf("redact_storage changed the request path: %+v", d)
	}
	r := &trace.Record{
		RequestHeaders:  map[string]string{"X-User": "a@b.io", "Authorization": proxy.Redacted, "Email": "c@d.io"},
		ResponseHeaders: map[string]string{"X-Contact": "123-45-6789"},
		RequestBody:     body, ResponseBody: sseWithPII, Streaming: true,
		Metadata: []byte(`{"request_id":"r"}`),
	}
	if err := d.Storage.Redact(r, trace.BodyCuts{}); err != nil {
		t.Fatal(err)
	}
	stored := r.RequestBody + r.ResponseBody + r.RequestHeaders["X-User"] + r.RequestHeaders["Email"] + r.ResponseHeaders["X-Contact"]
	for _, raw := range []string{"123-45-6789", "x@y.io", "a@b.io", "c@d.io", "415 555", "hunter2"} {
		if strings.Contains(stored, raw) {
			t.Errorf("stored copy keeps %q: %s", raw, stored)
		}
	}
	if r.RequestHeaders["Authorization"] != proxy.Redacted {
		t.Errorf("credential header %q", r.RequestHeaders["Authorization"])
	}
	if !strings.HasPrefix(r.ResponseBody, "event: x\ndata: {\"choices\"") || !strings.HasSuffix(r.ResponseBody, "data: [DONE]\n\n") {
		t.Errorf("stream framing changed: %q", r.ResponseBody)
	}
	want := `{"request_id":"r","redaction_applied":true,"redaction_counts":{"EMAIL":2,"PHONE":1,"SSN":2,"FIELD":3},"redaction_policy_id":"p/1"}`
	if string(r.Metadata) != want {
		t.Errorf("metadata\n%s\nwant\n%s", r.Metadata, want)
	}
	if s := e.Stats(); s.Redactions["EMAIL"] != 2 || s.Redactions["FIELD"] != 3 {
		t.Errorf("stats %+v", s)
	}
}

// Each stage off leaves its part as captured, and only that part.
func TestStorageStages(t *testing.T) {
	parts := func(r *trace.Record) [4]string {
		return [4]string{r.RequestHeaders["X-U"], r.RequestBody, r.ResponseHeaders["X-U"], r.ResponseBody}
	}
	for stage := range 4 {
		cfg := config.Default()
		cfg.Tracing.CaptureBodies = true
		cfg.PII.Mode = config.PIIModeRedactStorage
		st := []*bool{&cfg.PII.Stages.RequestHeaders, &cfg.PII.Stages.RequestBody, &cfg.PII.Stages.ResponseHeaders, &cfg.PII.Stages.ResponseBody}
		*st[stage] = false
		_, d := storageFor(t, cfg, `"a@b.io"`)
		r := &trace.Record{
			RequestHeaders: map[string]string{"X-U": "a@b.io"}, RequestBody: `"a@b.io"`,
			ResponseHeaders: map[string]string{"X-U": "a@b.io"}, ResponseBody: `"a@b.io"`,
		}
		if err := d.Storage.Redact(r, trace.BodyCuts{}); err != nil {
			t.Fatal(err)
		}
		for i, p := range parts(r) {
			if kept := strings.Contains(p, "a@b.io"); kept != (i == stage) {
				t.Errorf("stage %d off: part %d = %q", stage, i, p)
			}
		}
	}
}

// A body cut at body_max_size never keeps the piece of a value at the
// edge: JSON keeps what was walked before the cut, text loses its last
// token; the metadata says redaction_truncated.
func TestStorageCutBodies(t *testing.T) {
	cfg := config.Default()
	cfg.Tracing.CaptureBodies = true
	_, d := storageFor(t, cfg, `{}`)
	r := &trace.Record{
		RequestBody:  `{"messages":[{"content":"hi"},{"content":"card 4111 1111 11`,
		ResponseBody: `card 4111 1111 1111 1111 and 5500 0000`,
	}
	if err := d.Storage.Redact(r, trace.BodyCuts{Request: true, Response: true}); err != nil {
		t.Fatal(err)
	}
	if r.RequestBody != `{"messages":[{"content":"hi"},{"content":` {
		t.Errorf("cut JSON stored %q", r.RequestBody)
	}
	if strings.Contains(r.ResponseBody, "4111") || strings.Contains(r.ResponseBody, "0000") || !strings.HasPrefix(r.ResponseBody, "card [CARD_REDACTED:") {
		t.Errorf("cut text stored %q", r.ResponseBody)
	}
	if !strings.Contains(string(r.Metadata), `"redaction_truncated":true`) {
		t.Errorf("metadata %s", r.Metadata)
	}
}

// A redaction that fails (here a panic inside it) is an error, never a
// crash of the writer: the writer then stores no headers or bodies.
func TestStorageFailureIsAnError(t *testing.T) {
	s := &storage{e: NewEngine(config.Default(), nil, nil), stages: config.Default().PII.Stages, requestBody: true}
	r := &trace.Record{ID: "t", RequestBody: "a@b.io"} // s.red is nil: redacting panics
	if err := s.Redact(r, trace.BodyCuts{}); err == nil {
		t.Fatal("no error")
	}
}

// block and redact_upstream store redacted copies too: the request body
// they handled is final (not redacted twice), and the stages govern the
// rest as in redact_storage.
func TestStorageInRequestModes(t *testing.T) {
	for _, mode := range []string{config.PIIModeBlock, config.PIIModeRedactUpstream} {
		cfg := config.Default()
		cfg.Tracing.CaptureBodies = true
		cfg.PII.Mode = mode
		cfg.PII.Stages.ResponseHeaders = false
		_, d := storageFor(t, cfg, `{"content":"clean"}`)
		st := d.Storage.(*storage)
		if st.requestBody {
			t.Errorf("%s: the request body would be redacted again", mode)
		}
		r := &trace.Record{
			RequestBody:     `{"content":"clean"}`,
			ResponseHeaders: map[string]string{"X-U": "a@b.io"}, ResponseBody: `{"content":"a@b.io"}`,
		}
		if err := d.Storage.Redact(r, trace.BodyCuts{}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.ResponseBody, "a@b.io") || r.ResponseHeaders["X-U"] != "a@b.io" {
			t.Errorf("%s: response body %q, header (stage off) %q", mode, r.ResponseBody, r.ResponseHeaders["X-U"])
		}
	}
}

// Object keys are strings like any other: a map keyed by personal data is
// redacted (and detected), and the document stays valid.
func TestJSONKeysAreScanned(t *testing.T) {
	r := NewRedactor(WorkspaceKey([]byte("s"), "w"), config.DefaultPIIFormat)
	out, counts, err := r.RedactJSON([]byte(`{"vip":{"bob@example.com":"gold"},"max_tokens":5}`))
	if err != nil || strings.Contains(string(out), "bob@example.com") || counts[Email] != 1 {
		t.Fatalf("%s %v %v", out, counts, err)
	}
	if !strings.HasPrefix(string(out), `{"vip":{"[EMAIL_REDACTED:`) || !strings.HasSuffix(string(out), `":"gold"},"max_tokens":5}`) {
		t.Errorf("redacted %s", out)
	}
	if c, _ := Detect([]byte(`{"123-45-6789":1}`), true); c[SSN] != 1 {
		t.Errorf("detect on a key: %v", c)
	}
}
