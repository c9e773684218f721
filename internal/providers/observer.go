package providers

import (
	"bytes"
	"sync"
)

// scannerPool recycles the request scanner: PrepareRequest runs once per
// call and needs it only for the duration of the call.
var scannerPool = sync.Pool{New: func() any { return new(scanner) }}

// observerPool recycles observers, with their two scanners (3 KiB each) and
// buffers, between responses; see Observer.Release.
var observerPool = sync.Pool{New: func() any { return new(observer) }}

// keepBytes bounds the buffers a released observer keeps for its next
// response, so one unusual response cannot pin memory in the pool.
const keepBytes = 4 << 10

// observer reads one response of either dialect. A plain body streams
// through one scanner across Write calls; each SSE event is a complete
// document read by a second scanner that is reset per event.
type observer struct {
	endpoint    endpoint
	info        RequestInfo
	bodySchema  *node
	eventSchema *node

	body  *scanner // allocated on the first Write, kept when pooled
	event *scanner // allocated on the first OnEvent, kept when pooled
	// streaming is set while StreamEvent feeds an oversized event.
	streaming bool
	// bodyStarted is set by the first Write of this response: a pooled
	// observer's body scanner still holds the previous response.
	bodyStarted bool

	// What the events reported so far.
	usage  Usage
	found  bool
	final  bool // the closing usage has been seen (see Result.Final)
	counts anthropicCounts
	// model is the decoded modelRaw. Both survive pooling, so the next
	// response naming the same model (the usual case) does not decode and
	// allocate it again; hasModel says whether this response named one.
	model    string
	modelRaw []byte
	hasModel bool
	text     int64
	// tier holds the service tier, speed and inference geo reported so
	// far; like model, the strings survive pooling so a repeat of the
	// usual value costs no allocation.
	tier [numTierFields]captured
	// reasons are the finish reasons seen so far; the scanners hand them
	// over as they read them (see collect).
	reasons reasonSet

	out []byte // the rewritten event, reused
}

// anthropicCounts are the Messages API usage fields, kept apart because a
// stream reports them across two events and the latest value of each wins.
type anthropicCounts struct {
	input, output, cacheRead, cacheWrite, cacheWrite1h int64
}

// The Tier members an observer captures, in tierSlots order.
const numTierFields = 3

var tierSlots = [numTierFields]slotID{slotServiceTier, slotSpeed, slotInferenceGeo}

// captured is a short string value remembered across events and pooled
// responses: seeing the same raw bytes again reuses the decoded string.
type captured struct {
	raw []byte
	s   string
	set bool // seen in this response
}

// take remembers the slot's string if the document had one.
func (c *captured) take(sl *slot) {
	if sl.kind != kindString || !sl.done || sl.overflow {
		return
	}
	c.set = true
	if bytes.Equal(sl.raw, c.raw) && c.raw != nil {
		return
	}
	c.raw = append(c.raw[:0], sl.raw...)
	c.s = decodeString(sl.raw)
}

// takeTier remembers the conditions a document reported.
func (o *observer) takeTier(s *scanner) {
	for i, id := range tierSlots {
		o.tier[i].take(&s.slots[id])
	}
}

// tierResult is the Tier seen in this response.
func (o *observer) tierResult() Tier {
	get := func(i int) string {
		if o.tier[i].set {
			return o.tier[i].s
		}
		return ""
	}
	return Tier{ServiceTier: get(0), Speed: get(1), InferenceGeo: get(2)}
}

// Write feeds decoded bytes of a plain body.
func (o *observer) Write(p []byte) (int, error) {
	if !o.bodyStarted {
		if o.body == nil {
			o.body = &scanner{collector: o}
		}
		o.body.reset(o.bodySchema)
		o.bodyStarted = true
	}
	return o.body.Write(p)
}

// Release puts the observer back into the pool NewObserver draws from,
// keeping its scanners and small buffers for the next response. What
// Result returned stays valid; the observer itself must not be used again.
func (o *observer) Release() {
	body, event := o.body, o.event
	if body != nil {
		body.trim()
	}
	if event != nil {
		event.trim()
	}
	model, modelRaw := o.model, o.modelRaw
	if cap(modelRaw) > keepBytes {
		model, modelRaw = "", nil
	}
	tier := o.tier
	for i := range tier {
		tier[i].set = false
		if cap(tier[i].raw) > keepBytes {
			tier[i] = captured{}
		}
	}
	*o = observer{body: body, event: event, out: keep(o.out), model: model, modelRaw: modelRaw, tier: tier}
	observerPool.Put(o)
}

// keep returns b emptied for reuse, or nil when it grew too large to pool.
func keep(b []byte) []byte {
	if cap(b) > keepBytes {
		return nil
	}
	return b[:0]
}

// OnEvent reads one SSE event. The returned data is only valid until the
// next call when it was rewritten.
func (o *observer) OnEvent(event string, data []byte) ([]byte, bool) {
	if (o.endpoint == endpointChatCompletions || o.endpoint == endpointCompletions) &&
		bytes.Equal(bytes.TrimSpace(data), []byte("[DONE]")) {
		return data, true
	}
	s := o.startEvent()
	s.Write(data)
	return o.endEvent(event, data)
}

// StreamEvent feeds the next piece of the data of an event too large to
// hold (see sse.DataHandler); EndStreamEvent completes it.
func (o *observer) StreamEvent(p []byte) {
	if !o.streaming {
		o.startEvent()
		o.streaming = true
	}
	o.event.Write(p)
}

// EndStreamEvent reads the event StreamEvent fed, as OnEvent reads a whole
// one. It cannot be rewritten or dropped: its bytes already went to the
// client.
func (o *observer) EndStreamEvent(event string) {
	if !o.streaming {
		return
	}
	o.streaming = false
	o.endEvent(event, nil)
}

// startEvent readies the event scanner for a new event.
func (o *observer) startEvent() *scanner {
	if o.event == nil {
		o.event = &scanner{collector: o}
	}
	o.event.reset(o.eventSchema)
	return o.event
}

// endEvent takes what a scanned event reported. data is the event's data
// when the observer saw it whole, and nil when it was streamed.
func (o *observer) endEvent(event string, data []byte) ([]byte, bool) {
	s := o.event
	complete := s.finish()
	o.takeModel(s)
	o.takeTier(s)

	switch o.endpoint {
	case endpointChatCompletions, endpointCompletions:
		o.takeUsage(s)
		o.text += s.slots[slotText].n
		if o.info.UsageInjected && complete && data != nil {
			return o.hideInjectedUsage(s, data)
		}
	case endpointResponses:
		o.takeUsage(s)
		if raw := responsesReason(s); raw != nil {
			o.reasons.add(raw) // from response.completed, .incomplete or .failed
		}
		if isTextDelta(&s.slots[slotType], event) {
			o.text += s.slots[slotDelta].n
		}
	case endpointMessages:
		if o.takeAnthropicUsage(s) && event == "message_delta" {
			o.final = true // message_start's usage is partial; message_delta's is cumulative
		}
		o.text += s.slots[slotText].n
	}
	return data, true
}

// Result reports what was seen so far; it may be called mid-stream.
func (o *observer) Result() Result {
	r := Result{DeliveredTextBytes: o.text, Final: o.final}
	switch {
	case !o.found:
	case o.endpoint == endpointMessages:
		r.Usage = o.counts.usage()
	default:
		r.Usage = o.usage
	}
	reasons := o.reasons
	if s := o.body; o.bodyStarted {
		o.takeModel(s)
		o.takeTier(s)
		r.DeliveredTextBytes += s.slots[slotText].n
		if u, ok := usageFrom(s, o.endpoint); ok {
			r.Usage = u
			r.Final = true // a plain body's usage is its whole account
		}
		if o.endpoint == endpointResponses {
			// Read afresh on each call rather than kept: mid-body, the
			// status may be known before the reason that follows it.
			if raw := responsesReason(s); raw != nil {
				reasons.add(raw)
			}
		}
	}
	if o.hasModel {
		r.ResponseModel = o.model
	}
	r.FinishReasons = reasons.list()
	r.Tier = o.tierResult()
	return r
}

// GeneratedBytes implements Observer.
func (o *observer) GeneratedBytes() int64 { return o.text }

// collect implements collector: the scanners hand over each finish_reason
// or stop_reason string as they read it, however many choices there are.
func (o *observer) collect(raw []byte) { o.reasons.add(raw) }

// takeModel remembers the response model if the document named one.
func (o *observer) takeModel(s *scanner) {
	m := &s.slots[slotModel]
	if m.kind != kindString || !m.done || m.overflow {
		return
	}
	o.hasModel = true
	if bytes.Equal(m.raw, o.modelRaw) {
		return
	}
	o.modelRaw = append(o.modelRaw[:0], m.raw...)
	o.model = decodeString(m.raw)
}

// takeUsage keeps the latest usage an OpenAI event reported. OpenAI
// streams report usage once, at the end, so seeing it makes the account
// final.
func (o *observer) takeUsage(s *scanner) {
	if u, ok := usageFrom(s, o.endpoint); ok {
		o.usage, o.found, o.final = u, true, true
	}
}

// takeAnthropicUsage merges a Messages API event's usage: message_start
// reports input and cache counts, message_delta the cumulative output (and,
// in newer API versions, final input and cache counts too).
// It reports whether the event carried any usage count.
func (o *observer) takeAnthropicUsage(s *scanner) bool {
	if u := &s.slots[slotUsage]; u.kind != kindObject || !u.done {
		return false
	}
	took := false
	for _, f := range [...]struct {
		id  slotID
		dst *int64
	}{
		{slotInput, &o.counts.input},
		{slotOutput, &o.counts.output},
		{slotCached, &o.counts.cacheRead},
		{slotCacheWrite, &o.counts.cacheWrite},
		{slotCacheWrite1h, &o.counts.cacheWrite1h},
	} {
		if sl := &s.slots[f.id]; sl.intOK {
			*f.dst = sl.n
			o.found, took = true, true
		}
	}
	return took
}

// usage normalises Anthropic counts: its input_tokens excludes cached
// reads and cache writes, which Usage.InputTokens includes.
func (c anthropicCounts) usage() Usage {
	return Usage{
		InputTokens:       c.input + c.cacheRead + c.cacheWrite,
		OutputTokens:      c.output,
		CachedInputTokens: c.cacheRead,
		CacheWriteTokens:  c.cacheWrite,
		// A count above the total it belongs to is clamped: pricing
		// never bills more 1-hour writes than writes.
		CacheWrite1hTokens: min(c.cacheWrite1h, c.cacheWrite),
		Found:              true,
	}
}

// usageFrom reads a complete usage object from a scanned document; it
// reports false when there is none or it holds no count.
func usageFrom(s *scanner, ep endpoint) (Usage, bool) {
	if u := &s.slots[slotUsage]; u.kind != kindObject || !u.done {
		return Usage{}, false
	}
	get := func(id slotID) (int64, bool) {
		if sl := &s.slots[id]; sl.intOK {
			return sl.n, true
		}
		return 0, false
	}
	in, okIn := get(slotInput)
	out, okOut := get(slotOutput)
	cached, okCached := get(slotCached)
	write, okWrite := get(slotCacheWrite)
	write1h, _ := get(slotCacheWrite1h)
	reasoning, okReasoning := get(slotReasoning)
	if !(okIn || okOut || okCached || okWrite || okReasoning) {
		return Usage{}, false
	}
	if ep == endpointMessages {
		return anthropicCounts{input: in, output: out, cacheRead: cached, cacheWrite: write, cacheWrite1h: write1h}.usage(), true
	}
	return Usage{
		InputTokens:       in,
		OutputTokens:      out,
		CachedInputTokens: cached,
		CacheWriteTokens:  write,
		ReasoningTokens:   reasoning,
		Found:             true,
	}, true
}

// hideInjectedUsage makes an injected-usage stream look like the one the
// client asked for: the usage-only last chunk is dropped, and the
// "usage":null member upstream adds to every other chunk is removed.
func (o *observer) hideInjectedUsage(s *scanner, data []byte) ([]byte, bool) {
	u, choices := &s.slots[slotUsage], &s.slots[slotChoices]
	noChoices := choices.kind == kindNone || choices.kind == kindNull || choices.kind == kindArray && choices.n == 0
	if u.kind == kindObject && noChoices {
		return nil, false
	}
	if u.kind != kindNull {
		return data, true
	}
	from, to := u.sep, u.end
	if data[from] != ',' {
		// usage is the first member: drop the comma after it instead.
		from = u.keyStart
		k := to
		for k < int64(len(data)) && isSpace(data[k]) {
			k++
		}
		if k < int64(len(data)) && data[k] == ',' {
			to = k + 1
		}
	}
	o.out = append(o.out[:0], data[:from]...)
	o.out = append(o.out, data[to:]...)
	return o.out, true
}

// textDeltaTypes are the Responses API events whose "delta" is generated
// text (or tool arguments, which are output tokens too); audio deltas are
// base64 and would inflate an estimate.
var textDeltaTypes = []string{
	"response.output_text.delta",
	"response.refusal.delta",
	"response.reasoning_text.delta",
	"response.reasoning_summary_text.delta",
	"response.function_call_arguments.delta",
	"response.custom_tool_call_input.delta",
	"response.mcp_call_arguments.delta",
}

// isTextDelta reports whether a Responses API event carries a text delta,
// by its "type" (the SSE event name when the data has none).
func isTextDelta(typ *slot, event string) bool {
	if typ.kind == kindString && typ.done && !typ.overflow && len(typ.raw) >= 2 {
		// Event types contain no escapes; an escaped one simply won't match.
		name := typ.raw[1 : len(typ.raw)-1]
		for _, t := range textDeltaTypes {
			if string(name) == t {
				return true
			}
		}
		return false
	}
	for _, t := range textDeltaTypes {
		if event == t {
			return true
		}
	}
	return false
}
