package telemetry

import (
	"context"
	"io"
	"log/slog"
	"strings"

	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/ongoingai/gateway/internal/config"
)

// NewLogger returns the gateway's logger: JSON lines (or logfmt-style text
// when cfg.Format is "text") at cfg.Level and above. Every record logged
// with a request's context (InfoContext, LogAttrs) carries that request's
// request_id, trace_id and span_id, which is what joins a log line to its
// trace in a log backend.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: ParseLevel(cfg.Level)}
	var h slog.Handler
	if strings.EqualFold(cfg.Format, "text") {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(contextHandler{h})
}

// ParseLevel maps a configured level name to a slog level; anything
// unrecognised (validation rejects it first) means info.
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// contextHandler adds the request's correlation ids from the context, so
// callers need not thread them through every log call.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ex := exchangeFrom(ctx); ex != nil {
		r.AddAttrs(slog.String("request_id", ex.requestID))
	}
	if sc := oteltrace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()),
		)
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
