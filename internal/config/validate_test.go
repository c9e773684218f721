package config

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// validKey is a static key that passes every rule, for cases that change
// one field of it.
func validKey(id string) StaticKey {
	return StaticKey{
		ID: id, Token: "tok-" + id, OrgID: "org", WorkspaceID: "ws",
		Role: "developer", Permissions: []string{"proxy:write"},
	}
}

func TestValidateRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   string // the whole error: exactly one rule broken
	}{
		{"port zero", func(c *Config) { c.Server.Port = 0 }, "server.port: must be between 1 and 65535"},
		{"negative rpm", func(c *Config) { c.Limits.PerKey.RequestsPerMinute = -1 }, "limits.per_key.requests_per_minute: must not be negative (0 means no limit)"},
		{"negative tokens per day", func(c *Config) { c.Limits.PerWorkspace.TokensPerDay = -5 }, "limits.per_workspace.tokens_per_day: must not be negative (0 means no limit)"},
		{"negative usd", func(c *Config) { c.Limits.PerOrg.USDPerMonth = -0.5 }, "limits.per_org.usd_per_month: must not be negative (0 means no limit)"},
		{"usd not a number", func(c *Config) { c.Limits.PerKey.USDPerDay = math.NaN() }, "limits.per_key.usd_per_day: must be a number"},
		{"usd too large", func(c *Config) { c.Limits.PerKey.USDPerDay = 2e9 }, "limits.per_key.usd_per_day: must be at most 1e+09"},
		{"port too high", func(c *Config) { c.Server.Port = 65536 }, "server.port: must be between 1 and 65535"},
		{"host with port", func(c *Config) { c.Server.Host = "0.0.0.0:8080" }, "server.host: must be a host name or IP address without a port"},
		{"shutdown timeout", func(c *Config) { c.Server.ShutdownTimeout = 0 }, "server.shutdown_timeout: must be a positive duration"},
		{"read body timeout", func(c *Config) { c.Server.ReadBodyTimeout = 0 }, "server.read_body_timeout: must be a positive duration"},
		{"trace drain timeout", func(c *Config) { c.Server.TraceDrainTimeout = 0 }, "server.trace_drain_timeout: must be a positive duration"},
		{"connect timeout", func(c *Config) { c.Storage.ConnectTimeout = -time.Second }, "storage.connect_timeout: must be a positive duration"},
		{"console idle timeout", func(c *Config) { c.Console.IdleTimeout = 0 }, "console.idle_timeout: must be a positive duration"},
		{"console session lifetime", func(c *Config) { c.Console.SessionLifetime = 0 }, "console.session_lifetime: must be a positive duration"},
		{"console idle past lifetime", func(c *Config) { c.Console.IdleTimeout = 13 * time.Hour },
			"console.idle_timeout: must not exceed console.session_lifetime (12h0m0s)"},
		{"read timeout", func(c *Config) { c.Storage.ReadTimeout = 0 }, "storage.read_timeout: must be a positive duration"},
		{"health interval", func(c *Config) { c.Storage.HealthInterval = 0 }, "storage.health_interval: must be a positive duration"},
		{"driver", func(c *Config) { c.Storage.Driver = "mysql" }, `storage.driver: must be "sqlite" or "postgres"`},
		{"sqlite path", func(c *Config) { c.Storage.Path = "" }, `storage.path: required when storage.driver is "sqlite"`},
		{"postgres dsn", func(c *Config) { c.Storage.Driver = "postgres" }, `storage.dsn: required when storage.driver is "postgres"`},
		{"no providers", func(c *Config) { c.Providers = nil }, "providers: at least one provider is required"},
		{"prefix without slash", func(c *Config) { setProvider(c, "openai", func(p *Provider) { p.Prefix = "openai" }) },
			`providers.openai.prefix: must start with "/"`},
		{"prefix root", func(c *Config) { setProvider(c, "openai", func(p *Provider) { p.Prefix = "/" }) },
			`providers.openai.prefix: must not be "/"`},
		{"prefix trailing slash", func(c *Config) { setProvider(c, "openai", func(p *Provider) { p.Prefix = "/openai/" }) },
			`providers.openai.prefix: must be a clean path (no trailing "/", "//", "." or ".." segments)`},
		{"prefix odd characters", func(c *Config) { setProvider(c, "openai", func(p *Provider) { p.Prefix = "/open ai" }) },
			`providers.openai.prefix: must contain only letters, digits, "-", "_", ".", "~" and "/"`},
		{"builtins overlap", func(c *Config) { setProvider(c, "anthropic", func(p *Provider) { p.Prefix = "/openai" }) },
			`providers.anthropic.prefix: overlaps providers.openai.prefix "/openai"`},
		{"nested overlap blames the extra provider", func(c *Config) { c.Providers["zeta"] = Provider{"https://z.example", "/openai/v2", "openai"} },
			`providers.zeta.prefix: overlaps providers.openai.prefix "/openai"`},
		{"reserved api", func(c *Config) { c.Providers["groq"] = Provider{"https://api.groq.com", "/api/groq", "openai"} },
			`providers.groq.prefix: overlaps reserved path "/api"`},
		{"reserved console", func(c *Config) { c.Providers["groq"] = Provider{"https://api.groq.com", "/console", "openai"} },
			`providers.groq.prefix: overlaps reserved path "/console"`},
		{"reserved metrics", func(c *Config) { c.Providers["groq"] = Provider{"https://api.groq.com", "/metrics", "openai"} },
			`providers.groq.prefix: overlaps reserved path "/metrics"`},
		{"custom prometheus path is reserved when enabled", func(c *Config) {
			c.Observability.Prometheus = Prometheus{Enabled: true, Path: "/groq/metrics"}
			c.Providers["groq"] = Provider{"https://api.groq.com", "/groq", "openai"}
		}, `providers.groq.prefix: overlaps reserved path "/groq/metrics"`},
		{"upstream not absolute", func(c *Config) { c.Providers["groq"] = Provider{"api.groq.com", "/groq", "openai"} },
			`providers.groq.upstream: must be an absolute URL with scheme and host`},
		{"upstream scheme", func(c *Config) { c.Providers["groq"] = Provider{"ftp://api.groq.com", "/groq", "openai"} },
			`providers.groq.upstream: must use scheme "http" or "https"`},
		{"upstream query", func(c *Config) { c.Providers["groq"] = Provider{"https://api.groq.com/?x=1", "/groq", "openai"} },
			`providers.groq.upstream: must not have a query or fragment`},
		{"extra needs upstream", func(c *Config) { c.Providers["groq"] = Provider{"", "/groq", "openai"} },
			`providers.groq.upstream: required`},
		{"extra needs prefix", func(c *Config) { c.Providers["groq"] = Provider{"https://api.groq.com", "", "openai"} },
			`providers.groq.prefix: required`},
		{"format", func(c *Config) { c.Providers["groq"] = Provider{"https://api.groq.com", "/groq", "gemini"} },
			`providers.groq.format: must be "openai" or "anthropic"`},
		{"provider name", func(c *Config) { c.Providers["Groq AI"] = Provider{"https://api.groq.com", "/groq", "openai"} },
			`providers: name "Groq AI" must contain only lowercase letters, digits, "-" and "_", starting with a letter or digit`},
		{"proxy body", func(c *Config) { c.Proxy.MaxRequestBodyBytes = -1 }, "proxy.max_request_body_bytes: must be positive"},
		{"proxy dial", func(c *Config) { c.Proxy.DialTimeout = 0 }, "proxy.dial_timeout: must be a positive duration"},
		{"proxy tls", func(c *Config) { c.Proxy.TLSHandshakeTimeout = 0 }, "proxy.tls_handshake_timeout: must be a positive duration"},
		{"proxy header", func(c *Config) { c.Proxy.ResponseHeaderTimeout = -time.Second }, "proxy.response_header_timeout: must be a positive duration"},
		{"proxy idle", func(c *Config) { c.Proxy.IdleConnTimeout = 0 }, "proxy.idle_conn_timeout: must be a positive duration"},
		{"proxy conns", func(c *Config) { c.Proxy.MaxIdleConnsPerHost = 0 }, "proxy.max_idle_conns_per_host: must be positive"},
		{"body max size", func(c *Config) { c.Tracing.BodyMaxSize = 0 }, "tracing.body_max_size: must be positive"},
		{"queue size", func(c *Config) { c.Tracing.QueueSize = 0 }, "tracing.queue_size: must be positive"},
		{"batch size", func(c *Config) { c.Tracing.BatchSize = 0 }, "tracing.batch_size: must be positive"},
		{"batch above queue", func(c *Config) { c.Tracing.BatchSize = 70000 }, "tracing.batch_size: must not exceed tracing.queue_size (65536)"},
		{"spool bound", func(c *Config) { c.Tracing.Spool = TraceSpool{Dir: "/var/spool/gw", MaxBytes: 0} }, "tracing.spool.max_bytes: must be positive"},
		{"flush interval", func(c *Config) { c.Tracing.FlushInterval = 0 }, "tracing.flush_interval: must be a positive duration"},
		{"capture header name", func(c *Config) { c.Tracing.CaptureHeaders = []string{"x-request-id", "x request id"} },
			`tracing.capture_headers[1]: "x request id" is not a valid HTTP header name`},
		{"capture header empty", func(c *Config) { c.Tracing.CaptureHeaders = []string{""} },
			`tracing.capture_headers[0]: "" is not a valid HTTP header name`},
		{"capture header duplicate", func(c *Config) { c.Tracing.CaptureHeaders = []string{"X-Request-Id", "user-agent", "x-request-id"} },
			`tracing.capture_headers[2]: duplicates tracing.capture_headers[0] (header names are case-insensitive)`},
		{"capture every header and more", func(c *Config) { c.Tracing.CaptureHeaders = []string{"x-request-id", "*"} },
			`tracing.capture_headers[1]: "*" (every header) must be the only entry`},
		{"negative price", func(c *Config) { c.Pricing.Overrides = map[string]ModelPrice{"my-model": {Input: 1, Output: -2}} },
			"pricing.overrides.my-model.output: must be a finite number not below 0"},
		{"NaN price", func(c *Config) { c.Pricing.Overrides = map[string]ModelPrice{"m": {Input: math.NaN()}} },
			"pricing.overrides.m.input: must be a finite number not below 0"},
		{"auth header", func(c *Config) { c.Auth.Header = "X Key" }, "auth.header: must be a valid HTTP header name"},
		// The provider credential travels in these: a gateway key header
		// among them validated and then made every proxied call 401.
		{"auth header Authorization", func(c *Config) { c.Auth.Header = "Authorization" }, authHeaderRule},
		{"auth header x-api-key", func(c *Config) { c.Auth.Header = "x-api-key" }, authHeaderRule},
		{"auth header API-KEY", func(c *Config) { c.Auth.Header = "API-KEY" }, authHeaderRule},
		{"key role", func(c *Config) {
			k := validKey("a")
			k.Role = "root"
			c.Auth.Keys = []StaticKey{k}
		}, `auth.keys[0].role: must be one of "owner", "admin", "developer", "member", "viewer", "operator", got "root"`},
		{"key permission", func(c *Config) {
			k := validKey("a")
			k.Permissions = []string{"proxy:write", "proxy:read"}
			c.Auth.Keys = []StaticKey{k}
		}, `auth.keys[0].permissions[1]: must be one of "proxy:write", "analytics:read", "keys:manage", "workspaces:manage", "audit:read", "installation:read", got "proxy:read"`},
		{"duplicate key id", func(c *Config) {
			b := validKey("a")
			b.Token = "other"
			c.Auth.Keys = []StaticKey{validKey("a"), validKey("b"), b}
		}, `auth.keys[2].id: duplicates auth.keys[0].id "a"`},
		{"duplicate token", func(c *Config) {
			b := validKey("b")
			b.Token = "tok-a"
			c.Auth.Keys = []StaticKey{validKey("a"), b}
		}, `auth.keys[1].token: duplicates auth.keys[0].token`},
		{"pii mode", func(c *Config) { c.PII.Mode = "mask" }, `pii.mode: must be one of "off", "redact_storage", "redact_upstream", "block", got "mask"`},
		{"sampling above 1", func(c *Config) { c.Observability.OTel.SamplingRatio = 1.5 }, "observability.otel.sampling_ratio: must be between 0 and 1"},
		{"sampling below 0", func(c *Config) { c.Observability.OTel.SamplingRatio = -0.1 }, "observability.otel.sampling_ratio: must be between 0 and 1"},
		{"otel endpoint", func(c *Config) { c.Observability.OTel.Endpoint = "ftp://collector:4318" }, `observability.otel.endpoint: must use scheme "http" or "https"`},
		{"otel service name", func(c *Config) {
			c.Observability.OTel.Enabled = true
			c.Observability.OTel.ServiceName = ""
		}, "observability.otel.service_name: required when observability.otel.enabled is true"},
		{"otel export interval", func(c *Config) { c.Observability.OTel.ExportInterval = 0 }, "observability.otel.export_interval: must be a positive duration"},
		{"otel header name", func(c *Config) { c.Observability.OTel.Headers = map[string]string{"bad key": "v"} },
			`observability.otel.headers: "bad key" is not a valid HTTP header name`},
		{"prometheus path", func(c *Config) { c.Observability.Prometheus.Path = "metrics" }, `observability.prometheus.path: must start with "/"`},
		{"prometheus listen", func(c *Config) { c.Observability.Prometheus.Listen = "0.0.0.0:9090" },
			`observability.prometheus.listen: must be a loopback address (127.0.0.1, ::1 or localhost), got "0.0.0.0"`},
		{"log level", func(c *Config) { c.Observability.Log.Level = "verbose" }, `observability.log.level: must be one of "debug", "info", "warn", "error", got "verbose"`},
		{"log format", func(c *Config) { c.Observability.Log.Format = "xml" }, `observability.log.format: must be one of "json", "text", got "xml"`},
		{"traces days", func(c *Config) { c.Retention.TracesDays = 0 }, "retention.traces_days: must be at least 1"},
		{"bodies days", func(c *Config) { c.Retention.BodiesDays = 0 }, "retention.bodies_days: must be at least 1"},
		{"rollups days", func(c *Config) { c.Retention.RollupsDays = 0 }, "retention.rollups_days: must be at least 1"},
		{"audit days", func(c *Config) { c.Retention.AuditDays = 0 }, "retention.audit_days: must be at least 1"},
		{"bodies outlive traces", func(c *Config) { c.Retention.BodiesDays = 31 }, "retention.bodies_days: must not exceed retention.traces_days (30)"},
		{"pprof public", func(c *Config) { c.Debug.PprofAddr = "0.0.0.0:6060" },
			`debug.pprof_addr: must be a loopback address (127.0.0.1, ::1 or localhost), got "0.0.0.0"`},
		{"pprof empty host", func(c *Config) { c.Debug.PprofAddr = ":6060" },
			`debug.pprof_addr: must be a loopback address (127.0.0.1, ::1 or localhost), got ""`},
		{"pprof no port", func(c *Config) { c.Debug.PprofAddr = "127.0.0.1" }, "debug.pprof_addr: must be host:port"},
		{"pprof bad port", func(c *Config) { c.Debug.PprofAddr = "127.0.0.1:http" }, "debug.pprof_addr: port must be between 1 and 65535"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("err =\n%v\nwant\n%s", err, tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tc.want, fe.Path+": ") {
				t.Fatalf("error is not a *FieldError with the path of %q", tc.want)
			}
		})
	}
}

const authHeaderRule = `auth.header: must not be a provider credential header ("Authorization", "x-api-key", "api-key", ` +
	`"x-goog-api-key", "Proxy-Authorization"): the gateway key needs a header of its own`

// setProvider edits a provider in place; map values are not addressable.
func setProvider(c *Config, name string, edit func(p *Provider)) {
	p := c.Providers[name]
	edit(&p)
	c.Providers[name] = p
}

func TestValidateAcceptsGoodValues(t *testing.T) {
	c := Default()
	c.Server.Host = "::1"
	c.Storage.Driver, c.Storage.DSN = "postgres", "postgres://localhost/gw"
	c.Providers["groq"] = Provider{"https://api.groq.com/openai", "/groq", "openai"}
	c.Providers["openai-eu"] = Provider{"https://eu.api.openai.com", "/openaix", "openai"}
	c.Providers["claude_proxy"] = Provider{"http://10.0.0.1:8000/base", "/v2/claude", "anthropic"}
	c.Auth = Auth{Enabled: true, Header: "X-Team-Gateway-Key", Keys: []StaticKey{validKey("a"), validKey("b")}}
	c.Auth.Keys[1].Role = "owner"
	c.Auth.Keys[1].Permissions = []string{"proxy:write", "analytics:read", "keys:manage", "workspaces:manage", "audit:read"}
	c.PII.Mode = "off"
	c.Pricing.Overrides = map[string]ModelPrice{"custom": {Input: 1, Output: 2}}
	c.Observability.OTel = OTel{Enabled: true, Endpoint: "https://otel.example:4318", ServiceName: "gw",
		SamplingRatio: 0, ExportInterval: time.Second, ExportTimeoutMS: 1, Headers: map[string]string{"api-key": "x"}}
	c.Observability.Prometheus = Prometheus{Enabled: true, Path: "/metrics", Listen: "localhost:9090"}
	c.Observability.Log = Log{Level: "debug", Format: "text"}
	c.Retention = Retention{TracesDays: 7, BodiesDays: 7, RollupsDays: 1, AuditDays: 1}
	c.Debug.PprofAddr = "[::1]:6060"
	c.Tracing.CaptureHeaders = []string{"X-Request-Id", "openai-organization", "anthropic-ratelimit-tokens-remaining", "authorization"}
	if err := c.Validate(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	c.Tracing.CaptureHeaders = []string{"*"}
	if err := c.Validate(); err != nil {
		t.Fatalf("capture_headers [\"*\"]: %v", err)
	}
}

func TestValidateReportsAllErrorsInStableOrder(t *testing.T) {
	build := func() Config {
		c := Default()
		c.Server.Port = 0
		c.Storage.Driver = "mysql"
		c.Providers["zeta"] = Provider{"nope", "zeta", "gemini"}
		c.Providers["beta"] = Provider{"https://b.example", "/anthropic/b", "openai"}
		c.Auth.Keys = []StaticKey{{ID: "k"}, {ID: "k", Token: "t", OrgID: "o", WorkspaceID: "w", Role: "viewer"}}
		c.PII.Mode = "loud"
		c.Retention.BodiesDays = 90
		c.Debug.PprofAddr = "10.0.0.1:6060"
		return c
	}
	want := strings.Join([]string{
		"server.port: must be between 1 and 65535",
		`storage.driver: must be "sqlite" or "postgres"`,
		"providers.zeta.upstream: must be an absolute URL with scheme and host",
		`providers.zeta.prefix: must start with "/"`,
		`providers.zeta.format: must be "openai" or "anthropic"`,
		`providers.beta.prefix: overlaps providers.anthropic.prefix "/anthropic"`,
		"auth.keys[0].token: required",
		"auth.keys[0].org_id: required",
		"auth.keys[0].workspace_id: required",
		`auth.keys[0].role: must be one of "owner", "admin", "developer", "member", "viewer", "operator", got ""`,
		`auth.keys[1].id: duplicates auth.keys[0].id "k"`,
		`pii.mode: must be one of "off", "redact_storage", "redact_upstream", "block", got "loud"`,
		"retention.bodies_days: must not exceed retention.traces_days (30)",
		`debug.pprof_addr: must be a loopback address (127.0.0.1, ::1 or localhost), got "10.0.0.1"`,
	}, "\n")
	// Map iteration order varies between runs; the message must not.
	for range 20 {
		err := build().Validate()
		if err == nil || err.Error() != want {
			t.Fatalf("err =\n%v\nwant\n%s", err, want)
		}
	}
}

func TestPrefixesOverlap(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"/openai", "/openai", true},
		{"/openai", "/openai/v2", true},
		{"/openai/v2", "/openai", true},
		{"/openai", "/openaix", false},
		{"/openaix", "/openai", false},
		{"/a/b", "/a/c", false},
		{"/api", "/apis", false},
	}
	for _, tc := range cases {
		if got := prefixesOverlap(tc.a, tc.b); got != tc.want {
			t.Errorf("prefixesOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
