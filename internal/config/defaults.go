package config

import (
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

// Names the configuration accepts for enumerated settings. They are
// constants so that the composition root can switch on them without
// repeating string literals that validation already pins down.
const (
	// DriverSQLite selects the embedded SQLite store (the default).
	DriverSQLite = "sqlite"
	// DriverPostgres selects the Postgres store; storage.dsn is then required.
	DriverPostgres = "postgres"

	// FormatOpenAI is the OpenAI API dialect, also spoken by most
	// OpenAI-compatible upstreams (Groq, Together, vLLM, ...).
	FormatOpenAI = "openai"
	// FormatAnthropic is the Anthropic Messages API dialect.
	FormatAnthropic = "anthropic"

	// ProviderOpenAI is the name of the built-in OpenAI provider.
	ProviderOpenAI = "openai"
	// ProviderAnthropic is the name of the built-in Anthropic provider.
	ProviderAnthropic = "anthropic"

	// PIIModeOff leaves request and response content untouched.
	PIIModeOff = "off"
	// PIIModeBlock refuses requests that contain PII.
	PIIModeBlock = "block"
	// PIIModeRedactUpstream redacts the request before it is forwarded.
	PIIModeRedactUpstream = "redact_upstream"
	// PIIModeRedactStorage forwards and answers unchanged and redacts what
	// the gateway stores.
	PIIModeRedactStorage = "redact_storage"
	// PIIModeAuto, the default, resolves to redact_storage when bodies are
	// captured, off otherwise (Config.EffectiveMode).
	PIIModeAuto = ""

	// DefaultAuthHeader is the header that carries a gateway key
	// (auth.header).
	DefaultAuthHeader = "X-OngoingAI-Gateway-Key"

	// DefaultPIIFormat is the placeholder format.
	DefaultPIIFormat = "[{type}_REDACTED:{hash}]"
)

// builtinProviders are the providers that exist without any configuration.
// A YAML entry for one of them only overrides the fields it sets, so that
// pointing openai at a proxy does not silently drop its prefix or format.
func builtinProviders() map[string]Provider {
	return map[string]Provider{
		ProviderOpenAI: {
			Upstream: "https://api.openai.com",
			Prefix:   "/openai",
			Format:   FormatOpenAI,
		},
		ProviderAnthropic: {
			Upstream: "https://api.anthropic.com",
			Prefix:   "/anthropic",
			Format:   FormatAnthropic,
		},
	}
}

// Default returns the built-in configuration: what the gateway runs with
// when there is no config file and no environment overrides. Every call
// returns fresh maps and pointers, so callers may modify the result freely.
func Default() Config {
	injectStreamUsage, autoMigrate := true, true
	return Config{
		Server: Server{
			Host:              "0.0.0.0",
			Port:              8080,
			ShutdownTimeout:   30 * time.Second,
			ReadBodyTimeout:   60 * time.Second,
			TraceDrainTimeout: 10 * time.Second,
		},
		Storage: Storage{
			Driver:         DriverSQLite,
			Path:           "./data/ongoingai.db",
			ConnectTimeout: 10 * time.Second,
			ReadTimeout:    5 * time.Second,
			HealthInterval: 5 * time.Second,
			AutoMigrate:    &autoMigrate,
		},
		Providers: builtinProviders(),
		Proxy: Proxy{
			MaxRequestBodyBytes:   32 << 20,
			DialTimeout:           10 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 10 * time.Minute,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   512,
			InjectStreamUsage:     &injectStreamUsage,
		},
		Tracing: Tracing{
			CaptureBodies: false,
			BodyMaxSize:   64 << 10,
			QueueSize:     trace.DefaultQueueSize,
			BatchSize:     trace.DefaultBatchSize,
			FlushInterval: trace.DefaultFlushInterval,
			Spool:         TraceSpool{MaxBytes: 1 << 30},
		},
		Auth: Auth{
			Enabled: false,
			Header:  DefaultAuthHeader,
		},
		Console: Console{
			IdleTimeout:     30 * time.Minute,
			SessionLifetime: 12 * time.Hour,
		},
		PII: PII{
			Mode:        PIIModeAuto,
			PolicyID:    "default/v1",
			Stages:      PIIStages{RequestHeaders: true, RequestBody: true, ResponseHeaders: true, ResponseBody: true},
			Replacement: PIIReplacement{Format: DefaultPIIFormat},
		},
		Observability: Observability{
			OTel: OTel{
				Enabled:     false,
				ServiceName: "ongoingai-gateway",
				// Both signals are on so that enabling OTel (or setting
				// OTEL_EXPORTER_OTLP_ENDPOINT) exports something without
				// further switches.
				TracesEnabled:  true,
				MetricsEnabled: true,
				SamplingRatio:  1,
				// The OpenTelemetry SDK's own default metric interval.
				ExportInterval:  60 * time.Second,
				ExportTimeoutMS: 10000,
			},
			Prometheus: Prometheus{
				Enabled: false,
				Path:    "/metrics",
			},
			Log: Log{
				Level:  "info",
				Format: "json",
			},
		},
		Retention: Retention{
			TracesDays:  30,
			BodiesDays:  7,
			RollupsDays: 400,
			AuditDays:   400,
		},
	}
}
