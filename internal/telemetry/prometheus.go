package telemetry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The Prometheus exposition is written here, from a manual reader's
// collection, rather than with go.opentelemetry.io/otel/exporters/prometheus.
// That exporter brings prometheus/client_golang and five more modules and
// added 3.8 MB to a minimal binary when measured; the gateway's metrics use
// three aggregations (sum, gauge, explicit histogram), whose text format is
// small and stable.

// promContentType is the text exposition format, version 0.0.4, which every
// Prometheus-compatible scraper accepts.
const promContentType = "text/plain; version=0.0.4; charset=utf-8"

// MetricsHandler serves the metrics in the Prometheus text format. It
// answers 404 when observability.prometheus.enabled is false. It performs
// no authorization: mount it behind analytics:read when auth is on, or
// serve it on the loopback listener (StartMetricsServer).
func (t *Telemetry) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.promReader == nil {
			http.Error(w, "metrics exposition is disabled", http.StatusNotFound)
			return
		}
		var rm metricdata.ResourceMetrics
		if err := t.promReader.Collect(r.Context(), &rm); err != nil {
			t.log.WarnContext(r.Context(), "metrics collection failed", "err", err)
			http.Error(w, "metrics collection failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", promContentType)
		bw := bufio.NewWriter(w)
		writePrometheus(bw, &rm)
		_ = bw.Flush()
	})
}

// MetricsServer is the separate listener that serves only the metrics
// path, for deployments that keep /metrics off the public port.
type MetricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// StartMetricsServer listens on addr (observability.prometheus.listen) and
// serves MetricsHandler at observability.prometheus.path until Shutdown.
// addr must be a loopback address, since the listener has no auth; it
// listens before returning, so a taken port fails start-up.
func (t *Telemetry) StartMetricsServer(addr string) (*MetricsServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("observability.prometheus.listen: %w", err)
	}
	if !isLoopback(host) {
		return nil, fmt.Errorf("observability.prometheus.listen: %q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("observability.prometheus.listen: %w", err)
	}
	path := t.cfg.Prometheus.Path
	if path == "" {
		path = "/metrics"
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+path, t.MetricsHandler())
	s := &MetricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.log.Error("metrics listener stopped", "addr", addr, "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the listener is bound to (useful with port 0).
func (s *MetricsServer) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops the listener, letting an in-flight scrape finish until ctx
// ends.
func (s *MetricsServer) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// promFamily is one metric family of the exposition.
type promFamily struct {
	name, help, typ string
	lines           []promLine
}

// promLine is one sample; key orders samples of a family deterministically
// (label set first, then bucket order within a histogram).
type promLine struct {
	key  string
	text string
}

// writePrometheus renders rm in the text format, families sorted by name and
// samples by labels, so successive scrapes diff cleanly.
func writePrometheus(w *bufio.Writer, rm *metricdata.ResourceMetrics) {
	families := map[string]*promFamily{}
	add := func(name, help, typ string, lines []promLine) {
		f, ok := families[name]
		if !ok {
			f = &promFamily{name: name, help: help, typ: typ}
			families[name] = f
		}
		if f.typ != typ {
			return // two instruments mapped to one name with different types; keep the first
		}
		f.lines = append(f.lines, lines...)
	}
	if rm.Resource != nil && rm.Resource.Len() > 0 {
		labels := promLabels(*rm.Resource.Set(), "", "")
		add("target_info", "Target metadata", "gauge", []promLine{{text: "target_info" + labels + " 1"}})
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			convertMetric(m, add)
		}
	}

	names := make([]string, 0, len(families))
	for n, f := range families {
		if len(f.lines) > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		f := families[n]
		if f.help != "" {
			fmt.Fprintf(w, "# HELP %s %s\n", f.name, escapeHelp(f.help))
		}
		fmt.Fprintf(w, "# TYPE %s %s\n", f.name, f.typ)
		slices.SortStableFunc(f.lines, func(a, b promLine) int { return strings.Compare(a.key, b.key) })
		for _, l := range f.lines {
			w.WriteString(l.text)
			w.WriteByte('\n')
		}
	}
}

func convertMetric(m metricdata.Metrics, add func(name, help, typ string, lines []promLine)) {
	base := promName(m.Name, m.Unit)
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		name, typ := sumName(base, d.IsMonotonic)
		add(name, m.Description, typ, points(name, d.DataPoints))
	case metricdata.Sum[float64]:
		name, typ := sumName(base, d.IsMonotonic)
		add(name, m.Description, typ, points(name, d.DataPoints))
	case metricdata.Gauge[int64]:
		add(base, m.Description, "gauge", points(base, d.DataPoints))
	case metricdata.Gauge[float64]:
		add(base, m.Description, "gauge", points(base, d.DataPoints))
	case metricdata.Histogram[int64]:
		add(base, m.Description, "histogram", histogram(base, d.DataPoints))
	case metricdata.Histogram[float64]:
		add(base, m.Description, "histogram", histogram(base, d.DataPoints))
	}
	// Exponential histograms and summaries are not produced by the gateway.
}

func sumName(base string, monotonic bool) (string, string) {
	if !monotonic {
		return base, "gauge"
	}
	if strings.HasSuffix(base, "_total") {
		return base, "counter"
	}
	return base + "_total", "counter"
}

func points[N int64 | float64](name string, dps []metricdata.DataPoint[N]) []promLine {
	lines := make([]promLine, 0, len(dps))
	for _, dp := range dps {
		labels := promLabels(dp.Attributes, "", "")
		lines = append(lines, promLine{key: labels, text: name + labels + " " + formatFloat(float64(dp.Value))})
	}
	return lines
}

func histogram[N int64 | float64](name string, dps []metricdata.HistogramDataPoint[N]) []promLine {
	var lines []promLine
	for _, dp := range dps {
		key := promLabels(dp.Attributes, "", "")
		// Keys keep a histogram's lines together and in order: buckets by
		// index (zero-padded), then +Inf, sum and count.
		var cum uint64
		for i, bound := range dp.Bounds {
			if i < len(dp.BucketCounts) {
				cum += dp.BucketCounts[i]
			}
			lines = append(lines, promLine{
				key:  fmt.Sprintf("%s\x00%04d", key, i),
				text: name + "_bucket" + promLabels(dp.Attributes, "le", formatFloat(bound)) + " " + strconv.FormatUint(cum, 10),
			})
		}
		lines = append(lines,
			promLine{key: key + "\x00~1", text: name + "_bucket" + promLabels(dp.Attributes, "le", "+Inf") + " " + strconv.FormatUint(dp.Count, 10)},
			promLine{key: key + "\x00~2", text: name + "_sum" + key + " " + formatFloat(float64(dp.Sum))},
			promLine{key: key + "\x00~3", text: name + "_count" + key + " " + strconv.FormatUint(dp.Count, 10)},
		)
	}
	return lines
}

// promName turns an OTel instrument name and unit into a Prometheus metric
// name the way the OTel-Prometheus compatibility rules do for the units the
// gateway uses: dots become underscores and seconds and bytes become a
// suffix; annotation units such as {token} add nothing.
func promName(name, unit string) string {
	n := sanitize(name)
	var suffix string
	switch unit {
	case "s":
		suffix = "_seconds"
	case "ms":
		suffix = "_milliseconds"
	case "By":
		suffix = "_bytes"
	}
	if suffix != "" && !strings.HasSuffix(n, suffix) {
		n += suffix
	}
	return n
}

// sanitize maps a name to [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no colon).
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (i > 0 && '0' <= c && c <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// promLabels renders a label set, with one extra label (le) when extraKey
// is set. attribute.Set is sorted by key, so the rendering is canonical.
func promLabels(set attribute.Set, extraKey, extraValue string) string {
	if set.Len() == 0 && extraKey == "" {
		return ""
	}
	var sb strings.Builder
	sb.WriteByte('{')
	first := true
	iter := set.Iter()
	for iter.Next() {
		kv := iter.Attribute()
		if !first {
			sb.WriteByte(',')
		}
		first = false
		sb.WriteString(strings.ReplaceAll(sanitize(string(kv.Key)), ":", "_"))
		sb.WriteString(`="`)
		sb.WriteString(escapeLabel(kv.Value.Emit()))
		sb.WriteByte('"')
	}
	if extraKey != "" {
		if !first {
			sb.WriteByte(',')
		}
		sb.WriteString(extraKey)
		sb.WriteString(`="`)
		sb.WriteString(extraValue)
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
