// Package config owns the gateway's configuration: its schema, built-in
// defaults, the ONGOINGAI_* and OTEL_* environment overlay, and validation
// whose every message names the field and the rule it broke.
package config

import "time"

// Config is the whole configuration. YAML keys are snake_case; unknown keys
// are errors.
type Config struct {
	Server        Server              `yaml:"server"`
	Storage       Storage             `yaml:"storage"`
	Providers     map[string]Provider `yaml:"providers"`
	Proxy         Proxy               `yaml:"proxy"`
	Tracing       Tracing             `yaml:"tracing"`
	Pricing       Pricing             `yaml:"pricing"`
	Auth          Auth                `yaml:"auth"`
	Console       Console             `yaml:"console"`
	PII           PII                 `yaml:"pii"`
	Observability Observability       `yaml:"observability"`
	Retention     Retention           `yaml:"retention"`
	Limits        Limits              `yaml:"limits"`
	Features      Features            `yaml:"features"`
	Debug         Debug               `yaml:"debug"`
}

// Server is the listening address.
type Server struct {
	Host string `yaml:"host"` // default 0.0.0.0
	Port int    `yaml:"port"` // default 8080
	// ShutdownTimeout bounds the graceful drain of in-flight requests.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"` // default 30s
	// ReadBodyTimeout bounds the time to receive a provider request's
	// body, from the end of its headers; a body not complete by then is
	// answered 408. Without it a client announcing a large body and
	// trickling it holds a connection and a goroutine for ever.
	ReadBodyTimeout time.Duration `yaml:"read_body_timeout"` // default 60s
	// TraceDrainTimeout is the trace writer's own time to store what is
	// queued once the request handlers have returned (after
	// ShutdownTimeout, and after streams still open then were cut). It is
	// separate so that a drain that used all of ShutdownTimeout still
	// leaves the writer time to store the traces of the streams it cut;
	// what it cannot store in time is counted as lost_total and logged.
	TraceDrainTimeout time.Duration `yaml:"trace_drain_timeout"` // default 10s
}

// Storage picks the store.
type Storage struct {
	Driver string `yaml:"driver"` // sqlite (default) or postgres
	Path   string `yaml:"path"`   // sqlite file, default ./data/ongoingai.db
	DSN    string `yaml:"dsn"`    // postgres connection string; required for postgres
	// ConnectTimeout bounds opening the store at start (connect, schema
	// migrations): a database that accepts TCP but never answers fails
	// startup with an error naming the store instead of hanging it.
	ConnectTimeout time.Duration `yaml:"connect_timeout"` // default 10s
	// ReadTimeout bounds each read of the store by /api/traces and
	// /api/analytics (the statement and the wait for a connection); one
	// that runs out, or finds the store unreachable, is answered 503
	// {"error":"store unavailable"}. It also bounds the background health
	// probe's ping.
	ReadTimeout time.Duration `yaml:"read_timeout"` // default 5s
	// HealthInterval is how often a background probe pings the store for
	// /api/health, which never touches the database itself: its answer is
	// at most HealthInterval + ReadTimeout old.
	HealthInterval time.Duration `yaml:"health_interval"` // default 5s
	// AutoMigrate applies pending schema migrations when serve (or any
	// command) opens the store. Off, a store with pending migrations is
	// refused with a message pointing at `ongoingai migrate up`, for
	// operators who migrate once before rolling out replicas. A pointer so
	// that unset (a Storage built in code) means the default, true; read it
	// with MigrateAtOpen.
	AutoMigrate *bool `yaml:"auto_migrate"` // default true
}

// MigrateAtOpen reports whether opening the store applies pending
// migrations (storage.auto_migrate, default true).
func (s Storage) MigrateAtOpen() bool { return s.AutoMigrate == nil || *s.AutoMigrate }

// Provider is one upstream API. openai and anthropic exist by default; any
// other name is an extra OpenAI-compatible upstream.
type Provider struct {
	Upstream string `yaml:"upstream"` // scheme://host[:port][/base]
	Prefix   string `yaml:"prefix"`   // path prefix on the gateway, e.g. /openai
	Format   string `yaml:"format"`   // openai or anthropic; defaults to the provider's own, openai for extras
}

// Proxy tunes forwarding.
type Proxy struct {
	MaxRequestBodyBytes   int64         `yaml:"max_request_body_bytes"`  // default 32 MiB; 413 above
	DialTimeout           time.Duration `yaml:"dial_timeout"`            // default 10s
	TLSHandshakeTimeout   time.Duration `yaml:"tls_handshake_timeout"`   // default 10s
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"` // default 10m (reasoning models think long)
	IdleConnTimeout       time.Duration `yaml:"idle_conn_timeout"`       // default 90s
	MaxIdleConnsPerHost   int           `yaml:"max_idle_conns_per_host"` // default 512
	InjectStreamUsage     *bool         `yaml:"inject_stream_usage"`     // default true
}

// Tracing controls what is recorded and how the writer batches.
type Tracing struct {
	CaptureBodies bool          `yaml:"capture_bodies"` // default false
	BodyMaxSize   int64         `yaml:"body_max_size"`  // default 64 KiB; captured bodies are truncated there
	QueueSize     int           `yaml:"queue_size"`     // default 65536
	BatchSize     int           `yaml:"batch_size"`     // default 1000
	FlushInterval time.Duration `yaml:"flush_interval"` // default 50ms
	// CaptureHeaders names the request and response headers stored with
	// each trace, case-insensitively; ["*"] stores every header. The
	// default stores none: an SDK's dozen request headers and a provider's
	// response headers cost more bytes than the rest of a trace row, and
	// the request id is kept in the trace's metadata anyway. Credentials
	// (Authorization, x-api-key, api-key, cookies, the gateway key header,
	// ...) are stored as "[REDACTED]" whatever the list says.
	CaptureHeaders []string `yaml:"capture_headers"`
	// Spool keeps trace batches on disk while the store is down or slow.
	Spool TraceSpool `yaml:"spool"`
}

// TraceSpool is the on-disk spool of the trace writer: when the store
// fails a batch, or the queue holds more than a batch, batches go to
// append-only files in Dir (at most MaxBytes of them; beyond, batches are
// dropped and counted) and are replayed into the store, in order and
// exactly once, when it answers again, after a restart too. Off while Dir
// is empty, the default: without it an outage is survived only while the
// in-memory queue lasts.
type TraceSpool struct {
	Dir      string `yaml:"dir"`       // a directory this gateway alone uses; empty: no spool
	MaxBytes int64  `yaml:"max_bytes"` // default 1 GiB
}

// Pricing adds or overrides model prices (USD per 1M tokens).
type Pricing struct {
	// CatalogFile is a JSON price catalog in the embedded catalog's schema
	// (internal/pricing/catalog.json), merged over it at start and again
	// on SIGHUP; empty for none. Overrides still apply on top.
	CatalogFile string                `yaml:"catalog_file"`
	Overrides   map[string]ModelPrice `yaml:"overrides"` // key: model name
}

// ModelPrice is a price per 1M tokens in USD. Zero-valued optional fields
// fall back to Input (cached, cache write) or Output (reasoning).
type ModelPrice struct {
	Input       float64 `yaml:"input"`
	Output      float64 `yaml:"output"`
	CachedInput float64 `yaml:"cached_input"`
	CacheWrite  float64 `yaml:"cache_write"`
	Reasoning   float64 `yaml:"reasoning"`
}

// Auth configures gateway keys.
type Auth struct {
	Enabled bool        `yaml:"enabled"`
	Header  string      `yaml:"header"` // default X-OngoingAI-Gateway-Key
	Keys    []StaticKey `yaml:"keys"`
}

// Console configures the operator console's sign-in sessions (/console).
type Console struct {
	// SecureCookies marks the session cookie Secure even when the gateway
	// itself serves plain HTTP (behind a TLS-terminating proxy). Over TLS it
	// is Secure anyway.
	SecureCookies bool `yaml:"secure_cookies"`
	// IdleTimeout ends a session not used for this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"` // default 30m
	// SessionLifetime ends a session this long after sign-in, used or not.
	SessionLifetime time.Duration `yaml:"session_lifetime"` // default 12h
}

// StaticKey is a gateway key declared in the config file.
type StaticKey struct {
	ID          string   `yaml:"id"`
	Token       string   `yaml:"token"`
	OrgID       string   `yaml:"org_id"`
	WorkspaceID string   `yaml:"workspace_id"`
	Role        string   `yaml:"role"` // owner, admin, developer, member, viewer; operator for installation access
	Permissions []string `yaml:"permissions"`
}

// PII configures the PII policy engine (internal/pii): which requests are
// scanned, and whether a finding blocks the request, is redacted before it
// goes upstream, or is redacted only in what the gateway stores.
type PII struct {
	// Mode is "" (auto: redact_storage when tracing.capture_bodies is
	// on, else off), off, redact_storage, redact_upstream or block.
	// EffectiveMode resolves "".
	Mode string `yaml:"mode"`
	// PolicyID names the policy in trace metadata (redaction_policy_id),
	// so that a stored trace says which rules it was redacted under.
	PolicyID string `yaml:"policy_id"` // default default/v1
	// Scopes override Mode and PolicyID for matching requests; the most
	// specific match wins (key > workspace > org, then provider, then the
	// longest route_prefix).
	Scopes []PIIScope `yaml:"scopes"`
	// Stages select which parts of an exchange the engine looks at.
	Stages PIIStages `yaml:"stages"`
	// Replacement shapes the placeholders that replace findings.
	Replacement PIIReplacement `yaml:"replacement"`
}

// PIIScope is one policy override and the requests it applies to.
type PIIScope struct {
	Match    PIIMatch `yaml:"match"`
	Mode     string   `yaml:"mode"`      // required: off, redact_storage, redact_upstream or block
	PolicyID string   `yaml:"policy_id"` // default: pii.policy_id
}

// PIIMatch selects requests; empty fields match anything. All set fields
// must match.
type PIIMatch struct {
	OrgID       string `yaml:"org_id"`
	WorkspaceID string `yaml:"workspace_id"`
	KeyID       string `yaml:"key_id"`
	Provider    string `yaml:"provider"`
	RoutePrefix string `yaml:"route_prefix"` // gateway path prefix, e.g. /openai/v1/chat
}

// PIIStages switch scanning per part of the exchange; all default to true.
// In every mode but off, each stage on redacts that part's stored copy
// (captured headers, captured bodies); the request body is also what block
// and redact_upstream look at, so those modes require it.
type PIIStages struct {
	RequestHeaders  bool `yaml:"request_headers"`
	RequestBody     bool `yaml:"request_body"`
	ResponseHeaders bool `yaml:"response_headers"`
	ResponseBody    bool `yaml:"response_body"`
}

// PIIReplacement shapes placeholders.
type PIIReplacement struct {
	// Format is the placeholder; {type} becomes EMAIL, PHONE, SSN, CARD,
	// TOKEN or FIELD and {hash} the first 12 hex digits of the
	// per-workspace HMAC of the value.
	Format string `yaml:"format"` // default [{type}_REDACTED:{hash}]
	// HashSalt keys the HMAC (with the workspace id). Empty means a random
	// 32-byte salt generated on first start and kept in the store.
	HashSalt string `yaml:"hash_salt"`
}

// Observability configures OpenTelemetry, Prometheus and logs.
type Observability struct {
	OTel       OTel       `yaml:"otel"`
	Prometheus Prometheus `yaml:"prometheus"`
	Log        Log        `yaml:"log"`
}

// DefaultOTLPEndpoint is where OTLP goes when OTel is enabled without an
// endpoint (see OTel.EndpointURL): a collector on the same host. It is
// plain HTTP because the exporters' own default (https://localhost:4318)
// fails against the collector's out-of-the-box plaintext receiver.
const DefaultOTLPEndpoint = "http://localhost:4318"

// OTel configures OTLP/HTTP export.
type OTel struct {
	Enabled        bool              `yaml:"enabled"`
	Endpoint       string            `yaml:"endpoint"` // OTLP/HTTP base URL
	ServiceName    string            `yaml:"service_name"`
	TracesEnabled  bool              `yaml:"traces_enabled"`
	MetricsEnabled bool              `yaml:"metrics_enabled"`
	SamplingRatio  float64           `yaml:"sampling_ratio"` // 0..1, default 1
	ExportInterval time.Duration     `yaml:"export_interval"`
	Headers        map[string]string `yaml:"headers"`
	// Insecure sends OTLP over plain HTTP when Endpoint has no scheme
	// ("localhost:4318"); without it a scheme-less endpoint means HTTPS.
	Insecure bool `yaml:"insecure"`
	// ExportTimeoutMS bounds each OTLP export request, in milliseconds.
	ExportTimeoutMS int `yaml:"export_timeout_ms"` // default 10000
	// MetricExportIntervalMS is export_interval in milliseconds, the unit
	// OTEL_METRIC_EXPORT_INTERVAL uses; when set (> 0) it wins over
	// export_interval.
	MetricExportIntervalMS int `yaml:"metric_export_interval_ms"`
}

// Prometheus configures the /metrics exposition.
type Prometheus struct {
	Enabled bool   `yaml:"enabled"`
	Path    string `yaml:"path"`   // default /metrics
	Listen  string `yaml:"listen"` // optional separate loopback listener
}

// Log configures the structured logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default) or text
}

// Retention bounds how long data is kept.
type Retention struct {
	TracesDays  int `yaml:"traces_days"`  // default 30
	BodiesDays  int `yaml:"bodies_days"`  // default 7
	RollupsDays int `yaml:"rollups_days"` // default 400
	AuditDays   int `yaml:"audit_days"`   // default 400: audit events older than this are deleted
}

// Debug holds opt-in diagnostics.
type Debug struct {
	// PprofAddr serves net/http/pprof on a listener of its own at this
	// loopback address, e.g. 127.0.0.1:6060; empty (the default) serves it
	// nowhere. The gateway's main listener never serves it.
	PprofAddr string `yaml:"pprof_addr"`
}
