package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/trace"
)

// Limits stories: a platform team caps what each key, workspace and org
// may call and spend, and a runaway loop meets a 429 instead of the bill.

// limitRefusal is the body of a 429.
type limitRefusal struct {
	Error    string    `json:"error"`
	Limit    string    `json:"limit"`
	Scope    string    `json:"scope"`
	ResetsAt time.Time `json:"resets_at"`
}

// sdkChat makes one chat completion through the official SDK as token,
// capping output at maxTokens (0: no cap), and returns the raw answer.
func (g *gateway) sdkChat(t *testing.T, token string, maxTokens int64) (*http.Response, error) {
	t.Helper()
	var resp *http.Response
	params := openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT4oMini,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
	if maxTokens > 0 {
		params.MaxTokens = openai.Int(maxTokens)
	}
	_, err := g.openai(gatewayHeader, token).Chat.Completions.New(t.Context(), params, option.WithResponseInto(&resp))
	return resp, err
}

// refusalOf checks that the SDK call was answered with the gateway's 429
// and decodes it. The SDKs expect a provider's {"error":{...}} object and
// report the gateway's own {"error":"..."} as a decoding error; the answer
// itself is in resp either way.
func refusalOf(t *testing.T, resp *http.Response, err error) limitRefusal {
	t.Helper()
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("want a 429, got %v (%v)", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	var r limitRefusal
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if r.Error != "limit exceeded" {
		t.Errorf("error %q", r.Error)
	}
	return r
}

func TestRequestsPerMinutePerKey(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth, withOperator, withMetrics, func(c *config.Config) {
			c.Limits.PerKey.RequestsPerMinute = 5
		})
		start := time.Now()
		for i := range 5 {
			resp, err := g.sdkChat(t, acmeAdminToken, 0)
			if err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
			// Every admitted answer reports the tightest limit.
			expect(t, "X-RateLimit-Limit", resp.Header.Get("X-RateLimit-Limit"), "5")
			expect(t, "X-RateLimit-Remaining", resp.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(4-i))
		}
		resp, err := g.sdkChat(t, acmeAdminToken, 0)
		r := refusalOf(t, resp, err)
		expect(t, "limit", r.Limit, "requests_per_minute")
		expect(t, "scope", r.Scope, "key")
		// The first call leaves the sliding minute 60s after it was made.
		if r.ResetsAt.Before(start.Add(59*time.Second)) || r.ResetsAt.After(time.Now().Add(61*time.Second)) {
			t.Errorf("resets_at %v, first call at %v", r.ResetsAt, start)
		}
		retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if want := time.Until(r.ResetsAt).Seconds(); float64(retry) < want-1 || float64(retry) > want+1 {
			t.Errorf("Retry-After %d, resets in %.1fs", retry, want)
		}
		expect(t, "X-RateLimit-Remaining on the 429", resp.Header.Get("X-RateLimit-Remaining"), "0")
		// Another key is unaffected.
		if _, err := g.sdkChat(t, acmeOwnerToken, 0); err != nil {
			t.Fatalf("another key: %v", err)
		}
		// The refusal is traced: 429, outcome limited, cost 0, and never
		// reached the upstream.
		traces := g.tracesAs(acmeOwnerToken, 7)
		var limited []trace.Record
		for _, tr := range traces {
			if tr.Outcome == trace.OutcomeLimited {
				limited = append(limited, tr)
			}
		}
		if len(limited) != 1 || limited[0].ResponseStatus != 429 || limited[0].CostNanoUSD != 0 || limited[0].GatewayKeyID != "acme-admin" {
			t.Errorf("limited traces %+v", limited)
		}
		expect(t, "calls upstream", len(g.fake.Requests()), 6)
		// And counted by limit and scope.
		status, metrics := g.call(http.MethodGet, "/metrics", operatorToken, "")
		if status != http.StatusOK || !strings.Contains(metrics, `ongoingai_limits_refused_total{limit="requests_per_minute",scope="key"} 1`) {
			t.Errorf("metrics: %d %s", status, grepLines(metrics, "limits_refused"))
		}
	})
}
