package fakeupstream

// Anthropic endpoints: messages and token counting.

// The events of a message stream that never vary, pre-encoded once.
var (
	anthropicBlockStart = []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	anthropicPing       = []byte("event: ping\ndata: {\"type\": \"ping\"}\n\n")
	anthropicDeltaOpen  = []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"")
	anthropicDeltaClose = []byte("\"}}\n\n")
	anthropicBlockStop  = []byte("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	anthropicStop       = []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
)

// appendAnthropicUsage appends a message usage object that reports output
// as the output tokens. Cache reads and writes are counted apart from
// input_tokens, as Anthropic does.
func (c *call) appendAnthropicUsage(b []byte, output int64, details bool) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, c.ctl.inputTokens)
	b = appendField(b, "cache_creation_input_tokens", c.ctl.cacheWriteTokens)
	b = appendField(b, "cache_read_input_tokens", c.ctl.cachedTokens)
	b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
	b = appendInt(b, c.ctl.cacheWriteTokens-c.ctl.cacheWrite1h)
	b = append(b, `,"ephemeral_1h_input_tokens":`...)
	b = appendInt(b, c.ctl.cacheWrite1h)
	b = append(b, '}')
	b = appendField(b, "output_tokens", output)
	if details {
		b = c.appendThinking(b)
	}
	tier := c.ctl.serviceTier
	if tier == "" {
		tier = "standard"
	}
	b = append(b, `,"service_tier":`...)
	b = appendString(b, tier)
	if c.ctl.speed != "" {
		b = append(b, `,"speed":`...)
		b = appendString(b, c.ctl.speed)
	}
	return append(b, '}')
}

// appendThinking appends the reasoning breakdown, present only when the
// model "thought".
func (c *call) appendThinking(b []byte) []byte {
	if c.ctl.reasoningTokens == 0 {
		return b
	}
	b = append(b, `,"output_tokens_details":{"thinking_tokens":`...)
	b = appendInt(b, c.ctl.reasoningTokens)
	return append(b, '}')
}

// appendMessageHead appends a message object up to its content array.
func (c *call) appendMessageHead(b []byte, id string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = appendString(b, c.model)
	return append(b, `,"content":[`...)
}

// messages serves POST /v1/messages.
func (c *call) messages() {
	id := c.newID("msg_")
	plan := c.plan()
	if !c.req.Stream {
		head := append(c.appendMessageHead(nil, id), `{"type":"text","text":"`...)
		tail := []byte(`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":`)
		tail = c.appendAnthropicUsage(tail, c.outputTokens(), true)
		tail = append(tail, '}')
		c.writeJSON(plan, head, tail)
		return
	}

	o := c.startStream()
	defer c.endStream(o)
	// message_start reports the input side in full and a token of output,
	// as the real API does; the final output count comes in message_delta.
	b := []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":")
	b = append(c.appendMessageHead(b, id), `],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = c.appendAnthropicUsage(b, 1, false)
	b = append(b, "}}\n\n"...)
	if !c.event(o, b) || !c.event(o, anthropicBlockStart) || !c.event(o, anthropicPing) {
		return
	}
	frame := func(dst []byte, _ int) []byte { return append(dst, anthropicDeltaOpen...) }
	if !c.streamContent(o, plan, frame, anthropicDeltaClose) {
		return
	}
	if !c.event(o, anthropicBlockStop) {
		return
	}
	b = append(b[:0], "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":"...)
	b = appendInt(b, c.outputTokens())
	b = c.appendThinking(b)
	b = append(b, "}}\n\n"...)
	if !c.event(o, b) {
		return
	}
	c.event(o, anthropicStop)
}

// countTokens serves POST /v1/messages/count_tokens.
func (c *call) countTokens() {
	b := append([]byte(`{"input_tokens":`), appendInt(nil, c.ctl.inputTokens)...)
	c.writeJSON(textPlan{}, append(b, '}'))
}
