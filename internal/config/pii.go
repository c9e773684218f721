package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// piiModes is every mode the gateway enforces (auto aside). Validation
// refuses any other value naming its field: a privacy setting that is
// accepted and silently ignored is worse than one that is refused.
var piiModes = []string{PIIModeOff, PIIModeRedactStorage, PIIModeRedactUpstream, PIIModeBlock}

// EffectiveMode resolves the auto mode (""): redact_storage when bodies
// are captured (what is stored is then redacted), off otherwise. Explicit
// modes are returned as written.
func (c Config) EffectiveMode() string {
	if c.PII.Mode != PIIModeAuto {
		return c.PII.Mode
	}
	if c.Tracing.CaptureBodies {
		return PIIModeRedactStorage
	}
	return PIIModeOff
}

// validatePIIStages refuses stage and mode combinations where a setting
// would have no effect: block and redact_upstream look at the request
// body, so they need its stage; a mode other than off needs some stage;
// redact_storage needs something stored to redact.
func (c Config) validatePIIStages(v *validator, field, mode string) {
	st := c.PII.Stages
	switch mode {
	case PIIModeBlock, PIIModeRedactUpstream:
		if !st.RequestBody {
			v.add("pii.stages.request_body", "must be true when %s is %s (it inspects the request body)", field, mode)
		}
	case PIIModeRedactStorage:
		if st == (PIIStages{}) {
			v.add("pii.stages", "must enable at least one stage when %s is %s", field, mode)
		}
		if !c.Tracing.CaptureBodies && len(c.Tracing.CaptureHeaders) == 0 {
			v.add(field, "redact_storage needs tracing.capture_bodies or tracing.capture_headers: nothing else is stored to redact")
		}
	}
}

func (c Config) validatePII(v *validator) {
	p := c.PII
	if p.Mode != PIIModeAuto {
		if validPIIMode(v, "pii.mode", p.Mode) {
			c.validatePIIStages(v, "pii.mode", p.Mode)
		}
	}
	if strings.TrimSpace(p.PolicyID) == "" {
		v.add("pii.policy_id", "required")
	} else if len(p.PolicyID) > 128 {
		v.add("pii.policy_id", "must be at most 128 characters")
	}
	if p.Replacement.Format == "" {
		v.add("pii.replacement.format", "required")
	} else if !strings.Contains(p.Replacement.Format, "{type}") && !strings.Contains(p.Replacement.Format, "{hash}") {
		v.add("pii.replacement.format", "must contain {type} or {hash}")
	}
	seen := map[PIIMatch]int{}
	for i, s := range p.Scopes {
		base := fmt.Sprintf("pii.scopes[%d]", i)
		if s.Mode == "" {
			v.add(base+".mode", "required")
		} else if validPIIMode(v, base+".mode", s.Mode) {
			c.validatePIIStages(v, base+".mode", s.Mode)
		}
		if len(s.PolicyID) > 128 {
			v.add(base+".policy_id", "must be at most 128 characters")
		}
		m := s.Match
		if m == (PIIMatch{}) {
			v.add(base+".match", "must set at least one of org_id, workspace_id, key_id, provider, route_prefix")
		}
		if m.Provider != "" {
			if _, ok := c.Providers[m.Provider]; !ok {
				v.add(base+".match.provider", "unknown provider %q", m.Provider)
			}
		}
		if m.RoutePrefix != "" && !strings.HasPrefix(m.RoutePrefix, "/") {
			v.add(base+".match.route_prefix", "must start with \"/\"")
		}
		if j, dup := seen[m]; dup {
			v.add(base+".match", "duplicates pii.scopes[%d].match", j)
		} else {
			seen[m] = i
		}
	}
}

func validPIIMode(v *validator, field, mode string) bool {
	if !slices.Contains(piiModes, mode) {
		v.add(field, "must be one of %s, got %q", quoteList(piiModes), mode)
		return false
	}
	return true
}

// EndpointURL is the OTLP/HTTP base URL to export to, for the exporters
// and for the doctor's check alike. An endpoint written without a scheme
// ("localhost:4318", as collectors document it) is plain HTTP when
// Insecure is set and HTTPS otherwise; no endpoint is DefaultOTLPEndpoint.
func (o OTel) EndpointURL() string {
	if o.Endpoint == "" {
		return DefaultOTLPEndpoint
	}
	if strings.Contains(o.Endpoint, "://") {
		return o.Endpoint
	}
	if o.Insecure {
		return "http://" + o.Endpoint
	}
	return "https://" + o.Endpoint
}

// ExportTimeout is ExportTimeoutMS as a duration.
func (o OTel) ExportTimeout() time.Duration {
	return time.Duration(o.ExportTimeoutMS) * time.Millisecond
}

func (c Config) validateOTelExtras(v *validator) {
	o := c.Observability.OTel
	if o.ExportTimeoutMS <= 0 {
		v.add("observability.otel.export_timeout_ms", "must be positive")
	}
	if o.MetricExportIntervalMS < 0 {
		v.add("observability.otel.metric_export_interval_ms", "must not be negative")
	}
	if o.Insecure && strings.HasPrefix(strings.ToLower(o.Endpoint), "https://") {
		v.add("observability.otel.insecure", "must not be true when observability.otel.endpoint uses https")
	}
}

// foldOTelInterval applies metric_export_interval_ms from the file before
// the environment overlay, so OTEL_METRIC_EXPORT_INTERVAL still wins.
func foldOTelInterval(c *Config) {
	if ms := c.Observability.OTel.MetricExportIntervalMS; ms > 0 {
		c.Observability.OTel.ExportInterval = time.Duration(ms) * time.Millisecond
	}
}
