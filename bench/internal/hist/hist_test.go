package hist

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketsCoverEveryValueOnce(t *testing.T) {
	for i := range buckets - 1 {
		lo, hi := bounds(i)
		if index(lo) != i || index(hi) != i {
			t.Fatalf("bucket %d [%d,%d] maps back to %d/%d", i, lo, hi, index(lo), index(hi))
		}
		if nlo, _ := bounds(i + 1); nlo != hi+1 {
			t.Fatalf("gap after bucket %d: hi %d, next lo %d", i, hi, nlo)
		}
	}
}

func TestQuantilesWithinPrecision(t *testing.T) {
	h := New()
	r := rand.New(rand.NewPCG(1, 2))
	var vals []int64
	for range 100_000 {
		// Log-uniform from 1 µs to 1 s: every octave gets exercised.
		v := int64(float64(int64(1000)<<r.IntN(20)) * (1 + r.Float64()))
		vals = append(vals, v)
		h.Record(time.Duration(v))
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		got := int64(h.Quantile(q))
		if got < want || float64(got-want) > float64(want)/subCount+1 {
			t.Errorf("q%.3f = %d, want %d within 1/%d", q, got, want, subCount)
		}
	}
	if h.Max() != time.Duration(vals[len(vals)-1]) || h.Quantile(0) < time.Duration(vals[0]) {
		t.Errorf("q0/max = %v/%v, want at least %d / exactly %d", h.Quantile(0), h.Max(), vals[0], vals[len(vals)-1])
	}
}

func TestMergeAndConcurrentRecord(t *testing.T) {
	a, b := New(), New()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				a.Record(time.Duration(w*1000 + i))
			}
		})
	}
	wg.Wait()
	b.Record(time.Hour)
	b.Merge(a)
	if b.Count() != 8001 || b.Max() != time.Hour {
		t.Fatalf("count %d max %v", b.Count(), b.Max())
	}
	if New().Quantile(0.99) != 0 {
		t.Fatal("empty histogram should report zero")
	}
}
