package rollup

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The accuracy promise rests on every value's bucket estimate lying within
// RelativeAccuracy of the value. Check it for every integer up to a million
// (where buckets hold few integers and rounding would show) and for values
// spread up to 2^62.
func TestEveryValueIsEstimatedWithinAccuracy(t *testing.T) {
	check := func(v int64) {
		got := estimate(bucketOf(v))
		if err := math.Abs(got-float64(v)) / float64(v); err > RelativeAccuracy {
			t.Fatalf("value %d: bucket %d estimates %g, relative error %g > %g", v, bucketOf(v), got, err, RelativeAccuracy)
		}
	}
	for v := int64(1); v <= 1_000_000; v++ {
		check(v)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 1_000_000 {
		check(1 + rng.Int64N(1<<62))
	}
	if got := estimate(bucketOf(0)); got != 0 {
		t.Errorf("zero estimates %g, want 0", got)
	}
}

// Quantiles of random data in several shapes lie within 1% (relative) of
// the exact quantile at the same rank.
func TestQuantilesWithinAccuracyOfExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	shapes := map[string]func() int64{
		"log-uniform 1..1e9":  func() int64 { return int64(math.Exp(rng.Float64() * math.Log(1e9))) },
		"uniform 0..1000":     func() int64 { return rng.Int64N(1001) },
		"small 0..10":         func() int64 { return rng.Int64N(11) },
		"normal around 250ms": func() int64 { return max(0, int64(250+40*rng.NormFloat64())) },
		"bimodal":             func() int64 { return []int64{30, 30_000}[rng.IntN(2)] + rng.Int64N(10) },
	}
	for name, draw := range shapes {
		for _, n := range []int{1, 2, 7, 100, 10_000} {
			var h Histogram
			values := make([]int64, n)
			for i := range values {
				values[i] = draw()
				h.Add(values[i])
			}
			slices.Sort(values)
			if h.Count() != int64(n) {
				t.Fatalf("%s, n=%d: Count = %d", name, n, h.Count())
			}
			for q := 0.01; q <= 1.0001; q += 0.01 {
				q = min(q, 1)
				rank := min(max(int(math.Ceil(q*float64(n))), 1), n)
				exact := float64(values[rank-1])
				if got := h.Quantile(q); math.Abs(got-exact) > RelativeAccuracy*exact {
					t.Errorf("%s, n=%d: q%.2f = %g, exact %g", name, n, q, got, exact)
				}
			}
		}
	}
}

func TestEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Count() != 0 || h.Quantile(0.5) != 0 || h.String() != "" {
		t.Errorf("empty histogram: count %d, p50 %g, %q", h.Count(), h.Quantile(0.5), h.String())
	}
	h.Add(-5) // counts as zero
	h.Add(0)
	h.Add(1)
	if got, want := h.String(), "-1:2 0:1"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if h.Quantile(0.5) != 0 || h.Quantile(1) != 1 {
		t.Errorf("p50 = %g, p100 = %g; want 0 and 1", h.Quantile(0.5), h.Quantile(1))
	}
}

// Merging the histograms of the parts of a data set gives exactly the
// histogram of the whole, however it is split.
func TestMergeEqualsHistogramOfUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var whole Histogram
	parts := make([]Histogram, 7)
	for range 20_000 {
		v := int64(math.Exp(rng.Float64() * math.Log(1e7)))
		if rng.IntN(20) == 0 {
			v = 0
		}
		whole.Add(v)
		parts[rng.IntN(len(parts))].Add(v)
	}
	var merged Histogram
	for _, i := range rng.Perm(len(parts)) {
		merged.Merge(parts[i])
	}
	if !merged.Equal(whole) || merged.String() != whole.String() {
		t.Errorf("merged parts differ from the whole:\n got %s\nwant %s", merged, whole)
	}
	if merged.Count() != 20_000 {
		t.Errorf("Count = %d, want 20000", merged.Count())
	}
	// Merging an empty histogram either way changes nothing.
	var empty Histogram
	merged.Merge(empty)
	empty.Merge(whole)
	if !merged.Equal(whole) || !empty.Equal(whole) {
		t.Error("merging with an empty histogram changed the result")
	}
}

func TestCloneSharesNothing(t *testing.T) {
	var h Histogram
	h.Add(10)
	c := h.Clone()
	c.Add(10)
	c.Add(1000)
	if h.Count() != 1 || c.Count() != 3 {
		t.Errorf("after adding to the clone: original counts %d, clone %d; want 1 and 3", h.Count(), c.Count())
	}
}

// The text form round-trips exactly, directly and through JSON (job
// arguments), and is sorted by bucket.
func TestStringParseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{0, 1, 5, 1000} {
		var h Histogram
		for range n {
			h.Add(rng.Int64N(1_000_000) - 10)
		}
		s := h.String()
		parsed, err := ParseHistogram(s)
		if err != nil {
			t.Fatalf("ParseHistogram(%q): %v", s, err)
		}
		if !parsed.Equal(h) || parsed.String() != s {
			t.Errorf("round trip of %q gave %q", s, parsed.String())
		}
		fields := strings.Fields(s)
		if !slices.IsSortedFunc(fields, func(a, b string) int {
			return int(mustBucket(t, a) - mustBucket(t, b))
		}) {
			t.Errorf("String %q is not in bucket order", s)
		}

		type args struct {
			Latency Histogram `json:"latency"`
		}
		b, err := json.Marshal(args{h})
		if err != nil {
			t.Fatal(err)
		}
		var back args
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if !back.Latency.Equal(h) {
			t.Errorf("JSON round trip of %s gave %q", b, back.Latency.String())
		}
	}
	// Whitespace is any run of spaces; repeated buckets add up.
	h, err := ParseHistogram("  3:2   3:5 -1:1 ")
	if err != nil || h.String() != "-1:1 3:7" {
		t.Errorf(`ParseHistogram("  3:2   3:5 -1:1 ") = %q, %v; want "-1:1 3:7"`, h.String(), err)
	}
}

func mustBucket(t *testing.T, field string) int32 {
	t.Helper()
	h, err := ParseHistogram(field)
	if err != nil || len(h.counts) != 1 {
		t.Fatalf("field %q: %v", field, err)
	}
	for i := range h.counts {
		return i
	}
	return 0
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, s := range []string{"1", "a:1", "1:x", "1:-1", "-2:1", "1:2:3", "99999999999:1", "1:99999999999999999999"} {
		if _, err := ParseHistogram(s); err == nil || !strings.Contains(err.Error(), "malformed histogram entry") {
			t.Errorf("ParseHistogram(%q): err = %v, want a malformed entry error", s, err)
		}
	}
	var h Histogram
	if err := json.Unmarshal([]byte(`"1:x"`), &h); err == nil {
		t.Error(`unmarshal "1:x": no error`)
	}
}
