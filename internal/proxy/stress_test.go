package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/internal/trace"
)

type snapStore struct {
	mu    sync.Mutex
	recs  map[string]*trace.Record
	snaps map[string]trace.Record
}

func deepCopy(r *trace.Record) trace.Record {
	c := *r
	c.FinishReasons = append([]string(nil), r.FinishReasons...)
	c.Metadata = append([]byte(nil), r.Metadata...)
	if r.RequestHeaders != nil {
		c.RequestHeaders = map[string]string{}
		for k, v := range r.RequestHeaders {
			c.RequestHeaders[k] = strings.Clone(v)
		}
	}
	if r.ResponseHeaders != nil {
		c.ResponseHeaders = map[string]string{}
		for k, v := range r.ResponseHeaders {
			c.ResponseHeaders[k] = strings.Clone(v)
		}
	}
	c.Model = strings.Clone(r.Model)
	c.RequestModel = strings.Clone(r.RequestModel)
	c.ResponseBody = strings.Clone(r.ResponseBody)
	c.RequestBody = strings.Clone(r.RequestBody)
	return c
}

func (s *snapStore) Enqueue(r *trace.Record) bool {
	id := r.RequestHeaders["X-Request-Id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[id] = r
	s.snaps[id] = deepCopy(r)
	return true
}

func (s *snapStore) get(id string) *trace.Record {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		r := s.recs[id]
		s.mu.Unlock()
		if r != nil {
			return r
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func decodeBody(enc string, b []byte) ([]byte, error) {
	switch enc {
	case "", "identity":
		return b, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "br":
		return io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return io.ReadAll(zr)
	case "deflate":
		d := openDeflate(bytes.NewReader(b))
		if d == nil {
			return nil, fmt.Errorf("deflate")
		}
		return io.ReadAll(d.r)
	}
	return nil, fmt.Errorf("enc %s", enc)
}

var encs = []string{"identity", "gzip", "br", "deflate", "zstd"}

// The proxy pools its per-call state (call, tap, framer, observer,
// decoders). These run every kind of call at once from many goroutines,
// over HTTP/1.1 and HTTP/2: plain and streamed calls in every encoding,
// injected usage, client cancellations mid-stream, an unreachable upstream,
// upstream errors, bodies cut mid-way and WebSocket upgrades. Each client
// body and each trace must be exactly its own call's, and no record may
// change after it was handed to the writer (snapStore compares it with the
// copy taken at Enqueue). Run with -race to check the pools' hand-offs.
func TestPooledCallsUnderMixedConcurrentTraffic(t *testing.T)      { stressMixed(t, false) }
func TestPooledCallsUnderMixedConcurrentTrafficHTTP2(t *testing.T) { stressMixed(t, true) }

// cutUpstream sends part of a body and then drops the connection.
func cutUpstream(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	sseMode := r.Header.Get("X-Cut-Sse") == "1"
	gz := r.Header.Get("X-Cut-Gzip") == "1"
	if sseMode {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	var out io.Writer = w
	var zw *gzip.Writer
	if gz {
		w.Header().Set("Content-Encoding", "gzip")
		zw = gzip.NewWriter(w)
		out = zw
	}
	w.WriteHeader(200)
	if sseMode {
		for i := 0; i < 5; i++ {
			fmt.Fprintf(out, "data: {\"id\":\"x\",\"model\":\"cut-%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n", r.Header.Get("X-Request-Id"))
		}
	} else {
		fmt.Fprintf(out, `{"id":"x","model":"cut-%s","choices":[{"index":0,"message":{"content":"`, r.Header.Get("X-Request-Id"))
		out.Write(bytes.Repeat([]byte("a"), 50000))
	}
	if zw != nil {
		zw.Flush()
	}
	http.NewResponseController(w).Flush()
	time.Sleep(time.Millisecond)
	panic(http.ErrAbortHandler)
}

func stressMixed(t *testing.T, h2 bool) {
	fake := fakeupstream.New(fakeupstream.Options{MaxRecorded: -1})
	up := httptest.NewServer(fake)
	defer up.Close()
	defer fake.Close()
	upURL, _ := url.Parse(up.URL)
	cutSrv := httptest.NewUnstartedServer(http.HandlerFunc(cutUpstream))
	cutSrv.Config.ErrorLog = nil
	cutSrv.Start()
	defer cutSrv.Close()
	cutURL, _ := url.Parse(cutSrv.URL)

	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL, _ := url.Parse("http://" + dead.Addr().String())
	dead.Close()

	store := &snapStore{recs: map[string]*trace.Record{}, snaps: map[string]trace.Record{}}
	p := New(Options{
		Transport:          NewTransport(TransportOptions{DialTimeout: time.Second, MaxIdleConnsPerHost: 64}),
		InjectStreamUsage:  true,
		CaptureBodies:      true,
		BodyMaxSize:        1 << 20,
		CaptureHeaderNames: []string{"x-request-id", "content-type", "content-encoding"},
		Traces:             store,
	})
	mux := http.NewServeMux()
	mux.Handle("/openai/", p.Handler(&Upstream{Name: "openai", Prefix: "/openai", Target: upURL, Adapter: providers.OpenAI()}))
	mux.Handle("/anthropic/", p.Handler(&Upstream{Name: "anthropic", Prefix: "/anthropic", Target: upURL, Adapter: providers.Anthropic()}))
	mux.Handle("/cut/", p.Handler(&Upstream{Name: "openai", Prefix: "/cut", Target: cutURL, Adapter: providers.OpenAI()}))
	mux.Handle("/dead/", p.Handler(&Upstream{Name: "openai", Prefix: "/dead", Target: deadURL, Adapter: providers.OpenAI()}))
	gw := httptest.NewUnstartedServer(mux)
	gw.Config.ErrorLog = nil
	var client *http.Client
	if h2 {
		gw.EnableHTTP2 = true
		gw.StartTLS()
		client = gw.Client()
		client.Transport.(*http.Transport).DisableCompression = true
	} else {
		gw.Start()
		client = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}}
	}
	defer gw.Close()

	type check func(id string, status int, hdr http.Header, body []byte, r *trace.Record) error

	scenarios := []func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check){
		// non-stream chat, random encoding, unique model & token counts
		func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check) {
			enc := encs[rng.IntN(len(encs))]
			in := 1 + rng.IntN(100000)
			ev := 1 + rng.IntN(50)
			model := "m-" + id
			pad := ""
			if rng.IntN(3) == 0 {
				pad = fmt.Sprint(rng.IntN(200000) + 1000)
			}
			body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, "req-"+id)
			req, _ := http.NewRequest("POST", gw.URL+"/openai/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer sk-"+id)
			req.Header.Set(fakeupstream.HeaderEncoding, enc)
			req.Header.Set(fakeupstream.HeaderInputTokens, fmt.Sprint(in))
			req.Header.Set(fakeupstream.HeaderEvents, fmt.Sprint(ev))
			req.Header.Set(fakeupstream.HeaderResponseModel, model)
			if pad != "" {
				req.Header.Set(fakeupstream.HeaderContentBytes, pad)
			}
			return req, nil, 0, func(id string, status int, hdr http.Header, b []byte, r *trace.Record) error {
				dec, err := decodeBody(hdr.Get("Content-Encoding"), b)
				if err != nil {
					return fmt.Errorf("client body decode (%s): %v", enc, err)
				}
				if !json.Valid(dec) {
					return fmt.Errorf("client body not JSON")
				}
				if r.Outcome != trace.OutcomeOK || r.InputTokens != int64(in) || r.OutputTokens != int64(ev) || r.Model != model || r.RequestModel != "req-"+id || !reflect.DeepEqual(r.FinishReasons, []string{"stop"}) {
					return fmt.Errorf("chat %s: record %+v (want in %d out %d model %s)", enc, r.Outcome, in, ev, model)
				}
				if r.ResponseBody != string(dec) && len(dec) <= 1<<20 {
					return fmt.Errorf("captured body differs from client body (enc %s, %d vs %d)", enc, len(r.ResponseBody), len(dec))
				}
				return nil
			}
		},
		// stream with injected usage, identity or compressed
		func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check) {
			enc := []string{"identity", "identity", "gzip", "br"}[rng.IntN(4)]
			in := 1 + rng.IntN(100000)
			ev := 1 + rng.IntN(80)
			model := "s-" + id
			body := fmt.Sprintf(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"%s"}]}`, id)
			req, _ := http.NewRequest("POST", gw.URL+"/openai/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer sk-"+id)
			req.Header.Set(fakeupstream.HeaderEncoding, enc)
			req.Header.Set(fakeupstream.HeaderInputTokens, fmt.Sprint(in))
			req.Header.Set(fakeupstream.HeaderEvents, fmt.Sprint(ev))
			req.Header.Set(fakeupstream.HeaderResponseModel, model)
			return req, nil, 0, func(id string, status int, hdr http.Header, b []byte, r *trace.Record) error {
				dec, err := decodeBody(hdr.Get("Content-Encoding"), b)
				if err != nil {
					return fmt.Errorf("stream decode: %v", err)
				}
				if enc == "identity" && bytes.Contains(dec, []byte(`"usage":{`)) {
					return fmt.Errorf("injected usage reached client")
				}
				if !bytes.Contains(dec, []byte(model)) {
					return fmt.Errorf("client stream lacks its model %s", model)
				}
				if r.Outcome != trace.OutcomeOK || r.InputTokens != int64(in) || r.OutputTokens != int64(ev) || r.Model != model || !reflect.DeepEqual(r.FinishReasons, []string{"stop"}) {
					return fmt.Errorf("stream %s: record %s in %d out %d model %q reasons %v (want in %d out %d model %s)", enc, r.Outcome, r.InputTokens, r.OutputTokens, r.Model, r.FinishReasons, in, ev, model)
				}
				return nil
			}
		},
		// anthropic stream, random encoding
		func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check) {
			enc := encs[rng.IntN(len(encs))]
			in := 1 + rng.IntN(100000)
			ev := 1 + rng.IntN(80)
			model := "a-" + id
			stream := rng.IntN(2) == 0
			body := fmt.Sprintf(`{"model":"claude","max_tokens":64,"stream":%v,"messages":[{"role":"user","content":"x"}]}`, stream)
			req, _ := http.NewRequest("POST", gw.URL+"/anthropic/v1/messages", strings.NewReader(body))
			req.Header.Set("X-Api-Key", "sk-ant-"+id)
			req.Header.Set("Anthropic-Version", "2023-06-01")
			req.Header.Set(fakeupstream.HeaderEncoding, enc)
			req.Header.Set(fakeupstream.HeaderInputTokens, fmt.Sprint(in))
			req.Header.Set(fakeupstream.HeaderEvents, fmt.Sprint(ev))
			req.Header.Set(fakeupstream.HeaderResponseModel, model)
			return req, nil, 0, func(id string, status int, hdr http.Header, b []byte, r *trace.Record) error {
				if _, err := decodeBody(hdr.Get("Content-Encoding"), b); err != nil {
					return fmt.Errorf("anthropic decode: %v", err)
				}
				if r.Outcome != trace.OutcomeOK || r.InputTokens != int64(in) || r.OutputTokens != int64(ev) || r.Model != model || !reflect.DeepEqual(r.FinishReasons, []string{"end_turn"}) {
					return fmt.Errorf("anthropic %s stream=%v: record %s in %d out %d model %q reasons %v (want in %d out %d model %s)", enc, stream, r.Outcome, r.InputTokens, r.OutputTokens, r.Model, r.FinishReasons, in, ev, model)
				}
				return nil
			}
		},
		// cancelled stream
		func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check) {
			enc := []string{"identity", "gzip", "br", "zstd", "deflate"}[rng.IntN(5)]
			body := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"x"}]}`
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "POST", gw.URL+"/openai/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer sk-"+id)
			req.Header.Set(fakeupstream.HeaderEncoding, enc)
			req.Header.Set(fakeupstream.HeaderEvents, "50")
			req.Header.Set(fakeupstream.HeaderHangAfter, fmt.Sprint(rng.IntN(5)))
			req.Header.Set(fakeupstream.HeaderResponseModel, "c-"+id)
			return req, cancel, 1 + rng.IntN(200), func(id string, status int, hdr http.Header, b []byte, r *trace.Record) error {
				if r.Outcome != trace.OutcomeClientCancelled {
					return fmt.Errorf("cancel %s: outcome %s", enc, r.Outcome)
				}
				if r.Model != "" && r.Model != "c-"+id && r.Model != "gpt-4o" {
					return fmt.Errorf("cancel: foreign model %q", r.Model)
				}
				if len(r.FinishReasons) != 0 {
					return fmt.Errorf("cancel: reasons %v", r.FinishReasons)
				}
				return nil
			}
		},
		// dead upstream
		func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check) {
			req, _ := http.NewRequest("POST", gw.URL+"/dead/v1/chat/completions", strings.NewReader(`{"model":"x"}`))
			req.Header.Set("Authorization", "Bearer sk-"+id)
			return req, nil, 0, func(id string, status int, hdr http.Header, b []byte, r *trace.Record) error {
				if status != 502 || r.Outcome != trace.OutcomeUpstreamUnreachable || r.ResponseStatus != 502 {
					return fmt.Errorf("dead: status %d outcome %s", status, r.Outcome)
				}
				return nil
			}
		},
		// upstream cut mid-body
		func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check) {
			stream := rng.IntN(2) == 0
			req, _ := http.NewRequest("POST", gw.URL+"/cut/v1/chat/completions", strings.NewReader(fmt.Sprintf(`{"model":"x","stream":%v,"messages":[]}`, stream)))
			req.Header.Set("Authorization", "Bearer sk-"+id)
			if stream {
				req.Header.Set("X-Cut-Sse", "1")
			}
			if rng.IntN(2) == 0 {
				req.Header.Set("X-Cut-Gzip", "1")
			}
			return req, nil, 0, func(id string, status int, hdr http.Header, b []byte, r *trace.Record) error {
				if r.Outcome != trace.OutcomeUpstreamError || len(r.FinishReasons) != 0 {
					return fmt.Errorf("cut: outcome %s reasons %v", r.Outcome, r.FinishReasons)
				}
				if r.Model != "" && r.Model != "cut-"+id && r.Model != "x" {
					return fmt.Errorf("cut: foreign model %q", r.Model)
				}
				return nil
			}
		},
		// upstream error, gzip
		func(id string, rng *mrand.Rand) (*http.Request, context.CancelFunc, int, check) {
			enc := encs[rng.IntN(len(encs))]
			req, _ := http.NewRequest("POST", gw.URL+"/openai/v1/chat/completions", strings.NewReader(`{"model":"x","messages":[]}`))
			req.Header.Set("Authorization", "Bearer sk-"+id)
			req.Header.Set(fakeupstream.HeaderStatus, "500")
			req.Header.Set(fakeupstream.HeaderEncoding, enc)
			return req, nil, 0, func(id string, status int, hdr http.Header, b []byte, r *trace.Record) error {
				if status != 500 || r.Outcome != trace.OutcomeUpstreamError || len(r.FinishReasons) != 0 || r.InputTokens != 0 {
					return fmt.Errorf("500: status %d outcome %s reasons %v in %d", status, r.Outcome, r.FinishReasons, r.InputTokens)
				}
				return nil
			}
		},
	}

	wsOnce := func(id string) error {
		u, _ := url.Parse(gw.URL)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		key := make([]byte, 16)
		rand.Read(key)
		k := base64.StdEncoding.EncodeToString(key)
		fmt.Fprintf(conn, "GET /openai/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nX-Request-Id: %s\r\n\r\n", k, id)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != 101 {
			return fmt.Errorf("ws status %d", resp.StatusCode)
		}
		payload := []byte("hello " + id)
		frame := []byte{0x81, 0x80 | byte(len(payload)), 1, 2, 3, 4}
		for i, c := range payload {
			frame = append(frame, c^[]byte{1, 2, 3, 4}[i%4])
		}
		conn.Write(frame)
		h := make([]byte, 2)
		if _, err := io.ReadFull(br, h); err != nil {
			return err
		}
		got := make([]byte, h[1]&0x7f)
		if _, err := io.ReadFull(br, got); err != nil {
			return err
		}
		if string(got) != string(payload) {
			return fmt.Errorf("ws echo %q", got)
		}
		return nil
	}

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	const G, N = 24, 60
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(g), 7))
			for i := range N {
				id := fmt.Sprintf("g%d-%d", g, i)
				if !h2 && rng.IntN(12) == 0 {
					if err := wsOnce(id); err != nil {
						errs <- fmt.Errorf("%s ws: %v", id, err)
					}
					continue
				}
				sc := rng.IntN(len(scenarios))
				req, cancel, cutAfter, chk := scenarios[sc](id, rng)
				req.Header.Set("X-Request-Id", id)
				resp, err := client.Do(req)
				if err != nil {
					if cancel != nil {
						cancel()
					}
					errs <- fmt.Errorf("%s: %v", id, err)
					continue
				}
				var b []byte
				if cancel != nil {
					buf := make([]byte, cutAfter)
					io.ReadFull(resp.Body, buf)
					cancel()
					resp.Body.Close()
				} else {
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil && strings.Contains(req.URL.Path, "/cut/") {
						err = nil
					}
					if err != nil {
						errs <- fmt.Errorf("%s read: %v", id, err)
						continue
					}
				}
				r := store.get(id)
				if r == nil {
					errs <- fmt.Errorf("%s (scenario %d): no record", id, sc)
					continue
				}
				if err := chk(id, resp.StatusCode, resp.Header, b, r); err != nil {
					errs <- fmt.Errorf("%s (scenario %d): %v", id, sc, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		n++
		if n < 30 {
			t.Error(err)
		}
	}
	// records must not change after they were enqueued
	store.mu.Lock()
	for id, r := range store.recs {
		if !reflect.DeepEqual(deepCopy(r), store.snaps[id]) {
			t.Errorf("%s: record changed after enqueue", id)
		}
	}
	t.Logf("%d records, %d errors", len(store.recs), n)
	store.mu.Unlock()
}
