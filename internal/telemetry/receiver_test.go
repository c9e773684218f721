package telemetry

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is an in-process OTLP/HTTP collector: it decodes what the
// exporters send, so tests assert on the wire format a real collector
// would see rather than on SDK internals.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	spans    []*tracepb.Span
	resource map[string]any
	metrics  []*metricspb.Metric // from the latest metrics export only
	payloads [][]byte            // every decoded request body, for leak checks
	status   int                 // answer with this status instead of 200

	// hold, when set, makes every export wait until it is closed;
	// arrived receives one value per held export.
	hold    chan struct{}
	arrived chan struct{}
	// abandoned receives one value per held export the exporter gave up
	// on (its request context ended) before hold was closed.
	abandoned chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// holdExports makes exports hang until the returned release is called.
func (rc *receiver) holdExports() (release func()) {
	rc.mu.Lock()
	rc.hold = make(chan struct{})
	rc.arrived = make(chan struct{}, 64)
	rc.abandoned = make(chan struct{}, 64)
	hold := rc.hold
	rc.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	rc.t.Cleanup(release) // a failing test must not leave the server stuck
	return release
}

func (rc *receiver) failWith(status int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	hold, arrived, abandoned, status := rc.hold, rc.arrived, rc.abandoned, rc.status
	rc.mu.Unlock()
	// The body is read first: the server notices a client that hangs up
	// (and ends r.Context()) only once the body has been consumed.
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if hold != nil {
		arrived <- struct{}{}
		select {
		case <-hold:
		case <-r.Context().Done():
			abandoned <- struct{}{}
			return
		}
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.payloads = append(rc.payloads, body)
	switch r.URL.Path {
	case "/v1/traces":
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			rc.resource = attrMap(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	case "/v1/metrics":
		var req colmetricspb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Cumulative temporality: the latest export holds every total.
		rc.metrics = nil
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				rc.metrics = append(rc.metrics, sm.Metrics...)
			}
		}
		out, _ := proto.Marshal(&colmetricspb.ExportMetricsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	default:
		http.NotFound(w, r)
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		rd = zr
	}
	return io.ReadAll(rd)
}

// Spans returns a copy of every span received.
func (rc *receiver) Spans() []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*tracepb.Span(nil), rc.spans...)
}

// Metric returns the latest export's metric of that name, or nil.
func (rc *receiver) Metric(name string) *metricspb.Metric {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, m := range rc.metrics {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// assertNoSecrets fails if any exported payload contains a secret.
func (rc *receiver) assertNoSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.payloads) == 0 {
		t.Fatal("receiver got no payloads to check")
	}
	for _, p := range rc.payloads {
		for _, s := range secrets {
			if bytes.Contains(p, []byte(s)) {
				t.Errorf("exported telemetry contains secret %q", s)
			}
		}
	}
}

// attrMap flattens OTLP attributes for comparison: strings, int64s,
// float64s and bools, and arrays of strings as their JSON text
// (["stop","length"]), which compares with ==.
func attrMap(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = v.IntValue
		case *commonpb.AnyValue_DoubleValue:
			m[kv.Key] = v.DoubleValue
		case *commonpb.AnyValue_BoolValue:
			m[kv.Key] = v.BoolValue
		case *commonpb.AnyValue_ArrayValue:
			strs := []string{}
			for _, e := range v.ArrayValue.GetValues() {
				s, ok := e.GetValue().(*commonpb.AnyValue_StringValue)
				if !ok {
					strs = nil
					break
				}
				strs = append(strs, s.StringValue)
			}
			if strs == nil {
				m[kv.Key] = fmt.Sprint(kv.GetValue())
				break
			}
			b, _ := json.Marshal(strs)
			m[kv.Key] = string(b)
		default:
			m[kv.Key] = fmt.Sprint(kv.GetValue())
		}
	}
	return m
}

// spanNamed returns the only span whose name has prefix, failing otherwise.
func spanNamed(t *testing.T, spans []*tracepb.Span, kind tracepb.Span_SpanKind, prefix string) *tracepb.Span {
	t.Helper()
	var found []*tracepb.Span
	for _, s := range spans {
		if s.Kind == kind && strings.HasPrefix(s.Name, prefix) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, s := range spans {
			names = append(names, fmt.Sprintf("%s(%v)", s.Name, s.Kind))
		}
		t.Fatalf("want one %v span named %q*, got %d among %v", kind, prefix, len(found), names)
	}
	return found[0]
}

// dataPoint is a metric point flattened for assertions.
type dataPoint struct {
	attrs map[string]any
	value float64 // sum or gauge value; histogram sum
	count uint64  // histogram count
}

func metricPoints(m *metricspb.Metric) []dataPoint {
	var out []dataPoint
	if m == nil {
		return nil
	}
	switch d := m.Data.(type) {
	case *metricspb.Metric_Sum:
		for _, p := range d.Sum.DataPoints {
			out = append(out, dataPoint{attrs: attrMap(p.Attributes), value: numberValue(p)})
		}
	case *metricspb.Metric_Gauge:
		for _, p := range d.Gauge.DataPoints {
			out = append(out, dataPoint{attrs: attrMap(p.Attributes), value: numberValue(p)})
		}
	case *metricspb.Metric_Histogram:
		for _, p := range d.Histogram.DataPoints {
			out = append(out, dataPoint{attrs: attrMap(p.Attributes), value: p.GetSum(), count: p.Count})
		}
	}
	return out
}

func numberValue(p *metricspb.NumberDataPoint) float64 {
	switch v := p.Value.(type) {
	case *metricspb.NumberDataPoint_AsInt:
		return float64(v.AsInt)
	case *metricspb.NumberDataPoint_AsDouble:
		return v.AsDouble
	}
	return 0
}

// pointWith returns the point whose attributes include all of want.
func pointWith(t *testing.T, m *metricspb.Metric, want map[string]any) dataPoint {
	t.Helper()
	if m == nil {
		t.Fatalf("metric not exported (want point %v)", want)
	}
	pts := metricPoints(m)
	for _, p := range pts {
		if includes(p.attrs, want) {
			return p
		}
	}
	var got []map[string]any
	for _, p := range pts {
		got = append(got, p.attrs)
	}
	t.Fatalf("%s: no point with %v; points: %v", m.Name, want, got)
	return dataPoint{}
}

func includes(have, want map[string]any) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
