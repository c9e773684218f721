// Package hist is a small HDR-style histogram of durations for the load
// harness: log-linear buckets (each power of two split into 128 equal
// parts) keep every recorded value within 0.8% of its true size at any
// magnitude, in a fixed 36 KiB, so a run can record millions of samples
// without storing them and still read p99.9 and max faithfully.
//
// Recording is lock-free, because a thousand stream readers record into
// one histogram at once and a mutex there would measure itself.
package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	// subBits sets the precision: 2^subBits linear buckets per octave.
	subBits  = 7
	subCount = 1 << subBits
	// maxBits bounds the range: values at or above 2^maxBits ns (about
	// 18 minutes) share the last bucket. The exact maximum is kept apart,
	// so only quantiles beyond that range lose precision.
	maxBits = 40
	buckets = subCount + (maxBits-subBits)*subCount
)

// Histogram counts durations. The zero value is not usable; call New.
// All methods are safe for concurrent use; reads taken while others record
// see a consistent-enough snapshot for progress output, and exact figures
// once recording has stopped.
type Histogram struct {
	counts [buckets]atomic.Uint64
	total  atomic.Uint64
	min    atomic.Int64
	max    atomic.Int64
}

// New returns an empty histogram.
func New() *Histogram {
	h := &Histogram{}
	h.min.Store(math.MaxInt64)
	return h
}

// index maps a value in nanoseconds to its bucket: values below subCount
// have a bucket each; above, octave m holds subCount buckets of width
// 2^(m-subBits).
func index(v int64) int {
	if v < subCount {
		return int(max(v, 0))
	}
	m := bits.Len64(uint64(v)) - 1
	if m >= maxBits {
		return buckets - 1
	}
	sub := int(v>>(m-subBits)) - subCount
	return subCount + (m-subBits)*subCount + sub
}

// bounds returns the smallest and largest value bucket i holds.
func bounds(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	j := i - subCount
	m := j/subCount + subBits
	sub := int64(j % subCount)
	shift := m - subBits
	lo = (subCount + sub) << shift
	return lo, lo + (1 << shift) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[index(v)].Add(1)
	h.total.Add(1)
	for {
		cur := h.max.Load()
		if v <= cur || h.max.CompareAndSwap(cur, v) {
			break
		}
	}
	for {
		cur := h.min.Load()
		if v >= cur || h.min.CompareAndSwap(cur, v) {
			break
		}
	}
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	if n := o.total.Load(); n > 0 {
		for {
			cur, v := h.max.Load(), o.max.Load()
			if v <= cur || h.max.CompareAndSwap(cur, v) {
				break
			}
		}
		for {
			cur, v := h.min.Load(), o.min.Load()
			if v >= cur || h.min.CompareAndSwap(cur, v) {
				break
			}
		}
	}
}

// Count is the number of recorded samples.
func (h *Histogram) Count() int64 { return int64(h.total.Load()) }

// Max is the largest recorded duration, exactly; zero when empty.
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.max.Load())
}

// Quantile returns the duration at or below which a fraction q of the
// samples lie (q in [0, 1]). It reports the upper edge of the bucket the
// rank falls in, clamped to the exact min and max, so it never understates
// a tail.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			_, hi := bounds(i)
			hi = min(hi, h.max.Load())
			hi = max(hi, h.min.Load())
			return time.Duration(hi)
		}
	}
	return h.Max()
}
