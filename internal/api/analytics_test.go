package api

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/openapi"
)

var analyticsNow = time.Date(2026, 3, 10, 14, 25, 0, 0, time.UTC)

func TestAnalyticsWindow(t *testing.T) {
	h := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		query    string
		from, to time.Time
	}{
		// The last 30 days, the current hour included.
		{"", h(10, 15).AddDate(0, 0, -30), h(10, 15)},
		// Rounded out to whole hours, in UTC whatever the offset given.
		{"from=2026-03-01T10:30:00Z&to=2026-03-01T11:00:01Z", h(1, 10), h(1, 12)},
		{"from=2026-03-01T10:30:00%2B02:00&to=2026-03-01T12:00:00%2B02:00", h(1, 8), h(1, 10)},
		// A date in to includes that whole day.
		{"from=2026-03-01&to=2026-03-01", h(1, 0), h(2, 0)},
		// One bound given: the other defaults around it.
		{"to=2026-03-05", h(6, 0).AddDate(0, 0, -30), h(6, 0)},
		{"from=2026-03-09T23:59:59Z", h(9, 23), h(10, 15)},
		{"from=2026-03-10T14:59:59Z", h(10, 14), h(10, 15)},
	} {
		q, err := parseAnalyticsQuery(mustQuery(t, c.query), analyticsParams{}, analyticsNow)
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		if !q.From.Equal(c.from) || !q.To.Equal(c.to) {
			t.Errorf("%q: window [%v, %v), want [%v, %v)", c.query, q.From, q.To, c.from, c.to)
		}
	}
}

func TestAnalyticsParameters(t *testing.T) {
	q, err := parseAnalyticsQuery(mustQuery(t, "provider=openai&model=gpt-4o&group_by=api_key&bucket=week"),
		analyticsParams{groupBy: true, bucket: true}, analyticsNow)
	if err != nil {
		t.Fatal(err)
	}
	if q.Provider != "openai" || q.Model != "gpt-4o" || q.GroupBy != store.GroupAPIKey || q.Bucket != store.BucketWeek {
		t.Errorf("parsed %+v", q)
	}
	// An answer that takes no group_by or bucket ignores them, like any
	// unknown parameter.
	q, err = parseAnalyticsQuery(mustQuery(t, "group_by=nope&bucket=nope"), analyticsParams{}, analyticsNow)
	if err != nil || q.GroupBy != "" || q.Bucket != "" {
		t.Errorf("summary-style parse = %+v, %v", q, err)
	}
}

// analyticsErrorCases are every way an analytics parameter is refused,
// with the message the API answers.
var analyticsErrorCases = []struct{ query, msg string }{
	{"from=yesterday", `invalid parameter "from": must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999`},
	{"to=2026-13-01", `invalid parameter "to": must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999`},
	{"to=9999-12-31", `invalid parameter "to": must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999`},

	{"from=2026-03-02&to=2026-03-01", `invalid parameter "to": must be after from`},
	{"from=2026-03-01T10:00:00Z&to=2026-03-01T10:00:00Z", `invalid parameter "to": must be after from`},
	{"from=2026-03-10T15:00:00Z", `invalid parameter "from": must not be after the current hour when to is not given`},
	{"group_by=day", `invalid parameter "group_by": must be one of provider, model, gateway_key, api_key, workspace, status_class`},
	{"group_by=Model", `invalid parameter "group_by": must be one of provider, model, gateway_key, api_key, workspace, status_class`},
	{"bucket=month", `invalid parameter "bucket": must be one of hour, day, week`},
}

func TestAnalyticsParameterErrors(t *testing.T) {
	for _, c := range analyticsErrorCases {
		_, err := parseAnalyticsQuery(mustQuery(t, c.query), analyticsParams{groupBy: true, bucket: true}, analyticsNow)
		if err == nil || err.Error() != c.msg {
			t.Errorf("%q: error %v, want %q", c.query, err, c.msg)
		}
	}
}

// Every analytics error message is in the spec, where clients look for it.
func TestSpecListsEveryAnalyticsErrorMessage(t *testing.T) {
	text := string(openapi.Spec)
	for _, c := range analyticsErrorCases {
		if !strings.Contains(text, c.msg) {
			t.Errorf("error message %q is not documented in openapi/openapi.yaml", c.msg)
		}
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
