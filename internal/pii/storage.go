package pii

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jsonstr"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/trace"
)

// storage redacts one trace's stored copies (trace.Redaction). The proxy
// attaches it to the record in every mode but off; the trace writer runs it
// on its own goroutine before the write, so the client never waits for it.
type storage struct {
	e        *Engine
	red      *Redactor
	policyID string
	stages   config.PIIStages
	// requestBody says the stored request body still needs redacting
	// (redact_storage); block and redact_upstream stored a final copy.
	requestBody bool
	// counts are the findings the request path already replaced.
	counts Counts
}

var _ trace.Redaction = (*storage)(nil)

// Redact implements trace.Redaction: the headers and bodies the stages
// name are redacted, and the metadata gets redaction_applied,
// redaction_counts, redaction_policy_id and, when capture cut a body at
// body_max_size, redaction_truncated. It never panics: a failure is an
// error, and the writer then stores no headers or bodies.
func (s *storage) Redact(r *trace.Record, cuts trace.BodyCuts) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pii: redacting trace %s: %v", r.ID, p)
		}
	}()
	var c Counts
	if s.stages.RequestHeaders {
		r.RequestHeaders = s.headers(r.RequestHeaders, &c)
	}
	if s.stages.ResponseHeaders {
		r.ResponseHeaders = s.headers(r.ResponseHeaders, &c)
	}
	if s.requestBody && r.RequestBody != "" {
		r.RequestBody = s.body(r.RequestBody, cuts.Request, false, &c)
	}
	if s.stages.ResponseBody && r.ResponseBody != "" {
		r.ResponseBody = s.body(r.ResponseBody, cuts.Response, r.Streaming, &c)
	}
	s.e.count(&c)
	c.Add(&s.counts)
	r.Metadata = jsonstr.AppendMembers(r.Metadata, metadata(&c, s.policyID, cuts.Request || cuts.Response))
	return nil
}

// headers redacts captured header values: a denied name (Authorization,
// X-Api-Key is not one: exact names only) hides the whole value, other
// values are scanned. Credentials the proxy already stored as [REDACTED]
// are left as they are.
func (s *storage) headers(h map[string]string, c *Counts) map[string]string {
	if len(h) == 0 {
		return h
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		switch {
		case v == proxy.Redacted || v == "":
			out[k] = v
		case DeniedField(k):
			out[k] = s.red.Placeholder(Field, v)
			c[Field]++
		default:
			out[k] = s.red.RedactText(v, c)
		}
	}
	return out
}

// body redacts a stored body: JSON value by value (the field denylist
// applies), an event stream event by event, anything else as text. A body
// cut at body_max_size loses its last, incomplete token rather than store
// a value the detectors could not recognise in part.
func (s *storage) body(b string, cut, stream bool, c *Counts) string {
	if stream {
		return s.stream(b, cut, c)
	}
	return s.document(b, cut, c)
}

// document redacts one JSON document or text.
func (s *storage) document(b string, cut bool, c *Counts) string {
	t := strings.TrimLeft(b, " \t\r\n")
	if t != "" && (t[0] == '{' || t[0] == '[') {
		// Viewed in place: redactJSON only reads its input.
		raw := unsafe.Slice(unsafe.StringData(b), len(b))
		out, n, kept, ok := s.red.redactJSON(raw)
		switch {
		case ok && n.Total() == 0:
			return b // nothing found: the stored copy is the captured one
		case ok || cut:
			// A cut document keeps what was walked before the cut.
			c.Add(&n)
			if n.Total() == 0 {
				return b[:kept]
			}
			return string(out)
		}
	}
	if cut {
		b = trimPartial(b)
	}
	return s.red.RedactText(b, c)
}

// stream redacts an event stream line by line: the data of each event is
// a document (JSON for every provider), the other fields are text.
func (s *storage) stream(b string, cut bool, c *Counts) string {
	var out strings.Builder
	out.Grow(len(b))
	for b != "" {
		line, rest, complete := b, "", false
		if i := strings.IndexByte(b, '\n'); i >= 0 {
			line, rest, complete = b[:i+1], b[i+1:], true
		}
		b = rest
		lineCut := cut && !complete
		body, eol := strings.TrimRight(line, "\r\n"), line[len(strings.TrimRight(line, "\r\n")):]
		if data, ok := strings.CutPrefix(body, "data:"); ok {
			sp := ""
			if strings.HasPrefix(data, " ") {
				sp, data = " ", data[1:]
			}
			out.WriteString("data:")
			out.WriteString(sp)
			out.WriteString(s.document(data, lineCut, c))
		} else {
			if lineCut {
				body = trimPartial(body)
			}
			out.WriteString(s.red.RedactText(body, c))
		}
		out.WriteString(eol)
	}
	return out.String()
}

// trimPartial drops the token a cut ends in: everything after the last
// separator, so that the piece of a value left at the edge (the first
// digits of a card, half an address) is not stored.
func trimPartial(s string) string {
	if i := strings.LastIndexAny(s, " \t\r\n\",;:{}[]<>()"); i >= 0 {
		return s[:i+1]
	}
	return ""
}

// metadata is the trace metadata members that describe a redaction:
// redaction_applied, redaction_counts by type, redaction_policy_id, and
// redaction_truncated when capture cut a body.
func metadata(c *Counts, policyID string, truncated bool) []byte {
	out := []byte(`"redaction_applied":`)
	out = strconv.AppendBool(out, c.Total() > 0)
	out = append(out, `,"redaction_counts":{`...)
	for i, t := range c.Types() {
		if i > 0 {
			out = append(out, ',')
		}
		out = jsonstr.Append(out, t.String())
		out = append(out, ':')
		out = strconv.AppendInt(out, int64(c[t]), 10)
	}
	out = append(out, `},"redaction_policy_id":`...)
	out = jsonstr.Append(out, policyID)
	if truncated {
		out = append(out, `,"redaction_truncated":true`...)
	}
	return out
}
