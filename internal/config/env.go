package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// envVar is one environment variable of the overlay and how it changes
// the configuration. apply returns an error that describes the value's
// problem; the caller prefixes the variable name.
type envVar struct {
	name  string
	apply func(c *Config, v string) error
}

// envVars is the environment overlay in the order it is applied. Order
// matters once: OTEL_SDK_DISABLED comes after OTEL_EXPORTER_OTLP_ENDPOINT so
// that the standard kill switch wins over the endpoint's implied enable.
var envVars = []envVar{
	{"ONGOINGAI_HOST", func(c *Config, v string) error { c.Server.Host = v; return nil }},
	{"ONGOINGAI_PORT", func(c *Config, v string) error { return setInt(&c.Server.Port, v) }},
	{"ONGOINGAI_STORAGE_DRIVER", func(c *Config, v string) error { c.Storage.Driver = v; return nil }},
	{"ONGOINGAI_STORAGE_PATH", func(c *Config, v string) error { c.Storage.Path = v; return nil }},
	{"ONGOINGAI_STORAGE_DSN", func(c *Config, v string) error { c.Storage.DSN = v; return nil }},
	{"ONGOINGAI_STORAGE_AUTO_MIGRATE", func(c *Config, v string) error {
		var b bool
		if err := setBool(&b, v); err != nil {
			return err
		}
		c.Storage.AutoMigrate = &b
		return nil
	}},
	{"ONGOINGAI_OPENAI_UPSTREAM", func(c *Config, v string) error { setUpstream(c, ProviderOpenAI, v); return nil }},
	{"ONGOINGAI_ANTHROPIC_UPSTREAM", func(c *Config, v string) error { setUpstream(c, ProviderAnthropic, v); return nil }},
	{"ONGOINGAI_CAPTURE_BODIES", func(c *Config, v string) error { return setBool(&c.Tracing.CaptureBodies, v) }},
	{"ONGOINGAI_BODY_MAX_SIZE", func(c *Config, v string) error { return setInt64(&c.Tracing.BodyMaxSize, v) }},
	{"ONGOINGAI_CAPTURE_HEADERS", func(c *Config, v string) error { c.Tracing.CaptureHeaders = splitList(v); return nil }},
	{"ONGOINGAI_TRACE_SPOOL_DIR", func(c *Config, v string) error { c.Tracing.Spool.Dir = v; return nil }},
	{"ONGOINGAI_TRACE_SPOOL_MAX_BYTES", func(c *Config, v string) error { return setInt64(&c.Tracing.Spool.MaxBytes, v) }},
	{"ONGOINGAI_AUTH_ENABLED", func(c *Config, v string) error { return setBool(&c.Auth.Enabled, v) }},
	{"ONGOINGAI_AUTH_HEADER", func(c *Config, v string) error { c.Auth.Header = v; return nil }},
	{"ONGOINGAI_PII_MODE", func(c *Config, v string) error { c.PII.Mode = v; return nil }},
	{"ONGOINGAI_PII_POLICY_ID", func(c *Config, v string) error { c.PII.PolicyID = v; return nil }},
	{"ONGOINGAI_PII_HASH_SALT", func(c *Config, v string) error { c.PII.Replacement.HashSalt = v; return nil }},
	{"ONGOINGAI_FEATURE_CONSOLE", featureEnv(FeatureConsole)},
	{"ONGOINGAI_FEATURE_ANALYTICS", featureEnv(FeatureAnalytics)},
	{"ONGOINGAI_FEATURE_RETENTION", featureEnv(FeatureRetention)},
	{"ONGOINGAI_FEATURE_PII", featureEnv(FeaturePII)},
	{"ONGOINGAI_FEATURE_LIMITS", featureEnv(FeatureLimits)},
	{"ONGOINGAI_FEATURE_OTEL", featureEnv(FeatureOTel)},
	{"ONGOINGAI_FEATURE_PROMETHEUS", featureEnv(FeaturePrometheus)},
	{"ONGOINGAI_PPROF_ADDR", func(c *Config, v string) error { c.Debug.PprofAddr = v; return nil }},

	// The standard OpenTelemetry variables, so the gateway fits into an
	// existing collector setup without a config file. Naming an endpoint
	// is taken as asking for export, since OTel is off by default here.
	{"OTEL_EXPORTER_OTLP_ENDPOINT", func(c *Config, v string) error {
		c.Observability.OTel.Endpoint = v
		c.Observability.OTel.Enabled = true
		return nil
	}},
	{"OTEL_EXPORTER_OTLP_HEADERS", func(c *Config, v string) error { return mergeOTLPHeaders(&c.Observability.OTel.Headers, v) }},
	{"OTEL_SERVICE_NAME", func(c *Config, v string) error { c.Observability.OTel.ServiceName = v; return nil }},
	{"OTEL_TRACES_SAMPLER_ARG", func(c *Config, v string) error { return setFloat(&c.Observability.OTel.SamplingRatio, v) }},
	{"OTEL_METRIC_EXPORT_INTERVAL", func(c *Config, v string) error {
		c.Observability.OTel.MetricExportIntervalMS = 0 // the variable wins over the file's value
		return setMillis(&c.Observability.OTel.ExportInterval, v)
	}},
	{"OTEL_SDK_DISABLED", func(c *Config, v string) error {
		var disabled bool
		if err := setBool(&disabled, v); err != nil {
			return err
		}
		if disabled {
			c.Observability.OTel.Enabled = false
		}
		return nil
	}},
}

// applyEnv overlays every set, non-empty variable and reports every
// malformed one.
func applyEnv(c *Config, getenv func(string) (string, bool)) error {
	var errs []error
	for _, ev := range envVars {
		v, ok := getenv(ev.name)
		if !ok || v == "" {
			continue
		}
		if err := ev.apply(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ev.name, err))
		}
	}
	return errors.Join(errs...)
}

// featureEnv sets features.NAME from a boolean variable.
func featureEnv(name string) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		var on bool
		if err := setBool(&on, v); err != nil {
			return err
		}
		c.Features.Set(name, on)
		return nil
	}
}

func setUpstream(c *Config, provider, upstream string) {
	p := c.Providers[provider]
	p.Upstream = upstream
	c.Providers[provider] = p
}

// splitList reads a comma-separated list; blanks around entries and empty
// entries are dropped, and validation judges what remains.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func setInt(dst *int, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be an integer, got %q", v)
	}
	*dst = n
	return nil
}

func setInt64(dst *int64, v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return fmt.Errorf("must be an integer number of bytes, got %q", v)
	}
	*dst = n
	return nil
}

func setBool(dst *bool, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be true or false, got %q", v)
	}
	*dst = b
	return nil
}

func setFloat(dst *float64, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return fmt.Errorf("must be a number, got %q", v)
	}
	*dst = f
	return nil
}

// setMillis reads a duration the way the OTel specification writes them:
// a whole number of milliseconds.
func setMillis(dst *time.Duration, v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return fmt.Errorf("must be an integer number of milliseconds, got %q", v)
	}
	*dst = time.Duration(n) * time.Millisecond
	return nil
}

// mergeOTLPHeaders parses the OTel list format "k1=v1,k2=v2" with
// percent-encoded values and adds the entries to dst, replacing file
// entries of the same name. Messages never quote values: they are usually
// credentials.
func mergeOTLPHeaders(dst *map[string]string, v string) error {
	parsed := map[string]string{}
	for i, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, value, ok := strings.Cut(entry, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return fmt.Errorf("entry %d must have the form key=value", i+1)
		}
		decoded, err := url.PathUnescape(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("entry %d (%s) has a malformed percent-encoded value", i+1, key)
		}
		parsed[key] = decoded
	}
	if *dst == nil {
		*dst = make(map[string]string, len(parsed))
	}
	for k, val := range parsed {
		(*dst)[k] = val
	}
	return nil
}
