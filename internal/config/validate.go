package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FieldError is one broken rule: the dotted path of the field (as written
// in YAML, e.g. "providers.openai.prefix" or "auth.keys[2].role") and the
// rule it broke. Error() reads "path: rule".
type FieldError struct {
	Path string
	Rule string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Path + ": " + e.Rule }

// reservedPaths belong to the gateway itself; a provider prefix overlapping
// one would shadow the API, the console or the metrics endpoint.
var reservedPaths = []string{"/api", "/console", "/metrics"}

// Roles and permissions a static key may carry. They mirror the RBAC
// model; config checks them so that a typo fails at startup, not at the
// first denied request.
var (
	validRoles       = []string{"owner", "admin", "developer", "member", "viewer", "operator"}
	validPermissions = []string{"proxy:write", "analytics:read", "keys:manage", "workspaces:manage", "audit:read", "installation:read"}
	validLogLevels   = []string{"debug", "info", "warn", "error"}
	validLogFormats  = []string{"json", "text"}
	// providerCredentialHeaders carry provider API keys; auth.header may
	// not be one of them.
	providerCredentialHeaders = []string{"Authorization", "x-api-key", "api-key", "x-goog-api-key", "Proxy-Authorization"}
)

// Validate checks every rule and returns all failures at once, joined with
// errors.Join, each a *FieldError. The order is stable: sections in the
// order of the Config struct, providers and price overrides by name, keys by
// position. A nil result means the configuration is safe to run with.
func (c Config) Validate() error {
	v := &validator{}
	c.validateServer(v)
	c.validateStorage(v)
	c.validateProviders(v)
	c.validateProxy(v)
	c.validateTracing(v)
	c.validatePricing(v)
	c.validateAuth(v)
	c.validateConsole(v)
	c.validatePII(v)
	c.validateObservability(v)
	c.validateRetention(v)
	c.validateLimits(v)
	c.validateDebug(v)
	return errors.Join(v.errs...)
}

// validator collects failures in the order they are found.
type validator struct {
	errs []error
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Rule: fmt.Sprintf(format, args...)})
}

func (v *validator) positive(path string, n int64) {
	if n <= 0 {
		v.add(path, "must be positive")
	}
}

func (v *validator) positiveDuration(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration")
	}
}

func (v *validator) oneOf(path, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		v.add(path, "must be one of %s, got %q", quoteList(allowed), value)
	}
}

func (c Config) validateServer(v *validator) {
	// A colon outside an IPv6 literal is the common mistake of writing
	// "0.0.0.0:8080" into host.
	h := c.Server.Host
	if strings.ContainsAny(h, " \t/") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
		v.add("server.host", "must be a host name or IP address without a port")
	}
	if c.Server.Port < 1 || c.Server.Port > 65535 {
		v.add("server.port", "must be between 1 and 65535")
	}
	v.positiveDuration("server.shutdown_timeout", c.Server.ShutdownTimeout)
	v.positiveDuration("server.read_body_timeout", c.Server.ReadBodyTimeout)
	v.positiveDuration("server.trace_drain_timeout", c.Server.TraceDrainTimeout)
}

func (c Config) validateStorage(v *validator) {
	switch c.Storage.Driver {
	case DriverSQLite:
		if c.Storage.Path == "" {
			v.add("storage.path", "required when storage.driver is %q", DriverSQLite)
		}
	case DriverPostgres:
		if c.Storage.DSN == "" {
			v.add("storage.dsn", "required when storage.driver is %q", DriverPostgres)
		}
	default:
		v.add("storage.driver", "must be %q or %q", DriverSQLite, DriverPostgres)
	}
	v.positiveDuration("storage.connect_timeout", c.Storage.ConnectTimeout)
	v.positiveDuration("storage.read_timeout", c.Storage.ReadTimeout)
	v.positiveDuration("storage.health_interval", c.Storage.HealthInterval)
}

func (c Config) validateProviders(v *validator) {
	if len(c.Providers) == 0 {
		v.add("providers", "at least one provider is required")
		return
	}
	// Overlaps are checked only between prefixes that are well-formed on
	// their own, so one typo does not produce a cascade of messages.
	var routable []NamedProvider
	for _, np := range c.SortedProviders() {
		base := "providers." + np.Name
		if !validProviderName(np.Name) {
			v.add("providers", "name %q must contain only lowercase letters, digits, \"-\" and \"_\", starting with a letter or digit", np.Name)
		}
		validUpstream(v, base+".upstream", np.Upstream, true)
		if validPrefix(v, base+".prefix", np.Prefix) {
			routable = append(routable, np)
		}
		if np.Format != FormatOpenAI && np.Format != FormatAnthropic {
			v.add(base+".format", "must be %q or %q", FormatOpenAI, FormatAnthropic)
		}
	}

	reserved := reservedPaths
	if p := c.Observability.Prometheus; p.Enabled && p.Listen == "" && !slices.Contains(reserved, p.Path) {
		reserved = append(slices.Clone(reserved), p.Path)
	}
	for i, a := range routable {
		for _, r := range reserved {
			if prefixesOverlap(a.Prefix, r) {
				v.add("providers."+a.Name+".prefix", "overlaps reserved path %q", r)
			}
		}
		for _, b := range routable[i+1:] {
			if !prefixesOverlap(a.Prefix, b.Prefix) {
				continue
			}
			// Blame the extra provider when a built-in is involved: the
			// user added it, so it is the one to move.
			blamed, other := a, b
			if isBuiltinProvider(a.Name) && !isBuiltinProvider(b.Name) {
				blamed, other = b, a
			}
			v.add("providers."+blamed.Name+".prefix", "overlaps providers.%s.prefix %q", other.Name, other.Prefix)
		}
	}
}

func isBuiltinProvider(name string) bool {
	return name == ProviderOpenAI || name == ProviderAnthropic
}

// validProviderName keeps names usable as metric labels, log fields and
// path segments of error messages.
func validProviderName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validUpstream checks an absolute http(s) URL; upstreams and the OTLP
// endpoint share the rule.
func validUpstream(v *validator, field, raw string, required bool) {
	if raw == "" {
		if required {
			v.add(field, "required")
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		v.add(field, "must be an absolute URL with scheme and host")
		return
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		v.add(field, "must use scheme \"http\" or \"https\"")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		v.add(field, "must not have a query or fragment")
	}
}

// validPrefix reports whether p can be routed: a clean absolute path of
// URL-safe characters, other than "/" itself (which would swallow every
// gateway route).
func validPrefix(v *validator, field, p string) bool {
	switch {
	case p == "":
		v.add(field, "required")
	case !strings.HasPrefix(p, "/"):
		v.add(field, "must start with \"/\"")
	case p == "/":
		v.add(field, "must not be \"/\"")
	case !prefixCharsOK(p):
		v.add(field, "must contain only letters, digits, \"-\", \"_\", \".\", \"~\" and \"/\"")
	case path.Clean(p) != p:
		v.add(field, "must be a clean path (no trailing \"/\", \"//\", \".\" or \"..\" segments)")
	default:
		return true
	}
	return false
}

func prefixCharsOK(p string) bool {
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.~/", r):
		default:
			return false
		}
	}
	return true
}

// prefixesOverlap reports whether one clean path is the other or an
// ancestor of it segment by segment: "/openai" overlaps "/openai/v2" but
// not "/openaix".
func prefixesOverlap(a, b string) bool {
	return a == b || strings.HasPrefix(b, a+"/") || strings.HasPrefix(a, b+"/")
}

func (c Config) validateProxy(v *validator) {
	p := c.Proxy
	v.positive("proxy.max_request_body_bytes", p.MaxRequestBodyBytes)
	v.positiveDuration("proxy.dial_timeout", p.DialTimeout)
	v.positiveDuration("proxy.tls_handshake_timeout", p.TLSHandshakeTimeout)
	v.positiveDuration("proxy.response_header_timeout", p.ResponseHeaderTimeout)
	v.positiveDuration("proxy.idle_conn_timeout", p.IdleConnTimeout)
	v.positive("proxy.max_idle_conns_per_host", int64(p.MaxIdleConnsPerHost))
}

func (c Config) validateTracing(v *validator) {
	t := c.Tracing
	v.positive("tracing.body_max_size", t.BodyMaxSize)
	v.positive("tracing.queue_size", int64(t.QueueSize))
	v.positive("tracing.batch_size", int64(t.BatchSize))
	v.positiveDuration("tracing.flush_interval", t.FlushInterval)
	// A batch larger than the queue could never fill, so the writer would
	// only ever flush on the timer.
	if t.QueueSize > 0 && t.BatchSize > t.QueueSize {
		v.add("tracing.batch_size", "must not exceed tracing.queue_size (%d)", t.QueueSize)
	}
	validCaptureHeaders(v, t.CaptureHeaders)
	if t.Spool.Dir != "" {
		v.positive("tracing.spool.max_bytes", t.Spool.MaxBytes)
	}
}

// CaptureAllHeaders is the tracing.capture_headers entry that stores every
// header.
const CaptureAllHeaders = "*"

// validCaptureHeaders accepts header names, each once (names are
// case-insensitive), or CaptureAllHeaders alone.
func validCaptureHeaders(v *validator, names []string) {
	first := map[string]int{}
	for i, h := range names {
		field := fmt.Sprintf("tracing.capture_headers[%d]", i)
		switch {
		case h == CaptureAllHeaders:
			if len(names) > 1 {
				v.add(field, "%q (every header) must be the only entry", CaptureAllHeaders)
			}
		case !validHeaderName(h):
			v.add(field, "%q is not a valid HTTP header name", h)
		default:
			canon := strings.ToLower(h)
			if j, dup := first[canon]; dup {
				v.add(field, "duplicates tracing.capture_headers[%d] (header names are case-insensitive)", j)
			} else {
				first[canon] = i
			}
		}
	}
}

func (c Config) validatePricing(v *validator) {
	// The file's content is checked when the gateway loads it (every
	// invalid entry named); here, only that the setting is usable.
	if c.Pricing.CatalogFile != "" && strings.TrimSpace(c.Pricing.CatalogFile) != c.Pricing.CatalogFile {
		v.add("pricing.catalog_file", "must be a path without surrounding spaces")
	}
	models := make([]string, 0, len(c.Pricing.Overrides))
	for m := range c.Pricing.Overrides {
		models = append(models, m)
	}
	slices.Sort(models)
	for _, m := range models {
		if strings.TrimSpace(m) == "" {
			v.add("pricing.overrides", "model names must not be empty")
			continue
		}
		p := c.Pricing.Overrides[m]
		base := "pricing.overrides." + m
		for _, f := range []struct {
			name  string
			value float64
		}{
			{"input", p.Input}, {"output", p.Output}, {"cached_input", p.CachedInput},
			{"cache_write", p.CacheWrite}, {"reasoning", p.Reasoning},
		} {
			if !(f.value >= 0) || math.IsInf(f.value, 1) {
				v.add(base+"."+f.name, "must be a finite number not below 0")
			}
		}
	}
}

func (c Config) validateAuth(v *validator) {
	if !validHeaderName(c.Auth.Header) {
		v.add("auth.header", "must be a valid HTTP header name")
	} else if slices.ContainsFunc(providerCredentialHeaders, func(h string) bool { return strings.EqualFold(h, c.Auth.Header) }) {
		// The proxy forwards these to the provider and the guard reads the
		// provider credential from them: a gateway key there would be sent
		// upstream, so every proxied call would be refused (401).
		v.add("auth.header", "must not be a provider credential header (%s): the gateway key needs a header of its own", quoteList(providerCredentialHeaders))
	}
	idAt := map[string]int{}
	tokenAt := map[string]int{}
	for i, k := range c.Auth.Keys {
		base := fmt.Sprintf("auth.keys[%d]", i)
		for _, f := range []struct{ name, value string }{
			{"id", k.ID}, {"token", k.Token}, {"org_id", k.OrgID}, {"workspace_id", k.WorkspaceID},
		} {
			if f.value == "" {
				v.add(base+"."+f.name, "required")
			}
		}
		if k.ID != "" {
			if first, dup := idAt[k.ID]; dup {
				v.add(base+".id", "duplicates auth.keys[%d].id %q", first, k.ID)
			} else {
				idAt[k.ID] = i
			}
		}
		// Never echo a token, not even a duplicated one.
		if k.Token != "" {
			if first, dup := tokenAt[k.Token]; dup {
				v.add(base+".token", "duplicates auth.keys[%d].token", first)
			} else {
				tokenAt[k.Token] = i
			}
		}
		v.oneOf(base+".role", k.Role, validRoles)
		for j, p := range k.Permissions {
			v.oneOf(fmt.Sprintf("%s.permissions[%d]", base, j), p, validPermissions)
		}
	}
}

// validHeaderName accepts an RFC 9110 token.
func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

func (c Config) validateObservability(v *validator) {
	o := c.Observability.OTel
	validUpstream(v, "observability.otel.endpoint", o.EndpointURL(), false)
	c.validateOTelExtras(v)
	if o.Enabled && o.ServiceName == "" {
		v.add("observability.otel.service_name", "required when observability.otel.enabled is true")
	}
	if !(o.SamplingRatio >= 0 && o.SamplingRatio <= 1) {
		v.add("observability.otel.sampling_ratio", "must be between 0 and 1")
	}
	v.positiveDuration("observability.otel.export_interval", o.ExportInterval)
	headers := make([]string, 0, len(o.Headers))
	for h := range o.Headers {
		headers = append(headers, h)
	}
	slices.Sort(headers)
	for _, h := range headers {
		if !validHeaderName(h) {
			v.add("observability.otel.headers", "%q is not a valid HTTP header name", h)
		}
	}

	p := c.Observability.Prometheus
	if p.Enabled || p.Path != "" {
		validPrefix(v, "observability.prometheus.path", p.Path)
	}
	if p.Listen != "" {
		validLoopback(v, "observability.prometheus.listen", p.Listen)
	}

	l := c.Observability.Log
	v.oneOf("observability.log.level", l.Level, validLogLevels)
	v.oneOf("observability.log.format", l.Format, validLogFormats)
}

func (c Config) validateRetention(v *validator) {
	r := c.Retention
	for _, f := range []struct {
		name string
		days int
	}{
		{"traces_days", r.TracesDays}, {"bodies_days", r.BodiesDays}, {"rollups_days", r.RollupsDays},
		{"audit_days", r.AuditDays},
	} {
		if f.days < 1 {
			v.add("retention."+f.name, "must be at least 1")
		}
	}
	// Bodies live in trace rows; keeping them longer than the rows
	// themselves is impossible, so the setting would silently lie.
	if r.TracesDays >= 1 && r.BodiesDays > r.TracesDays {
		v.add("retention.bodies_days", "must not exceed retention.traces_days (%d)", r.TracesDays)
	}
}

func (c Config) validateConsole(v *validator) {
	v.positiveDuration("console.idle_timeout", c.Console.IdleTimeout)
	v.positiveDuration("console.session_lifetime", c.Console.SessionLifetime)
	if c.Console.IdleTimeout > c.Console.SessionLifetime && c.Console.SessionLifetime > 0 {
		v.add("console.idle_timeout", "must not exceed console.session_lifetime (%s)", c.Console.SessionLifetime)
	}
}

func (c Config) validateDebug(v *validator) {
	if c.Debug.PprofAddr != "" {
		validLoopback(v, "debug.pprof_addr", c.Debug.PprofAddr)
	}
}

// validLoopback accepts host:port where host is loopback: diagnostics and
// side listeners expose internals that must not reach the network.
func validLoopback(v *validator, field, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(field, "must be host:port")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.add(field, "port must be between 1 and 65535")
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		v.add(field, "must be a loopback address (127.0.0.1, ::1 or localhost), got %q", host)
	}
}

func quoteList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = strconv.Quote(s)
	}
	return strings.Join(quoted, ", ")
}
