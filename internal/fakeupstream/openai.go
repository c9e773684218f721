package fakeupstream

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"
)

// OpenAI endpoints: chat completions, legacy completions, embeddings and the
// Responses API.

// appendChatUsage appends the usage object of chat and legacy completions.
// Cached and cache-write tokens are parts of prompt_tokens; reasoning tokens
// are part of completion_tokens.
func (c *call) appendChatUsage(b []byte) []byte {
	in, out := c.ctl.inputTokens, c.outputTokens()
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, in)
	b = appendField(b, "completion_tokens", out)
	b = appendField(b, "total_tokens", in+out)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, c.ctl.cachedTokens)
	if c.ctl.cacheWriteTokens > 0 {
		b = appendField(b, "cache_write_tokens", c.ctl.cacheWriteTokens)
	}
	b = append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, c.ctl.reasoningTokens)
	return append(b, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

// appendChunkHead appends the part of a streamed chunk that every chunk of
// one response shares, up to the opening of its choices array.
func (c *call) appendChunkHead(b []byte, id, object string, fingerprint bool) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = appendInt(b, c.created)
	b = append(b, `,"model":`...)
	b = appendString(b, c.model)
	if fingerprint {
		b = c.appendServiceTier(b)
		b = append(b, `,"system_fingerprint":"fp_fake"`...)
	}
	return append(b, `,"choices":[`...)
}

// appendServiceTier appends the "service_tier" member an OpenAI response
// reports, X-Fake-Service-Tier or "default".
func (c *call) appendServiceTier(b []byte) []byte {
	tier := c.ctl.serviceTier
	if tier == "" {
		tier = "default"
	}
	b = append(b, `,"service_tier":`...)
	return appendString(b, tier)
}

// chat serves POST /v1/chat/completions.
func (c *call) chat() {
	id := c.newID("chatcmpl-")
	plan := c.plan()
	if !c.req.Stream {
		head := c.appendChunkHead(nil, id, "chat.completion", false)
		head = append(head, `{"index":0,"message":{"role":"assistant","content":"`...)
		tail := []byte(`","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":`)
		tail = c.appendChatUsage(tail)
		tail = c.appendServiceTier(tail)
		tail = append(tail, `,"system_fingerprint":"fp_fake"}`...)
		c.writeJSON(plan, head, tail)
		return
	}
	c.streamChunks(plan, chunkStream{
		id:          id,
		object:      "chat.completion.chunk",
		fingerprint: true,
		opening:     `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`,
		choiceOpen:  `{"index":0,"delta":{"content":"`,
		choiceClose: `"},"logprobs":null,"finish_reason":null}`,
		closing:     `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`,
	})
}

// completions serves the legacy POST /v1/completions.
func (c *call) completions() {
	id := c.newID("cmpl-")
	plan := c.plan()
	if !c.req.Stream {
		head := c.appendChunkHead(nil, id, "text_completion", false)
		head = append(head, `{"text":"`...)
		tail := []byte(`","index":0,"logprobs":null,"finish_reason":"stop"}],"usage":`)
		tail = c.appendChatUsage(tail)
		tail = append(tail, '}')
		c.writeJSON(plan, head, tail)
		return
	}
	c.streamChunks(plan, chunkStream{
		id:          id,
		object:      "text_completion",
		choiceOpen:  `{"text":"`,
		choiceClose: `","index":0,"logprobs":null,"finish_reason":null}`,
		closing:     `{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}`,
	})
}

// chunkStream is the shape of a data-only OpenAI stream: the chunk fields
// and the choice object of each kind of chunk.
type chunkStream struct {
	id, object  string
	fingerprint bool   // system_fingerprint and service_tier, as chat has
	opening     string // choice of the chunk before any content; "" for none
	choiceOpen  string // choice of a content chunk, up to its text…
	choiceClose string // …and after it
	closing     string // choice of the chunk carrying finish_reason
}

// streamChunks sends a data-only OpenAI stream: the opening chunk, one chunk
// per content event, the closing chunk, the usage chunk when the client
// asked for it with stream_options.include_usage, and [DONE]. As OpenAI
// does, asking for usage also puts "usage":null on every ordinary chunk.
func (c *call) streamChunks(plan textPlan, cs chunkStream) {
	includeUsage := c.req.includeUsage()
	head := c.appendChunkHead([]byte("data: "), cs.id, cs.object, cs.fingerprint)
	end := "]}\n\n"
	if includeUsage {
		end = `],"usage":null}` + "\n\n"
	}
	frame := append(bytes.Clone(head), cs.choiceOpen...)
	post := []byte(cs.choiceClose + end)

	o := c.startStream()
	defer c.endStream(o)
	scratch := make([]byte, 0, len(head)+256)
	if cs.opening != "" {
		scratch = append(append(append(scratch[:0], head...), cs.opening...), end...)
		if !c.event(o, scratch) {
			return
		}
	}
	if !c.streamContent(o, plan, func(dst []byte, _ int) []byte { return append(dst, frame...) }, post) {
		return
	}
	scratch = append(append(append(scratch[:0], head...), cs.closing...), end...)
	if !c.event(o, scratch) {
		return
	}
	if includeUsage {
		scratch = append(append(scratch[:0], head...), `],"usage":`...)
		scratch = c.appendChatUsage(scratch)
		scratch = append(scratch, "}\n\n"...)
		if !c.event(o, scratch) {
			return
		}
	}
	c.event(o, []byte("data: [DONE]\n\n"))
}

// embeddings serves POST /v1/embeddings: one vector per input, encoded as
// floats or, when encoding_format is base64 (the SDKs' default), as
// little-endian float32 bytes.
func (c *call) embeddings() {
	n, ok := countInputs(c.req.Input)
	if !ok {
		c.fail(http.StatusBadRequest, "'input' is a required property and must be a non-empty string or array")
		return
	}
	dims := c.req.Dimensions
	if dims <= 0 {
		dims = defaultDimensions
	}
	if dims > maxDimensions {
		c.fail(http.StatusBadRequest, "dimensions must be at most "+strconv.Itoa(maxDimensions))
		return
	}
	vec := embeddingVector(dims, c.req.EncodingFormat == "base64")
	b := make([]byte, 0, 128+n*(len(vec)+48))
	b = append(b, `{"object":"list","data":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = appendInt(b, int64(i))
		b = append(b, `,"embedding":`...)
		b = append(b, vec...)
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = appendString(b, c.model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = appendInt(b, c.ctl.inputTokens)
	b = appendField(b, "total_tokens", c.ctl.inputTokens)
	b = append(b, "}}"...)
	c.writeJSON(textPlan{}, b)
}

const (
	// defaultDimensions keeps default embedding bodies small; requests
	// that want realistic sizes pass dimensions, as the real API allows.
	defaultDimensions = 16
	maxDimensions     = 4096
)

// countInputs counts the embedding inputs: a string or a token array is one
// input, an array of strings or of token arrays is one per element.
func countInputs(raw json.RawMessage) (int, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	switch raw[0] {
	case '"':
		return 1, len(raw) > 2
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
			return 0, false
		}
		if first := bytes.TrimSpace(items[0]); len(first) > 0 && (first[0] == '-' || first[0] >= '0' && first[0] <= '9') {
			return 1, true
		}
		return len(items), true
	}
	return 0, false
}

// vectors caches the encoded vector per dimension count and format: every
// embedding of a given size is the same, so it is encoded once.
var vectors sync.Map // vectorKey → []byte

type vectorKey struct {
	dims   int
	base64 bool
}

// embeddingVector returns the JSON value of a deterministic vector.
func embeddingVector(dims int, b64 bool) []byte {
	key := vectorKey{dims, b64}
	if v, ok := vectors.Load(key); ok {
		return v.([]byte)
	}
	vals := make([]float32, dims)
	for i := range vals {
		vals[i] = float32(i%10+1) / 100
	}
	var b []byte
	if b64 {
		raw := make([]byte, 4*dims)
		for i, f := range vals {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, raw)
		b = append(b, '"')
	} else {
		b = append(b, '[')
		for i, f := range vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
		}
		b = append(b, ']')
	}
	v, _ := vectors.LoadOrStore(key, b)
	return v.([]byte)
}

// appendResponsesUsage appends the Responses API usage object.
func (c *call) appendResponsesUsage(b []byte) []byte {
	in, out := c.ctl.inputTokens, c.outputTokens()
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, c.ctl.cachedTokens)
	b = appendField(b, "cache_write_tokens", c.ctl.cacheWriteTokens)
	b = append(b, `},"output_tokens":`...)
	b = appendInt(b, out)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, c.ctl.reasoningTokens)
	b = append(b, '}')
	b = appendField(b, "total_tokens", in+out)
	return append(b, '}')
}

// responseDoc holds the pre-encoded fragments of one Responses API object.
type responseDoc struct {
	c         *call
	respID    string
	msgID     string
	reasonID  string // empty without reasoning tokens
	msgIndex  int64  // output_index of the message item
	msgOpen   []byte // message item up to its text
	msgClose  []byte // message item after its text
	msgAdded  []byte // message item as first announced, still empty
	reasoning []byte // reasoning item, when there is one
}

func (c *call) newResponseDoc() *responseDoc {
	d := &responseDoc{c: c, respID: c.newID("resp_"), msgID: c.newID("msg_")}
	if c.ctl.reasoningTokens > 0 {
		d.reasonID = c.newID("rs_")
		d.msgIndex = 1
		d.reasoning = []byte(`{"id":"` + d.reasonID + `","type":"reasoning","summary":[]}`)
	}
	d.msgOpen = []byte(`{"id":"` + d.msgID + `","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"`)
	d.msgClose = []byte(`"}]}`)
	d.msgAdded = []byte(`{"id":"` + d.msgID + `","type":"message","status":"in_progress","role":"assistant","content":[]}`)
	return d
}

// head appends the response object up to the opening of its output array.
func (d *responseDoc) head(b []byte, status string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, d.respID...)
	b = append(b, `","object":"response","created_at":`...)
	b = appendInt(b, d.c.created)
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	b = append(b, `","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":`...)
	b = appendString(b, d.c.model)
	return append(b, `,"output":[`...)
}

// tail appends the rest of the response object after its output array.
func (d *responseDoc) tail(b []byte, withUsage bool) []byte {
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null}`...)
	b = d.c.appendServiceTier(b)
	b = append(b, `,"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":`...)
	if withUsage {
		b = d.c.appendResponsesUsage(b)
	} else {
		b = append(b, "null"...)
	}
	return append(b, `,"user":null,"metadata":{}}`...)
}

// completeOpen appends a completed response up to the message text; the
// text and then completeClose follow.
func (d *responseDoc) completeOpen(b []byte) []byte {
	b = d.head(b, "completed")
	if d.reasoning != nil {
		b = append(append(b, d.reasoning...), ',')
	}
	return append(b, d.msgOpen...)
}

func (d *responseDoc) completeClose(b []byte) []byte {
	return d.tail(append(b, d.msgClose...), true)
}

// responses serves POST /v1/responses.
func (c *call) responses() {
	d := c.newResponseDoc()
	plan := c.plan()
	if !c.req.Stream {
		c.writeJSON(plan, d.completeOpen(nil), d.completeClose(nil))
		return
	}

	o := c.startStream()
	defer c.endStream(o)
	seq := int64(0)
	// open starts an event: "event:" line, then data up to the fields
	// that follow type and sequence_number.
	open := func(b []byte, typ string) []byte {
		b = append(b, "event: "...)
		b = append(b, typ...)
		b = append(b, "\ndata: {\"type\":\""...)
		b = append(b, typ...)
		b = append(b, `","sequence_number":`...)
		b = appendInt(b, seq)
		seq++
		return append(b, ',')
	}
	const closeEvent = "}\n\n"
	idx := strconv.FormatInt(d.msgIndex, 10)
	part := `"item_id":"` + d.msgID + `","output_index":` + idx + `,"content_index":0,`

	var b []byte
	b = d.tail(d.head(append(open(b, "response.created"), `"response":`...), "in_progress"), false)
	if !c.event(o, append(b, closeEvent...)) {
		return
	}
	b = d.tail(d.head(append(open(b[:0], "response.in_progress"), `"response":`...), "in_progress"), false)
	if !c.event(o, append(b, closeEvent...)) {
		return
	}
	if d.reasoning != nil {
		for _, typ := range []string{"response.output_item.added", "response.output_item.done"} {
			b = append(open(b[:0], typ), `"output_index":0,"item":`...)
			b = append(append(b, d.reasoning...), closeEvent...)
			if !c.event(o, b) {
				return
			}
		}
	}
	b = append(open(b[:0], "response.output_item.added"), `"output_index":`+idx+`,"item":`...)
	if !c.event(o, append(append(b, d.msgAdded...), closeEvent...)) {
		return
	}
	b = append(open(b[:0], "response.content_part.added"), part+`"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`+closeEvent...)
	if !c.event(o, b) {
		return
	}

	deltaTail := []byte(`","logprobs":[]` + closeEvent)
	frame := func(dst []byte, _ int) []byte {
		return append(open(dst, "response.output_text.delta"), part+`"delta":"`...)
	}
	if !c.streamContent(o, plan, frame, deltaTail) {
		return
	}

	b = append(open(b[:0], "response.output_text.done"), part+`"text":"`...)
	if !c.eventWithText(o, plan, b, deltaTail) {
		return
	}
	b = append(open(b[:0], "response.content_part.done"), part+`"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"`...)
	if !c.eventWithText(o, plan, b, []byte(`"}`+closeEvent)) {
		return
	}
	b = append(open(b[:0], "response.output_item.done"), `"output_index":`+idx+`,"item":`...)
	b = append(b, d.msgOpen...)
	if !c.eventWithText(o, plan, b, append(bytes.Clone(d.msgClose), closeEvent...)) {
		return
	}
	b = d.completeOpen(append(open(b[:0], "response.completed"), `"response":`...))
	c.eventWithText(o, plan, b, append(d.completeClose(nil), closeEvent...))
}
