package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ongoingai/gateway/bench/internal/tracegen"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/trace"
)

// The synthetic traffic: what a mid-sized deployment sends through one
// gateway. Three orgs with six workspaces and 50 gateway keys, ten models
// over three providers (one of them OpenAI-compatible and unpriced, so
// unpriced requests show up), two provider keys per workspace and provider
// (rotated once during the window), a daily and weekly rhythm, mostly 2xx
// with some 4xx, 5xx and cancelled streams.
//
// Traffic is skewed the way real traffic is: key weights fall off as a
// power law of their rank, and each key calls a small set of models (an
// application uses one to four). That matters for the benchmark: the cost
// of an analytics query follows the number of rollup rows (hours × the
// distinct org/workspace/provider/model/key/provider-key/status cells seen
// in each hour), not the number of traces, so the seed tool reports both.

// model is one model's traffic shape.
type model struct {
	provider      string
	requestModel  string // as clients send it
	responseModel string // as the provider answers (snapshot names)
	path          string
	inMean        float64 // mean input tokens
	outMean       float64 // mean output tokens; 0 for embeddings
	cachedShare   float64 // share of input read from the prompt cache, when it is
	cacheWrite    bool    // Anthropic-style cache writes
	reasoning     bool    // reasoning tokens inside output
	streamShare   float64
	baseMS        float64 // latency before the first token
	msPerToken    float64 // then per output token
}

var models = []model{
	{"openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "/openai/v1/chat/completions", 900, 220, 0.5, false, false, 0.45, 320, 9},
	{"openai", "gpt-4o", "gpt-4o-2024-08-06", "/openai/v1/chat/completions", 1800, 420, 0.5, false, false, 0.5, 480, 14},
	{"openai", "gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", "/openai/v1/chat/completions", 1400, 300, 0.5, false, false, 0.4, 350, 10},
	{"openai", "gpt-5-mini", "gpt-5-mini-2025-08-07", "/openai/v1/responses", 2200, 900, 0.5, false, true, 0.55, 900, 7},
	{"openai", "o4-mini", "o4-mini-2025-04-16", "/openai/v1/chat/completions", 1600, 1400, 0.4, false, true, 0.3, 1500, 6},
	{"openai", "text-embedding-3-small", "text-embedding-3-small", "/openai/v1/embeddings", 350, 0, 0, false, false, 0, 90, 0},
	{"anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "/anthropic/v1/messages", 3500, 600, 0.7, true, false, 0.7, 700, 16},
	{"anthropic", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "/anthropic/v1/messages", 1500, 300, 0.6, true, false, 0.6, 380, 8},
	{"anthropic", "claude-opus-4-1", "claude-opus-4-1-20250805", "/anthropic/v1/messages", 5000, 900, 0.7, true, false, 0.7, 1100, 25},
	{"groq", "llama-3.3-70b-versatile", "llama-3.3-70b-versatile", "/groq/v1/chat/completions", 1200, 350, 0, false, false, 0.6, 150, 3},
}

// workspace is one tenant workspace and how many gateway keys it has.
type workspace struct {
	org, id string
	keys    int
}

var workspaces = []workspace{
	{"acme", "acme-prod", 18},
	{"acme", "acme-staging", 8},
	{"acme", "acme-research", 6},
	{"globex", "globex-prod", 10},
	{"globex", "globex-dev", 5},
	{"initech", "initech-prod", 3},
}

// gatewayKey is one gateway key: its tenant, its share of traffic and the
// models it calls.
type gatewayKey struct {
	id, org, workspace string
	weight             float64
	models             []int // indexes into models
	modelCum           []float64
}

// providerKey is a provider credential as traces store it.
type providerKey struct{ hash, last4 string }

// generator makes the records of one seed run, in time order, deterministic
// for a given seed.
type generator struct {
	rng     *rand.Rand
	prices  *pricing.Catalog
	keys    []gatewayKey
	keyCum  []float64
	provKey map[string][2]providerKey // workspace/provider → before and after the rotation
	rotate  map[string]time.Time      // workspace/provider → rotation time

	// The timeline: hour h (from start) gets counts[h] traces, spread
	// evenly with jitter across it.
	start  time.Time
	counts []int
	hour   int // current hour
	inHour int // traces already made in the current hour
}

func newGenerator(seed uint64, start time.Time, hours int, n int64) *generator {
	g := &generator{
		rng:     rand.New(rand.NewPCG(seed, seed^0x5eed)),
		prices:  pricing.Default(),
		provKey: map[string][2]providerKey{},
		rotate:  map[string]time.Time{},
		start:   start,
	}
	rank := 0
	for _, ws := range workspaces {
		for i := range ws.keys {
			k := gatewayKey{
				id:        fmt.Sprintf("gk-%s-%02d", ws.id, i+1),
				org:       ws.org,
				workspace: ws.id,
				weight:    1 / math.Pow(float64(rank+1), 0.9),
			}
			rank++
			// One to four models per key, the first the key's main one.
			nm := 1 + g.rng.IntN(4)
			seen := map[int]bool{}
			w := 0.0
			for len(k.models) < nm {
				m := g.rng.IntN(len(models))
				if seen[m] {
					continue
				}
				seen[m] = true
				k.models = append(k.models, m)
				w += 1 / float64(len(k.models)*len(k.models))
				k.modelCum = append(k.modelCum, w)
			}
			g.keys = append(g.keys, k)
		}
	}
	// Shuffle the weights so the busiest keys are not all in the first
	// workspace.
	g.rng.Shuffle(len(g.keys), func(i, j int) { g.keys[i].weight, g.keys[j].weight = g.keys[j].weight, g.keys[i].weight })
	cum := 0.0
	for _, k := range g.keys {
		cum += k.weight
		g.keyCum = append(g.keyCum, cum)
	}
	for _, ws := range workspaces {
		for _, p := range []string{"openai", "anthropic", "groq"} {
			var pk [2]providerKey
			for i := range pk {
				secret := fmt.Sprintf("sk-%s-%s-%d-%016x", p, ws.id, i, g.rng.Uint64())
				sum := sha256.Sum256([]byte(secret))
				pk[i] = providerKey{hash: hex.EncodeToString(sum[:]), last4: secret[len(secret)-4:]}
			}
			g.provKey[ws.id+"/"+p] = pk
			g.rotate[ws.id+"/"+p] = start.Add(time.Duration(g.rng.Int64N(int64(hours))) * time.Hour)
		}
	}
	g.counts = spread(n, start, hours)
	return g
}

// spread divides n traces over the hours with a daily rhythm (busiest in
// the European and American afternoon, a quiet night) and quieter
// weekends; the counts sum to n exactly.
func spread(n int64, start time.Time, hours int) []int {
	w := make([]float64, hours)
	total := 0.0
	for h := range w {
		t := start.Add(time.Duration(h) * time.Hour)
		day := 1 + 0.6*math.Sin(2*math.Pi*float64(t.Hour()-9)/24)
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			day *= 0.35
		}
		w[h] = day
		total += day
	}
	counts := make([]int, hours)
	var given int64
	acc := 0.0
	for h := range w {
		acc += w[h]
		upto := int64(math.Round(float64(n) * acc / total))
		counts[h] = int(upto - given)
		given = upto
	}
	return counts
}

// pick returns the index of the first cumulative weight above a uniform
// draw.
func (g *generator) pick(cum []float64) int {
	x := g.rng.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// logNormal draws around mean with a long right tail.
func (g *generator) logNormal(mean, sigma float64) float64 {
	return math.Exp(math.Log(mean) - sigma*sigma/2 + sigma*g.rng.NormFloat64())
}

// next returns the next record in time order, or nil when all are made.
func (g *generator) next() *trace.Record {
	for g.hour < len(g.counts) && g.inHour >= g.counts[g.hour] {
		g.hour++
		g.inHour = 0
	}
	if g.hour >= len(g.counts) {
		return nil
	}
	c := g.counts[g.hour]
	// Evenly spaced with jitter within the slot: in order, inside the hour.
	slot := float64(time.Hour) / float64(c)
	off := time.Duration((float64(g.inHour) + g.rng.Float64()) * slot)
	g.inHour++
	ts := g.start.Add(time.Duration(g.hour)*time.Hour + off)

	k := &g.keys[g.pick(g.keyCum)]
	m := &models[k.models[g.pick(k.modelCum)]]
	r := tracegen.Record(ts)
	r.Provider = m.provider
	r.RequestModel = m.requestModel
	r.Model = m.responseModel
	r.RequestPath = m.path
	r.OrgID, r.WorkspaceID, r.GatewayKeyID = k.org, k.workspace, k.id
	pk := g.provKey[k.workspace+"/"+m.provider]
	if ts.Before(g.rotate[k.workspace+"/"+m.provider]) {
		r.APIKeyHash, r.APIKeyLast4 = pk[0].hash, pk[0].last4
	} else {
		r.APIKeyHash, r.APIKeyLast4 = pk[1].hash, pk[1].last4
	}
	r.Streaming = g.rng.Float64() < m.streamShare

	// Status: 96.5% 2xx, 2.5% 4xx (mostly rate limits), 1% 5xx.
	x := g.rng.Float64()
	switch {
	case x < 0.965:
		r.ResponseStatus, r.Outcome = 200, trace.OutcomeOK
	case x < 0.980:
		r.ResponseStatus, r.Outcome = 429, trace.OutcomeUpstreamError
	case x < 0.988:
		r.ResponseStatus, r.Outcome = 400, trace.OutcomeUpstreamError
	case x < 0.990:
		r.ResponseStatus, r.Outcome = 401, trace.OutcomeUpstreamError
	case x < 0.995:
		r.ResponseStatus, r.Outcome = 500, trace.OutcomeUpstreamError
		if m.provider == "anthropic" {
			r.ResponseStatus = 529 // overloaded
		}
	case x < 0.998:
		r.ResponseStatus, r.Outcome = 503, trace.OutcomeUpstreamError
	default:
		r.ResponseStatus, r.Outcome = 502, trace.OutcomeUpstreamUnreachable
	}

	if r.ResponseStatus >= 400 {
		r.InputTokens, r.OutputTokens, r.TotalTokens = 0, 0, 0
		r.CachedInputTokens, r.CacheWriteTokens, r.ReasoningTokens = 0, 0, 0
		r.LatencyMS = int64(20 + g.logNormal(120, 0.8))
		r.TimeToFirstTokenUS = r.LatencyMS * 1000
		r.StreamEvents = 0
		if r.Outcome == trace.OutcomeUpstreamUnreachable {
			r.TimeToFirstTokenUS = 0
			r.ResponseHeaders = nil
		}
	} else {
		in := int64(math.Max(1, g.logNormal(m.inMean, 0.9)))
		out := int64(0)
		if m.outMean > 0 {
			out = int64(math.Max(1, g.logNormal(m.outMean, 0.8)))
		}
		var cached, cacheWrite, reasoning int64
		if m.cachedShare > 0 && g.rng.Float64() < m.cachedShare {
			cached = in * int64(40+g.rng.IntN(55)) / 100
		}
		if m.cacheWrite && cached == 0 && g.rng.Float64() < 0.3 {
			cacheWrite = in * int64(30+g.rng.IntN(60)) / 100
		}
		if m.reasoning {
			reasoning = out * int64(20+g.rng.IntN(60)) / 100
		}
		ttft := m.baseMS * g.logNormal(1, 0.4)
		lat := ttft + m.msPerToken*float64(out)*g.logNormal(1, 0.3)
		if r.Streaming && g.rng.Float64() < 0.012 {
			// The client hung up mid-stream: the gateway keeps the input it
			// was told and estimates the output delivered so far.
			r.Outcome = trace.OutcomeClientCancelled
			out = out * int64(5+g.rng.IntN(80)) / 100
			reasoning = min(reasoning, out)
			lat = ttft + m.msPerToken*float64(out)
			r.TokensEstimated = true
		}
		r.InputTokens, r.OutputTokens, r.TotalTokens = in, out, in+out
		r.CachedInputTokens, r.CacheWriteTokens, r.ReasoningTokens = cached, cacheWrite, reasoning
		r.LatencyMS = int64(math.Max(1, lat))
		r.TimeToFirstTokenUS = int64(ttft * 1000)
		if r.Streaming {
			r.StreamEvents = 2 + out/3
		} else {
			r.StreamEvents = 0
		}
	}
	r.TimeToFirstTokenMS = r.TimeToFirstTokenUS / 1000
	cost := g.prices.Cost(r.Model, pricing.Tokens{
		Input: r.InputTokens, Output: r.OutputTokens, CachedInput: r.CachedInputTokens,
		CacheWrite: r.CacheWriteTokens, Reasoning: r.ReasoningTokens,
	})
	r.CostNanoUSD, r.Priced = cost.NanoUSD, cost.Priced
	r.EstimatedCostUSD = cost.USD()
	if !cost.Priced {
		r.PricingVersion = ""
	} else {
		r.PricingVersion = g.prices.Version()
	}
	r.CreatedAt = ts.Add(time.Duration(r.LatencyMS) * time.Millisecond).UTC()
	return r
}
