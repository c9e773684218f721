package providers

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Format names, as written in configuration (config.Provider.Format).
const (
	// FormatOpenAI is the OpenAI API and the upstreams compatible with it.
	FormatOpenAI = "openai"
	// FormatAnthropic is the Anthropic Messages API.
	FormatAnthropic = "anthropic"
)

// endpoint is a call whose response the gateway knows how to account for.
type endpoint uint8

const (
	endpointOther           endpoint = iota // no usage is read, only the model
	endpointChatCompletions                 // OpenAI /chat/completions
	endpointCompletions                     // OpenAI legacy /completions
	endpointEmbeddings                      // OpenAI /embeddings
	endpointResponses                       // OpenAI /responses
	endpointMessages                        // Anthropic /messages
)

// adapter implements both dialects; format selects the endpoints it knows.
type adapter struct {
	format string
}

var _ Observer = (*observer)(nil)

var (
	openAIAdapter    Adapter = adapter{format: FormatOpenAI}
	anthropicAdapter Adapter = adapter{format: FormatAnthropic}
)

// OpenAI returns the adapter for the OpenAI API and the many upstreams that
// copy it: chat completions, legacy completions, embeddings and the
// Responses API, streamed or not.
func OpenAI() Adapter { return openAIAdapter }

// Anthropic returns the adapter for the Anthropic Messages API.
func Anthropic() Adapter { return anthropicAdapter }

// ForFormat returns the adapter for a configured format name ("openai" or
// "anthropic"), and false for any other name.
func ForFormat(format string) (Adapter, bool) {
	switch format {
	case FormatOpenAI:
		return openAIAdapter, true
	case FormatAnthropic:
		return anthropicAdapter, true
	}
	return nil, false
}

// Format names the dialect.
func (a adapter) Format() string { return a.format }

// classify finds the endpoint from the end of the path, because extra
// upstreams mount the same API under other bases ("/openai/v1/...").
// Only the POST endpoints that create a completion are matched: a GET of a
// stored response under a longer path also carries usage, and counting it
// would bill the call twice.
func (a adapter) classify(path string) endpoint {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimSuffix(path, "/")
	if a.format == FormatAnthropic {
		if strings.HasSuffix(path, "/messages") {
			return endpointMessages
		}
		return endpointOther
	}
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return endpointChatCompletions
	case strings.HasSuffix(path, "/completions"):
		return endpointCompletions
	case strings.HasSuffix(path, "/embeddings"):
		return endpointEmbeddings
	case strings.HasSuffix(path, "/responses"):
		return endpointResponses
	}
	return endpointOther
}

// The bytes PrepareRequest inserts so that a streamed OpenAI chat or legacy
// completion ends with a chunk reporting exact usage.
const (
	streamOptionsMember = `,"stream_options":{"include_usage":true}`
	streamOptionsObject = `{"include_usage":true}`
	includeUsageMember  = `"include_usage":true`
)

// PrepareRequest reads the model and stream flag and, for streamed OpenAI
// chat and legacy completions, asks upstream for usage when the client did
// not. The body is read in one pass with no allocation proportional to its
// size; when it is rewritten, the new member is inserted byte-wise so every
// other byte the client sent is forwarded as is.
func (a adapter) PrepareRequest(path string, body []byte, injectStreamUsage bool) (RequestInfo, []byte) {
	s := scannerPool.Get().(*scanner)
	defer func() {
		s.trim() // a client's 64 KiB model name must not stay in the pool
		scannerPool.Put(s)
	}()
	s.reset(requestSchema)
	s.Write(body)
	if !s.finish() {
		return RequestInfo{}, body
	}

	var info RequestInfo
	if m := &s.slots[slotModel]; m.kind == kindString && m.done && !m.overflow {
		info.Model = decodeString(m.raw)
	}
	info.Stream = s.slots[slotStream].kind == kindTrue
	if m := &s.slots[slotMaxOutput]; m.intOK {
		info.MaxOutputTokens = m.n
	}
	if !info.Stream || !injectStreamUsage {
		return info, body
	}
	if ep := a.classify(path); ep != endpointChatCompletions && ep != endpointCompletions {
		return info, body
	}

	opts, include := &s.slots[slotStreamOptions], &s.slots[slotIncludeUsage]
	var out []byte
	switch opts.kind {
	case kindNone:
		// Right after "stream":true, where a reader of the body expects it.
		out = splice(body, s.slots[slotStream].end, s.slots[slotStream].end, streamOptionsMember)
	case kindNull:
		out = splice(body, opts.start, opts.end, streamOptionsObject)
	case kindObject:
		switch include.kind {
		case kindTrue:
			return info, body // the client asked for usage itself
		case kindNone:
			member := includeUsageMember
			if opts.n > 0 {
				member += ","
			}
			out = splice(body, opts.start+1, opts.start+1, member)
		default:
			// An explicit false still gets usage: accounting must be exact,
			// and the observer hides the usage from the client again.
			out = splice(body, include.start, include.end, "true")
		}
	default:
		// Not an object: upstream rejects the request anyway, and
		// rewriting it would change the error the client sees.
		return info, body
	}
	info.UsageInjected = true
	return info, out
}

// splice returns a new body with body[from:to] replaced by ins.
func splice(body []byte, from, to int64, ins string) []byte {
	out := make([]byte, 0, int64(len(body))-(to-from)+int64(len(ins)))
	out = append(out, body[:from]...)
	out = append(out, ins...)
	return append(out, body[to:]...)
}

// decodeString decodes a captured raw JSON string, which the scanner has
// already validated. Plain strings, which model names always are, skip
// encoding/json.
func decodeString(raw []byte) string {
	if len(raw) >= 2 {
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner)
		}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// NewObserver returns an observer for one response to a call to path.
// Both feeding modes work whatever contentType says: Write for a plain body
// and OnEvent for SSE events, so an error body answering a streamed request
// is still read correctly. An observer is not safe for concurrent use.
func (a adapter) NewObserver(path string, info RequestInfo, contentType string) Observer {
	o := observerPool.Get().(*observer)
	o.endpoint, o.info = a.classify(path), info
	o.bodySchema, o.eventSchema = schemasFor(o.endpoint)
	return o
}

// schemasFor picks what to read from a body and from each stream event.
func schemasFor(ep endpoint) (body, event *node) {
	switch ep {
	case endpointChatCompletions, endpointCompletions:
		return chatBodySchema, chatChunkSchema
	case endpointEmbeddings:
		return chatBodySchema, modelOnlySchema
	case endpointResponses:
		return responsesBodySchema, responsesEventSchema
	case endpointMessages:
		return anthropicBodySchema, anthropicEventSchema
	}
	return modelOnlySchema, modelOnlySchema
}
