package jobs

import (
	"context"
	"log/slog"
)

// riverLogger is the logger handed to River's client and migrator. River
// reports its own housekeeping at info: "Producer job counts" every minute,
// "Driver does not support listener; entering poll only mode" on SQLite,
// each migration it applies, client start and stop. None of it asks
// anything of an operator, and at info it buries the gateway's own lines,
// so River's info records are demoted to debug; its warnings and errors
// keep their level. The gateway's own job logs (retention, key expiry)
// do not go through this logger and stay at info.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(demoteInfo{l.Handler()})
}

// demoteInfo is a slog.Handler that passes info records on as debug.
type demoteInfo struct{ next slog.Handler }

func demote(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

func (h demoteInfo) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, demote(l))
}

func (h demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return h.next.Handle(ctx, r)
}

func (h demoteInfo) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteInfo{h.next.WithAttrs(attrs)}
}

func (h demoteInfo) WithGroup(name string) slog.Handler {
	return demoteInfo{h.next.WithGroup(name)}
}
