package config

// Feature names, as the features block, /api/health and the 404 message
// ("feature disabled: NAME") spell them.
const (
	FeatureConsole    = "console"
	FeatureAnalytics  = "analytics"
	FeatureRetention  = "retention"
	FeaturePII        = "pii"
	FeatureLimits     = "limits"
	FeatureOTel       = "otel"
	FeaturePrometheus = "prometheus"
)

// FeatureNames lists every optional capability in the order /api/health
// reports them.
var FeatureNames = []string{
	FeatureConsole, FeatureAnalytics, FeatureRetention, FeaturePII,
	FeatureLimits, FeatureOTel, FeaturePrometheus,
}

// Features switches each optional capability on or off independently. Each
// is on unless set to false (today's behaviour); off, its routes answer 404
// {"error":"feature disabled: NAME"}, its background jobs do not run and
// nothing of it is wired into the request path. Pointers so that unset
// means on; read them with On.
type Features struct {
	// Console: the operator console's pages and its session sweep.
	Console *bool `yaml:"console"`
	// Analytics: /api/analytics/* and the rollup jobs (trace batches are
	// stored without a rollup job while it is off).
	Analytics *bool `yaml:"analytics"`
	// Retention: the hourly retention job.
	Retention *bool `yaml:"retention"`
	// PII: the detection and redaction engine (pii.*) on the request path.
	PII *bool `yaml:"pii"`
	// Limits: rate limits and budgets on the request path and the
	// /api/.../limits routes.
	Limits *bool `yaml:"limits"`
	// OTel: OTLP export (observability.otel), whatever otel.enabled says.
	OTel *bool `yaml:"otel"`
	// Prometheus: the /metrics exposition (observability.prometheus),
	// whatever prometheus.enabled says.
	Prometheus *bool `yaml:"prometheus"`
}

// field returns the setting of the named feature; nil for an unknown name.
func (f *Features) field(name string) **bool {
	switch name {
	case FeatureConsole:
		return &f.Console
	case FeatureAnalytics:
		return &f.Analytics
	case FeatureRetention:
		return &f.Retention
	case FeaturePII:
		return &f.PII
	case FeatureLimits:
		return &f.Limits
	case FeatureOTel:
		return &f.OTel
	case FeaturePrometheus:
		return &f.Prometheus
	}
	return nil
}

// On reports whether the named feature is enabled: unset means on. An
// unknown name is off.
func (f Features) On(name string) bool {
	p := f.field(name)
	return p != nil && (*p == nil || **p)
}

// Enabled lists the features that are on, in FeatureNames order.
func (f Features) Enabled() []string {
	out := make([]string, 0, len(FeatureNames))
	for _, n := range FeatureNames {
		if f.On(n) {
			out = append(out, n)
		}
	}
	return out
}

// Set switches the named feature on or off; false for an unknown name.
func (f *Features) Set(name string, on bool) bool {
	p := f.field(name)
	if p == nil {
		return false
	}
	*p = &on
	return true
}
