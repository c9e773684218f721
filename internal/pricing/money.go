package pricing

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// A price of N USD per 1M tokens is N micro-USD per token, and one micro-USD
// is 1e6 pico-USD, so "2.50" per 1M becomes 2_500_000 pico-USD per token.
// Six decimal places per 1M tokens is therefore the finest price the
// catalog can hold exactly; anything finer would silently round.
const (
	priceDecimals        = 6
	picoPerUSDPerMillion = 1_000_000 // pico-USD per token at 1 USD per 1M tokens

	// maxPriceIntDigits keeps a parsed price far below the int64 limit
	// (999,999,999,999 USD per 1M tokens is about 1e18 pico) so parsing
	// needs no overflow arithmetic.
	maxPriceIntDigits = 12

	picoPerNano = 1000
)

// parsePrice turns a plain decimal string of USD per 1M tokens into exact
// pico-USD per token. It accepts only digits with an optional fractional
// part: no sign, exponent or spaces, because a price file is data that a
// human edits and anything unusual there is more likely a typo than intent.
func parsePrice(s string) (int64, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("%q is not a plain decimal such as 2.50", s)
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a plain non-negative decimal such as 2.50", s)
	}
	if len(strings.TrimLeft(intPart, "0")) > maxPriceIntDigits {
		return 0, fmt.Errorf("%q is too large", s)
	}
	// Trailing zeros carry no precision, so "0.0750000" is as exact as "0.075".
	frac = strings.TrimRight(frac, "0")
	if len(frac) > priceDecimals {
		return 0, fmt.Errorf("%q has more than %d decimal places, finer than 1 pico-USD per token", s, priceDecimals)
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	var fraction int64
	if frac != "" {
		fraction, err = strconv.ParseInt(frac+strings.Repeat("0", priceDecimals-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, err)
		}
	}
	return whole*picoPerUSDPerMillion + fraction, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// overridePrice converts a configured float price (USD per 1M tokens) to
// pico-USD per token. Going through the shortest decimal that round-trips
// the float means 0.075 becomes exactly 75_000 rather than whatever binary
// approximation multiplying by 1e6 would give.
func overridePrice(v float64) (int64, error) {
	switch {
	case math.IsNaN(v):
		return 0, errors.New("price is NaN")
	case math.IsInf(v, 0):
		return 0, errors.New("price is infinite")
	case v < 0:
		return 0, fmt.Errorf("price %v is negative", v)
	}
	return parsePrice(strconv.FormatFloat(v, 'f', -1, 64))
}

// picoSum accumulates token × price products in 128 bits. A single product
// of two int64 values can exceed int64, and a cost must never wrap around
// into a small or negative number, so the sum is kept wide and saturated
// only when converted to nano-USD.
type picoSum struct {
	hi, lo   uint64
	overflow bool
}

// add adds tokens × picoPerToken; both are non-negative by construction.
func (s *picoSum) add(tokens, picoPerToken int64) {
	if tokens <= 0 || picoPerToken <= 0 {
		return
	}
	hi, lo := bits.Mul64(uint64(tokens), uint64(picoPerToken))
	var carry uint64
	s.lo, carry = bits.Add64(s.lo, lo, 0)
	s.hi, carry = bits.Add64(s.hi, hi, carry)
	if carry != 0 {
		s.overflow = true
	}
}

// nano rounds the pico total half-up to nano-USD, saturating at the int64
// maximum: an absurd usage report then reads as an absurd cost, never as a
// cheap one.
func (s picoSum) nano() int64 { return s.div(picoPerNano) }

// div rounds the sum divided by d half-up, saturating like nano. Prices
// scaled by rule multipliers (thousandths) are summed scaled, and the
// scale goes into d, so a multiplied price is still exact.
func (s picoSum) div(d uint64) int64 {
	if s.overflow {
		return math.MaxInt64
	}
	lo, carry := bits.Add64(s.lo, d/2, 0)
	hi := s.hi + carry
	if hi >= d || hi < s.hi {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// maxMultiplierMilli bounds a rule multiplier (100×): real tiers are
// between 0.5× and 6×, and the bound keeps scaled prices far from overflow.
const maxMultiplierMilli = 100_000

// parseMultiplier turns a plain decimal such as "1.5" into thousandths. At
// most three decimals: finer multipliers do not exist on any price page and
// would not be exact.
func parseMultiplier(s string) (int64, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a plain decimal such as 1.5", s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 3 {
		return 0, fmt.Errorf("%q has more than 3 decimal places", s)
	}
	if len(strings.TrimLeft(intPart, "0")) > 3 {
		return 0, fmt.Errorf("%q is larger than 100", s)
	}
	whole, _ := strconv.ParseInt(intPart, 10, 64)
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 3-len(frac)), 10, 64)
	}
	m := whole*1000 + f
	switch {
	case m == 0:
		return 0, fmt.Errorf("%q is zero; a free tier is a price of 0, not a multiplier", s)
	case m > maxMultiplierMilli:
		return 0, fmt.Errorf("%q is larger than 100", s)
	}
	return m, nil
}

// scale multiplies a price by a multiplier in thousandths, saturating: the
// product is a price in thousandths of pico-USD per token.
func scale(price, milli int64) int64 {
	hi, lo := bits.Mul64(uint64(price), uint64(milli))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}
