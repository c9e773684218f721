package telemetry

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/ongoingai/gateway/internal/config"
)

func TestNewLoggerLevelAndFormat(t *testing.T) {
	var buf syncBuffer
	log := NewLogger(config.Log{Level: "warn", Format: "json"}, &buf)
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	var m map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &m); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if m["msg"] != "shown" || m["level"] != "WARN" || m["k"] != "v" {
		t.Errorf("line = %v", m)
	}

	var text syncBuffer
	NewLogger(config.Log{Level: "debug", Format: "text"}, &text).Debug("hello", "n", 1)
	if !strings.Contains(text.String(), "level=DEBUG msg=hello n=1") {
		t.Errorf("text line = %q", text.String())
	}
}

// Any line logged with a request's context names the request and its span,
// also through loggers derived with With.
func TestLoggerAddsCorrelationIDs(t *testing.T) {
	var buf syncBuffer
	log := NewLogger(config.Log{Level: "info", Format: "json"}, &buf).With("component", "proxy")
	tid, _ := oteltrace.TraceIDFromHex(incomingTraceID)
	sid, _ := oteltrace.SpanIDFromHex(incomingSpanID)
	ctx := oteltrace.ContextWithSpanContext(context.Background(),
		oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	ctx = context.WithValue(ctx, exchangeKey{}, &exchange{requestID: "r-1"})
	log.InfoContext(ctx, "upstream slow")
	var m map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &m); err != nil {
		t.Fatal(err)
	}
	expectAttrs(t, "log line", m, map[string]any{
		"request_id": "r-1", "trace_id": incomingTraceID, "span_id": incomingSpanID, "component": "proxy",
	})

	buf = syncBuffer{}
	NewLogger(config.Log{}, &buf).Info("no request")
	if strings.Contains(buf.String(), "trace_id") || strings.Contains(buf.String(), "request_id") {
		t.Errorf("ids invented outside a request: %q", buf.String())
	}
}
