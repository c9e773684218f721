package telemetry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
)

// observability.otel.insecure with a scheme-less endpoint, the way
// collectors document it ("localhost:4318"), exports over plain HTTP.
func TestInsecureSchemelessEndpointExports(t *testing.T) {
	h := newHarness(t, func(o *config.Observability) {
		o.OTel.Endpoint = strings.TrimPrefix(o.OTel.Endpoint, "http://")
		o.OTel.Insecure = true
	})
	ctx := context.Background()
	client := h.client(nil)
	if _, err := client.Chat.Completions.New(ctx, chat("gpt-4o-mini")); err != nil {
		t.Fatal(err)
	}
	h.waitServed(1)
	if err := h.tel.ForceFlush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if len(h.rc.Spans()) == 0 {
		t.Fatal("no spans reached the plain-HTTP receiver")
	}
}

// observability.otel.export_timeout_ms bounds one export request: against
// a collector that hangs, the exporter gives up on its own deadline (50 ms
// here; the exporters' default is 10 s, longer than the bound below).
func TestExportTimeoutBoundsAnExport(t *testing.T) {
	h := newHarness(t, func(o *config.Observability) { o.OTel.ExportTimeoutMS = 50 })
	client := h.client(nil)
	if _, err := client.Chat.Completions.New(context.Background(), chat("gpt-4o-mini")); err != nil {
		t.Fatal(err)
	}
	h.waitServed(1)
	release := h.rc.holdExports()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.tel.ForceFlush(ctx) }()
	<-h.rc.arrived
	select {
	case <-h.rc.abandoned:
	case <-time.After(5 * time.Second):
		t.Error("the exporter still waits on a hanging collector; export_timeout_ms had no effect")
	}
	cancel()
	release()
	<-done
}
