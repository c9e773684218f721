package app

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/version"
)

// Option adjusts how Run serves.
type Option func(*App)

// WithBanner makes the gateway print its startup banner to w once it
// listens: version, store, address, auth, each route with its upstream and
// the base URL an SDK needs, the exports to paste, and the warning (with
// its fix) when the gateway is open to the network. `ongoingai serve`
// prints it on stdout, apart from the log lines on stderr.
func WithBanner(w io.Writer) Option { return func(a *App) { a.banner = w } }

// EnvVar is one environment variable an SDK reads to find its API.
type EnvVar struct{ Name, Value string }

// GatewayURL is the address a client on this machine dials: wildcard
// listen addresses are not dialable everywhere, so they become localhost.
func GatewayURL(s config.Server) string {
	host := s.Host
	if isWildcardHost(host) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.Port))
}

// SDKBaseURL is the base URL an SDK for p's API format takes: the OpenAI
// SDKs expect the /v1 suffix in it, the Anthropic SDKs add it themselves.
func SDKBaseURL(gateway string, p config.Provider) string {
	if p.Format == config.FormatAnthropic {
		return gateway + p.Prefix
	}
	return gateway + p.Prefix + "/v1"
}

// SDKEnv is what the official SDKs read to find their API, for the
// providers named openai and anthropic.
func SDKEnv(cfg config.Config) []EnvVar {
	base := GatewayURL(cfg.Server)
	var vars []EnvVar
	if p, ok := cfg.Providers[config.ProviderOpenAI]; ok {
		vars = append(vars, EnvVar{"OPENAI_BASE_URL", SDKBaseURL(base, p)})
	}
	if p, ok := cfg.Providers[config.ProviderAnthropic]; ok {
		vars = append(vars, EnvVar{"ANTHROPIC_BASE_URL", SDKBaseURL(base, p)})
	}
	return vars
}

// IsLoopbackHost reports whether a listen host accepts connections from
// this machine only.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isWildcardHost(host string) bool {
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		return true
	}
	return false
}

// IsOpen reports the documented default that deserves a warning: auth off
// on an address other machines can reach.
func IsOpen(cfg config.Config) bool {
	return !cfg.Auth.Enabled && !IsLoopbackHost(cfg.Server.Host)
}

// OpenWarning says what an open gateway exposes and the two ways to close
// it. The banner, the log and `ongoingai doctor` all say the same.
func OpenWarning(s config.Server) string {
	where := s.Host
	if isWildcardHost(where) {
		where = "every interface (" + cmpOr(s.Host, "0.0.0.0") + ")"
	}
	return fmt.Sprintf("auth is off and the gateway listens on %s: anyone who can reach port %d can call "+
		"providers through it and read every trace at /api/traces; set auth.enabled: true "+
		"(README, Team mode) or server.host: 127.0.0.1", where, s.Port)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// announce tells the operator the gateway is up: the startup banner (with
// WithBanner) and one log record with the same facts, plus a warning
// record when the gateway is open to the network.
func (a *App) announce(addr net.Addr) {
	if a.banner != nil {
		writeBanner(a.banner, a.cfg, addr)
	}
	routes := make([]string, 0, len(a.cfg.Providers))
	for _, np := range a.cfg.Masked().SortedProviders() {
		routes = append(routes, np.Prefix+" -> "+np.Upstream)
	}
	a.log.Info("gateway listening", "addr", addr.String(), "storage", a.store.Driver(), "version", version.Version,
		"auth", a.cfg.Auth.Enabled, "routes", routes)
	if IsOpen(a.cfg) {
		a.log.Warn(OpenWarning(a.cfg.Server))
	}
}

// writeBanner writes the startup banner for a gateway listening on addr.
func writeBanner(w io.Writer, cfg config.Config, addr net.Addr) {
	// The port actually bound (server.port 0 would pick one).
	if tcp, ok := addr.(*net.TCPAddr); ok {
		cfg.Server.Port = tcp.Port
	}
	masked := cfg.Masked()
	b := &strings.Builder{}
	fmt.Fprintf(b, "OngoingAI Gateway %s", version.Version)
	if version.Commit != "" {
		fmt.Fprintf(b, " (commit %s)", version.Commit)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	listen := net.JoinHostPort(cfg.Server.Host, strconv.Itoa(cfg.Server.Port))
	switch {
	case isWildcardHost(cfg.Server.Host):
		listen += " (every interface)"
	case IsLoopbackHost(cfg.Server.Host):
		listen += " (this machine only)"
	}
	fmt.Fprintf(tw, "  listening\t%s\n", listen)
	switch masked.Storage.Driver {
	case config.DriverPostgres:
		fmt.Fprintf(tw, "  store\tpostgres %s\n", masked.Storage.DSN)
	default:
		fmt.Fprintf(tw, "  store\tsqlite %s\n", masked.Storage.Path)
	}
	if cfg.Auth.Enabled {
		fmt.Fprintf(tw, "  auth\ton: clients send a gateway key in %s\n", cfg.Auth.Header)
	} else {
		fmt.Fprintf(tw, "  auth\toff\n")
	}
	gw := GatewayURL(cfg.Server)
	for i, np := range masked.SortedProviders() {
		label := ""
		if i == 0 {
			label = "routes"
		}
		fmt.Fprintf(tw, "  %s\t%s\t-> %s\tSDK base URL %s\n", label, np.Prefix, np.Upstream, SDKBaseURL(gw, np.Provider))
	}
	_ = tw.Flush()
	if env := SDKEnv(cfg); len(env) > 0 {
		b.WriteString("\nPoint SDKs at it (or: eval \"$(ongoingai shell-init)\"):\n")
		for _, v := range env {
			fmt.Fprintf(b, "  export %s=%s\n", v.Name, v.Value)
		}
	}
	if IsOpen(cfg) {
		fmt.Fprintf(b, "\nWARNING: %s.\n", OpenWarning(cfg.Server))
	}
	b.WriteString("\n")
	_, _ = io.WriteString(w, b.String())
}
