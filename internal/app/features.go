package app

import (
	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/config"
)

// featureRoutes marks every route of routes as belonging to feature.
func featureRoutes(feature string, routes []api.Route) []api.Route {
	for i := range routes {
		routes[i].Feature = feature
	}
	return routes
}

// disableFeatures replaces each route of a feature switched off with a
// public route answering 404 {"error":"feature disabled: NAME"}: public,
// so that the answer is the same with or without a key, and nothing of
// the feature's handler (or its auth check) runs.
func disableFeatures(routes []api.Route, f config.Features) []api.Route {
	for i, rt := range routes {
		if rt.Feature != "" && !f.On(rt.Feature) {
			routes[i] = api.Route{Method: rt.Method, Pattern: rt.Pattern, Public: true, Feature: rt.Feature, Handler: api.FeatureDisabled(rt.Feature)}
		}
	}
	return routes
}

// observability is the observability configuration with OTLP export and
// the Prometheus exposition forced off when their features are.
func observability(cfg config.Config) config.Observability {
	o := cfg.Observability
	if !cfg.Features.On(config.FeatureOTel) {
		o.OTel.Enabled = false
	}
	if !cfg.Features.On(config.FeaturePrometheus) {
		o.Prometheus.Enabled = false
	}
	return o
}
