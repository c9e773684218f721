package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// MetricLimitRefusals counts calls refused with 429 by a rate limit or
// budget, by limit (requests_per_minute, ..., usd_per_month) and scope
// (key, workspace, org).
const MetricLimitRefusals = "ongoingai.limits.refused"

// ObserveLimitRefusals exports the refusal counts that read reports (see
// limits.Limiter.Refusals), read once per collection so the request path
// pays only an atomic add. With metrics off it does nothing.
func (t *Telemetry) ObserveLimitRefusals(read func(yield func(limit, scope string, n int64))) error {
	if !t.metrics || read == nil {
		return nil
	}
	c, err := t.meter.Int64ObservableCounter(MetricLimitRefusals, metric.WithUnit("{request}"),
		metric.WithDescription("Calls refused with 429 because they would exceed a rate limit or budget, by limit and scope."))
	if err != nil {
		return err
	}
	_, err = t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		read(func(limit, scope string, n int64) {
			o.ObserveInt64(c, n, metric.WithAttributes(attribute.String("limit", limit), attribute.String("scope", scope)))
		})
		return nil
	}, c)
	return err
}
