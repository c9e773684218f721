package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/ongoingai/gateway/internal/config"
)

const piiPrompt = "My SSN is 123-45-6789, card 4111 1111 1111 1111"

// pii.mode block: a request carrying PII is refused with 403 and the types
// found, nothing reaches the upstream, and the refusal is traced (status
// 403, outcome blocked, body stored redacted, redaction metadata). A scope
// for the anthropic provider turns the policy off there: the most specific
// scope wins. A clean request passes.
func TestPIIBlockMode(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, func(c *config.Config) {
			c.Tracing.CaptureBodies = true
			c.PII.Mode = config.PIIModeBlock
			c.PII.PolicyID = "compliance/v2"
			c.PII.Scopes = []config.PIIScope{
				{Match: config.PIIMatch{Provider: "anthropic"}, Mode: config.PIIModeOff},
				// Longer route prefix of the same provider: more specific.
				{Match: config.PIIMatch{Provider: "anthropic", RoutePrefix: "/anthropic/v1/messages"}, Mode: config.PIIModeBlock, PolicyID: "messages/v1"},
			}
		})
		ctx := context.Background()
		params := chatParams("gpt-4o")
		params.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(piiPrompt)}
		// The official SDK sees the refusal as an error (it cannot read the
		// gateway's {"error":"..."} shape as a provider error object)...
		if _, err := g.openai().Chat.Completions.New(ctx, params); err == nil {
			t.Fatal("SDK call with PII succeeded")
		}
		// ...and the wire answer is the documented one.
		status, body := g.do("POST", "/openai/v1/chat/completions",
			`{"model":"gpt-4o","messages":[{"role":"user","content":"`+piiPrompt+`"}]}`,
			map[string]string{"Authorization": "Bearer " + openAIKey, "Content-Type": "application/json"})
		expect(t, "status", status, 403)
		expect(t, "403 body", strings.TrimSpace(body), `{"error":"request blocked by pii policy","detected":["SSN","CARD"]}`)
		if n := len(g.fake.Requests()); n != 0 {
			t.Fatalf("%d requests reached the upstream", n)
		}
		tr := g.traces(2)[0]
		expect(t, "status", tr.ResponseStatus, 403)
		expect(t, "outcome", string(tr.Outcome), "blocked")
		if strings.Contains(tr.RequestBody, "123-45-6789") || strings.Contains(tr.RequestBody, "4111 1111") {
			t.Errorf("stored body carries the values: %s", tr.RequestBody)
		}
		if !strings.Contains(tr.RequestBody, "[SSN_REDACTED:") || !strings.Contains(tr.RequestBody, "[CARD_REDACTED:") {
			t.Errorf("stored body not redacted: %s", tr.RequestBody)
		}
		meta := string(tr.Metadata)
		for _, want := range []string{`"redaction_applied":true`, `"redaction_counts":{"SSN":1,"CARD":1}`, `"redaction_policy_id":"compliance/v2"`} {
			if !strings.Contains(meta, want) {
				t.Errorf("metadata %s lacks %s", meta, want)
			}
		}

		// A clean request passes.
		if _, err := g.openai().Chat.Completions.New(ctx, chatParams("gpt-4o")); err != nil {
			t.Fatalf("clean request: %v", err)
		}

		// Anthropic messages: the longest route prefix's scope (block) wins
		// over the provider-only scope (off).
		mp := messageParams("claude-sonnet-4-5")
		mp.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(piiPrompt))}
		if _, err := g.anthropic().Messages.New(ctx, mp); err == nil {
			t.Fatal("anthropic SDK call with PII succeeded")
		}
		trs := g.traces(4)
		expect(t, "anthropic outcome", string(trs[0].Outcome), "blocked")
		if !strings.Contains(string(trs[0].Metadata), `"redaction_policy_id":"messages/v1"`) {
			t.Errorf("anthropic metadata %s", trs[0].Metadata)
		}

		// Anthropic outside /v1/messages: the provider scope (off) applies
		// and the request is forwarded, whatever the upstream makes of it.
		status, body = g.do("POST", "/anthropic/v1/complete",
			`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"`+piiPrompt+`"}]}`,
			map[string]string{"x-api-key": anthropicKey, "content-type": "application/json"})
		if status == 403 {
			t.Errorf("/v1/complete (scope off): status %d %s", status, body)
		}
		if n := len(g.fake.Requests()); n != 2 {
			t.Errorf("%d requests reached the upstream, want 2 (clean chat, complete)", n)
		}
	})
}

// pii.mode redact_upstream: the request is redacted before it is
// forwarded (the upstream never sees the values), the answer and its
// accounting are unaffected, the stored body is the redacted one, and the
// same value gets the same placeholder in every request of a workspace. A
// body that is not JSON is refused (fail closed) and never forwarded.
func TestPIIRedactUpstreamMode(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, func(c *config.Config) {
			c.Tracing.CaptureBodies = true
			c.PII.Mode = config.PIIModeRedactUpstream
		})
		ctx := context.Background()
		params := chatParams("gpt-4o")
		params.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(piiPrompt)}
		res, err := g.openai().Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if res.Usage.TotalTokens == 0 {
			t.Error("no usage in the answer")
		}
		mp := messageParams("claude-sonnet-4-5")
		mp.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(piiPrompt))}
		if _, err := g.anthropic().Messages.New(ctx, mp); err != nil {
			t.Fatal(err)
		}
		reqs := g.fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d upstream requests", len(reqs))
		}
		var placeholders []string
		for _, r := range reqs {
			b := string(r.Body)
			if strings.Contains(b, "123-45-6789") || strings.Contains(b, "4111 1111") {
				t.Errorf("upstream saw the values: %s", b)
			}
			i := strings.Index(b, "[SSN_REDACTED:")
			if i < 0 || !strings.Contains(b, "[CARD_REDACTED:") {
				t.Fatalf("upstream body not redacted: %s", b)
			}
			placeholders = append(placeholders, b[i:i+len("[SSN_REDACTED:")+13])
		}
		if placeholders[0] != placeholders[1] {
			t.Errorf("same value, same workspace, different placeholders: %v", placeholders)
		}
		trs := g.traces(2)
		for _, tr := range trs {
			expect(t, "outcome", string(tr.Outcome), "ok")
			if tr.TotalTokens == 0 {
				t.Error("accounting lost")
			}
			if strings.Contains(tr.RequestBody, "123-45-6789") || !strings.Contains(tr.RequestBody, placeholders[0]) {
				t.Errorf("stored body: %s", tr.RequestBody)
			}
			if !strings.Contains(string(tr.Metadata), `"redaction_counts":{"SSN":1,"CARD":1}`) {
				t.Errorf("metadata %s", tr.Metadata)
			}
		}

		status, body := g.do("POST", "/openai/v1/chat/completions", `{"model":"gpt-4o","messages":`+piiPrompt,
			map[string]string{"Authorization": "Bearer " + openAIKey, "Content-Type": "application/json"})
		expectJSONError(t, "broken JSON", status, body, 403, "request refused: pii policy could not be evaluated")
		if n := len(g.fake.Requests()); n != 2 {
			t.Errorf("broken body forwarded: %d upstream requests", n)
		}
		tr := g.traces(3)[0]
		expect(t, "refusal outcome", string(tr.Outcome), "blocked")
		expect(t, "refusal stored body", tr.RequestBody, "")
	})
}
