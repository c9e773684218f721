package proxy

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ongoingai/gateway/internal/jsonstr"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/trace"
)

// MsgLimitExceeded is the error of a call refused by a rate limit or
// budget (429), answered with the limit, its scope and when it resets.
const MsgLimitExceeded = "limit exceeded"

// The rate-limit headers, on the 429 and on every answer admitted under a
// limit (for the tightest one): its value, what is left, and the seconds
// until that changes. Retry-After goes on the 429 alone.
const (
	headerLimit     = "X-RateLimit-Limit"
	headerRemaining = "X-RateLimit-Remaining"
	headerReset     = "X-RateLimit-Reset"
)

// admitWithinLimits is the limits hook: it reserves the call's worst case
// (limits.Estimate) against every limit of the caller and returns true, or
// answers 429, traces the refusal (outcome limited, cost 0) and returns
// false. No store is read: the counters are in memory.
func (c *call) admitWithinLimits(w http.ResponseWriter) bool {
	l := c.p.opts.Limits
	if l == nil || !l.Enabled() {
		return true
	}
	id := c.p.identity(c.req)
	want := limits.Estimate(c.p.opts.Prices.Load(), c.info.Model, len(c.fwd), c.info.MaxOutputTokens)
	res, refused, ok := l.Admit(limits.Subject{OrgID: id.OrgID, WorkspaceID: id.WorkspaceID, KeyID: id.GatewayKeyID}, want, c.start)
	if ok {
		c.limit = res
		return true
	}
	h := w.Header()
	setLimitHeaders(h, refused, c.start)
	h.Set("Retry-After", strconv.FormatInt(secondsUntil(refused.ResetsAt, c.start), 10))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	body := make([]byte, 0, 128)
	body = append(body, `{"error":"`+MsgLimitExceeded+`","limit":`...)
	body = jsonstr.Append(body, refused.Kind.String())
	body = append(body, `,"scope":`...)
	body = jsonstr.Append(body, refused.Scope.String())
	body = append(body, `,"resets_at":`...)
	body = jsonstr.Append(body, refused.ResetsAt.UTC().Format(time.RFC3339))
	body = append(body, "}\n"...)
	w.Write(body)
	c.limited = true
	c.finish()
	return false
}

// limitHeaders reports the tightest limit the call was admitted under.
func (c *call) limitHeaders(h http.Header) {
	if t := c.limit.Tightest; t.Limit > 0 {
		setLimitHeaders(h, t, c.start)
	}
}

// settleLimits swaps the call's reservation for the trace's exact usage
// and cost: zero for a call that failed or was refused, what was
// delivered for a cancelled stream.
func (c *call) settleLimits(r *trace.Record, now time.Time) {
	c.limit.Settle(limits.Cost{Tokens: r.TotalTokens, NanoUSD: r.CostNanoUSD}, now)
}

func setLimitHeaders(h http.Header, s limits.Status, now time.Time) {
	h.Set(headerLimit, limits.FormatValue(s.Kind, s.Limit))
	h.Set(headerRemaining, limits.FormatValue(s.Kind, s.Remaining))
	h.Set(headerReset, strconv.FormatInt(secondsUntil(s.ResetsAt, now), 10))
}

// secondsUntil is the whole seconds from now to t, rounded up, at least 1.
func secondsUntil(t, now time.Time) int64 {
	d := t.Sub(now)
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
