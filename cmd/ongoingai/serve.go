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
)

func serveCmd(c *cli, args []string) int {
	f := newFlags("serve", "ongoingai serve [--config FILE]",
		"Runs the gateway until SIGINT or SIGTERM, then drains in-flight requests\n"+
			"and queued traces before exiting.")
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, logger); err != nil {
		fmt.Fprintf(c.stderr, "ongoingai serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

// newLogger builds the process logger. The level and format were validated
// with the config, so the fallbacks here only guard hand-built configs.
func newLogger(w io.Writer, lc config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
