package pii

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jsonstr"
	"github.com/ongoingai/gateway/internal/proxy"
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

	redactors sync.Map // workspace id -> *Redactor
}

var _ proxy.Policy = (*Engine)(nil)

// NewEngine builds the engine for cfg with the installation's salt (the
// configured pii.replacement.hash_salt, or the one kept in the store).
func NewEngine(cfg config.Config, salt []byte) *Engine {
	e := &Engine{
		mode:     cfg.EffectiveMode(),
		policyID: cfg.PII.PolicyID,
		stages:   cfg.PII.Stages,
		format:   cfg.PII.Replacement.Format,
		salt:     salt,
		scopes:   slices.Clone(cfg.PII.Scopes),
	}
	slices.SortStableFunc(e.scopes, func(a, b config.PIIScope) int { return compareSpecificity(b.Match, a.Match) })
	return e
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

// Check implements proxy.Policy: block refuses a request whose body a
// detector fires on, with 403 and the types found; the refusal's stored
// body is redacted. Other modes forward unchanged here.
func (e *Engine) Check(r *http.Request, provider string, id proxy.Identity, body []byte) proxy.PolicyDecision {
	mode, policyID := e.resolve(r, provider, id)
	if !e.stages.RequestBody || len(body) == 0 {
		return proxy.PolicyDecision{}
	}
	switch mode {
	case config.PIIModeBlock:
	case config.PIIModeRedactUpstream:
		return e.redactUpstream(body, id, policyID)
	default:
		return proxy.PolicyDecision{}
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
		return proxy.PolicyDecision{}
	}
	red := e.Redactor(id.WorkspaceID)
	var stored []byte
	if isJSON {
		if out, c, err := red.RedactJSON(body); err == nil {
			stored, counts = out, c
		}
	}
	if stored == nil {
		c := Counts{}
		stored = []byte(red.RedactText(string(body), c))
		counts = c
	}
	return proxy.PolicyDecision{
		Status:   http.StatusForbidden,
		Answer:   blockedAnswer(counts),
		Stored:   stored,
		Metadata: Metadata(counts, policyID),
	}
}

func looksJSON(r *http.Request, body []byte) bool {
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		return true
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// blockedAnswer is {"error":"request blocked by pii policy","detected":[...]}.
func blockedAnswer(c Counts) []byte {
	out := []byte(`{"error":"` + BlockedMessage + `","detected":[`)
	for i, t := range c.Types() {
		if i > 0 {
			out = append(out, ',')
		}
		out = jsonstr.Append(out, string(t))
	}
	return append(out, "]}\n"...)
}

// Metadata is the trace metadata members that describe a redaction:
// redaction_applied, redaction_counts by type and redaction_policy_id.
func Metadata(c Counts, policyID string) []byte {
	out := []byte(`"redaction_applied":`)
	out = strconv.AppendBool(out, c.Total() > 0)
	out = append(out, `,"redaction_counts":{`...)
	for i, t := range c.Types() {
		if i > 0 {
			out = append(out, ',')
		}
		out = jsonstr.Append(out, string(t))
		out = append(out, ':')
		out = strconv.AppendInt(out, int64(c[t]), 10)
	}
	out = append(out, `},"redaction_policy_id":`...)
	return jsonstr.Append(out, policyID)
}

// redactUpstream forwards (and stores) the body with every finding
// replaced; JSON outside the redacted strings is unchanged, so the model,
// the stream flag and accounting are unaffected.
func (e *Engine) redactUpstream(body []byte, id proxy.Identity, policyID string) proxy.PolicyDecision {
	out, counts, err := e.Redactor(id.WorkspaceID).RedactJSON(body)
	if err != nil {
		return proxy.PolicyDecision{
			Status: http.StatusForbidden,
			Answer: []byte(`{"error":"` + UnevaluableMessage + `"}` + "\n"),
			Stored: []byte{}, // what could not be inspected is not stored either
		}
	}
	return proxy.PolicyDecision{Forward: out, Stored: out, Metadata: Metadata(counts, policyID)}
}
