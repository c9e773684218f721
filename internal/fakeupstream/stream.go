package fakeupstream

import "net/http"

// The pieces shared by every endpoint's streaming and non-streaming paths.

// outputTokens is the output count every dialect reports: one token per
// content event, plus reasoning, which the real APIs bill as output.
func (c *call) outputTokens() int64 {
	return int64(c.ctl.events) + c.ctl.reasoningTokens
}

// plan lays out the generated text for this call.
func (c *call) plan() textPlan {
	return planText(c.ctl.events, c.ctl.contentBytes)
}

// writeJSON sends a complete, non-streaming JSON body made of segs with the
// generated text between consecutive segments. Knowing the text length up
// front gives identity bodies an exact Content-Length. X-Fake-Hang-After
// makes it send only the headers and hang.
func (c *call) writeJSON(plan textPlan, segs ...[]byte) {
	size := int64(0)
	for _, s := range segs {
		size += int64(len(s))
	}
	size += int64(len(segs)-1) * plan.total
	o := start(c.w, c.r, http.StatusOK, "application/json", c.ctl.encoding, false, size)
	if c.ctl.hangAfter >= 0 {
		if c.sent(o) {
			c.hang()
		}
		_ = o.finish()
		return
	}
	writeSegments(o, plan, segs)
	if err := o.finish(); err != nil {
		c.aborted = true
	}
}

// writeSegments writes segs with the whole generated text between each
// consecutive pair: the text is never materialised, however large.
func writeSegments(o *output, plan textPlan, segs [][]byte) {
	for i, s := range segs {
		if i > 0 {
			plan.writeAll(o)
		}
		o.write(s)
	}
}

// startStream sends the headers of an event stream at once, as the real
// APIs do, so a client sees the 200 even before the first event.
func (c *call) startStream() *output {
	o := start(c.w, c.r, http.StatusOK, "text/event-stream; charset=utf-8", c.ctl.encoding, true, -1)
	if err := o.rc.Flush(); err != nil {
		c.aborted = true
	}
	return o
}

// endStream completes a stream's body, noting a client that left.
func (c *call) endStream(o *output) {
	if err := o.finish(); err != nil {
		c.aborted = true
	}
}

// sent flushes what was written as one event; a failed flush means the
// client is gone.
func (c *call) sent(o *output) bool {
	if err := o.flush(); err != nil {
		c.aborted = true
		return false
	}
	return c.alive()
}

// event writes one complete event and flushes it.
func (c *call) event(o *output, b []byte) bool {
	o.write(b)
	return c.sent(o)
}

// eventWithText writes an event whose data embeds the whole generated text
// between each pair of segs, and flushes it.
func (c *call) eventWithText(o *output, plan textPlan, segs ...[]byte) bool {
	writeSegments(o, plan, segs)
	return c.sent(o)
}

// streamContent sends the content events, each framed by frame(i) before
// its text and post after it, pacing them and honouring
// X-Fake-Hang-After. It reports whether the stream may go on to its closing
// events.
func (c *call) streamContent(o *output, plan textPlan, frame func(dst []byte, i int) []byte, post []byte) bool {
	p := pacer{c: c}
	defer p.stop()
	var head []byte
	for i := range plan.events {
		if i == c.ctl.hangAfter {
			c.hang()
			return false
		}
		if !p.wait(i) {
			return false
		}
		head = frame(head[:0], i)
		o.write(head)
		plan.writePiece(o, i)
		o.write(post)
		if !c.sent(o) {
			return false
		}
	}
	// A hang point at or past the last content event still hangs, before
	// the closing events, so the client never sees a complete stream.
	if c.ctl.hangAfter >= plan.events {
		c.hang()
		return false
	}
	return true
}
