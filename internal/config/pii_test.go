package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeExample returns the YAML block that follows the marker in the
// README, so the documented example is tested exactly as written.
func readmeExample(t *testing.T, marker string) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatalf("README has no %s", marker)
	}
	s = s[i:]
	start := strings.Index(s, "```yaml\n")
	end := strings.Index(s[start+8:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no yaml block after the marker")
	}
	return s[start+8 : start+8+end]
}

func TestREADMEPrivacyExampleLoadsVerbatim(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ongoingai.yaml")
	if err := os.WriteFile(path, []byte(readmeExample(t, "<!-- pii-example -->")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, true, nil)
	if err != nil {
		t.Fatalf("the README's example does not load:\n%v", err)
	}
	o := c.Observability.OTel
	if o.EndpointURL() != "http://localhost:4318" || o.ExportTimeout() != 10*time.Second || o.ExportInterval != time.Minute {
		t.Errorf("otel = %+v", o)
	}
	if len(c.PII.Scopes) != 1 || c.PII.Scopes[0].Match.WorkspaceID != "compliance" || c.PII.Replacement.Format != DefaultPIIFormat {
		t.Errorf("pii = %+v", c.PII)
	}
}

func TestOTelEndpointScheme(t *testing.T) {
	cases := []struct {
		endpoint string
		insecure bool
		want     string
	}{
		{"localhost:4318", true, "http://localhost:4318"},
		{"localhost:4318", false, "https://localhost:4318"},
		{"http://c:4318", false, "http://c:4318"},
		{"", false, DefaultOTLPEndpoint},
	}
	for _, tc := range cases {
		if got := (OTel{Endpoint: tc.endpoint, Insecure: tc.insecure}).EndpointURL(); got != tc.want {
			t.Errorf("%q insecure=%v: %q, want %q", tc.endpoint, tc.insecure, got, tc.want)
		}
	}
}

// metric_export_interval_ms sets the metric interval; the standard
// variable still wins over the file.
func TestMetricExportIntervalMS(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("observability:\n  otel:\n    metric_export_interval_ms: 1500\n"), 0o600)
	c, err := Load(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Observability.OTel.ExportInterval != 1500*time.Millisecond {
		t.Errorf("interval = %v", c.Observability.OTel.ExportInterval)
	}
	env := func(k string) (string, bool) { return "250", k == "OTEL_METRIC_EXPORT_INTERVAL" }
	c, err = Load(path, true, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Observability.OTel.ExportInterval != 250*time.Millisecond {
		t.Errorf("interval with env = %v", c.Observability.OTel.ExportInterval)
	}
}

func TestPIIValidation(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"unknown mode", func(c *Config) { c.PII.Mode = "mask" }, `pii.mode: must be one of`},
		{"scope without mode", func(c *Config) {
			c.PII.Scopes = []PIIScope{{Match: PIIMatch{OrgID: "o"}}}
		}, "pii.scopes[0].mode: required"},
		{"scope matching everything", func(c *Config) {
			c.PII.Scopes = []PIIScope{{Mode: PIIModeOff}}
		}, "pii.scopes[0].match: must set at least one of"},
		{"scope unknown provider", func(c *Config) {
			c.PII.Scopes = []PIIScope{{Mode: PIIModeOff, Match: PIIMatch{Provider: "gemini"}}}
		}, `pii.scopes[0].match.provider: unknown provider "gemini"`},
		{"scope route prefix", func(c *Config) {
			c.PII.Scopes = []PIIScope{{Mode: PIIModeOff, Match: PIIMatch{RoutePrefix: "openai"}}}
		}, `pii.scopes[0].match.route_prefix: must start with "/"`},
		{"duplicate scope", func(c *Config) {
			c.PII.Scopes = []PIIScope{{Mode: PIIModeOff, Match: PIIMatch{OrgID: "o"}}, {Mode: PIIModeOff, Match: PIIMatch{OrgID: "o"}}}
		}, "pii.scopes[1].match: duplicates pii.scopes[0].match"},
		{"empty policy id", func(c *Config) { c.PII.PolicyID = " " }, "pii.policy_id: required"},
		{"format", func(c *Config) { c.PII.Replacement.Format = "XXX" }, "pii.replacement.format: must contain {type} or {hash}"},
		{"export timeout", func(c *Config) { c.Observability.OTel.ExportTimeoutMS = 0 }, "observability.otel.export_timeout_ms: must be positive"},
		{"negative interval", func(c *Config) { c.Observability.OTel.MetricExportIntervalMS = -1 }, "observability.otel.metric_export_interval_ms: must not be negative"},
		{"insecure https", func(c *Config) {
			c.Observability.OTel.Endpoint = "https://c:4318"
			c.Observability.OTel.Insecure = true
		}, "observability.otel.insecure: must not be true when observability.otel.endpoint uses https"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// Every mode the gateway enforces validates; any other value is refused,
// naming the field, in pii.mode and in a scope: never accepted and
// ignored.
func TestOnlyEnforcedPIIModesValidate(t *testing.T) {
	for _, mode := range piiModes {
		c := Default()
		c.Tracing.CaptureBodies = true
		c.PII.Mode = mode
		if err := c.Validate(); err != nil {
			t.Errorf("mode %q: %v", mode, err)
		}
	}
	c := Default()
	c.PII.Mode = "redact"
	want := `pii.mode: must be one of "off", "redact_storage", "redact_upstream", "block", got "redact"`
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("redact: %v, want %q", err, want)
	}
	c = Default()
	c.PII.Scopes = []PIIScope{{Mode: "mask", Match: PIIMatch{OrgID: "o"}}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "pii.scopes[0].mode: must be one of") {
		t.Errorf("scope mask: %v", err)
	}
}

// Stage and mode combinations that would leave a setting without effect
// are refused, naming the field and the rule.
func TestPIIStageRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // "" valid
	}{
		{"block without request body", func(c *Config) {
			c.PII.Mode = PIIModeBlock
			c.PII.Stages.RequestBody = false
		}, "pii.stages.request_body: must be true when pii.mode is block (it inspects the request body)"},
		{"scope redact_upstream without request body", func(c *Config) {
			c.PII.Scopes = []PIIScope{{Mode: PIIModeRedactUpstream, Match: PIIMatch{OrgID: "o"}}}
			c.PII.Stages.RequestBody = false
		}, "pii.stages.request_body: must be true when pii.scopes[0].mode is redact_upstream"},
		{"redact_storage without stages", func(c *Config) {
			c.Tracing.CaptureBodies = true
			c.PII.Mode = PIIModeRedactStorage
			c.PII.Stages = PIIStages{}
		}, "pii.stages: must enable at least one stage when pii.mode is redact_storage"},
		{"redact_storage with nothing captured", func(c *Config) {
			c.PII.Mode = PIIModeRedactStorage
		}, "pii.mode: redact_storage needs tracing.capture_bodies or tracing.capture_headers"},
		{"scope redact_storage with nothing captured", func(c *Config) {
			c.PII.Scopes = []PIIScope{{Mode: PIIModeRedactStorage, Match: PIIMatch{WorkspaceID: "w"}}}
		}, "pii.scopes[0].mode: redact_storage needs tracing.capture_bodies or tracing.capture_headers"},
		{"redact_storage of headers only", func(c *Config) {
			c.PII.Mode = PIIModeRedactStorage
			c.Tracing.CaptureHeaders = []string{"X-User"}
			c.PII.Stages = PIIStages{RequestHeaders: true}
		}, ""},
		{"block with only the request body", func(c *Config) {
			c.PII.Mode = PIIModeBlock
			c.PII.Stages = PIIStages{RequestBody: true}
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEffectiveMode(t *testing.T) {
	c := Default()
	if m := c.EffectiveMode(); m != PIIModeOff {
		t.Errorf("auto without capture = %q", m)
	}
	c.Tracing.CaptureBodies = true
	if m := c.EffectiveMode(); m != PIIModeRedactStorage {
		t.Errorf("auto with capture = %q", m)
	}
	c.PII.Mode = PIIModeOff
	if m := c.EffectiveMode(); m != PIIModeOff {
		t.Errorf("explicit off = %q", m)
	}
}
