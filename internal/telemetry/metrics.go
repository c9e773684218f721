package telemetry

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"

	"github.com/ongoingai/gateway/internal/trace"
)

// Metric names of the gateway's own instruments. The GenAI client metrics
// use their semantic-convention names (gen_ai.client.token.usage,
// gen_ai.client.operation.duration,
// gen_ai.client.operation.time_to_first_chunk).
const (
	MetricRequests        = "ongoingai.gateway.requests"
	MetricRequestDuration = "ongoingai.gateway.request.duration"
	MetricEstimatedCost   = "ongoingai.estimated_cost.usd"

	MetricTraceQueueCapacity  = "ongoingai.trace.queue.capacity"
	MetricTraceQueueDepth     = "ongoingai.trace.queue.depth"
	MetricTraceQueueHighWater = "ongoingai.trace.queue.high_water"
	MetricTraceEnqueued       = "ongoingai.trace.enqueued"
	MetricTraceWritten        = "ongoingai.trace.written"
	MetricTraceDropped        = "ongoingai.trace.dropped"
	MetricTraceLost           = "ongoingai.trace.lost"
	MetricTraceWriteFailures  = "ongoingai.trace.write_failures"
	MetricTraceFlushDuration  = "ongoingai.trace.flush.duration"
	MetricTraceFlushBatchSize = "ongoingai.trace.flush.batch_size"
	MetricTraceLastFlush      = "ongoingai.trace.flush.last_timestamp"

	// The on-disk spool (tracing.spool), exported only when it is on.
	MetricTraceSpoolBytes    = "ongoingai.trace.spool.bytes"
	MetricTraceSpoolFiles    = "ongoingai.trace.spool.files"
	MetricTraceSpoolPending  = "ongoingai.trace.spool.pending_batches"
	MetricTraceSpoolSpooled  = "ongoingai.trace.spool.spooled"
	MetricTraceSpoolReplayed = "ongoingai.trace.spool.replayed"
	MetricTraceSpoolDropped  = "ongoingai.trace.spool.dropped"
	MetricTraceSpoolCorrupt  = "ongoingai.trace.spool.corrupt_skipped"
)

// Bucket boundaries. The GenAI ones are those the semantic conventions
// recommend; the request duration extends the HTTP defaults to the minutes
// a long stream lasts.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttfcBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	requestBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// instruments are the synchronous instruments of the request path.
type instruments struct {
	tokenUsage      genaiconv.ClientTokenUsage
	opDuration      genaiconv.ClientOperationDuration
	timeToFirst     genaiconv.ClientOperationTimeToFirstChunk
	requests        metric.Int64Counter
	requestDuration metric.Float64Histogram
	cost            metric.Float64Counter
}

// newInstruments creates the instruments on m. The SDK only fails for
// invalid names or units, which are constants here, and returns a usable
// no-op instrument even then, so errors are ignored.
func newInstruments(m metric.Meter) instruments {
	var in instruments
	in.tokenUsage, _ = genaiconv.NewClientTokenUsage(m, metric.WithExplicitBucketBoundaries(tokenBuckets...))
	in.opDuration, _ = genaiconv.NewClientOperationDuration(m, metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.timeToFirst, _ = genaiconv.NewClientOperationTimeToFirstChunk(m, metric.WithExplicitBucketBoundaries(ttfcBuckets...))
	in.requests, _ = m.Int64Counter(MetricRequests,
		metric.WithUnit("{request}"),
		metric.WithDescription("HTTP requests served by the gateway, by provider, route class and status class."))
	in.requestDuration, _ = m.Float64Histogram(MetricRequestDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Time from request arrival to the end of the response, streams included."),
		metric.WithExplicitBucketBoundaries(requestBuckets...))
	in.cost, _ = m.Float64Counter(MetricEstimatedCost,
		metric.WithUnit("{USD}"),
		metric.WithDescription("Estimated cost of proxied calls in USD, from the price catalog."))
	return in
}

// ObserveWriter exports the trace pipeline's counters, read from stats
// (trace.Writer.Stats) once per collection, so the writer's hot path pays
// nothing for them. Call it once; with metrics off it does nothing.
func (t *Telemetry) ObserveWriter(stats func() trace.Stats) error {
	if !t.metrics || stats == nil {
		return nil
	}
	m := t.meter
	var errs []error
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	capacity := gauge(MetricTraceQueueCapacity, "{record}", "Trace records the writer's queue holds before dropping.")
	depth := gauge(MetricTraceQueueDepth, "{record}", "Trace records waiting in the writer's queue.")
	highWater := gauge(MetricTraceQueueHighWater, "{record}", "Deepest the writer's queue has been since start.")
	batch := gauge(MetricTraceFlushBatchSize, "{record}", "Records in the last batch written.")
	enqueued := counter(MetricTraceEnqueued, "{record}", "Trace records accepted by the writer.")
	written := counter(MetricTraceWritten, "{record}", "Trace records written to the store.")
	dropped := counter(MetricTraceDropped, "{record}", "Trace records dropped because the queue was full or closed.")
	lost := counter(MetricTraceLost, "{record}", "Trace records given up on at shutdown after failed writes.")
	failures := counter(MetricTraceWriteFailures, "{attempt}",
		"Failed batch insert attempts, each retried, by error.type: timeout, connection, constraint or other.")
	// One series per class, zeros included, so that a rate over any class
	// exists before its first failure. The classes are a fixed set.
	failureAttrs := make([]metric.ObserveOption, len(trace.FailureClasses))
	for i, class := range trace.FailureClasses {
		failureAttrs[i] = metric.WithAttributeSet(attribute.NewSet(semconv.ErrorTypeKey.String(class)))
	}
	flushDur, err := m.Float64ObservableGauge(MetricTraceFlushDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the last successful batch write."))
	errs = append(errs, err)
	lastFlush, err := m.Float64ObservableGauge(MetricTraceLastFlush, metric.WithUnit("s"),
		metric.WithDescription("Unix time of the last successful batch write; alert when it stops moving while requests flow."))
	errs = append(errs, err)
	spoolBytes := gauge(MetricTraceSpoolBytes, "By", "Bytes of the trace spool's files on disk.")
	spoolFiles := gauge(MetricTraceSpoolFiles, "{file}", "Files of the trace spool on disk.")
	spoolPending := gauge(MetricTraceSpoolPending, "{batch}", "Trace batches in the spool, waiting to be replayed into the store.")
	spoolSpooled := counter(MetricTraceSpoolSpooled, "{record}", "Trace records written to the spool because the store failed or the queue backed up.")
	spoolReplayed := counter(MetricTraceSpoolReplayed, "{record}", "Trace records replayed from the spool into the store.")
	spoolDropped := counter(MetricTraceSpoolDropped, "{record}", "Trace records dropped because the spool was full or its disk failed (also in ongoingai.trace.dropped).")
	spoolCorrupt := counter(MetricTraceSpoolCorrupt, "{batch}", "Unreadable spool batches skipped: torn writes a crash left, failed checksums.")
	if err := errors.Join(errs...); err != nil {
		return err
	}

	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		if sp := s.Spool; sp != nil {
			o.ObserveInt64(spoolBytes, sp.Bytes)
			o.ObserveInt64(spoolFiles, int64(sp.Files))
			o.ObserveInt64(spoolPending, sp.PendingBatches)
			o.ObserveInt64(spoolSpooled, sp.SpooledRecords)
			o.ObserveInt64(spoolReplayed, sp.ReplayedRecords)
			o.ObserveInt64(spoolDropped, sp.DroppedRecords)
			o.ObserveInt64(spoolCorrupt, sp.CorruptSkipped)
		}
		o.ObserveInt64(capacity, int64(s.Capacity))
		o.ObserveInt64(depth, int64(s.Depth))
		o.ObserveInt64(highWater, s.HighWater)
		o.ObserveInt64(enqueued, s.Enqueued)
		o.ObserveInt64(written, s.Written)
		o.ObserveInt64(dropped, s.Dropped)
		o.ObserveInt64(lost, s.Lost)
		for i, class := range trace.FailureClasses { // Stats lists every class
			o.ObserveInt64(failures, s.WriteFailuresByClass[class], failureAttrs[i])
		}
		// Before the first flush there is no last flush to describe; a
		// zero would read as "flushed at 1970".
		if !s.LastFlushAt.IsZero() {
			o.ObserveInt64(batch, int64(s.LastBatchSize))
			o.ObserveFloat64(flushDur, s.LastFlushDuration/1000)
			o.ObserveFloat64(lastFlush, float64(s.LastFlushAt.UnixMicro())/1e6)
		}
		return nil
	}, capacity, depth, highWater, batch, enqueued, written, dropped, lost, failures, flushDur, lastFlush,
		spoolBytes, spoolFiles, spoolPending, spoolSpooled, spoolReplayed, spoolDropped, spoolCorrupt)
	return err
}

// Metric names of the PII policy (pii.mode), exported only when the
// policy is active.
const (
	MetricPIIRedactions = "ongoingai.pii.redactions"
	MetricPIIBlocked    = "ongoingai.pii.blocked"
	MetricPIIFailures   = "ongoingai.pii.redaction_failures"
)

// PIIStats are the PII policy's counters since start.
type PIIStats struct {
	// Redactions are values replaced by placeholders, by type name (EMAIL,
	// PHONE, SSN, CARD, TOKEN, FIELD).
	Redactions map[string]int64
	// Blocked are requests block mode refused.
	Blocked int64
	// RequestFailures are requests refused because the policy could not
	// be evaluated on them; StorageFailures are traces stored without
	// headers and bodies because their redaction failed.
	RequestFailures, StorageFailures int64
}

// piiTypeKey labels redactions by finding type; piiStageKey labels
// failures by where redaction failed (request or storage).
const (
	piiTypeKey  = attribute.Key("pii.type")
	piiStageKey = attribute.Key("pii.stage")
)

// ObservePII exports the PII policy's counters, read from stats once per
// collection. Call it once; with metrics off it does nothing.
func (t *Telemetry) ObservePII(stats func() PIIStats) error {
	if !t.metrics || stats == nil {
		return nil
	}
	m := t.meter
	redactions, err1 := m.Int64ObservableCounter(MetricPIIRedactions, metric.WithUnit("{value}"),
		metric.WithDescription("Values the PII policy replaced with placeholders (forwarded or stored), by pii.type."))
	blocked, err2 := m.Int64ObservableCounter(MetricPIIBlocked, metric.WithUnit("{request}"),
		metric.WithDescription("Requests refused by pii.mode block."))
	failures, err3 := m.Int64ObservableCounter(MetricPIIFailures, metric.WithUnit("{event}"),
		metric.WithDescription("PII redactions that failed, by pii.stage: request (refused, never forwarded) or storage (trace stored without headers and bodies)."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	requestStage := metric.WithAttributeSet(attribute.NewSet(piiStageKey.String("request")))
	storageStage := metric.WithAttributeSet(attribute.NewSet(piiStageKey.String("storage")))
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		for typ, n := range s.Redactions {
			o.ObserveInt64(redactions, n, metric.WithAttributes(piiTypeKey.String(typ)))
		}
		o.ObserveInt64(blocked, s.Blocked)
		o.ObserveInt64(failures, s.RequestFailures, requestStage)
		o.ObserveInt64(failures, s.StorageFailures, storageStage)
		return nil
	}, redactions, blocked, failures)
	return err
}
