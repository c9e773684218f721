package fakeupstream

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Control headers. Each overrides the matching Options field for one
// request; an unparsable value gets a 400 in the endpoint's dialect that
// names the header, so a typo in a test fails loudly instead of silently
// using a default. The names are in canonical form so lookups skip
// canonicalisation.
const (
	// HeaderInputTokens sets the reported input tokens: OpenAI
	// prompt_tokens / input_tokens, Anthropic input_tokens. Integer ≥ 0.
	HeaderInputTokens = "X-Fake-Input-Tokens"
	// HeaderCachedTokens sets cache-read tokens: OpenAI
	// prompt_tokens_details.cached_tokens / input_tokens_details.cached_tokens
	// (a part of the input), Anthropic cache_read_input_tokens (in
	// addition to the input). Integer ≥ 0.
	HeaderCachedTokens = "X-Fake-Cached-Tokens"
	// HeaderCacheWriteTokens sets cache-write tokens: OpenAI
	// cache_write_tokens in the same details object, Anthropic
	// cache_creation_input_tokens (and cache_creation.ephemeral_5m_input_tokens).
	// Integer ≥ 0.
	HeaderCacheWriteTokens = "X-Fake-Cache-Write-Tokens"
	// HeaderCacheWrite1hTokens sets the part of the Anthropic cache writes
	// written with the 1-hour lifetime
	// (cache_creation.ephemeral_1h_input_tokens); the rest is reported as
	// 5-minute writes. Integer ≥ 0, at most the cache-write tokens.
	HeaderCacheWrite1hTokens = "X-Fake-Cache-Write-1h-Tokens"
	// HeaderServiceTier sets the tier the response says served it: OpenAI
	// service_tier (default "default"), Anthropic usage.service_tier
	// (default "standard").
	HeaderServiceTier = "X-Fake-Service-Tier"
	// HeaderSpeed adds Anthropic's usage.speed ("fast" in fast mode).
	HeaderSpeed = "X-Fake-Speed"
	// HeaderFirstTokenDelay pauses a stream after its opening events
	// (Anthropic message_start, the OpenAI role chunk, response.created)
	// and before its first content event: a Go duration or a bare integer
	// of milliseconds.
	HeaderFirstTokenDelay = "X-Fake-First-Token-Delay"
	// HeaderReasoningTokens sets reasoning tokens, which are added to the
	// output tokens as the real APIs count them: OpenAI
	// completion_tokens_details.reasoning_tokens /
	// output_tokens_details.reasoning_tokens, Anthropic
	// output_tokens_details.thinking_tokens. The Responses API also gets a
	// reasoning output item. Integer ≥ 0.
	HeaderReasoningTokens = "X-Fake-Reasoning-Tokens"
	// HeaderEvents sets the number of content events in a stream, which is
	// also the number of words in the text and of non-reasoning output
	// tokens, streamed or not. Integer ≥ 0.
	HeaderEvents = "X-Fake-Events"
	// HeaderInterval sets the pause between consecutive content events: a
	// Go duration ("20ms") or a bare integer of milliseconds.
	HeaderInterval = "X-Fake-Interval"
	// HeaderLatency delays the response before its status line is sent:
	// a Go duration or a bare integer of milliseconds.
	HeaderLatency = "X-Fake-Latency"
	// HeaderStatus makes the endpoint fail with this status (400–599) and
	// the dialect's error body; a 429 also carries "Retry-After: 7". The
	// value 200 means "succeed" and is accepted for symmetry.
	HeaderStatus = "X-Fake-Status"
	// HeaderResponseModel replaces the model reported in the response.
	// The value "dated" appends a dated snapshot suffix to the request
	// model (OpenAI "-2024-08-06", Anthropic "-20250514"), as the real
	// APIs do; any other value is reported verbatim.
	HeaderResponseModel = "X-Fake-Response-Model"
	// HeaderContentBytes pads the generated text to exactly this many
	// bytes (when larger than the natural text), spread over the content
	// events and written in chunks so huge bodies never sit in memory.
	// Integer bytes, optionally suffixed KB, MB, GB (powers of 1000) or
	// KiB, MiB, GiB (powers of 1024). Needs at least one event.
	HeaderContentBytes = "X-Fake-Content-Bytes"
	// HeaderEncoding forces the Content-Encoding: gzip, br, deflate
	// (zlib-wrapped, as HTTP defines it), zstd or identity, for JSON and
	// SSE alike. Without it JSON is gzipped when Accept-Encoding offers
	// gzip, as the real APIs do, and SSE is sent uncompressed.
	HeaderEncoding = "X-Fake-Encoding"
	// HeaderHangAfter stops a stream after this many content events
	// (flushed) and holds the connection open until the client goes away.
	// A non-streaming response sends its status and headers, then hangs
	// without a body. Integer ≥ 0.
	HeaderHangAfter = "X-Fake-Hang-After"
	// HeaderResetAfter is HeaderHangAfter, except that at that point the
	// fake drops the connection instead of holding it (the handler aborts
	// with http.ErrAbortHandler): an upstream that crashes or a load
	// balancer that resets the connection mid-stream. The client sees the
	// body end without its terminating chunk. Integer ≥ 0.
	HeaderResetAfter = "X-Fake-Reset-After"
)

// controls is the resolved behaviour of one request.
type controls struct {
	inputTokens      int64
	cachedTokens     int64
	cacheWriteTokens int64
	cacheWrite1h     int64
	reasoningTokens  int64
	serviceTier      string // empty: the dialect's default
	speed            string
	firstTokenDelay  time.Duration
	events           int
	interval         time.Duration
	latency          time.Duration
	status           int
	responseModel    string
	contentBytes     int64
	encoding         string
	hangAfter        int  // negative: never hang
	reset            bool // drop the connection at hangAfter instead of hanging
}

func defaultControls(o Options) controls {
	c := controls{
		inputTokens:      o.InputTokens,
		cachedTokens:     o.CachedTokens,
		cacheWriteTokens: o.CacheWriteTokens,
		reasoningTokens:  o.ReasoningTokens,
		events:           o.StreamEvents,
		interval:         o.StreamInterval,
		latency:          o.Latency,
		contentBytes:     o.ContentBytes,
		encoding:         strings.ToLower(o.Encoding),
		hangAfter:        -1,
	}
	if c.inputTokens == 0 {
		c.inputTokens = DefaultInputTokens
	}
	if c.events == 0 {
		c.events = DefaultStreamEvents
	}
	return c
}

// controlError names the header that could not be understood.
type controlError struct {
	header, value, want string
}

func (e *controlError) Error() string {
	return fmt.Sprintf("fakeupstream: invalid %s %q: want %s", e.header, e.value, e.want)
}

// parseControls overlays the request's X-Fake-* headers on the defaults.
func parseControls(h http.Header, c controls) (controls, error) {
	var err error
	count := func(name string, dst *int64) {
		v := first(h, name)
		if v == "" || err != nil {
			return
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 0 {
			err = &controlError{name, v, "an integer ≥ 0"}
			return
		}
		*dst = n
	}
	small := func(name string, dst *int) {
		var n int64 = -1
		count(name, &n)
		if n >= 0 {
			*dst = int(n)
		}
	}
	duration := func(name string, dst *time.Duration) {
		v := first(h, name)
		if v == "" || err != nil {
			return
		}
		d, perr := parseDuration(v)
		if perr != nil {
			err = &controlError{name, v, `a duration such as "20ms" or integer milliseconds`}
			return
		}
		*dst = d
	}

	count(HeaderInputTokens, &c.inputTokens)
	count(HeaderCachedTokens, &c.cachedTokens)
	count(HeaderCacheWriteTokens, &c.cacheWriteTokens)
	count(HeaderCacheWrite1hTokens, &c.cacheWrite1h)
	duration(HeaderFirstTokenDelay, &c.firstTokenDelay)
	count(HeaderReasoningTokens, &c.reasoningTokens)
	small(HeaderEvents, &c.events)
	small(HeaderHangAfter, &c.hangAfter)
	resetAfter := -1
	small(HeaderResetAfter, &resetAfter)
	if resetAfter >= 0 {
		c.hangAfter, c.reset = resetAfter, true
	}
	duration(HeaderInterval, &c.interval)
	duration(HeaderLatency, &c.latency)
	if err != nil {
		return c, err
	}

	if v := first(h, HeaderStatus); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || (n != http.StatusOK && (n < 400 || n > 599)) {
			return c, &controlError{HeaderStatus, v, "200 or a status from 400 to 599"}
		}
		c.status = n
	}
	if v := first(h, HeaderContentBytes); v != "" {
		n, perr := parseSize(v)
		if perr != nil {
			return c, &controlError{HeaderContentBytes, v, `a byte count such as "1048576" or "10MB"`}
		}
		c.contentBytes = n
	}
	if v := first(h, HeaderEncoding); v != "" {
		c.encoding = strings.ToLower(v)
	}
	if !knownEncoding(c.encoding) {
		return c, &controlError{HeaderEncoding, c.encoding, "gzip, br, deflate, zstd or identity"}
	}
	if v := first(h, HeaderResponseModel); v != "" {
		c.responseModel = v
	}
	if c.cacheWrite1h > c.cacheWriteTokens {
		return c, &controlError{HeaderCacheWrite1hTokens, strconv.FormatInt(c.cacheWrite1h, 10), "at most " + HeaderCacheWriteTokens}
	}
	c.serviceTier = first(h, HeaderServiceTier)
	c.speed = first(h, HeaderSpeed)
	return c, nil
}

// first is Header.Get for a name already in canonical form.
func first(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func parseDuration(v string) (time.Duration, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		if ms < 0 {
			return 0, strconv.ErrRange
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		return 0, strconv.ErrRange
	}
	return d, err
}

// sizeUnits maps the suffixes X-Fake-Content-Bytes accepts to multipliers;
// longer suffixes come first so "KiB" is not read as "B".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

func parseSize(v string) (int64, error) {
	mult := int64(1)
	for _, u := range sizeUnits {
		if len(v) > len(u.suffix) && strings.EqualFold(v[len(v)-len(u.suffix):], u.suffix) {
			v, mult = strings.TrimSpace(v[:len(v)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, strconv.ErrSyntax
	}
	return n * mult, nil
}
