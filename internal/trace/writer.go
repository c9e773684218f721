package trace

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sink is where batches go. store.Traces satisfies it; the writer does not
// care which database is behind it.
type Sink interface {
	InsertTraces(ctx context.Context, batch []Record) error
}

// WriterOptions tunes batching. Zero values take the defaults.
type WriterOptions struct {
	QueueSize     int           // records held in memory before drops; default 65536
	BatchSize     int           // records per insert; default 1000
	FlushInterval time.Duration // a partial batch is written after this long; default 50ms
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

	// LastErrorClass is the class (one of FailureClasses) of LastError, ""
	// before the first failure. LastError is the store's own text, for the
	// log and the operator's console only: a driver's error can name the
	// database host, user and database, so API clients are shown the class.
	LastErrorClass string `json:"last_error_class,omitempty"`
}

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
	failuresByClass                                       [len(FailureClasses)]atomic.Int64

	mu          sync.Mutex // guards the fields below
	lastErr     string
	lastClass   string
	lastFlushAt time.Time
	lastFlushMS float64
	lastBatch   int

	closing  chan struct{} // closed by Close: drain and stop
	deadline chan struct{} // closed when Close's context ends: stop retrying
	done     chan struct{}
	once     sync.Once
}

// NewWriter starts a writer on sink.
func NewWriter(sink Sink, opts WriterOptions) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 65536
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 50 * time.Millisecond
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
	w := &Writer{
		sink:     sink,
		opts:     opts,
		queue:    make(chan *Record, opts.QueueSize),
		log:      opts.Logger,
		closing:  make(chan struct{}),
		deadline: make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// Enqueue hands a record to the writer without blocking. It returns false
// when the queue is full or the writer is closed; the drop is counted.
func (w *Writer) Enqueue(r *Record) bool {
	select {
	case <-w.closing:
		w.dropped.Add(1)
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
// the queue is empty. If ctx ends first, retries stop, the remaining records
// are counted as lost and ctx's error is returned.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.closing) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		close(w.deadline)
		<-w.done
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
		LastErrorClass:       w.lastClass,
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Record, 0, w.opts.BatchSize)
	ticker := time.NewTicker(w.opts.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case r := <-w.queue:
			batch = append(batch, *r)
			if len(batch) >= w.opts.BatchSize {
				batch = w.flush(batch)
			}
		case <-ticker.C:
			if len(batch) > 0 {
				batch = w.flush(batch)
			}
		case <-w.closing:
			// Drain: everything enqueued before Close is written.
			for {
				select {
				case r := <-w.queue:
					batch = append(batch, *r)
					if len(batch) >= w.opts.BatchSize {
						batch = w.flush(batch)
					}
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				w.flush(batch)
			}
			return
		}
	}
}

// flush writes one batch, retrying with backoff until it succeeds or the
// shutdown deadline passes, and returns the emptied batch for reuse.
// poisonAttempts is how often in a row a batch may fail with a constraint
// error (the store refusing the data itself, not a passing fault) before
// the writer splits it to isolate the records at fault.
const poisonAttempts = 3

func (w *Writer) flush(batch []Record) []Record {
	backoff := 10 * time.Millisecond
	refusals := 0 // constraint failures in a row
	for attempt := 1; ; attempt++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.WriteTimeout)
		err := w.sink.InsertTraces(ctx, batch)
		cancel()
		if err == nil {
			w.written.Add(int64(len(batch)))
			w.mu.Lock()
			w.lastFlushAt = time.Now()
			w.lastFlushMS = float64(time.Since(start).Microseconds()) / 1000
			w.lastBatch = len(batch)
			w.mu.Unlock()
			break
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
				w.flush(batch[:mid])
				w.flush(batch[mid:])
				return batch[:0]
			}
			w.lost.Add(1)
			w.log.Error("trace rejected by the store; giving up on it", "attempts", attempt, "err", err)
			clear(batch)
			return batch[:0]
		}
		w.log.Error("trace batch write failed; retrying", "attempt", attempt, "records", len(batch), "class", class, "err", err)
		select {
		case <-w.deadline:
			w.lost.Add(int64(len(batch)))
			w.log.Error("trace batch lost at shutdown", "records", len(batch), "err", err)
			return batch[:0]
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, w.opts.RetryBackoffMax)
	}
	clear(batch) // drop references to bodies so they can be collected
	return batch[:0]
}
