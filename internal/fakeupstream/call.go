package fakeupstream

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// dialect is the API family an endpoint belongs to; it decides the auth
// scheme, the error body and the usage field names.
type dialect int

const (
	dialectOpenAI dialect = iota
	dialectAnthropic
)

func dialectOf(path string) dialect {
	if path == "/v1/messages" || strings.HasPrefix(path, "/v1/messages/") {
		return dialectAnthropic
	}
	return dialectOpenAI
}

// apiRequest holds the few request fields any endpoint reacts to. Unmarshal
// into a small struct skips everything else (messages, tools, …) without
// building values for it.
type apiRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens      *int64          `json:"max_tokens"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     int             `json:"dimensions"`
}

func (r *apiRequest) includeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// call is one request being answered.
type call struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	body    []byte
	dialect dialect
	ctl     controls
	req     apiRequest
	// model is what the response reports, after X-Fake-Response-Model.
	model   string
	created int64
	// aborted is set when the response stopped because the client or the
	// server went away, so the recording is marked canceled.
	aborted bool
}

// endpoint answers one route once the request passed the common checks.
type endpoint func(*call)

// route finds the endpoint for a method and path, spelled exactly as the
// real APIs spell them.
func route(method, path string) endpoint {
	if method != http.MethodPost {
		return nil
	}
	switch path {
	case "/v1/chat/completions":
		return (*call).chat
	case "/v1/completions":
		return (*call).completions
	case "/v1/embeddings":
		return (*call).embeddings
	case "/v1/responses":
		return (*call).responses
	case "/v1/messages":
		return (*call).messages
	case "/v1/messages/count_tokens":
		return (*call).countTokens
	}
	return nil
}

func (c *call) serve() {
	// Both APIs name every response; gateways log these ids, so tests may
	// look for them.
	if c.dialect == dialectAnthropic {
		c.w.Header().Set("Request-Id", c.newID("req_"))
	} else {
		c.w.Header().Set("X-Request-Id", c.newID("req_"))
	}
	if c.s.isClosed() {
		c.fail(http.StatusServiceUnavailable, "fakeupstream: server closed")
		return
	}
	ctl, err := parseControls(c.r.Header, c.s.defaults)
	c.ctl = ctl
	if err != nil {
		// The encoding itself may be what failed to parse.
		c.ctl.encoding = ""
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	if !c.sleep(ctl.latency) {
		return
	}
	handle := route(c.r.Method, c.r.URL.Path)
	if handle == nil {
		c.notFound()
		return
	}
	if !c.authorize() {
		return
	}
	if ctl.status >= 400 {
		c.fail(ctl.status, "")
		return
	}
	if !c.decode() {
		return
	}
	c.created = time.Now().Unix()
	handle(c)
}

// authorize applies the dialect's credential rules, answering 401 (or 400
// for Anthropic's missing version header) itself when they fail.
func (c *call) authorize() bool {
	h := c.r.Header
	var key string
	switch c.dialect {
	case dialectAnthropic:
		key = h.Get("X-Api-Key")
		if key == "" {
			// Anthropic also takes OAuth-style bearer tokens.
			key = bearer(h.Get("Authorization"))
		}
		if key == "" {
			c.fail(http.StatusUnauthorized, "x-api-key header is required")
			return false
		}
	default:
		key = bearer(h.Get("Authorization"))
		if key == "" {
			c.failWith(http.StatusUnauthorized, apiError{
				openAIType: "invalid_request_error",
				message:    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
			})
			return false
		}
	}
	if want := c.s.opts.APIKey; want != "" && subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
		msg := "invalid x-api-key"
		if c.dialect == dialectOpenAI {
			msg = "Incorrect API key provided: " + redactKey(key) + ". You can find your API key at https://platform.openai.com/account/api-keys."
		}
		c.fail(http.StatusUnauthorized, msg)
		return false
	}
	if c.dialect == dialectAnthropic && h.Get("Anthropic-Version") == "" {
		c.fail(http.StatusBadRequest, "anthropic-version: header is required")
		return false
	}
	return true
}

func bearer(v string) string {
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// redactKey shows a key the way OpenAI does in its 401 message, so a leaked
// test key is never echoed whole.
func redactKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:3] + "*****" + k[len(k)-4:]
}

// decode reads the request fields, answering 400 like the real API when the
// body is not JSON or lacks what the endpoint requires.
func (c *call) decode() bool {
	if err := json.Unmarshal(c.body, &c.req); err != nil {
		msg := "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
		if c.dialect == dialectAnthropic {
			msg = "There was an error parsing the body: " + err.Error()
		}
		c.fail(http.StatusBadRequest, msg)
		return false
	}
	if c.req.Model == "" {
		msg := "you must provide a model parameter"
		if c.dialect == dialectAnthropic {
			msg = "model: Field required"
		}
		c.fail(http.StatusBadRequest, msg)
		return false
	}
	if c.r.URL.Path == "/v1/messages" && c.req.MaxTokens == nil {
		c.fail(http.StatusBadRequest, "max_tokens: Field required")
		return false
	}
	c.model = c.responseModel()
	return true
}

// responseModel applies X-Fake-Response-Model to the request model.
func (c *call) responseModel() string {
	switch c.ctl.responseModel {
	case "":
		return c.req.Model
	case "dated":
		if c.dialect == dialectAnthropic {
			return c.req.Model + "-20250514"
		}
		return c.req.Model + "-2024-08-06"
	default:
		return c.ctl.responseModel
	}
}

// newID returns a response id with the dialect's prefix; a counter keeps ids
// unique and cheap.
func (c *call) newID(prefix string) string {
	return prefix + "fake" + strconv.FormatUint(c.s.ids.Add(1), 10)
}

// sleep waits d unless the client leaves or the server closes first, and
// reports whether to carry on.
func (c *call) sleep(d time.Duration) bool {
	if d <= 0 {
		return c.alive()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
	case <-c.s.closed:
	}
	c.aborted = true
	return false
}

// alive reports whether the client is still there, marking the call aborted
// when it is not.
func (c *call) alive() bool {
	select {
	case <-c.ctx.Done():
	case <-c.s.closed:
	default:
		return true
	}
	c.aborted = true
	return false
}

// hang holds the response open until the client leaves, which is the point
// of X-Fake-Hang-After: the gateway must notice and cancel. With
// X-Fake-Reset-After it drops the connection at once instead.
func (c *call) hang() {
	if c.ctl.reset {
		// What was written so far has been flushed; the server closes the
		// connection without ending the body.
		panic(http.ErrAbortHandler)
	}
	select {
	case <-c.ctx.Done():
	case <-c.s.closed:
	}
	c.aborted = true
}

// pacer spaces content events by the configured interval with one reusable
// timer.
type pacer struct {
	c     *call
	timer *time.Timer
}

// wait sleeps before content event i (X-Fake-First-Token-Delay before the
// first, the interval before the others) and reports
// whether the stream should go on.
func (p *pacer) wait(i int) bool {
	d := p.c.ctl.interval
	if i == 0 {
		d = p.c.ctl.firstTokenDelay
	}
	if d <= 0 {
		return p.c.alive()
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return true
	case <-p.c.ctx.Done():
	case <-p.c.s.closed:
	}
	p.c.aborted = true
	return false
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
