package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/telemetry"
)

func serveCmd(c *cli, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, c, args)
}

// runServe is the serve command with its lifetime given by ctx: the
// command cancels it on SIGINT or SIGTERM, tests cancel it themselves.
func runServe(ctx context.Context, c *cli, args []string) int {
	f := newFlags("serve", "ongoingai serve [--config FILE]",
		"Runs the gateway until SIGINT or SIGTERM (Ctrl-C, or kill %1 when started\n"+
			"with & in an interactive shell), then drains in-flight requests and queued\n"+
			"traces before exiting. Once listening it prints a banner on stdout: version,\n"+
			"store, address, routes and the SDK base URLs to export; logs go to stderr.")
	cf := f.configFlag()
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	cfg, ok := c.loadConfig("serve", cf)
	if !ok {
		return exitFail
	}

	logger := newLogger(c.stderr, cfg.Observability.Log)
	// The process-wide default too, so that a library logging through slog
	// or the standard log package writes the same JSON lines, not a
	// second format on the same stream.
	slog.SetDefault(logger)
	if err := app.Run(ctx, cfg, logger, app.WithBanner(c.stdout)); err != nil {
		fmt.Fprintf(c.stderr, "ongoingai serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

// newLogger builds the process logger: telemetry.NewLogger, so that every
// line logged with a request's context carries its request_id, trace_id
// and span_id, at the configured level and format (validated with the
// config; unknown values fall back to info and JSON).
func newLogger(w io.Writer, lc config.Log) *slog.Logger {
	return telemetry.NewLogger(lc, w)
}
