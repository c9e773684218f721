package config

import (
	"slices"
	"strings"
	"testing"
)

func TestFeaturesDefaultAllOn(t *testing.T) {
	if got := Default().Features.Enabled(); !slices.Equal(got, FeatureNames) {
		t.Fatalf("default features = %v, want all of %v", got, FeatureNames)
	}
}

// The file switches features off, an environment variable wins over it,
// and what is not mentioned stays on.
func TestFeaturesFromFileAndEnv(t *testing.T) {
	path := writeConfig(t, "features: {analytics: false, pii: false, console: true}\n")
	c, err := Load(path, true, envMap(map[string]string{
		"ONGOINGAI_FEATURE_PII":  "true",
		"ONGOINGAI_FEATURE_OTEL": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{FeatureConsole, FeatureRetention, FeaturePII, FeatureLimits, FeaturePrometheus}
	if got := c.Features.Enabled(); !slices.Equal(got, want) {
		t.Fatalf("features = %v, want %v", got, want)
	}
}

// A feature that does not exist is refused, not ignored; so is a value
// that is not a boolean.
func TestFeaturesUnknownOrMalformed(t *testing.T) {
	path := writeConfig(t, "features: {rollups: false}\n")
	if _, err := Load(path, true, nil); err == nil || !strings.Contains(err.Error(), "features.rollups: unknown key") {
		t.Fatalf("unknown feature: err = %v", err)
	}
	ok := writeConfig(t, "")
	if _, err := Load(ok, true, envMap(map[string]string{"ONGOINGAI_FEATURE_LIMITS": "nope"})); err == nil || !strings.Contains(err.Error(), "ONGOINGAI_FEATURE_LIMITS") {
		t.Fatalf("malformed env: err = %v", err)
	}
}
