package e2e

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/testdb"
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

// limitParams is the chat completion of the limits stories: gpt-4o-mini,
// output capped at maxTokens (0: no cap).
func limitParams(maxTokens int64) openai.ChatCompletionNewParams {
	params := openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT4oMini,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
	if maxTokens > 0 {
		params.MaxTokens = openai.Int(maxTokens)
	}
	return params
}

// callCost is what the fake upstream's answer costs on gpt-4o-mini: 11
// input tokens at $0.15/M and 5 output tokens at $0.60/M, in nano-USD.
const callCost = 11*150 + 5*600

// reservationOf is the worst case the gateway reserves for params (the
// body the SDK sends is params' JSON; TestDailyBudget checks that).
func reservationOf(t *testing.T, params openai.ChatCompletionNewParams) limits.Cost {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	return limits.Estimate(pricing.Default(), params.Model, len(body), params.MaxTokens.Value)
}

// sdkChat makes one chat completion through the official SDK as token,
// capping output at maxTokens (0: no cap), and returns the raw answer.
func (g *gateway) sdkChat(t *testing.T, token string, maxTokens int64, opts ...option.RequestOption) (*http.Response, error) {
	t.Helper()
	var resp *http.Response
	opts = append(opts, option.WithResponseInto(&resp))
	_, err := g.openai(gatewayHeader, token).Chat.Completions.New(t.Context(), limitParams(maxTokens), opts...)
	return resp, err
}

// settledChat makes a call that must succeed and waits until its trace is
// stored, which happens after the call settled its reservation: the next
// call then sees the exact spend. seen is the traces token sees so far.
func (g *gateway) settledChat(t *testing.T, token string, maxTokens int64, seen *int) {
	t.Helper()
	if _, err := g.sdkChat(t, token, maxTokens); err != nil {
		t.Fatalf("call %d: %v", *seen+1, err)
	}
	*seen++
	g.tracesAs(token, *seen)
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
		if len(limited) != 1 || limited[0].ResponseStatus != 429 || limited[0].EstimatedCostUSD != 0 || limited[0].GatewayKeyID != "acme-admin" {
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

// TestDailyBudget: a key's usd_per_day admits a call while what is spent
// plus the call's worst case fits, and refuses exactly the first call
// whose worst case would cross it.
func TestDailyBudget(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		res := reservationOf(t, limitParams(5))
		budget := 2*callCost + res.NanoUSD // the 3rd call fits exactly
		g := startGateway(t, driver, withAuth, func(c *config.Config) {
			c.Limits.PerKey.USDPerDay = float64(budget) / 1e9
		})
		seen := 0
		for range 3 {
			g.settledChat(t, acmeOwnerToken, 5, &seen)
		}
		if got := len(g.fake.Requests()[0].Body); int64(got+3)/4+5 != res.Tokens {
			t.Fatalf("the SDK sent %d bytes, not the %d-token reservation's body", got, res.Tokens)
		}
		resp, err := g.sdkChat(t, acmeOwnerToken, 5)
		r := refusalOf(t, resp, err)
		expect(t, "limit", r.Limit, "usd_per_day")
		expect(t, "scope", r.Scope, "key")
		y, m, d := time.Now().UTC().Date()
		expect(t, "resets_at", r.ResetsAt, time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC))
		// Spent: 3 calls, within the budget.
		var spent int64
		for _, tr := range g.tracesAs(acmeOwnerToken, 4) {
			spent += int64(math.Round(tr.EstimatedCostUSD * 1e9))
		}
		expect(t, "spent", spent, int64(3*callCost))
	})
}

// TestTokensPerMinute: the minute's tokens hold each call's worst case
// until it settles with the tokens it used.
func TestTokensPerMinute(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		res := reservationOf(t, limitParams(5))
		g := startGateway(t, driver, withAuth, func(c *config.Config) {
			c.Limits.PerWorkspace.TokensPerMinute = res.Tokens + 16 // 16 tokens settled, then one more worst case
		})
		seen := 0
		g.settledChat(t, acmeOwnerToken, 5, &seen)
		g.settledChat(t, acmeAdminToken, 5, &seen) // same workspace
		resp, err := g.sdkChat(t, acmeOwnerToken, 5)
		r := refusalOf(t, resp, err)
		expect(t, "limit", r.Limit, "tokens_per_minute")
		expect(t, "scope", r.Scope, "workspace")
		// Another org's workspace is not affected.
		if _, err := g.sdkChat(t, globexOwnerToken, 5); err != nil {
			t.Fatalf("another workspace: %v", err)
		}
	})
}

// TestConcurrentBurstAgainstSmallBudget: 30 calls at once against a
// budget of a few calls. Each admitted call holds its worst case until it
// settles, so the spend never passes the budget by more than one
// reservation; without reservations all 30 would pass the check.
func TestConcurrentBurstAgainstSmallBudget(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		res := reservationOf(t, limitParams(5))
		budget := 4 * res.NanoUSD
		g := startGateway(t, driver, withAuth, func(c *config.Config) {
			c.Limits.PerOrg.USDPerDay = float64(budget) / 1e9
		})
		var (
			wg                sync.WaitGroup
			mu                sync.Mutex
			admitted, refused int
		)
		for range 30 {
			wg.Go(func() {
				resp, err := g.sdkChat(t, acmeOwnerToken, 5, option.WithHeader(fakeupstream.HeaderLatency, "300ms"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					admitted++
				case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
					refused++
				default:
					t.Errorf("call: %v", err)
				}
			})
		}
		wg.Wait()
		t.Logf("admitted %d, refused %d; budget %d nano-USD, reservation %d, call %d", admitted, refused, budget, res.NanoUSD, callCost)
		var spent int64
		for _, tr := range g.tracesAs(acmeOwnerToken, 30) {
			spent += int64(math.Round(tr.EstimatedCostUSD * 1e9))
		}
		if spent > budget+res.NanoUSD {
			t.Errorf("spent %d nano-USD against a budget of %d (one reservation: %d)", spent, budget, res.NanoUSD)
		}
		if admitted < 4 || refused == 0 {
			t.Errorf("admitted %d, refused %d", admitted, refused)
		}
	})
}

// TestBudgetSurvivesRestart: a restarted gateway remembers today's spend.
func TestBudgetSurvivesRestart(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		res := reservationOf(t, limitParams(5))
		g := startGateway(t, driver, withAuth, func(c *config.Config) {
			c.Limits.PerKey.USDPerDay = float64(2*callCost+res.NanoUSD) / 1e9
		})
		seen := 0
		g.settledChat(t, acmeOwnerToken, 5, &seen)
		g.settledChat(t, acmeOwnerToken, 5, &seen)
		if err := g.stop(); err != nil {
			t.Fatal(err)
		}
		g2 := serveConfig(t, g.cfg, g.fake, g.upstream)
		g2.settledChat(t, acmeOwnerToken, 5, &seen) // the 3rd fits
		resp, err := g2.sdkChat(t, acmeOwnerToken, 5)
		r := refusalOf(t, resp, err)
		expect(t, "limit after restart", r.Limit, "usd_per_day")
	})
}

// TestReplicasShareABudget: two gateways on one Postgres share a key's
// daily budget. Calls alternate between them, each after the sync bound
// (limits.DefaultSyncInterval twice): together they stop where one
// gateway would.
func TestReplicasShareABudget(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	res := reservationOf(t, limitParams(5))
	share := func(c *config.Config) {
		c.Storage.DSN = dsn
		c.Limits.PerKey.USDPerDay = float64(3*callCost+res.NanoUSD) / 1e9 // 4 calls
	}
	a := startGateway(t, config.DriverPostgres, withAuth, share)
	b := startGateway(t, config.DriverPostgres, withAuth, share)
	bound := 2*limits.DefaultSyncInterval + 200*time.Millisecond
	seen := 0
	for i, g := range []*gateway{a, b, a, b} {
		g.settledChat(t, acmeOwnerToken, 5, &seen)
		_ = i
		time.Sleep(bound)
	}
	for name, g := range map[string]*gateway{"a": a, "b": b} {
		resp, err := g.sdkChat(t, acmeOwnerToken, 5)
		r := refusalOf(t, resp, err)
		expect(t, "replica "+name+" limit", r.Limit, "usd_per_day")
	}
}

type limitsView struct {
	Subject string `json:"subject"`
	Limits  map[string]struct {
		Limit     float64   `json:"limit"`
		Used      float64   `json:"used"`
		Remaining float64   `json:"remaining"`
		ResetsAt  time.Time `json:"resets_at"`
		Source    string    `json:"source"`
	} `json:"limits"`
}

// TestLimitsSetThroughTheAPIAndTheCLI: an owner caps a key and a workspace
// through the API, which holds at once on this gateway and within a second
// on another; the operator lifts a cap with the CLI's code path, which a
// running gateway applies within a second. Every change is audited.
func TestLimitsSetThroughTheAPIAndTheCLI(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		dev := g.createKey(acmeOwnerToken, `{"role":"developer"}`)

		// Refusals: no keys:manage, a malformed limit.
		status, body := g.call(http.MethodPut, "/api/gateway-keys/"+dev.ID+"/limits", dev.Token, `{"requests_per_minute":1}`)
		expectJSONError(t, "developer sets limits", status, body, http.StatusForbidden, "gateway key does not have required permission")
		status, body = g.call(http.MethodPut, "/api/gateway-keys/"+dev.ID+"/limits", acmeOwnerToken, `{"usd_per_day":-1}`)
		expectJSONError(t, "negative", status, body, http.StatusBadRequest, "invalid limits: usd_per_day: must not be negative (0 means no limit)")
		status, body = g.call(http.MethodGet, "/api/gateway-keys/"+dev.ID+"/limits", globexOwnerToken, "")
		expectJSONError(t, "another org's key", status, body, http.StatusNotFound, "gateway key not found")

		v := callOK[limitsView](g, http.MethodPut, "/api/gateway-keys/"+dev.ID+"/limits", acmeOwnerToken, `{"requests_per_minute":1}`, http.StatusOK)
		if l := v.Limits["requests_per_minute"]; l.Limit != 1 || l.Source != "override" || v.Subject != "key:"+dev.ID {
			t.Fatalf("PUT answered %+v", v)
		}
		// Holds at once on this gateway.
		if _, err := g.sdkChat(t, dev.Token, 5); err != nil {
			t.Fatal(err)
		}
		resp, err := g.sdkChat(t, dev.Token, 5)
		if r := refusalOf(t, resp, err); r.Limit != "requests_per_minute" || r.Scope != "key" {
			t.Errorf("refusal %+v", r)
		}
		v = callOK[limitsView](g, http.MethodGet, "/api/gateway-keys/"+dev.ID+"/limits", acmeOwnerToken, "", http.StatusOK)
		if l := v.Limits["requests_per_minute"]; l.Used != 1 || l.Remaining != 0 || time.Until(l.ResetsAt) > time.Minute || time.Until(l.ResetsAt) < 50*time.Second {
			t.Errorf("GET shows %+v", l)
		}

		// The operator lifts it with the CLI's code path; the gateway
		// applies it at its next sync.
		svc, mgr, closeCLI, err := app.OpenLimitsService(t.Context(), g.cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer closeCLI(context.Background())
		lift := limits.Override{}
		lift.Has[limits.RequestsPerMinute] = true
		changed := time.Now()
		if err := svc.SetLimits(t.Context(), tenancy.OperatorActor(), tenancy.LimitTarget{KeyID: dev.ID}, lift.Describe(), func(rt tenancy.LimitTarget) error {
			return mgr.Set(t.Context(), limits.KeySubject(rt.KeyID), lift, "cli", time.Now())
		}); err != nil {
			t.Fatal(err)
		}
		took := eventually(t, "the gateway applies the CLI's change", func() bool {
			_, err := g.sdkChat(t, dev.Token, 5)
			return err == nil
		})
		t.Logf("the CLI's change held after %v (bound: %v)", took, 2*limits.DefaultSyncInterval)
		if since := time.Since(changed); since > 5*time.Second {
			t.Errorf("took %v", since)
		}

		// A workspace budget covers every key in it.
		callOK[limitsView](g, http.MethodPut, "/api/workspaces/prod/limits", acmeOwnerToken, `{"usd_per_day":0.000001}`, http.StatusOK)
		resp, err = g.sdkChat(t, acmeAdminToken, 5)
		if r := refusalOf(t, resp, err); r.Limit != "usd_per_day" || r.Scope != "workspace" {
			t.Errorf("refusal %+v", r)
		}
		if _, err := g.sdkChat(t, globexOwnerToken, 5); err != nil {
			t.Errorf("another org: %v", err)
		}

		evs := g.auditAs(acmeOwnerToken, "", func(evs []auditItem) bool {
			return has(evs, "workspace.limits", "workspace:prod", "ok") &&
				has(evs, "auth.deny", "route:PUT /api/gateway-keys/"+dev.ID+"/limits", "denied")
		})
		// Both changes to the key, the owner's and the CLI's, with what they set.
		var keyChanges []string
		for _, e := range evs {
			if e.Action == "key.limits" && e.Target == "gateway_key:"+dev.ID && e.Outcome == "ok" {
				keyChanges = append(keyChanges, e.ActorKeyID+" "+e.Reason)
			}
		}
		expect(t, "key.limits events", strings.Join(keyChanges, ", "), "cli requests_per_minute=0, acme-owner requests_per_minute=1")
	})
}

// TestCancelledStreamSettlesWhatWasDelivered: an Anthropic stream reserves
// its max_tokens; cut by the client after three words, it settles at the
// tokens its trace counts (input from message_start, output estimated from
// the text delivered), not at the reservation. The key's limits show it.
func TestCancelledStreamSettlesWhatWasDelivered(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth, func(c *config.Config) {
			c.Limits.PerKey.TokensPerDay = 1_000_000
			c.Limits.PerKey.USDPerDay = 1
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		stream := g.anthropic(gatewayHeader, acmeOwnerToken, fakeupstream.HeaderInputTokens, "900",
			fakeupstream.HeaderEvents, "50", fakeupstream.HeaderHangAfter, "3").
			Messages.NewStreaming(ctx, messageParams("claude-sonnet-4"))
		deltas := 0
		for stream.Next() {
			if stream.Current().Type == "content_block_delta" {
				if deltas++; deltas == 3 {
					break
				}
			}
		}
		cancel()
		stream.Close()
		tr := g.tracesAs(acmeOwnerToken, 1)[0]
		expect(t, "outcome", tr.Outcome, trace.OutcomeClientCancelled)
		v := callOK[limitsView](g, http.MethodGet, "/api/gateway-keys/acme-owner/limits", acmeOwnerToken, "", http.StatusOK)
		expect(t, "tokens_per_day used", v.Limits["tokens_per_day"].Used, float64(tr.TotalTokens))
		if used := v.Limits["usd_per_day"].Used; math.Abs(used-tr.EstimatedCostUSD) > 1e-12 || used <= 0 {
			t.Errorf("usd_per_day used %v, the trace cost %v", used, tr.EstimatedCostUSD)
		}
	})
}

// TestReplicasShareAMinuteWindow: requests_per_minute holds across two
// gateways on one Postgres, each seeing the other's calls within the sync
// bound.
func TestReplicasShareAMinuteWindow(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	share := func(c *config.Config) {
		c.Storage.DSN = dsn
		c.Limits.PerKey.RequestsPerMinute = 4
	}
	a := startGateway(t, config.DriverPostgres, withAuth, share)
	b := startGateway(t, config.DriverPostgres, withAuth, share)
	bound := 2*limits.DefaultSyncInterval + 200*time.Millisecond
	for _, g := range []*gateway{a, a, b, b} {
		if _, err := g.sdkChat(t, acmeOwnerToken, 5); err != nil {
			t.Fatal(err)
		}
		if g == a {
			time.Sleep(bound / 2)
		}
	}
	time.Sleep(bound)
	for name, g := range map[string]*gateway{"a": a, "b": b} {
		resp, err := g.sdkChat(t, acmeOwnerToken, 5)
		r := refusalOf(t, resp, err)
		expect(t, "replica "+name+" limit", r.Limit, "requests_per_minute")
	}
}
