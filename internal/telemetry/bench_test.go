package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/trace"
)

// The per-request cost of the middleware plus one observed call, with
// telemetry off (access log only, to io.Discard) and with traces and
// metrics on (exporting to an in-process receiver in the background).
func BenchmarkRequest(b *testing.B) {
	b.Run("off", func(b *testing.B) {
		benchRequest(b, config.Default().Observability)
	})
	b.Run("prometheus", func(b *testing.B) {
		obs := config.Default().Observability
		obs.Prometheus.Enabled = true
		benchRequest(b, obs)
	})
	b.Run("otel", func(b *testing.B) {
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
		defer rc.Close()
		obs := config.Default().Observability
		obs.OTel.Enabled = true
		obs.OTel.Endpoint = rc.URL
		obs.Prometheus.Enabled = true
		benchRequest(b, obs)
	})
}

func benchRequest(b *testing.B, obs config.Observability) {
	tel, err := New(context.Background(), obs, Options{
		Logger:    NewLogger(obs.Log, io.Discard),
		Providers: map[string]config.Provider{"openai": {Upstream: "https://api.openai.com", Prefix: "/openai"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	rec := &trace.Record{
		Provider: "openai", Model: "gpt-4o-mini", RequestModel: "gpt-4o-mini", ResponseStatus: 200,
		Outcome: trace.OutcomeOK, InputTokens: 100, OutputTokens: 20, Priced: true, EstimatedCostUSD: 0.0001,
	}
	h := tel.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, end := tel.StartCall(r.Context(), "openai", r)
		w.WriteHeader(http.StatusOK)
		end(rec)
	}))
	req := httptest.NewRequest(http.MethodPost, "/openai/v1/chat/completions", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		req.Header.Del("traceparent")
		h.ServeHTTP(w, req)
	}
}
