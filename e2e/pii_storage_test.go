package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/trace"
)

// The answer of piiUpstream, split over two stream events; and the header
// it sets on every response.
const (
	piiAnswer1     = "Sure: write to bob@example.com"
	piiAnswer2     = " or call 415-555-0100."
	piiContactName = "X-Contact"
	piiContact     = "carol@example.com"
)

// piiUpstream is an OpenAI chat completions upstream whose answers carry
// personal data (the fake upstream's never do), in JSON or as a stream. It
// records the request bodies it received.
type piiUpstream struct {
	mu     sync.Mutex
	bodies []string
}

func (u *piiUpstream) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.bodies...)
}

func (u *piiUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.bodies = append(u.bodies, string(b))
	u.mu.Unlock()
	w.Header().Set(piiContactName, piiContact)
	const usage = `"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}`
	if !strings.Contains(string(b), `"stream":true`) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"`+
			piiAnswer1+piiAnswer2+`"},"finish_reason":"stop"}],`+usage+`}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta, finish string) string {
		return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"` +
			delta + `"},"finish_reason":` + finish + `}]}` + "\n\n"
	}
	io.WriteString(w, chunk(piiAnswer1, "null"))
	io.WriteString(w, chunk(piiAnswer2, `"stop"`))
	io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],`+usage+"}\n\n")
	io.WriteString(w, "data: [DONE]\n\n")
}

// withPIIUpstream points the openai provider at u.
func withPIIUpstream(t *testing.T, u *piiUpstream) func(*config.Config) {
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	return func(c *config.Config) {
		p := c.Providers[config.ProviderOpenAI]
		p.Upstream = srv.URL
		c.Providers[config.ProviderOpenAI] = p
	}
}

// traceDetails waits until token sees n traces and returns them in full,
// newest first.
func (g *gateway) traceDetails(token string, n int) []trace.Record {
	g.t.Helper()
	list := g.tracesAs(token, n)
	out := make([]trace.Record, len(list))
	for i, it := range list {
		out[i] = callOK[trace.Record](g, http.MethodGet, "/api/traces/"+it.ID, token, "", http.StatusOK)
	}
	return out
}

// storedText is everything a trace stores as text: headers, bodies and
// metadata.
func storedText(r trace.Record) string {
	var b strings.Builder
	for k, v := range r.RequestHeaders {
		b.WriteString(k + ": " + v + "\n")
	}
	for k, v := range r.ResponseHeaders {
		b.WriteString(k + ": " + v + "\n")
	}
	b.WriteString(r.RequestBody + "\n" + r.ResponseBody + "\n" + string(r.Metadata))
	return b.String()
}

// rawValues are the personal values the stories send and receive.
var rawValues = []string{"123-45-6789", "4111 1111", "bob@example.com", "415-555-0100", piiContact, "dave@example.com"}

var ssnPlaceholder = regexp.MustCompile(`\[SSN_REDACTED:[0-9a-f]{12}\]`)

// redact_storage (here the auto mode, because bodies are captured): the
// upstream gets the request as sent and the client the answer as sent,
// with both SDKs, streamed or not; what the gateway stores (captured
// headers, request bodies, JSON answers, streams event by event) holds
// placeholders instead, the same value reading the same within a workspace
// and differently in another one.
func TestPIIRedactStorageMode(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		up := &piiUpstream{}
		g := startGateway(t, driver, withAuth, withPIIUpstream(t, up), func(c *config.Config) {
			c.Tracing.CaptureBodies = true
			c.Tracing.CaptureHeaders = []string{piiContactName, "X-User-Note"}
			c.PII.PolicyID = "storage/v1"
		})
		ctx := context.Background()
		params := chatParams("gpt-4o")
		params.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(piiPrompt)}
		acme := g.openai(gatewayHeader, acmeOwnerToken, "X-User-Note", "mail dave@example.com")
		res, err := acme.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "answer", res.Choices[0].Message.Content, piiAnswer1+piiAnswer2)

		stream := acme.Chat.Completions.NewStreaming(ctx, params)
		var streamed strings.Builder
		for stream.Next() {
			for _, ch := range stream.Current().Choices {
				streamed.WriteString(ch.Delta.Content)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		expect(t, "streamed answer", streamed.String(), piiAnswer1+piiAnswer2)

		mp := messageParams("claude-sonnet-4-5")
		mp.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(piiPrompt))}
		as := g.anthropic(gatewayHeader, acmeOwnerToken).Messages.NewStreaming(ctx, mp)
		for as.Next() {
		}
		if err := as.Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := g.openai(gatewayHeader, globexOwnerToken).Chat.Completions.New(ctx, params); err != nil {
			t.Fatal(err)
		}

		// Forwarded as sent.
		for _, b := range append(up.received(), string(g.fake.Requests()[0].Body)) {
			if !strings.Contains(b, "123-45-6789") {
				t.Errorf("upstream got a changed body: %s", b)
			}
		}

		acmeTraces := g.traceDetails(acmeOwnerToken, 3)
		globexTraces := g.traceDetails(globexOwnerToken, 1)
		var acmeSSN []string
		for _, tr := range append(acmeTraces, globexTraces...) {
			text := storedText(tr)
			for _, raw := range rawValues {
				if strings.Contains(text, raw) {
					t.Errorf("%s trace (%s) stores %q:\n%s", tr.Provider, tr.WorkspaceID, raw, text)
				}
			}
			meta := string(tr.Metadata)
			for _, want := range []string{`"redaction_applied":true`, `"SSN":1`, `"redaction_policy_id":"storage/v1"`} {
				if !strings.Contains(meta, want) {
					t.Errorf("metadata %s lacks %s", meta, want)
				}
			}
			if tr.TotalTokens == 0 {
				t.Errorf("%s trace lost its accounting", tr.Provider)
			}
			if tr.WorkspaceID == "prod" {
				acmeSSN = append(acmeSSN, ssnPlaceholder.FindString(tr.RequestBody))
			}
		}
		stored := acmeTraces[1] // the OpenAI stream (newest first: anthropic, stream, JSON)
		if !stored.Streaming || !strings.HasPrefix(stored.ResponseBody, "data: {") || !strings.Contains(stored.ResponseBody, "[EMAIL_REDACTED:") ||
			!strings.Contains(stored.ResponseBody, "[PHONE_REDACTED:") || !strings.HasSuffix(stored.ResponseBody, "data: [DONE]\n\n") {
			t.Errorf("stored stream:\n%s", stored.ResponseBody)
		}
		if v := stored.ResponseHeaders[piiContactName]; !strings.HasPrefix(v, "[EMAIL_REDACTED:") {
			t.Errorf("stored response header %q", v)
		}
		if acmeSSN[0] == "" || acmeSSN[0] != acmeSSN[1] || acmeSSN[1] != acmeSSN[2] {
			t.Errorf("same SSN, same workspace: %q", acmeSSN)
		}
		if g := ssnPlaceholder.FindString(globexTraces[0].RequestBody); g == "" || g == acmeSSN[0] {
			t.Errorf("globex placeholder %q, acme %q: tenants must differ", g, acmeSSN[0])
		}
	})
}

// pii.stages: each stage switched off stores its part as captured, and
// only that part; a body cut at body_max_size is flagged and keeps no
// piece of a value.
func TestPIIStorageStages(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		up := &piiUpstream{}
		g := startGateway(t, driver, withPIIUpstream(t, up), func(c *config.Config) {
			c.Tracing.CaptureBodies = true
			c.Tracing.CaptureHeaders = []string{piiContactName, "X-User-Note"}
			c.PII.Mode = config.PIIModeRedactStorage
			c.PII.Stages = config.PIIStages{RequestHeaders: false, RequestBody: true, ResponseHeaders: true, ResponseBody: false}
		})
		params := chatParams("gpt-4o")
		params.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(piiPrompt)}
		if _, err := g.openai("X-User-Note", "mail dave@example.com").Chat.Completions.New(context.Background(), params); err != nil {
			t.Fatal(err)
		}
		tr := g.oneTrace()
		expect(t, "request header (stage off)", tr.RequestHeaders["X-User-Note"], "mail dave@example.com")
		if strings.Contains(tr.RequestBody, "123-45-6789") || !strings.Contains(tr.RequestBody, "[SSN_REDACTED:") {
			t.Errorf("request body (stage on): %s", tr.RequestBody)
		}
		if v := tr.ResponseHeaders[piiContactName]; !strings.HasPrefix(v, "[EMAIL_REDACTED:") {
			t.Errorf("response header (stage on): %q", v)
		}
		if !strings.Contains(tr.ResponseBody, "bob@example.com") {
			t.Errorf("response body (stage off): %s", tr.ResponseBody)
		}
		if strings.Contains(string(tr.Metadata), "redaction_truncated") {
			t.Errorf("nothing was cut: %s", tr.Metadata)
		}
	})
}

// A body cut at body_max_size: the stored window is redacted, the piece of
// a value at its edge is not kept, and the metadata says
// redaction_truncated.
func TestPIIStorageTruncated(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, func(c *config.Config) {
			c.Tracing.CaptureBodies = true
			c.Tracing.BodyMaxSize = 90
		})
		body := `{"model":"gpt-4o","messages":[{"role":"user","content":"SSN 123-45-6789, card 4111 1111 1111 1111, and more text after"}]}`
		status, resp := g.do("POST", "/openai/v1/chat/completions", body,
			map[string]string{"Authorization": "Bearer " + openAIKey, "Content-Type": "application/json"})
		expect(t, "status", status, 200)
		_ = resp
		tr := g.oneTrace()
		if len(tr.RequestBody) > 90 || strings.Contains(tr.RequestBody, "123-45-6789") || strings.Contains(tr.RequestBody, "4111") {
			t.Errorf("stored window %q", tr.RequestBody)
		}
		if !strings.Contains(string(tr.Metadata), `"redaction_truncated":true`) {
			t.Errorf("metadata %s", tr.Metadata)
		}
	})
}

// Scopes pick the mode per request, most specific first (key over
// workspace over org): acme's org scope blocks, acme's admin key has its
// own scope that redacts upstream instead, and globex falls to the global
// mode (auto: redact_storage, bodies being captured). A block is audited
// without the value, and the metrics count blocks and redactions by type.
func TestPIIScopesAuditAndMetrics(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth, withOperator, withMetrics, func(c *config.Config) {
			c.Tracing.CaptureBodies = true
			c.PII.Scopes = []config.PIIScope{
				{Match: config.PIIMatch{OrgID: "acme"}, Mode: config.PIIModeBlock, PolicyID: "acme/block"},
				{Match: config.PIIMatch{KeyID: "acme-admin"}, Mode: config.PIIModeRedactUpstream},
			}
		})
		body := `{"model":"gpt-4o","messages":[{"role":"user","content":"` + piiPrompt + `"}]}`
		send := func(token string) (int, string) {
			return g.do("POST", "/openai/v1/chat/completions", body,
				map[string]string{gatewayHeader: token, "Authorization": "Bearer " + openAIKey, "Content-Type": "application/json"})
		}
		status, resp := send(acmeOwnerToken)
		expect(t, "acme owner (org scope: block)", status, 403)
		expect(t, "403 body", strings.TrimSpace(resp), `{"error":"request blocked by pii policy","detected":["SSN","CARD"]}`)
		if status, resp := send(acmeAdminToken); status != 200 {
			t.Fatalf("acme admin (key scope: redact_upstream): %d %s", status, resp)
		}
		if status, resp := send(globexOwnerToken); status != 200 {
			t.Fatalf("globex (global: redact_storage): %d %s", status, resp)
		}
		reqs := g.fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d upstream requests, want 2", len(reqs))
		}
		if b := string(reqs[0].Body); strings.Contains(b, "123-45-6789") || !strings.Contains(b, "[SSN_REDACTED:") {
			t.Errorf("acme admin's request forwarded unredacted: %s", b)
		}
		if b := string(reqs[1].Body); !strings.Contains(b, "123-45-6789") {
			t.Errorf("globex's request changed: %s", b)
		}

		evs := g.auditAs(acmeOwnerToken, "action=pii.block", func(evs []auditItem) bool { return len(evs) == 1 })
		ev := evs[0]
		expect(t, "audit target", ev.Target, "route:POST /openai/v1/chat/completions")
		expect(t, "audit outcome", ev.Outcome, "denied")
		expect(t, "audit actor", ev.ActorKeyID, "acme-owner")
		expect(t, "audit reason", ev.Reason, "pii policy acme/block detected SSN,CARD")

		for _, tr := range append(g.traceDetails(acmeOwnerToken, 2), g.traceDetails(globexOwnerToken, 1)...) {
			for _, raw := range rawValues {
				if strings.Contains(storedText(tr), raw) {
					t.Errorf("trace %s (%s) stores %q", tr.ID, tr.Outcome, raw)
				}
			}
		}

		status, metrics := g.call(http.MethodGet, "/metrics", operatorToken, "")
		expect(t, "metrics status", status, 200)
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^ongoingai_pii_blocked_total(\{[^}]*\})? 1$`),
			regexp.MustCompile(`(?m)^ongoingai_pii_redactions_total\{[^}]*pii_type="SSN"[^}]*\} 3$`),
			regexp.MustCompile(`(?m)^ongoingai_pii_redaction_failures_total\{[^}]*pii_stage="storage"[^}]*\} 0$`),
		} {
			if !want.MatchString(metrics) {
				t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "ongoingai_pii"))
			}
		}
	})
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The README's Privacy example, loaded as written, does what it says: the
// ci key (acme/compliance) is under the block scope on /openai/v1, so its
// request with personal data is refused and audited, while the same
// request on the anthropic route (no scope; the global auto mode is off,
// bodies not being captured) is forwarded as sent. Only the machine's
// particulars are set over it: the store, the fake upstream, and
// telemetry off (the example exports to a collector on localhost:4318).
func TestPIIREADMEExampleHasItsEffect(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "<!-- pii-example -->")
	if i < 0 {
		t.Fatal("README has no <!-- pii-example -->")
	}
	s = s[i:]
	start := strings.Index(s, "```yaml\n") + len("```yaml\n")
	end := start + strings.Index(s[start:], "```")
	path := filepath.Join(t.TempDir(), "ongoingai.yaml")
	if err := os.WriteFile(path, []byte(s[start:end]), 0o600); err != nil {
		t.Fatal(err)
	}
	eachDriver(t, func(t *testing.T, driver string) {
		example, err := config.Load(path, true, nil)
		if err != nil {
			t.Fatalf("README example: %v", err)
		}
		g := startGateway(t, driver, func(c *config.Config) {
			storage, providers, flush := c.Storage, c.Providers, c.Tracing.FlushInterval
			*c = example
			c.Storage, c.Providers, c.Tracing.FlushInterval = storage, providers, flush
			c.Server.Host = "127.0.0.1"
			c.Observability.OTel.Enabled = false
		})
		const ciToken = "ogw_example_token_0001"
		body := `{"model":"gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"` + piiPrompt + `"}]}`
		status, resp := g.do("POST", "/openai/v1/chat/completions", body,
			map[string]string{gatewayHeader: ciToken, "Authorization": "Bearer " + openAIKey, "Content-Type": "application/json"})
		expect(t, "scoped request", status, 403)
		expect(t, "403 body", strings.TrimSpace(resp), `{"error":"request blocked by pii policy","detected":["SSN","CARD"]}`)
		status, resp = g.do("POST", "/anthropic/v1/messages", strings.Replace(body, "gpt-4o", "claude-sonnet-4-5", 1),
			map[string]string{gatewayHeader: ciToken, "x-api-key": anthropicKey, "anthropic-version": "2023-06-01", "Content-Type": "application/json"})
		if status != 200 {
			t.Fatalf("unscoped request: %d %s", status, resp)
		}
		reqs := g.fake.Requests()
		if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), "123-45-6789") {
			t.Errorf("upstream requests: %d", len(reqs))
		}
		trs := g.traceDetails(ciToken, 2)
		blocked := trs[1]
		expect(t, "blocked outcome", string(blocked.Outcome), "blocked")
		if !strings.Contains(string(blocked.Metadata), `"redaction_policy_id":"workspace-compliance/v1"`) {
			t.Errorf("metadata %s", blocked.Metadata)
		}
	})
}

// Streaming calls through the request-path modes, with both SDKs:
// redact_upstream (openai) streams the answer of a redacted request, its
// stream flag and accounting intact; block (anthropic) refuses the stream
// before anything is forwarded.
func TestPIIRequestModesStreaming(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, func(c *config.Config) {
			c.Tracing.CaptureBodies = true
			c.PII.Mode = config.PIIModeRedactUpstream
			c.PII.Scopes = []config.PIIScope{{Match: config.PIIMatch{Provider: "anthropic"}, Mode: config.PIIModeBlock}}
		})
		ctx := context.Background()
		params := chatParams("gpt-4o")
		params.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(piiPrompt)}
		stream := g.openai().Chat.Completions.NewStreaming(ctx, params)
		var text strings.Builder
		for stream.Next() {
			for _, ch := range stream.Current().Choices {
				text.WriteString(ch.Delta.Content)
			}
		}
		if err := stream.Err(); err != nil || text.Len() == 0 {
			t.Fatalf("redact_upstream stream: %q %v", text.String(), err)
		}
		mp := messageParams("claude-sonnet-4-5")
		mp.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(piiPrompt))}
		as := g.anthropic().Messages.NewStreaming(ctx, mp)
		for as.Next() {
		}
		if as.Err() == nil {
			t.Fatal("blocked anthropic stream succeeded")
		}
		reqs := g.fake.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d upstream requests, want 1", len(reqs))
		}
		if b := string(reqs[0].Body); strings.Contains(b, "123-45-6789") || !strings.Contains(b, `"stream":true`) || !strings.Contains(b, "[SSN_REDACTED:") {
			t.Errorf("forwarded stream request: %s", b)
		}
		trs := g.traces(2)
		blocked, streamed := trs[0], trs[1]
		expect(t, "blocked outcome", string(blocked.Outcome), "blocked")
		expect(t, "streamed outcome", string(streamed.Outcome), "ok")
		if !streamed.Streaming || streamed.OutputTokens == 0 || strings.Contains(streamed.RequestBody, "123-45-6789") {
			t.Errorf("streamed trace: streaming %v, output %d, body %s", streamed.Streaming, streamed.OutputTokens, streamed.RequestBody)
		}
	})
}
