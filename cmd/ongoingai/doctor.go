package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/internal/store/opener"
)

// Check statuses. Only fail changes the exit code: a warning is something
// an operator should read, not something that stops a deploy script.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
	statusSkip = "skip"
)

// doctorCheck is one line of the report (and one element of its JSON).
type doctorCheck struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
}

// doctorReport is the whole report; its JSON form is for scripts and CI.
type doctorReport struct {
	OK     bool          `json:"ok"`
	Checks []doctorCheck `json:"checks"`
}

func doctorCmd(c *cli, args []string) int {
	f := newFlags("doctor", "ongoingai doctor [--config FILE] [--format text|json] [--timeout DURATION] [--allow-open]",
		"Checks that the gateway can run with this configuration: the config is\n"+
			"valid, the store opens (pending migrations are applied, as serve would;\n"+
			"a store migrated past this binary fails),\n"+
			"every provider route is well formed, auth is not off on a public address,\n"+
			"and the OTLP collector answers. Exits 1 when a check fails; warnings\n"+
			"do not change the exit code. Auth off on an address other machines can\n"+
			"reach fails the auth check unless --allow-open says that is intended\n"+
			"(a firewall or a loopback-only port mapping keeps the port private).")
	cf := f.configFlag()
	format := f.String("format", "text", "output `FORMAT`: text or json")
	timeout := f.Duration("timeout", 5*time.Second, "give each network check at most `DURATION`")
	allowOpen := f.Bool("allow-open", false, "accept auth off on a non-loopback address (a warning instead of a failure)")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(c.stderr, "ongoingai doctor: --format must be text or json, got %q\n", *format)
		return exitUsage
	}

	rep := runDoctor(c, cf, *timeout, *allowOpen)
	if *format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printDoctorText(c, rep)
	}
	if !rep.OK {
		return exitFail
	}
	return exitOK
}

// runDoctor runs every check in order. A broken configuration stops the
// rest, since each of them reads it.
func runDoctor(c *cli, cf *configFlag, timeout time.Duration, allowOpen bool) doctorReport {
	var rep doctorReport
	cfg, chk := checkConfig(c, cf)
	rep.Checks = append(rep.Checks, chk)
	if chk.Status == statusFail {
		for _, name := range []string{"storage", "routes", "auth", "otel"} {
			rep.Checks = append(rep.Checks, doctorCheck{Name: name, Status: statusSkip, Message: "configuration is invalid"})
		}
	} else {
		rep.Checks = append(rep.Checks,
			checkStorage(cfg, timeout),
			checkRoutes(cfg),
			checkAuth(cfg, allowOpen),
			checkOTLP(cfg, timeout),
		)
	}
	rep.OK = true
	for _, ch := range rep.Checks {
		if ch.Status == statusFail {
			rep.OK = false
		}
	}
	return rep
}

func checkConfig(c *cli, cf *configFlag) (config.Config, doctorCheck) {
	chk := doctorCheck{Name: "config"}
	source := "built-in defaults and environment (no " + cf.path + ")"
	if _, err := os.Stat(cf.path); err == nil || cf.explicit {
		source = cf.path
	}
	cfg, err := config.Load(cf.path, cf.explicit, c.getenv)
	if err != nil {
		chk.Status, chk.Message = statusFail, source+": invalid"
		chk.Details = strings.Split(err.Error(), "\n")
		return cfg, chk
	}
	chk.Status, chk.Message = statusOK, source+": valid"
	return cfg, chk
}

// checkStorage opens the store exactly as serve does (within
// storage.connect_timeout), which applies any pending migrations, then
// pings it. A SQLite file that does not exist yet is created, as serve
// would create it.
func checkStorage(cfg config.Config, timeout time.Duration) doctorCheck {
	chk := doctorCheck{Name: "storage"}
	// Migrations may take longer than a network check; give them room.
	ctx, cancel := context.WithTimeout(context.Background(), max(timeout, 30*time.Second))
	defer cancel()

	target := "sqlite " + cfg.Storage.Path
	created := false
	if cfg.Storage.Driver == config.DriverPostgres {
		target = "postgres " + cfg.Masked().Storage.DSN
	} else {
		_, statErr := os.Stat(cfg.Storage.Path)
		created = errors.Is(statErr, fs.ErrNotExist)
	}
	start := time.Now()
	st, err := opener.Open(ctx, cfg.Storage)
	if err != nil {
		// The target already names the store; the cause is what follows
		// Open's "storage (driver ...)" prefix.
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		chk.Status, chk.Message = statusFail, target+": "+err.Error()
		return chk
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		chk.Status, chk.Message = statusFail, target+": opened but ping failed: "+err.Error()
		return chk
	}
	chk.Status = statusOK
	chk.Message = fmt.Sprintf("%s: connected, migrations up to date (%s)", target, time.Since(start).Round(time.Millisecond))
	if created {
		chk.Message += "; the database file did not exist and was created"
	}
	return chk
}

// checkRoutes confirms that every provider can be mounted: its prefix is a
// clean path, its upstream parses to an http(s) URL with a host and its
// format has an adapter.
func checkRoutes(cfg config.Config) doctorCheck {
	chk := doctorCheck{Name: "routes", Status: statusOK}
	masked := cfg.Masked()
	broken := 0
	for _, np := range masked.SortedProviders() {
		line := fmt.Sprintf("%-10s %s -> %s (%s)", np.Name, np.Prefix, np.Upstream, np.Format)
		var problems []string
		if !strings.HasPrefix(np.Prefix, "/") || np.Prefix == "/" {
			problems = append(problems, "prefix must be an absolute path other than /")
		}
		if u, err := url.Parse(cfg.Providers[np.Name].Upstream); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			problems = append(problems, "upstream is not an http(s) URL with a host")
		}
		if _, ok := providers.ForFormat(np.Format); !ok {
			problems = append(problems, "no adapter for format "+strconv.Quote(np.Format))
		}
		if len(problems) > 0 {
			broken++
			line += ": " + strings.Join(problems, "; ")
		}
		chk.Details = append(chk.Details, line)
	}
	chk.Message = fmt.Sprintf("%d providers", len(chk.Details))
	if broken > 0 {
		chk.Status = statusFail
		chk.Message = fmt.Sprintf("%d of %d providers cannot be routed", broken, len(chk.Details))
	}
	return chk
}

// checkAuth fails when the gateway would accept anyone: auth off on an
// address other machines can reach lets them call providers through it
// and read every trace. It is the documented default, so the gateway still
// starts (and says so in its banner); --allow-open turns the failure into
// a warning for deployments that keep the port private another way.
func checkAuth(cfg config.Config, allowOpen bool) doctorCheck {
	chk := doctorCheck{Name: "auth"}
	host := cfg.Server.Host
	loopback := app.IsLoopbackHost(host)
	switch {
	case cfg.Auth.Enabled:
		chk.Status = statusOK
		chk.Message = fmt.Sprintf("enabled (header %s, %d static keys)", cfg.Auth.Header, len(cfg.Auth.Keys))
	case loopback:
		chk.Status = statusOK
		chk.Message = "disabled, but the gateway listens on loopback (" + host + ") only"
	default:
		chk.Status = statusFail
		if allowOpen {
			chk.Status = statusWarn
		}
		chk.Message = app.OpenWarning(cfg.Server)
		if !allowOpen {
			chk.Message += "; or pass --allow-open if a firewall keeps the port private"
		}
		if p := cfg.Observability.Prometheus; p.Enabled && p.Listen == "" {
			chk.Details = append(chk.Details, "metrics at "+p.Path+" are public too; consider observability.prometheus.listen")
		}
	}
	return chk
}

// checkOTLP dials the collector. It is a TCP check, not an export: it
// proves the address answers without sending telemetry anywhere.
func checkOTLP(cfg config.Config, timeout time.Duration) doctorCheck {
	chk := doctorCheck{Name: "otel"}
	o := cfg.Observability.OTel
	if !o.Enabled || (!o.TracesEnabled && !o.MetricsEnabled) {
		chk.Status, chk.Message = statusSkip, "OTLP export is disabled"
		return chk
	}
	// The URL the exporters use, so the doctor dials what the gateway
	// would export to.
	u, err := url.Parse(o.EndpointURL())
	if err != nil || u.Hostname() == "" {
		chk.Status, chk.Message = statusFail, "observability.otel.endpoint is not a URL with a host"
		return chk
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	shown := cfg.Masked().Observability.OTel.Endpoint
	if shown == "" {
		shown = config.DefaultOTLPEndpoint + " (default)"
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		chk.Status = statusFail
		chk.Message = fmt.Sprintf("collector %s is not reachable at %s: %v; spans and metrics would be dropped (requests are unaffected)", shown, addr, err)
		return chk
	}
	conn.Close()
	var signals []string
	if o.TracesEnabled {
		signals = append(signals, "traces")
	}
	if o.MetricsEnabled {
		signals = append(signals, "metrics")
	}
	chk.Status = statusOK
	chk.Message = fmt.Sprintf("collector %s reachable (%s, sampling ratio %g)", shown, strings.Join(signals, " and "), o.SamplingRatio)
	return chk
}

func printDoctorText(c *cli, rep doctorReport) {
	counts := map[string]int{}
	for _, ch := range rep.Checks {
		counts[ch.Status]++
		fmt.Fprintf(c.stdout, "%-5s %-8s %s\n", ch.Status, ch.Name, ch.Message)
		for _, d := range ch.Details {
			fmt.Fprintf(c.stdout, "               %s\n", d)
		}
	}
	fmt.Fprintf(c.stdout, "\n%d ok, %s, %d failed, %d skipped\n",
		counts[statusOK], plural(counts[statusWarn], "warning", "warnings"), counts[statusFail], counts[statusSkip])
}
