package pricing

import (
	"math"
	"strings"
	"testing"
)

func TestParsePrice(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"2.50", 2_500_000},
		{"0.075", 75_000},
		{"0.275", 275_000},
		{"18.75", 18_750_000},
		{"10", 10_000_000},
		{"0", 0},
		{"0.000001", 1},
		{"0.0750000", 75_000}, // trailing zeros add no precision
		{"007.5", 7_500_000},
		{"999999999999.999999", 999_999_999_999_999_999},
	}
	for _, tc := range good {
		got, err := parsePrice(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parsePrice(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}

	bad := []struct{ in, wantErr string }{
		{"", "plain decimal"},
		{".5", "plain decimal"},
		{"1.", "plain decimal"},
		{"-1", "non-negative"},
		{"+1", "non-negative"},
		{"1e3", "non-negative"},
		{" 1", "non-negative"},
		{"1.2.3", "non-negative"},
		{"abc", "non-negative"},
		{"0.0000001", "more than 6 decimal places"},
		{"2.5000001", "more than 6 decimal places"},
		{"1000000000000", "too large"},
	}
	for _, tc := range bad {
		got, err := parsePrice(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parsePrice(%q) = %d, %v; want error containing %q", tc.in, got, err, tc.wantErr)
		}
	}
}

func TestOverridePrice(t *testing.T) {
	good := []struct {
		in   float64
		want int64
	}{
		// These are the floats most likely to betray a naive v*1e6: none of
		// them is exactly representable in binary.
		{0.075, 75_000},
		{0.1, 100_000},
		{1.1, 1_100_000},
		{4.4, 4_400_000},
		{0.275, 275_000},
		{0.000001, 1},
		{0, 0},
		{1e9, 1_000_000_000_000_000},
	}
	for _, tc := range good {
		got, err := overridePrice(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("overridePrice(%v) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}

	bad := []struct {
		in      float64
		wantErr string
	}{
		{-0.5, "negative"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "infinite"},
		{math.Inf(-1), "infinite"},
		{1e-7, "decimal places"},
		{1e20, "too large"},
	}
	for _, tc := range bad {
		got, err := overridePrice(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("overridePrice(%v) = %d, %v; want error containing %q", tc.in, got, err, tc.wantErr)
		}
	}
}

func TestPicoSumRoundsHalfUpToNano(t *testing.T) {
	cases := []struct {
		pico int64
		want int64
	}{
		{0, 0},
		{499, 0},
		{500, 1},
		{999, 1},
		{1000, 1},
		{1499, 1},
		{1500, 2},
		{2_250_000_000, 2_250_000},
	}
	for _, tc := range cases {
		var s picoSum
		s.add(tc.pico, 1)
		if got := s.nano(); got != tc.want {
			t.Errorf("%d pico = %d nano, want %d", tc.pico, got, tc.want)
		}
	}
}

func TestPicoSumSaturates(t *testing.T) {
	var one picoSum
	one.add(math.MaxInt64, 1_000_000) // fits in 128 bits, not in int64 nano
	if got := one.nano(); got != math.MaxInt64 {
		t.Errorf("huge product = %d nano, want saturation at MaxInt64", got)
	}

	var many picoSum
	for range 8 {
		many.add(math.MaxInt64, math.MaxInt64) // overflows even 128 bits
	}
	if !many.overflow {
		t.Fatal("128-bit overflow not detected")
	}
	if got := many.nano(); got != math.MaxInt64 {
		t.Errorf("overflowed sum = %d nano, want saturation at MaxInt64", got)
	}

	// The largest sum that still fits must come out exact, not saturated.
	var edge picoSum
	edge.add(math.MaxInt64, 1000)
	if got := edge.nano(); got != math.MaxInt64 {
		t.Errorf("MaxInt64×1000 pico = %d nano, want %d", got, int64(math.MaxInt64))
	}
}

func TestPicoSumIgnoresNonPositive(t *testing.T) {
	var s picoSum
	s.add(-5, 1000)
	s.add(5, -1000)
	s.add(0, 1000)
	if got := s.nano(); got != 0 {
		t.Errorf("non-positive terms summed to %d nano, want 0", got)
	}
}
