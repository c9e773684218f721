package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofServer serves net/http/pprof on a listener of its own, opted into
// with debug.pprof_addr (loopback only; config validation enforces it).
// Profiles expose internals and cost CPU while they run, so they are never
// mounted on the gateway's main listener. (Importing net/http/pprof also
// registers its handlers on http.DefaultServeMux; nothing in the gateway
// serves that mux.)
type pprofServer struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// startPprof listens on addr and serves the pprof index and profiles in
// the background; an empty addr starts nothing and returns nil.
func startPprof(addr string, logger *slog.Logger) (*pprofServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s := &pprofServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		addr: ln.Addr(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof listener stopped", "err", err)
		}
	}()
	logger.Info("pprof listening", "addr", s.addr.String())
	return s, nil
}

// shutdown stops the listener; a profile still being taken is cut short
// when ctx ends. It is a no-op on nil.
func (s *pprofServer) shutdown(ctx context.Context) {
	if s == nil {
		return
	}
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
	<-s.done
}
