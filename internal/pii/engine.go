package pii

import (
	"bytes"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jsonstr"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
)

// BlockedMessage is the error of a request refused by block mode.
const BlockedMessage = "request blocked by pii policy"

// UnevaluableMessage is the error of a request redact_upstream cannot
// redact (a body that is not valid JSON): it fails closed rather than
// forward what it could not inspect.
const UnevaluableMessage = "request refused: pii policy could not be evaluated"

// Engine applies the configured PII policy to requests; it is the proxy's
// Policy. It holds no per-request state and is safe for concurrent use.
type Engine struct {
	mode     string // pii.mode resolved (auto applied)
	policyID string
	scopes   []config.PIIScope // most specific first
	stages   config.PIIStages
	format   string
	salt     []byte
	audit    auditlog.Auditor

	redactors sync.Map // workspace id -> *Redactor

	redactions           [numTypes]atomic.Int64
	blocked, unevaluable atomic.Int64
}

var _ proxy.Policy = (*Engine)(nil)

// NewEngine builds the engine for cfg with the installation's salt (the
// configured pii.replacement.hash_salt, or the one kept in the store).
// audit, when not nil, receives an event for each blocked request; its
// Record must not block (auditlog.Log queues it for its own writer).
func NewEngine(cfg config.Config, salt []byte, audit auditlog.Auditor) *Engine {
	e := &Engine{
		mode:     cfg.EffectiveMode(),
		policyID: cfg.PII.PolicyID,
		stages:   cfg.PII.Stages,
		format:   cfg.PII.Replacement.Format,
		salt:     salt,
		audit:    audit,
		scopes:   slices.Clone(cfg.PII.Scopes),
	}
	slices.SortStableFunc(e.scopes, func(a, b config.PIIScope) int { return compareSpecificity(b.Match, a.Match) })
	return e
}

// Stats are the engine's counters since start.
type Stats struct {
	// Redactions counts the values replaced by placeholders, by type name
	// (EMAIL, PHONE, SSN, CARD, TOKEN, FIELD), every type present.
	Redactions map[string]int64
	// Blocked counts requests block mode refused.
	Blocked int64
	// Unevaluable counts requests refused because the policy could not be
	// evaluated on them (redact_upstream and a body that is not JSON).
	Unevaluable int64
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	s := Stats{Redactions: make(map[string]int64, numTypes), Blocked: e.blocked.Load(), Unevaluable: e.unevaluable.Load()}
	for t := range numTypes {
		s.Redactions[t.String()] = e.redactions[t].Load()
	}
	return s
}

// count adds c to the redaction counters.
func (e *Engine) count(c *Counts) {
	for t, n := range c {
		if n > 0 {
			e.redactions[t].Add(int64(n))
		}
	}
}

// compareSpecificity orders matches: key beats workspace beats org, then
// provider, then the longer route prefix.
func compareSpecificity(a, b config.PIIMatch) int {
	rank := func(m config.PIIMatch) [5]int {
		f := func(s string) int {
			if s != "" {
				return 1
			}
			return 0
		}
		return [5]int{f(m.KeyID), f(m.WorkspaceID), f(m.OrgID), f(m.Provider), len(m.RoutePrefix)}
	}
	ra, rb := rank(a), rank(b)
	return slices.Compare(ra[:], rb[:])
}

// resolve returns the mode and policy id for one request: the most
// specific matching scope's, else the global ones.
func (e *Engine) resolve(r *http.Request, provider string, id proxy.Identity) (mode, policyID string) {
	for _, s := range e.scopes {
		m := s.Match
		if (m.KeyID != "" && m.KeyID != id.GatewayKeyID) ||
			(m.WorkspaceID != "" && m.WorkspaceID != id.WorkspaceID) ||
			(m.OrgID != "" && m.OrgID != id.OrgID) ||
			(m.Provider != "" && m.Provider != provider) ||
			(m.RoutePrefix != "" && !pathHasPrefix(r.URL.Path, m.RoutePrefix)) {
			continue
		}
		policyID = s.PolicyID
		if policyID == "" {
			policyID = e.policyID
		}
		return s.Mode, policyID
	}
	return e.mode, e.policyID
}

// pathHasPrefix matches whole segments: /openai/v1 covers /openai/v1/chat
// but not /openai/v10.
func pathHasPrefix(p, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	return p == prefix || strings.HasPrefix(p, prefix+"/") || prefix == ""
}

// Redactor returns the redactor of a workspace, built once.
func (e *Engine) Redactor(workspaceID string) *Redactor {
	if r, ok := e.redactors.Load(workspaceID); ok {
		return r.(*Redactor)
	}
	r, _ := e.redactors.LoadOrStore(workspaceID, NewRedactor(WorkspaceKey(e.salt, workspaceID), e.format))
	return r.(*Redactor)
}

// Check implements proxy.Policy. Every mode but off stores redacted
// copies (the decision's Storage, run by the trace writer). On top of it,
// block refuses a request whose body a detector fires on, with 403 and the
// types found, and redact_upstream forwards the body redacted. Both look
// at the body only when stages.request_body is on.
func (e *Engine) Check(r *http.Request, provider string, id proxy.Identity, body []byte) proxy.PolicyDecision {
	mode, policyID := e.resolve(r, provider, id)
	if mode == config.PIIModeOff || mode == config.PIIModeAuto {
		return proxy.PolicyDecision{}
	}
	st := &storage{e: e, red: e.Redactor(id.WorkspaceID), policyID: policyID, stages: e.stages, requestBody: e.stages.RequestBody}
	if mode == config.PIIModeRedactStorage || !e.stages.RequestBody || len(body) == 0 {
		return proxy.PolicyDecision{Storage: st}
	}
	// The request body is handled here; the stored copy is final.
	st.requestBody = false
	if mode == config.PIIModeRedactUpstream {
		return e.redactUpstream(body, st)
	}
	isJSON := looksJSON(r, body)
	counts, err := Detect(body, isJSON)
	if err != nil {
		// Declared or shaped as JSON but broken: still look at it as text,
		// so a malformed body cannot smuggle a value past the policy.
		counts, _ = Detect(body, false)
		isJSON = false
	}
	if counts.Total() == 0 {
		return proxy.PolicyDecision{Storage: st}
	}
	red := st.red
	var stored []byte
	if isJSON {
		if out, c, err := red.RedactJSON(body); err == nil {
			stored, counts = out, c
		}
	}
	if stored == nil {
		var c Counts
		stored = []byte(red.RedactText(string(body), &c))
		counts = c
	}
	e.count(&counts)
	e.blocked.Add(1)
	st.counts = counts
	if e.audit != nil {
		e.audit.Record(store.AuditEvent{
			OrgID: id.OrgID, WorkspaceID: id.WorkspaceID, ActorKeyID: id.GatewayKeyID,
			Action:    auditlog.ActionPIIBlock,
			Target:    "route:" + r.Method + " " + r.URL.Path,
			Outcome:   auditlog.OutcomeDenied,
			Reason:    "pii policy " + policyID + " detected " + typeList(&counts),
			ClientIP:  clientIP(r),
			RequestID: r.Header.Get("X-Request-Id"),
		})
	}
	return proxy.PolicyDecision{
		Status:  http.StatusForbidden,
		Answer:  blockedAnswer(&counts),
		Stored:  stored,
		Storage: st,
	}
}

// typeList is "SSN,CARD": the types found, never the values.
func typeList(c *Counts) string {
	var b strings.Builder
	for i, t := range c.Types() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.String())
	}
	return b.String()
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func looksJSON(r *http.Request, body []byte) bool {
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		return true
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// blockedAnswer is {"error":"request blocked by pii policy","detected":[...]}.
func blockedAnswer(c *Counts) []byte {
	out := []byte(`{"error":"` + BlockedMessage + `","detected":[`)
	for i, t := range c.Types() {
		if i > 0 {
			out = append(out, ',')
		}
		out = jsonstr.Append(out, t.String())
	}
	return append(out, "]}\n"...)
}

// redactUpstream forwards (and stores) the body with every finding
// replaced; JSON outside the redacted strings is unchanged, so the model,
// the stream flag and accounting are unaffected.
func (e *Engine) redactUpstream(body []byte, st *storage) proxy.PolicyDecision {
	out, counts, err := st.red.RedactJSON(body)
	if err != nil {
		e.unevaluable.Add(1)
		return proxy.PolicyDecision{
			Status:  http.StatusForbidden,
			Answer:  []byte(`{"error":"` + UnevaluableMessage + `"}` + "\n"),
			Stored:  []byte{}, // what could not be inspected is not stored either
			Storage: st,
		}
	}
	e.count(&counts)
	st.counts = counts
	return proxy.PolicyDecision{Forward: out, Stored: out, Storage: st}
}
