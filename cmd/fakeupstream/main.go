// Command fakeupstream serves internal/fakeupstream, the fake OpenAI and
// Anthropic API, on its own: point a gateway's provider upstreams at it to
// try the gateway (or a collector behind it) without a provider account
// and without spending anything. docs/otel/run-collector.sh uses it.
//
//	go run ./cmd/fakeupstream -addr 127.0.0.1:8099
//	ONGOINGAI_OPENAI_UPSTREAM=http://127.0.0.1:8099 ONGOINGAI_ANTHROPIC_UPSTREAM=http://127.0.0.1:8099 ongoingai serve
//
// Responses report 11 input tokens and 5 output tokens unless a request's
// X-Fake-* headers say otherwise (see internal/fakeupstream). Any non-empty
// API key is accepted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "address to listen on")
	latency := flag.Duration("latency", 0, "delay before every response, like a model's time to first byte")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeupstream:", err)
		os.Exit(1)
	}
	// Recording off: a long-running fake must not keep request bodies.
	fake := fakeupstream.New(fakeupstream.Options{Latency: *latency, MaxRecorded: -1})
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "fakeupstream listening on http://%s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fake.Close()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "fakeupstream:", err)
		os.Exit(1)
	}
}
