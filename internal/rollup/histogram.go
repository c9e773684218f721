package rollup

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// RelativeAccuracy bounds a histogram's error: any quantile it reports lies
// within 1% (relative) of the true value at that rank.
const RelativeAccuracy = 0.01

// gamma is the ratio between consecutive bucket bounds. With the estimate
// taken at 2·gamma^i/(gamma+1), a value v in bucket i (gamma^(i-1) < v ≤
// gamma^i) is off by at most (gamma-1)/(gamma+1) = RelativeAccuracy.
var (
	gamma    = (1 + RelativeAccuracy) / (1 - RelativeAccuracy)
	logGamma = math.Log(gamma)
)

// Histogram counts non-negative integer values (milliseconds or
// microseconds) in logarithmic buckets: bucket i ≥ 0 holds gamma^(i-1) < v ≤
// gamma^i (so bucket 0 holds exactly 1), and bucket -1 holds zero. It is sparse, so a row that saw
// three distinct latencies stores three buckets, and two histograms merge by
// adding counts, which is what lets hourly rollups combine into any range.
//
// The zero value is an empty histogram ready to use.
type Histogram struct {
	counts map[int32]int64
}

const zeroBucket = -1

// bucketOf returns the bucket holding v.
func bucketOf(v int64) int32 {
	if v <= 0 {
		return zeroBucket
	}
	return int32(math.Ceil(math.Log(float64(v)) / logGamma))
}

// Add counts one value. Negative values count as zero.
func (h *Histogram) Add(v int64) { h.AddN(bucketOf(v), 1) }

// AddN adds n to bucket i.
func (h *Histogram) AddN(i int32, n int64) {
	if n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make(map[int32]int64)
	}
	h.counts[i] += n
}

// Merge adds every count of o into h.
func (h *Histogram) Merge(o Histogram) {
	for i, n := range o.counts {
		h.AddN(i, n)
	}
}

// Clone returns a copy of h that shares no storage with it.
func (h Histogram) Clone() Histogram {
	var c Histogram
	c.Merge(h)
	return c
}

// Equal reports whether h and o hold the same counts.
func (h Histogram) Equal(o Histogram) bool {
	if len(h.counts) != len(o.counts) {
		return false
	}
	for i, n := range h.counts {
		if o.counts[i] != n {
			return false
		}
	}
	return true
}

// Count is the number of values added.
func (h Histogram) Count() int64 {
	var n int64
	for _, c := range h.counts {
		n += c
	}
	return n
}

// Quantile returns the estimated value at quantile q (0 < q ≤ 1), within
// RelativeAccuracy of the true one, or 0 for an empty histogram.
func (h Histogram) Quantile(q float64) float64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	rank = min(max(rank, 1), total)
	var seen int64
	for _, i := range h.buckets() {
		seen += h.counts[i]
		if seen >= rank {
			return estimate(i)
		}
	}
	return estimate(h.buckets()[len(h.counts)-1])
}

// estimate is the value reported for bucket i: the point whose relative
// distance to both bounds is the same.
func estimate(i int32) float64 {
	switch {
	case i <= zeroBucket:
		return 0
	case i == 0:
		return 1 // the only integer in bucket 0
	}
	return 2 * math.Pow(gamma, float64(i)) / (gamma + 1)
}

func (h Histogram) buckets() []int32 {
	keys := make([]int32, 0, len(h.counts))
	for i := range h.counts {
		keys = append(keys, i)
	}
	slices.Sort(keys)
	return keys
}

// String encodes h as "bucket:count" pairs in bucket order, separated by
// spaces ("" when empty): the form stored in the rollup tables. It is text
// so both engines store it the same way and a human can read it.
func (h Histogram) String() string {
	var b strings.Builder
	for n, i := range h.buckets() {
		if n > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(int64(i), 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(h.counts[i], 10))
	}
	return b.String()
}

// ParseHistogram decodes String's form.
func ParseHistogram(s string) (Histogram, error) {
	var h Histogram
	for field := range strings.FieldsSeq(s) {
		bucket, count, ok := strings.Cut(field, ":")
		i, err1 := strconv.ParseInt(bucket, 10, 32)
		n, err2 := strconv.ParseInt(count, 10, 64)
		if !ok || err1 != nil || err2 != nil || i < zeroBucket || n < 0 {
			return Histogram{}, fmt.Errorf("rollup: malformed histogram entry %q", field)
		}
		h.AddN(int32(i), n)
	}
	return h, nil
}

// MarshalText and UnmarshalText let a histogram travel in JSON (job
// arguments) in its stored form.
func (h Histogram) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

func (h *Histogram) UnmarshalText(b []byte) error {
	parsed, err := ParseHistogram(string(b))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}
