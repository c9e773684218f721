package api

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/ongoingai/gateway/internal/analytics"
)

// paramError is a 400 whose message names the parameter and the rule.
type paramError struct{ name, rule string }

func (e *paramError) Error() string { return fmt.Sprintf("invalid parameter %q: %s", e.name, e.rule) }

// ParamName is the query parameter a parsing error is about, "" when err
// is not about one: for showing the message next to its form field.
func ParamName(err error) string {
	var pe *paramError
	if errors.As(err, &pe) {
		return pe.name
	}
	return ""
}

// intParam parses an optional integer in [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &paramError{name, fmt.Sprintf("must be an integer between %d and %d", lo, hi)}
	}
	return n, nil
}

// timeParam parses RFC3339 or YYYY-MM-DD (UTC). With endOfDay, a bare date
// means the end of that day (exclusive: the next midnight), so to=2026-01-31
// includes all of January 31st.
func timeParam(q url.Values, name string, endOfDay bool) (time.Time, error) {
	t, err := analytics.ParseTime(q.Get(name), endOfDay)
	if err != nil {
		return time.Time{}, &paramError{name, err.Error()}
	}
	return t, nil
}

// timeRange parses from/to and checks their order.
func timeRange(q url.Values) (from, to time.Time, err error) {
	if from, err = timeParam(q, "from", false); err != nil {
		return
	}
	if to, err = timeParam(q, "to", true); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		err = &paramError{"to", "must be after from"}
	}
	return
}
