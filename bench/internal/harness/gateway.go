package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
)

// The gateway under test runs in its own process, so its RSS and CPU can be
// read apart from the load generator's. Two launchers exist:
//
//   - "build" compiles ./cmd/ongoingai and runs `ongoingai serve`: the
//     binary users run, used for every reported figure;
//   - "self" re-executes the harness binary in the gateway role (below),
//     which runs the same app.Run as `ongoingai serve` and also samples
//     mutex and block events: used for profiles, and by the harness's own
//     test, which must not spend a minute compiling.
//
// Either way, profiles come from the gateway's own pprof listener
// (debug.pprof_addr, set through ONGOINGAI_PPROF_ADDR on a free loopback
// port).

const (
	envRole          = "ONGOINGAI_BENCH_ROLE"
	envRelayAddr     = "ONGOINGAI_BENCH_RELAY_ADDR"
	envRelayUpstream = "ONGOINGAI_BENCH_RELAY_UPSTREAM"
	roleGateway      = "gateway"
	roleRelay        = "relay"
	rolePipe         = "pipe"
)

// RunRole runs this process as a helper role when the harness started it as
// one, and reports whether it did; main functions and TestMain call it
// first and exit with the returned code when it reports true.
func RunRole() (code int, ran bool) {
	var err error
	switch os.Getenv(envRole) {
	case roleGateway:
		err = serveGatewayRole()
	case roleRelay:
		err = serveRelayRole()
	case rolePipe:
		err = servePipeRole()
	default:
		return 0, false
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench "+os.Getenv(envRole)+":", err)
		return 1, true
	}
	return 0, true
}

// serveGatewayRole is `ongoingai serve`: it loads the configuration
// exactly as the CLI does (defaults, then the environment) and runs
// app.Run. When the configuration opts into pprof (debug.pprof_addr), it
// also turns on the sampling of mutex contention and blocking, which
// `ongoingai serve` leaves off, so that the profiles served there include
// them.
func serveGatewayRole() error {
	cfg, err := config.Load(filepath.Join(os.TempDir(), "ongoingai-bench-no-config.yaml"), false, os.LookupEnv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.Debug.PprofAddr != "" {
		// Sampled, so that contention shows without costing much: one
		// mutex event in 20, block events of 10 µs or longer.
		runtime.SetMutexProfileFraction(20)
		runtime.SetBlockProfileRate(int(10 * time.Microsecond))
	}
	return app.Run(ctx, cfg, logger)
}

// serveRelayRole is the control the gateway is compared with besides the
// direct baseline: the least any Go reverse proxy in its own process costs,
// httputil.ReverseProxy with a keep-alive pool and nothing else (no body
// reading, no usage parsing, no traces). Gateway minus relay is what the
// gateway's own work adds; relay minus pipe (servePipeRole) is what any Go
// HTTP proxy adds to the bare hop.
func serveRelayRole() error {
	target, err := url.Parse(os.Getenv(envRelayUpstream))
	if err != nil {
		return err
	}
	rp := &httputil.ReverseProxy{
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Rewrite: func(pr *httputil.ProxyRequest) {
			path := pr.In.URL.Path
			for _, prefix := range []string{"/openai/", "/anthropic/"} {
				if strings.HasPrefix(path, prefix) {
					path = path[len(prefix)-1:]
					break
				}
			}
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.URL.Path, pr.Out.URL.RawPath = path, ""
			pr.Out.Host = ""
		},
	}
	// The request body is read whole before forwarding, as the gateway
	// does. Streaming it instead races with the answer: once the upstream
	// has answered, writing the response headers closes the inbound body
	// while the transport may still read it, and the transport then drops
	// the upstream connection mid-response (golang/go#40747), which under
	// load cut about one relayed stream in five hundred.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", os.Getenv(envRelayAddr))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// servePipeRole is the floor under the relay: a TCP pipe in its own
// process that copies bytes between each client connection and a
// connection of its own to the upstream, without parsing HTTP at all. No
// proxy in its own process can do less, so pipe minus direct is what the
// extra process and loopback hop cost by themselves, and relay minus pipe
// is what HTTP parsing and re-encoding add to that.
func servePipeRole() error {
	upstream, err := url.Parse(os.Getenv(envRelayUpstream))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", os.Getenv(envRelayAddr))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		in, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer in.Close()
			out, err := net.Dial("tcp", upstream.Host)
			if err != nil {
				return
			}
			defer out.Close()
			// Both directions until either side closes; closing both
			// connections then ends the other copy.
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
			go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
			<-done
		}()
	}
}

// startRelay launches the relay role on a free loopback port.
func startRelay(ctx context.Context, upstream, dir string) (*gateway, error) {
	return startHelper(ctx, roleRelay, upstream, dir)
}

// startPipe launches the TCP pipe role on a free loopback port.
func startPipe(ctx context.Context, upstream, dir string) (*gateway, error) {
	return startHelper(ctx, rolePipe, upstream, dir)
}

// startHelper re-executes this binary in role (the relay or the pipe) on a
// free loopback port, in front of upstream.
func startHelper(ctx context.Context, role, upstream, dir string) (*gateway, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan error, 1), client: &http.Client{Timeout: 10 * time.Second}}
	cmd := exec.Command(self)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envRole+"="+role, envRelayAddr+"="+g.url[len("http://"):], envRelayUpstream+"="+upstream)
	g.logPath = filepath.Join(dir, role+".log")
	if g.logFile, err = os.Create(g.logPath); err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = g.logFile, g.logFile
	if err := cmd.Start(); err != nil {
		g.logFile.Close()
		return nil, err
	}
	g.cmd, g.pid = cmd, cmd.Process.Pid
	go func() { g.exited <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", g.url[len("http://"):], time.Second)
		if err == nil {
			c.Close()
			return g, nil
		}
		select {
		case err := <-g.exited:
			g.exited <- err
			g.logFile.Close()
			return nil, fmt.Errorf("%s exited during start-up (%v): %s", role, err, tail(g.logPath, 10))
		case <-ctx.Done():
			g.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("%s did not listen within 30s", role)
		}
	}
}

// memStats is the allocation counters the profile section divides by the
// number of calls.
type memStats struct {
	Mallocs    uint64
	TotalAlloc uint64
	NumGC      uint32
}

// parseMemStats reads the runtime.MemStats that net/http/pprof appends to
// the text form of the heap and allocs profiles (?debug=1).
func parseMemStats(text []byte) (memStats, error) {
	var m memStats
	var seen int
	for _, line := range strings.Split(string(text), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "Mallocs":
			m.Mallocs, seen = n, seen+1
		case "TotalAlloc":
			m.TotalAlloc, seen = n, seen+1
		case "NumGC":
			m.NumGC, seen = uint32(n), seen+1
		}
	}
	if seen != 3 {
		return m, errors.New("no runtime.MemStats in the allocs profile's text form")
	}
	return m, nil
}

// gatewaySpec says how to start one gateway process.
type gatewaySpec struct {
	binary   string // the ongoingai binary, or "" for the self role
	driver   string
	path     string // sqlite file
	dsn      string // postgres
	upstream string
	pprof    bool // serve pprof on a second loopback port (debug.pprof_addr)
	dir      string
	env      []string // further ONGOINGAI_* settings
}

// gateway is a running gateway process.
type gateway struct {
	cmd      *exec.Cmd
	pid      int
	url      string
	pprofURL string
	logPath  string
	logFile  *os.File
	exited   chan error
	client   *http.Client
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startGateway launches the gateway and waits until /api/health answers.
func startGateway(ctx context.Context, s gatewaySpec) (*gateway, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env := []string{}
	for _, kv := range os.Environ() {
		// The gateway's configuration comes from this spec alone.
		if !strings.HasPrefix(kv, "ONGOINGAI_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"ONGOINGAI_HOST=127.0.0.1",
		fmt.Sprintf("ONGOINGAI_PORT=%d", port),
		"ONGOINGAI_STORAGE_DRIVER="+s.driver,
		"ONGOINGAI_OPENAI_UPSTREAM="+s.upstream,
		"ONGOINGAI_ANTHROPIC_UPSTREAM="+s.upstream,
	)
	if s.driver == "postgres" {
		env = append(env, "ONGOINGAI_STORAGE_DSN="+s.dsn)
	} else {
		env = append(env, "ONGOINGAI_STORAGE_PATH="+s.path)
	}
	g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan error, 1)}
	var cmd *exec.Cmd
	if s.binary != "" {
		cmd = exec.Command(s.binary, "serve")
	} else {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(self)
		env = append(env, envRole+"="+roleGateway)
	}
	if s.pprof {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", pp)
		env = append(env, "ONGOINGAI_PPROF_ADDR="+addr)
		g.pprofURL = "http://" + addr
	}
	env = append(env, s.env...)
	// A directory of its own, so no stray ongoingai.yaml is picked up.
	cmd.Dir = s.dir
	cmd.Env = env
	g.logPath = filepath.Join(s.dir, "gateway.log")
	if g.logFile, err = os.Create(g.logPath); err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = g.logFile, g.logFile
	if err := cmd.Start(); err != nil {
		g.logFile.Close()
		return nil, err
	}
	g.cmd, g.pid = cmd, cmd.Process.Pid
	go func() { g.exited <- cmd.Wait() }()
	g.client = &http.Client{Timeout: 10 * time.Second}

	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := g.health(ctx); err == nil {
			return g, nil
		}
		select {
		case err := <-g.exited:
			g.exited <- err
			g.logFile.Close()
			return nil, fmt.Errorf("gateway exited during start-up (%v); log tail:\n%s", err, tail(g.logPath, 20))
		case <-ctx.Done():
			g.stop()
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("gateway did not answer /api/health within 90s; log tail:\n%s", tail(g.logPath, 20))
		}
	}
}

// healthQueue is the part of /api/health the harness reads.
type healthQueue struct {
	Depth    int   `json:"depth"`
	Written  int64 `json:"written_total"`
	Dropped  int64 `json:"dropped_total"`
	Failures int64 `json:"write_failures_total"`
	Lost     int64 `json:"lost_total"`
}

func (g *gateway) health(ctx context.Context) (healthQueue, error) {
	var h struct {
		Queue healthQueue `json:"queue"`
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.url+"/api/health", nil)
	resp, err := g.client.Do(req)
	if err != nil {
		return h.Queue, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h.Queue, fmt.Errorf("/api/health: HTTP %d", resp.StatusCode)
	}
	return h.Queue, json.NewDecoder(resp.Body).Decode(&h)
}

// waitWritten polls /api/health until at least want traces are written or
// nothing has moved for a while, and returns the last reading. The writer
// flushes every 50 ms, so a few seconds of stillness means it is done.
func (g *gateway) waitWritten(ctx context.Context, want int64) (healthQueue, error) {
	var last healthQueue
	still := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for {
		h, err := g.health(ctx)
		if err != nil {
			return last, err
		}
		if h.Written >= want && h.Depth == 0 {
			return h, nil
		}
		if h != last {
			last, still = h, time.Now()
		}
		if time.Since(still) > 3*time.Second || time.Now().After(deadline) {
			return h, nil
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (g *gateway) mem() (memInfo, error) { return readMem(g.pid) }

// stop asks the gateway to drain and exit (SIGTERM, as an orchestrator
// would), and kills it if it has not within a minute.
func (g *gateway) stop() error {
	if g.cmd == nil {
		return nil
	}
	defer g.logFile.Close()
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.exited:
		g.exited <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("gateway exited with %v; log tail:\n%s", err, tail(g.logPath, 10))
		}
		return err
	case <-time.After(time.Minute):
		_ = g.cmd.Process.Kill()
		return errors.New("gateway did not stop within a minute of SIGTERM; killed")
	}
}

// memStats reads the gateway's allocation counters from its pprof
// listener.
func (g *gateway) memStats(ctx context.Context) (memStats, error) {
	if g.pprofURL == "" {
		return memStats{}, errors.New("no pprof endpoint")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.pprofURL+"/debug/pprof/allocs?debug=1", nil)
	resp, err := g.client.Do(req)
	if err != nil {
		return memStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return memStats{}, fmt.Errorf("allocs profile: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return memStats{}, err
	}
	return parseMemStats(b)
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// buildGateway compiles ./cmd/ongoingai into dir, the way `make build` does.
func buildGateway(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "ongoingai")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./cmd/ongoingai")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/ongoingai: %v\n%s", err, b)
	}
	return out, nil
}

// gatewayModule is the module the harness measures; bench is a module of
// its own inside it.
const gatewayModule = "github.com/ongoingai/gateway"

// moduleRoot finds the gateway's repository: the nearest directory, from
// the working directory upwards, whose go.mod declares gatewayModule.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == gatewayModule {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + gatewayModule + " above the working directory: run the harness from the repository")
		}
		dir = parent
	}
}
