package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

// recorder is a client that keeps the body it was sent.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Flush()                      {}
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

// choppy makes a replayed body arrive in small reads of varying size, so
// events straddle reads as they do on a real connection.
type choppy struct {
	io.ReadCloser
	n int
}

func (c *choppy) Read(p []byte) (int, error) {
	c.n++
	if k := 1 + c.n*7%61; len(p) > k {
		p = p[:k]
	}
	return c.ReadCloser.Read(p)
}

type choppyTransport struct{ *replay }

func (t choppyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.replay.RoundTrip(req)
	if err == nil {
		resp.Body = &choppy{ReadCloser: resp.Body}
	}
	return resp, err
}

// byRequestID routes each finished record to its call by request id.
type byRequestID struct {
	mu      sync.Mutex
	records map[string]*trace.Record
}

func (s *byRequestID) Enqueue(r *trace.Record) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[r.RequestHeaders["X-Request-Id"]] = r
	return true
}

func (s *byRequestID) take(id string) *trace.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[id]
	delete(s.records, id)
	return r
}

// stable is a record without what differs between two runs of one call.
func stable(r *trace.Record) trace.Record {
	c := *r
	c.ID, c.Metadata = "", nil
	c.Timestamp, c.CreatedAt = time.Time{}, time.Time{}
	c.LatencyMS, c.TimeToFirstTokenMS, c.TimeToFirstTokenUS, c.TimeToFirstByteMS = 0, 0, 0, 0
	h := make(map[string]string, len(c.RequestHeaders))
	for k, v := range c.RequestHeaders {
		if k != "X-Request-Id" {
			h[k] = v
		}
	}
	c.RequestHeaders = h
	return c
}

// TestPooledCallsKeepNothingOfEachOther runs every kind of call (plain,
// gzip, SSE passed through, SSE filtered, Anthropic; whole and in small
// reads) from many goroutines at once through one Proxy per kind, whose
// call state, taps, framers, observers and decompressors are pooled: each
// call must send the client the same bytes and produce the same trace as
// when it ran alone.
func TestPooledCallsKeepNothingOfEachOther(t *testing.T) {
	records := &byRequestID{records: map[string]*trace.Record{}}
	opts := Options{InjectStreamUsage: true, Traces: records, CaptureHeaderNames: []string{"x-request-id", "authorization", "x-api-key", "content-type"}}
	type kind struct {
		name   string
		h      http.Handler
		newReq func() *http.Request
		body   string
		rec    trace.Record
	}
	var kinds []*kind
	for _, bc := range benchCalls {
		h, newReq, _ := benchProxy(t, bc, opts)
		kinds = append(kinds, &kind{name: bc.name, h: h, newReq: newReq})
		h, newReq, _ = benchProxy(t, bc, opts, func(r *replay) http.RoundTripper { return choppyTransport{r} })
		kinds = append(kinds, &kind{name: bc.name + " in small reads", h: h, newReq: newReq})
	}
	call := func(k *kind, id string) (string, *trace.Record, error) {
		req := k.newReq()
		req.Header.Set("X-Request-Id", id)
		w := &recorder{h: http.Header{}}
		k.h.ServeHTTP(w, req)
		r := records.take(id)
		if w.status != http.StatusOK || r == nil {
			return "", nil, fmt.Errorf("%s: status %d, record %v", k.name, w.status, r)
		}
		return w.body.String(), r, nil
	}
	for i, k := range kinds {
		body, r, err := call(k, fmt.Sprint("ref-", i))
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != trace.OutcomeOK || r.OutputTokens == 0 || r.InputTokens == 0 {
			t.Fatalf("%s: not accounted: %+v", k.name, r)
		}
		if cred := r.RequestHeaders["Authorization"] + r.RequestHeaders["X-Api-Key"]; cred != Redacted || r.ResponseHeaders["Content-Type"] == "" || len(r.RequestHeaders) != 3 {
			t.Fatalf("%s: captured headers %v / %v", k.name, r.RequestHeaders, r.ResponseHeaders)
		}
		k.body, k.rec = body, stable(r)
	}
	for i := 1; i < len(kinds); i += 2 {
		if kinds[i].body != kinds[i-1].body || !reflect.DeepEqual(kinds[i].rec, kinds[i-1].rec) {
			t.Fatalf("%s: small reads change the outcome", kinds[i].name)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				k := kinds[(g+i*5)%len(kinds)]
				body, r, err := call(k, fmt.Sprint(g, "-", i))
				if err == nil && body != k.body {
					err = fmt.Errorf("%s: client bytes differ under load:\n got %q\nwant %q", k.name, body, k.body)
				}
				if err == nil && !reflect.DeepEqual(stable(r), k.rec) {
					err = fmt.Errorf("%s: record differs under load:\n got %+v\nwant %+v", k.name, stable(r), k.rec)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestBufferPoolDoesNotAllocate(t *testing.T) {
	p := newBufferPool()
	p.Put(p.Get())
	if n := testing.AllocsPerRun(100, func() { p.Put(p.Get()) }); n != 0 {
		t.Fatalf("Get+Put allocates %.1f times", n)
	}
	if b := p.Get(); len(b) != copyBufferSize {
		t.Fatalf("buffer of %d bytes", len(b))
	}
	p.Put(make([]byte, 10)) // a foreign small slice is dropped, not pooled
	if b := p.Get(); len(b) != copyBufferSize {
		t.Fatalf("buffer of %d bytes after a foreign Put", len(b))
	}
}

func TestHeaderCapture(t *testing.T) {
	h := http.Header{
		"Authorization":           {"Bearer sk-secret"},
		"X-Api-Key":               {"sk-ant-secret"},
		"Cookie":                  {"a=b"},
		"X-Ongoingai-Gateway-Key": {"ogw_secret"},
		"X-Request-Id":            {"req_1"},
		"Accept":                  {"a", "b"},
		"authorization":           {"non-canonical secret"}, // set by code, not parsed
	}
	all := map[string]string{
		"Authorization": Redacted, "X-Api-Key": Redacted, "Cookie": Redacted, "X-Ongoingai-Gateway-Key": Redacted,
		"X-Request-Id": "req_1", "Accept": "a, b", "authorization": Redacted,
	}
	cases := []struct {
		name  string
		names []string
		want  map[string]string
	}{
		{"none", nil, nil},
		{"none of these present", []string{"x-other"}, nil},
		{"named, any case, credentials redacted", []string{"x-request-id", "AUTHORIZATION", "accept", "x-ongoingai-gateway-key", "x-api-key", "Accept"},
			map[string]string{"X-Request-Id": "req_1", "Authorization": Redacted, "Accept": "a, b", "X-Ongoingai-Gateway-Key": Redacted, "X-Api-Key": Redacted}},
		{"star", []string{"*"}, all},
		{"star among spaces", []string{" * "}, all},
	}
	for _, tc := range cases {
		hc := newHeaderCapture(tc.names, "x-ongoingai-gateway-key")
		if got := hc.snapshot(h); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
	hc := newHeaderCapture([]string{"x-request-id"}, "")
	absent := http.Header{"Accept": {"x"}}
	if n := testing.AllocsPerRun(100, func() { hc.snapshot(absent) }); n != 0 {
		t.Errorf("an absent header costs %.1f allocations", n)
	}
}

func TestMetadataJSON(t *testing.T) {
	ids := []string{"", "req_1", "0d3f-AZ.az~:/", "a\"b", `a\b`, "<script>&", "é", "\x00\x1f", "\xff", "a\u2028b", " ", "\x7f"}
	reasonLists := [][]string{nil, {"stop"}, {"stop", "length"}, {"end_turn"}, {"a\"b", "<&>", "\n", "é\u2029", "\xff"}, {""}}
	for _, id := range ids {
		for _, reasons := range reasonLists {
			got := metadataJSON(id, reasons)
			if id == "" && len(reasons) == 0 {
				if got != nil {
					t.Errorf("metadataJSON with nothing to say = %s, want nil", got)
				}
				continue
			}
			want, _ := json.Marshal(requestMetadata{RequestID: id, FinishReasons: reasons})
			if !bytes.Equal(got, want) {
				t.Errorf("metadataJSON(%q, %q) = %s, want %s", id, reasons, got, want)
			}
			var back requestMetadata
			if err := json.Unmarshal(got, &back); err != nil || !json.Valid(got) {
				t.Errorf("metadataJSON(%q, %q) = %s is not JSON: %v", id, reasons, got, err)
			}
		}
	}
	// The usual document is one allocation: the bytes it returns.
	reasons := []string{"stop"}
	if n := testing.AllocsPerRun(100, func() { metadataJSON("req_0123456789abcdef", reasons) }); n != 1 {
		t.Errorf("metadataJSON costs %.0f allocations, want 1", n)
	}
}

// Every kind of call records why the model stopped: on the record, for the
// client span, and in the stored metadata beside the request id.
func TestRecordCarriesFinishReasons(t *testing.T) {
	for _, bc := range benchCalls {
		h, newReq, s := benchProxy(t, bc, Options{InjectStreamUsage: true})
		w := &recorder{h: http.Header{}}
		h.ServeHTTP(w, newReq())
		r := s.last
		if w.status != http.StatusOK || r == nil {
			t.Fatalf("%s: status %d, record %v", bc.name, w.status, r)
		}
		want := "stop"
		if bc.provider == "anthropic" {
			want = "end_turn"
		}
		if !reflect.DeepEqual(r.FinishReasons, []string{want}) {
			t.Errorf("%s: finish reasons %q, want [%q]", bc.name, r.FinishReasons, want)
		}
		wantMeta := `{"request_id":"` + sdkHeaders["X-Request-Id"] + `","finish_reasons":["` + want + `"]}`
		if string(r.Metadata) != wantMeta {
			t.Errorf("%s: metadata %s, want %s", bc.name, r.Metadata, wantMeta)
		}
	}
}

// requestMetadata is the reference for metadataJSON: the trace's metadata document: the request id, and
// the finish reasons the provider gave. Finish reasons live here rather
// than in a column of their own because few queries need them and every
// row would pay for the column.
type requestMetadata struct {
	RequestID     string   `json:"request_id,omitempty"`
	FinishReasons []string `json:"finish_reasons,omitempty"`
}
