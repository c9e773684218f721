package proxy

import (
	"net/http"
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

// Policy decides, once per request and before anything is forwarded,
// whether the request body goes upstream as is, goes redacted, or is
// refused (internal/pii implements it for pii.mode). It runs on the request
// path, so it must be pure computation: no I/O.
type Policy interface {
	Check(r *http.Request, provider string, id Identity, body []byte) PolicyDecision
}

// PolicyDecision is a Policy's verdict on one request.
type PolicyDecision struct {
	// Status, when non-zero, refuses the request with this status and
	// Answer as the JSON body; nothing reaches the upstream.
	Status int
	Answer []byte
	// Forward replaces the request body when non-nil (redact_upstream).
	Forward []byte
	// Stored replaces the request body kept with the trace when non-nil.
	Stored []byte
	// Storage, when set, redacts the trace's stored copies and adds the
	// redaction metadata, on the trace writer's goroutine (see
	// trace.Redaction): the client never waits for it.
	Storage trace.Redaction
}

// refuse answers a refused request and traces it with outcome blocked: the
// refusal is as much part of the record as a forwarded call.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, u *Upstream, body []byte, d PolicyDecision) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(d.Status)
	w.Write(d.Answer)
	c := p.getCall()
	c.up, c.start, c.req = u, time.Now(), r
	c.reqBody = body
	c.upstreamPath = ""
	c.info, _ = u.Adapter.PrepareRequest(r.URL.Path[len(u.Prefix):], body, false)
	c.policy = d
	c.refused = true
	c.finish()
}
