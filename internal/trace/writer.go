package trace

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ongoingai/gateway/internal/spool"
)

// Sink is where batches go. store.Traces satisfies it; the writer does not
// care which database is behind it.
type Sink interface {
	InsertTraces(ctx context.Context, batch []Record) error
}

// The writer's batching defaults, which are also the configuration's
// (tracing.queue_size, batch_size and flush_interval in config.Default).
const (
	DefaultQueueSize     = 65536
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 50 * time.Millisecond
)

// WriterOptions tunes batching. Zero values take the defaults.
type WriterOptions struct {
	QueueSize     int           // records held in memory before drops; default DefaultQueueSize
	BatchSize     int           // records per insert; default DefaultBatchSize
	FlushInterval time.Duration // a partial batch is written after this long; default DefaultFlushInterval
	// RetryBackoffMax caps the wait between attempts to write a failed
	// batch (database outage); default 1s.
	RetryBackoffMax time.Duration
	// WriteTimeout bounds one insert attempt; an attempt that runs out of
	// time is a "timeout" failure and is retried. Default 30s.
	WriteTimeout time.Duration
	// Classify names the class of a failed write (one of FailureClasses)
	// from the store's own error types; ClassifierOf(store) finds the
	// store's, so that this package needs no driver import. An empty or
	// unknown answer falls back to ClassifyError; nil means ClassifyError
	// alone.
	Classify func(error) string
	Logger   *slog.Logger
	// Spool, when set, takes the batches the store cannot take now: a
	// batch whose insert fails (for any cause but the store refusing the
	// rows), or any batch while the queue is past SpoolHighWater (the
	// store is not keeping up), goes to disk instead of being retried in
	// memory, and so do all batches after it until the spool has been
	// replayed into the store, oldest first. See replay. The writer owns
	// it from then on and closes it in Close; frames left in it are
	// replayed by the next writer opened on it. Nil keeps every batch in
	// memory, retried until it lands.
	Spool *spool.Spool
	// SpoolHighWater is the queue depth from which batches go to the
	// spool although the store answers (it is falling behind); default
	// BatchSize (at most half of QueueSize), so that the records only in
	// memory, which a crash loses, stay about one batch.
	SpoolHighWater int
}

// Stats is a snapshot of the writer's counters, served by /api/health and
// the trace-pipeline diagnostics.
type Stats struct {
	Capacity      int   `json:"capacity"`
	Depth         int   `json:"depth"`
	HighWater     int64 `json:"high_water"`
	Enqueued      int64 `json:"enqueued_total"`
	Written       int64 `json:"written_total"`
	Dropped       int64 `json:"dropped_total"`
	WriteFailures int64 `json:"write_failures_total"` // failed insert attempts (each is retried)
	// WriteFailuresByClass splits WriteFailures by cause: it holds every
	// class of FailureClasses, zeros included, and sums to WriteFailures
	// (give or take a failure counted while the snapshot was taken).
	WriteFailuresByClass map[string]int64 `json:"write_failures_by_class"`
	Lost                 int64            `json:"lost_total"` // records given up on: at shutdown after failed retries, or refused by the store on their own (see poisonAttempts)
	LastError            string           `json:"last_error,omitempty"`
	LastFlushAt          time.Time        `json:"last_flush_at"`
	LastFlushDuration    float64          `json:"last_flush_duration_ms"`
	LastBatchSize        int              `json:"last_batch_size"`
	// RedactionFailures counts records whose redaction (pii
	// redact_storage) failed: they were stored without headers and bodies.
	RedactionFailures int64 `json:"redaction_failures_total"`

	// LastErrorClass is the class (one of FailureClasses) of LastError, ""
	// before the first failure. LastError is the store's own text, for the
	// log and the operator's console only: a driver's error can name the
	// database host, user and database, so API clients are shown the class.
	LastErrorClass string `json:"last_error_class,omitempty"`
	// Spool describes the on-disk spool; nil when there is none.
	Spool *SpoolStats `json:"spool,omitempty"`
}

// SpoolStats are the spool's figures. Records in the spool were enqueued
// and are neither written nor dropped yet; they survive a restart.
type SpoolStats struct {
	MaxBytes       int64 `json:"max_bytes"`
	Bytes          int64 `json:"bytes"`           // on disk now
	Files          int   `json:"files"`           // segment files now
	PendingBatches int64 `json:"pending_batches"` // spooled, not yet replayed
	SpooledBatches int64 `json:"spooled_batches_total"`
	SpooledRecords int64 `json:"spooled_records_total"`
	// Replayed are the batches (and their records) read back from the
	// spool and written to the store, those a previous process left
	// included.
	ReplayedBatches int64 `json:"replayed_batches_total"`
	ReplayedRecords int64 `json:"replayed_records_total"`
	// DroppedRecords were refused by the spool (full, or a failing disk);
	// they are counted in Stats.Dropped as well.
	DroppedRecords int64 `json:"dropped_records_total"`
	// CorruptSkipped counts what was unreadable: torn tails left by a
	// crash mid-write, frames failing their checksum, batches that would
	// not decode. The records in them are lost.
	CorruptSkipped int64 `json:"corrupt_skipped_total"`
	// LastError is the spool's latest error, for the log and the console;
	// LastErrorKind says what it was about (one of SpoolErrorKinds), which
	// is what API clients are shown: the text names files on this host.
	LastError     string `json:"last_error,omitempty"`
	LastErrorKind string `json:"last_error_kind,omitempty"`
}

// The kinds of spool error, SpoolStats.LastErrorKind.
const (
	SpoolErrorFull    = "full"    // the spool reached its bound; batches were dropped
	SpoolErrorDisk    = "disk"    // its files could not be written or read
	SpoolErrorCorrupt = "corrupt" // a spooled batch would not decode
)

// Writer is the asynchronous trace pipeline: Enqueue never blocks; a single
// goroutine batches records and writes them, retrying a failed batch until
// it lands (records arriving meanwhile queue up, and are counted as dropped
// once the queue is full). Nothing is lost silently: every record is either
// written, counted as dropped, or counted as lost at shutdown.
type Writer struct {
	sink  Sink
	opts  WriterOptions
	queue chan *Record
	log   *slog.Logger

	enqueued, written, dropped, failures, lost, highWater atomic.Int64
	redactionFailures                                     atomic.Int64
	failuresByClass                                       [len(FailureClasses)]atomic.Int64

	spool     *spool.Spool // nil: no spool
	spoolHigh int
	// wake tells replay that a batch was spooled; fed is closed when
	// run has handed over its last batch, replayed when replay ends.
	wake, fed, replayed chan struct{}

	spooledBatches, spooledRecords, replayedBatches, replayedRecords, spoolDropped, undecodable atomic.Int64

	mu           sync.Mutex // guards the fields below
	lastErr      string
	lastClass    string
	lastSpoolErr string
	spoolErrKind string
	lastFlushAt  time.Time
	lastFlushMS  float64
	lastBatch    int

	closing  chan struct{} // closed by Close: drain and stop
	deadline chan struct{} // closed when Close's context ends: stop retrying
	// halt is the parent of every write attempt, cancelled with deadline,
	// so that an attempt hung on an unresponsive store cannot hold the
	// drain past Close's bound.
	halt    context.Context
	haltNow context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// NewWriter starts a writer on sink.
func NewWriter(sink Sink, opts WriterOptions) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.RetryBackoffMax <= 0 {
		opts.RetryBackoffMax = time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SpoolHighWater <= 0 {
		// One batch behind already: the queue is what a kill -9 loses,
		// so with a spool it is kept short, the backlog on disk.
		opts.SpoolHighWater = max(min(opts.BatchSize, opts.QueueSize/2), 1)
	}
	w := &Writer{
		sink:     sink,
		opts:     opts,
		queue:    make(chan *Record, opts.QueueSize),
		log:      opts.Logger,
		closing:  make(chan struct{}),
		deadline: make(chan struct{}),
		done:     make(chan struct{}),
		spool:    opts.Spool,
		wake:     make(chan struct{}, 1),
		fed:      make(chan struct{}),
		replayed: make(chan struct{}),

		spoolHigh: opts.SpoolHighWater,
	}
	w.halt, w.haltNow = context.WithCancel(context.Background())
	if w.spool != nil {
		go w.replay()
	} else {
		close(w.replayed)
	}
	go w.run()
	return w
}

// Enqueue hands a record to the writer without blocking. It returns false
// when the queue is full (counted as dropped) or the writer is closed
// (counted as lost: a call that finished after the shutdown drain).
func (w *Writer) Enqueue(r *Record) bool {
	select {
	case <-w.closing:
		w.lost.Add(1)
		return false
	default:
	}
	select {
	case w.queue <- r:
		w.enqueued.Add(1)
		if d := int64(len(w.queue)); d > w.highWater.Load() {
			w.highWater.Store(d) // a racy max is fine: it is a diagnostic
		}
		return true
	default:
		w.dropped.Add(1)
		return false
	}
}

// Close stops accepting records, writes everything queued and returns once
// the queue is empty. If ctx ends first, the write in progress is
// abandoned and retries stop: the remaining records are kept in the spool
// when there is one, else counted as lost (and logged), and ctx's error is
// returned if any record was lost that way.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.closing) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		lost := w.lost.Load()
		close(w.deadline)
		w.haltNow()
		<-w.done
		if w.lost.Load() == lost {
			return nil // what was left is safe in the spool
		}
		return ctx.Err()
	}
}

// Stats returns the current counters.
func (w *Writer) Stats() Stats {
	byClass := make(map[string]int64, len(FailureClasses))
	for i, class := range FailureClasses {
		byClass[class] = w.failuresByClass[i].Load()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{
		Capacity:             cap(w.queue),
		Depth:                len(w.queue),
		HighWater:            w.highWater.Load(),
		Enqueued:             w.enqueued.Load(),
		Written:              w.written.Load(),
		Dropped:              w.dropped.Load(),
		WriteFailures:        w.failures.Load(),
		WriteFailuresByClass: byClass,
		Lost:                 w.lost.Load(),
		LastError:            w.lastErr,
		LastFlushAt:          w.lastFlushAt,
		LastFlushDuration:    w.lastFlushMS,
		LastBatchSize:        w.lastBatch,
		RedactionFailures:    w.redactionFailures.Load(),
		LastErrorClass:       w.lastClass,
		Spool:                w.spoolStats(),
	}
}

// spoolStats is called with mu held.
func (w *Writer) spoolStats() *SpoolStats {
	if w.spool == nil {
		return nil
	}
	ss := w.spool.Stats()
	return &SpoolStats{
		MaxBytes:        ss.MaxBytes,
		Bytes:           ss.Bytes,
		Files:           ss.Files,
		PendingBatches:  ss.Pending,
		SpooledBatches:  w.spooledBatches.Load(),
		SpooledRecords:  w.spooledRecords.Load(),
		ReplayedBatches: w.replayedBatches.Load(),
		ReplayedRecords: w.replayedRecords.Load(),
		DroppedRecords:  w.spoolDropped.Load(),
		CorruptSkipped:  ss.Corrupt + w.undecodable.Load(),
		LastError:       w.lastSpoolErr,
		LastErrorKind:   w.spoolErrKind,
	}
}

func (w *Writer) run() {
	defer func() {
		close(w.fed)
		<-w.replayed
		if w.spool != nil {
			if err := w.spool.Close(); err != nil {
				w.log.Error("closing the trace spool", "err", err)
			}
		}
		w.haltNow()
		close(w.done)
	}()
	batch := make([]Record, 0, w.opts.BatchSize)
	ticker := time.NewTicker(w.opts.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case r := <-w.queue:
			batch = w.add(batch, r)
			if len(batch) >= w.opts.BatchSize {
				batch = w.dispatch(batch)
			}
		case <-ticker.C:
			if len(batch) > 0 {
				batch = w.dispatch(batch)
			}
		case <-w.closing:
			// Drain: everything enqueued before Close is written.
			for {
				select {
				case r := <-w.queue:
					batch = w.add(batch, r)
					if len(batch) >= w.opts.BatchSize {
						batch = w.dispatch(batch)
					}
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				w.dispatch(batch)
			}
			return
		}
	}
}

// add appends r to batch after its redaction (pii redact_storage), which
// runs here, on the writer's goroutine, so that the client never waits
// for it; everything downstream (spool, store) sees only redacted copies.
func (w *Writer) add(batch []Record, r *Record) []Record {
	if r.applyRedaction() {
		w.redactionFailures.Add(1)
		w.log.Error("trace redaction failed; stored without headers and bodies", "trace_id", r.ID)
	}
	return append(batch, *r)
}

// dispatch sends a batch on its way: to the store, or to the spool when
// there is one and it must (see WriterOptions.Spool), and returns the
// emptied batch for reuse.
func (w *Writer) dispatch(batch []Record) []Record {
	switch {
	case w.spool == nil:
		w.flush(batch, retryInMemory)
	case w.spool.Pending() > 0 || len(w.queue) >= w.spoolHigh:
		// Batches already wait in the spool (this one must follow
		// them), or the queue is backing up.
		w.toSpool(batch)
	default:
		w.flush(batch, spoolOnFailure)
	}
	clear(batch) // drop references to bodies so they can be collected
	return batch[:0]
}

// toSpool appends batch to the spool and wakes replay. A batch the spool
// refuses is dropped and counted: the proxy is never made to wait.
func (w *Writer) toSpool(batch []Record) {
	frame, err := encodeBatch(batch)
	if err == nil {
		err = w.spool.Append(frame)
	}
	if err != nil {
		n := int64(len(batch))
		w.dropped.Add(n)
		w.spoolDropped.Add(n)
		if errors.Is(err, spool.ErrFull) {
			w.setSpoolErr(SpoolErrorFull, err)
		} else {
			w.setSpoolErr(SpoolErrorDisk, err)
		}
		if errors.Is(err, spool.ErrFull) {
			w.log.Error("trace spool full; batch dropped", "records", n)
		} else {
			w.log.Error("trace spool write failed; batch dropped", "records", n, "err", err)
		}
		return
	}
	w.spooledBatches.Add(1)
	w.spooledRecords.Add(int64(len(batch)))
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (w *Writer) setSpoolErr(kind string, err error) {
	w.mu.Lock()
	w.lastSpoolErr, w.spoolErrKind = err.Error(), kind
	w.mu.Unlock()
}

// replay writes the spooled batches to the store, oldest first, one at a
// time, each retried until the store takes it; only then is it removed
// from the spool. Meanwhile run spools every new batch behind them, so
// batches reach the store in the order they were made; once the spool is
// empty, run writes directly again.
//
// Each batch is written exactly once: a batch the store committed but the
// spool did not yet forget (a crash between the two, or a commit whose
// acknowledgement was lost) is written again, and the store skips the
// traces it already holds, enqueueing no rollup for them (see
// jobs.TraceSink).
//
// At Close, replay drains the spool while the store answers, and stops at
// the first failure or when Close's context ends: what is left stays on
// disk for the next start.
func (w *Writer) replay() {
	defer close(w.replayed)
	for {
		select {
		case <-w.deadline:
			return
		default:
		}
		frame, ok, err := w.spool.Peek()
		if err != nil {
			w.setSpoolErr(SpoolErrorDisk, err)
			w.log.Error("reading the trace spool failed; retrying", "err", err)
			select {
			case <-w.fed:
				return
			case <-time.After(w.opts.RetryBackoffMax):
			}
			continue
		}
		if !ok {
			select {
			case <-w.wake:
				continue
			case <-w.fed:
				// Nothing more will be spooled; one last look.
				if w.spool.Pending() > 0 {
					continue
				}
				return
			}
		}
		batch, err := decodeBatch(frame)
		if err == nil && !w.flush(batch, replayFromSpool) {
			return // closing while the store fails: kept for the next start
		}
		if err != nil {
			w.undecodable.Add(1)
			w.setSpoolErr(SpoolErrorCorrupt, err)
			w.log.Error("undecodable trace batch in the spool; skipped", "err", err)
		} else {
			w.replayedBatches.Add(1)
			w.replayedRecords.Add(int64(len(batch)))
		}
		if err := w.spool.Ack(); err != nil {
			w.setSpoolErr(SpoolErrorDisk, err)
			w.log.Error("removing a replayed batch from the trace spool failed", "err", err)
		}
	}
}

// writeMode says what flush does when an attempt fails for a cause other
// than the store refusing the rows (which is retried, then split, in every
// mode: see poisonAttempts).
type writeMode int

const (
	// retryInMemory retries until the batch lands or Close's context
	// ends; then the batch is counted as lost.
	retryInMemory writeMode = iota
	// spoolOnFailure hands the batch to the spool after the first failure.
	spoolOnFailure
	// replayFromSpool retries like retryInMemory, but gives up, the batch
	// staying in the spool, as soon as the writer is closing.
	replayFromSpool
)

// poisonAttempts is how often in a row a batch may fail with a constraint
// error (the store refusing the data itself, not a passing fault) before
// the writer splits it to isolate the records at fault.
const poisonAttempts = 3

// flush writes one batch, retrying with backoff as mode says. It returns
// false only when it gave up on the batch in replayFromSpool mode, the
// batch staying in the spool.
func (w *Writer) flush(batch []Record, mode writeMode) bool {
	backoff := 10 * time.Millisecond
	refusals := 0 // constraint failures in a row
	for attempt := 1; ; attempt++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(w.halt, w.opts.WriteTimeout)
		err := w.sink.InsertTraces(ctx, batch)
		cancel()
		if err != nil && w.halt.Err() != nil {
			// The shutdown deadline passed before or during this attempt:
			// the failure is ours, not the store's, and there is no time
			// for another. A spool keeps the batch for the next start.
			switch mode {
			case replayFromSpool:
				return false
			case spoolOnFailure:
				w.toSpool(batch)
				return true
			}
			w.lost.Add(int64(len(batch)))
			w.log.Error("trace batch lost at shutdown", "records", len(batch), "err", err)
			return true
		}
		if err == nil {
			w.written.Add(int64(len(batch)))
			w.mu.Lock()
			w.lastFlushAt = time.Now()
			w.lastFlushMS = float64(time.Since(start).Microseconds()) / 1000
			w.lastBatch = len(batch)
			w.mu.Unlock()
			return true
		}
		class := w.classify(err)
		w.failuresByClass[classIndex(class)].Add(1)
		w.failures.Add(1)
		w.mu.Lock()
		w.lastErr, w.lastClass = err.Error(), class
		w.mu.Unlock()
		if class != FailureConstraint {
			refusals = 0
		} else if refusals++; refusals >= poisonAttempts {
			// The store keeps refusing this data itself, so retrying the
			// same batch would block every trace behind it for good.
			// Halve it until the refused records stand alone; only those
			// are given up on.
			if len(batch) > 1 {
				mid := len(batch) / 2
				return w.flush(batch[:mid], mode) && w.flush(batch[mid:], mode)
			}
			w.lost.Add(1)
			w.log.Error("trace rejected by the store; giving up on it", "attempts", attempt, "err", err)
			return true
		}
		if class != FailureConstraint {
			switch mode {
			case spoolOnFailure:
				w.log.Warn("trace batch write failed; spooling it", "records", len(batch), "class", class, "err", err)
				w.toSpool(batch)
				return true
			case replayFromSpool:
				select {
				case <-w.closing:
					w.log.Warn("store still failing at shutdown; spooled traces kept for the next start", "err", err)
					return false
				default:
				}
			}
		}
		w.log.Error("trace batch write failed; retrying", "attempt", attempt, "records", len(batch), "class", class, "err", err)
		select {
		case <-w.deadline:
			if mode == replayFromSpool {
				return false
			}
			w.lost.Add(int64(len(batch)))
			w.log.Error("trace batch lost at shutdown", "records", len(batch), "err", err)
			return true
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, w.opts.RetryBackoffMax)
	}
}
