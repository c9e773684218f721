package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
)

// The report answers from the same rollups, through the same
// internal/analytics service, as GET /api/analytics/*, so its figures are
// the API's to the nano-dollar. It reads the store directly: no gateway
// needs to run.

// defaultCatchUpTimeout bounds how long report waits for pending rollup
// batches before it reports without them (and says so).
const defaultCatchUpTimeout = 2 * time.Minute

// reportStore is what report needs from a store: the rollups it reads, the
// key names it shows, and the rollup jobs it catches up on (*opener.DB).
type reportStore interface {
	store.Rollups
	ListKeys(ctx context.Context, t store.Tenant) ([]store.GatewayKey, error)
	CatchUpRollups(ctx context.Context, logger *slog.Logger) (jobs.CatchUpResult, error)
	Close() error
}

// reportOptions are the parsed flags.
type reportOptions struct {
	query          analytics.Query
	format         string
	top            int
	allDays        bool // daily rows for days without traffic too
	catchUp        bool
	catchUpTimeout time.Duration
}

func reportCmd(c *cli, args []string) int {
	f := newFlags("report",
		"ongoingai report [--from TIME] [--to TIME] [--org ID] [--workspace ID] [--provider NAME] [--model NAME] [--format text|json] [--top N] [--all-days] [--no-catch-up | --catch-up-timeout DURATION] [--config FILE]",
		"Prints what the gateway recorded in a window: a summary, the top models and\n"+
			"gateway keys by cost, and the cost of each day (UTC) with traffic (every day\n"+
			"with --all-days). It reads the configured store directly, so the gateway\n"+
			"need not run, and answers from the hourly\n"+
			"rollups exactly as GET /api/analytics/* do: the window widens to whole UTC\n"+
			"hours and is printed as used.\n\n"+
			"Rollup batches that a gateway committed but had not yet applied when it\n"+
			"stopped are applied first, so the figures include every stored trace;\n"+
			"--no-catch-up skips that and reports the rollups as they are. JSON\n"+
			"figures are exact; text rounds dollars to 6 decimals.")
	cf := f.configFlag()
	from := f.String("from", "", "start the window at `TIME`: RFC3339 or YYYY-MM-DD (UTC); default 30 days before --to")
	to := f.String("to", "", "end the window before `TIME`: RFC3339, or YYYY-MM-DD to include that whole day; default the end of the current hour")
	org := f.String("org", "", "only organization `ID`")
	ws := f.String("workspace", "", "only workspace `ID`")
	provider := f.String("provider", "", "only provider `NAME` (e.g. openai)")
	model := f.String("model", "", "only model `NAME`")
	format := f.String("format", "text", "output `FORMAT`: text or json")
	top := f.Int("top", 10, "list the `N` costliest models and keys (0: all)")
	allDays := f.Bool("all-days", false, "list every day of the window in the daily table, days without traffic included")
	noCatchUp := f.Bool("no-catch-up", false, "do not apply pending rollup batches first: report the rollups as they are")
	catchUpTimeout := f.Duration("catch-up-timeout", defaultCatchUpTimeout, "wait at most `DURATION` for pending rollup batches, then report without the rest")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(c.stderr, "ongoingai report: "+format+"\n", a...)
		return exitUsage
	}
	opts := reportOptions{format: *format, top: *top, allDays: *allDays, catchUp: !*noCatchUp, catchUpTimeout: *catchUpTimeout}
	switch {
	case opts.format != "text" && opts.format != "json":
		return usageErr("--format must be text or json, got %q", opts.format)
	case opts.top < 0:
		return usageErr("--top must be 0 (all) or more, got %d", opts.top)
	case opts.catchUpTimeout <= 0:
		return usageErr("--catch-up-timeout must be positive, got %s", opts.catchUpTimeout)
	}
	q, err := reportQuery(*from, *to, time.Now())
	if err != nil {
		return usageErr("%v", err)
	}
	q.Tenant = store.Tenant{OrgID: *org, WorkspaceID: *ws}
	q.Provider, q.Model = *provider, *model
	opts.query = q

	cfg, ok := c.loadConfig("report", cf)
	if !ok {
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openReportStore(ctx, cfg.Storage)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai report: %v\n", err)
		return exitFail
	}
	rep, err := buildReport(ctx, c, st, opts)
	if closeErr := st.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("closing the store: %w", closeErr)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai report: %v\n", err)
		return exitFail
	}
	if opts.format == "json" {
		err = writeJSON(c.stdout, rep)
	} else {
		err = printReport(c.stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai report: %v\n", err)
		return exitFail
	}
	return exitOK
}

// reportQuery parses --from and --to the way the analytics API parses from
// and to (internal/api timeParam and timeRange: RFC3339, or a YYYY-MM-DD
// date, UTC, which in --to means the end of that day) and settles the
// window with analytics.Window as of now.
func reportQuery(fromArg, toArg string, now time.Time) (analytics.Query, error) {
	var q analytics.Query
	from, err := reportTime("--from", fromArg, false)
	if err != nil {
		return q, err
	}
	to, err := reportTime("--to", toArg, true)
	if err != nil {
		return q, err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return q, errors.New("--to must be after --from")
	}
	q.From, q.To = analytics.Window(from, to, now)
	if !q.From.Before(q.To) {
		return q, errors.New("--from must not be after the current hour when --to is not given")
	}
	return q, nil
}

func reportTime(flag, v string, endOfDay bool) (time.Time, error) {
	t, err := analytics.ParseTime(v, endOfDay)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %v, got %q", flag, err, v)
	}
	return t, nil
}

// openReportStore opens the configured store (see openExistingStore).
func openReportStore(ctx context.Context, s config.Storage) (reportStore, error) {
	db, err := openExistingStore(ctx, s)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// openExistingStore opens the configured store for a command that reads
// what a gateway recorded: a SQLite file that does not exist is an error
// rather than a new, empty database (requireSQLiteFile).
func openExistingStore(ctx context.Context, s config.Storage) (*opener.DB, error) {
	if err := requireSQLiteFile(s); err != nil {
		return nil, err
	}
	return opener.Open(ctx, s)
}

// report is the whole report, and its JSON form.
type report struct {
	From    time.Time         `json:"from"` // the window used: whole UTC hours, from inclusive
	To      time.Time         `json:"to"`   // exclusive
	Filters reportFilters     `json:"filters"`
	Rollups reportRollups     `json:"rollups"`
	Summary analytics.Summary `json:"summary"`
	// Models and Keys are the costliest first (then the busiest, then by
	// name), at most --top of them.
	Models []analytics.ModelItem `json:"models"`
	Keys   []reportKey           `json:"keys"`
	// Daily has one row per UTC day of the window with traffic, oldest
	// first; with --all-days, one per day the window touches. A month of
	// zero rows buried the days that mattered.
	Daily []reportDay `json:"daily"`
	// allDays is --all-days, for the daily table's title.
	allDays bool
}

// reportFilters echoes the filters; null is "any".
type reportFilters struct {
	OrgID       *string `json:"org_id"`
	WorkspaceID *string `json:"workspace_id"`
	Provider    *string `json:"provider"`
	Model       *string `json:"model"`
}

// reportRollups says whether the figures count every stored trace.
type reportRollups struct {
	// CaughtUp is false with --no-catch-up: pending batches were neither
	// applied nor counted.
	CaughtUp bool `json:"caught_up"`
	// AppliedBatches were pending and applied by this report.
	AppliedBatches int `json:"applied_batches"`
	// UnappliedBatches are pending batches the figures miss (failing, held
	// by another process, or not reached in time); null when not checked.
	UnappliedBatches *int `json:"unapplied_batches"`
	// DiscardedBatches are batches River gave up on after repeated failures
	// (kept a week): their traces are missing from every report.
	DiscardedBatches int `json:"discarded_batches"`
}

// reportKey is a gateway key's traffic with the key's name ("" when the key
// is gone, or for gateway_key_id "": traffic without a gateway key).
type reportKey struct {
	analytics.GatewayKeyItem
	Name string `json:"name"`
}

// reportDay is one UTC day.
type reportDay struct {
	Date             string  `json:"date"` // YYYY-MM-DD
	Requests         int64   `json:"requests"`
	InputTokens      int64   `json:"input_tokens"`
	OutputTokens     int64   `json:"output_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	UnpricedRequests int64   `json:"unpriced_requests"`
	TotalCostUSD     float64 `json:"total_cost_usd"`
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// buildReport catches the rollups up (unless told not to) and gathers the
// report's answers.
func buildReport(ctx context.Context, c *cli, st reportStore, opts reportOptions) (report, error) {
	q := opts.query
	rep := report{
		From: q.From, To: q.To, allDays: opts.allDays,
		Filters: reportFilters{
			OrgID: optionalString(q.Tenant.OrgID), WorkspaceID: optionalString(q.Tenant.WorkspaceID),
			Provider: optionalString(q.Provider), Model: optionalString(q.Model),
		},
	}
	if opts.catchUp {
		r, err := catchUpRollups(ctx, c, st, opts.catchUpTimeout)
		if err != nil {
			return rep, err
		}
		rep.Rollups = r
	}

	svc := analytics.New(st)
	var err error
	if rep.Summary, err = svc.Summary(ctx, q); err != nil {
		return rep, err
	}
	models, err := svc.Models(ctx, q)
	if err != nil {
		return rep, err
	}
	rep.Models = costliest(models.Items, opts.top, func(m analytics.ModelItem) (float64, int64, string) {
		return m.TotalCostUSD, m.Requests, m.Model
	})
	keys, err := svc.Keys(ctx, q)
	if err != nil {
		return rep, err
	}
	top := costliest(keys.GatewayKeys, opts.top, func(k analytics.GatewayKeyItem) (float64, int64, string) {
		return k.TotalCostUSD, k.Requests, k.GatewayKeyID
	})
	names := map[string]string{}
	if len(top) > 0 {
		all, err := st.ListKeys(ctx, store.Tenant{})
		if err != nil {
			return rep, err
		}
		for _, k := range all {
			names[k.ID] = k.Name
		}
	}
	rep.Keys = make([]reportKey, len(top))
	for i, k := range top {
		rep.Keys[i] = reportKey{GatewayKeyItem: k, Name: names[k.GatewayKeyID]}
	}
	rep.Daily, err = daily(ctx, svc, q, opts.allDays)
	return rep, err
}

// catchUpRollups applies the rollup batches a gateway left pending, waiting
// at most timeout, and tells the operator on stderr when the figures will
// miss some. Ctrl-C is an error; the timeout is not.
func catchUpRollups(ctx context.Context, c *cli, st reportStore, timeout time.Duration) (reportRollups, error) {
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := st.CatchUpRollups(waitCtx, nil)
	if err != nil && (ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded)) {
		return reportRollups{}, fmt.Errorf("applying pending rollup batches: %w", err)
	}
	out := reportRollups{CaughtUp: true, AppliedBatches: res.Applied, UnappliedBatches: &res.Left, DiscardedBatches: res.Discarded}
	if res.Applied > 0 {
		fmt.Fprintf(c.stderr, "ongoingai report: applied %s that had not been rolled up yet\n", plural(res.Applied, "pending trace batch", "pending trace batches"))
	}
	miss := "; the figures miss their traces\n"
	switch {
	case res.Left > 0 && err != nil:
		fmt.Fprintf(c.stderr, "ongoingai report: warning: gave up waiting after %s: %s not in the rollups"+miss,
			timeout, plural(res.Left, "trace batch is", "trace batches are"))
	case res.Left > 0:
		if failing := res.Left - res.Stuck; failing > 0 {
			fmt.Fprintf(c.stderr, "ongoingai report: warning: %s to roll up (%s)"+miss,
				plural(failing, "trace batch failed", "trace batches failed"), cmp.Or(res.LastError, "no error recorded"))
		}
		if res.Stuck > 0 {
			fmt.Fprintf(c.stderr, "ongoingai report: warning: %s held by another process that has not finished its rollup job "+
				"(a gateway that died mid-job? River hands such jobs out again an hour after they started)"+miss,
				plural(res.Stuck, "trace batch is", "trace batches are"))
		}
	}
	if res.Discarded > 0 {
		fmt.Fprintf(c.stderr, "ongoingai report: warning: %s failed for good (River discarded the rollup jobs); the figures miss their traces\n",
			plural(res.Discarded, "trace batch", "trace batches"))
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// costliest sorts items by cost, then requests (both descending), then
// name, and keeps the first n (all when n is 0).
func costliest[T any](items []T, n int, key func(T) (float64, int64, string)) []T {
	slices.SortStableFunc(items, func(a, b T) int {
		ca, ra, na := key(a)
		cb, rb, nb := key(b)
		return cmp.Or(cmp.Compare(cb, ca), cmp.Compare(rb, ra), cmp.Compare(na, nb))
	})
	if n > 0 && len(items) > n {
		items = items[:n]
	}
	if items == nil {
		items = []T{}
	}
	return items
}

// daily is the window's cost and usage per UTC day: the days with
// requests, or with allDays every day the window touches.
func daily(ctx context.Context, svc *analytics.Service, q analytics.Query, allDays bool) ([]reportDay, error) {
	q.Bucket = store.BucketDay
	cost, err := svc.Cost(ctx, q)
	if err != nil {
		return nil, err
	}
	usage, err := svc.Usage(ctx, q)
	if err != nil {
		return nil, err
	}
	var days []reportDay
	index := map[string]int{}
	for d := store.UTCDay(q.From); d.Before(q.To); d = d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = len(days)
		days = append(days, reportDay{Date: d.Format(time.DateOnly)})
	}
	day := func(t *time.Time) *reportDay {
		if t == nil {
			return nil
		}
		i, ok := index[t.UTC().Format(time.DateOnly)]
		if !ok {
			return nil
		}
		return &days[i]
	}
	for _, it := range cost.Items {
		if d := day(it.BucketStart); d != nil {
			d.Requests, d.UnpricedRequests, d.TotalCostUSD = it.Requests, it.UnpricedRequests, it.TotalCostUSD
		}
	}
	for _, it := range usage.Items {
		if d := day(it.BucketStart); d != nil {
			d.InputTokens, d.OutputTokens, d.TotalTokens = it.InputTokens, it.OutputTokens, it.TotalTokens
		}
	}
	if allDays {
		return days, nil
	}
	busy := days[:0]
	for _, d := range days {
		if d.Requests > 0 {
			busy = append(busy, d)
		}
	}
	return busy, nil
}

// printReport writes the text form: a summary block and three tables.
func printReport(w io.Writer, rep report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	usd := func(v float64) string { return fmt.Sprintf("%.6f", v) }
	s := rep.Summary

	line("Summary")
	line("  Window\t%s to %s (UTC, whole hours)", rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339))
	line("  Scope\t%s", scope(rep.Filters))
	line("  Requests\t%d", s.TotalRequests)
	line("  Errors (4xx/5xx)\t%d", s.ErrorRequests)
	line("  Unpriced requests\t%d", s.UnpricedRequests)
	line("  Input tokens\t%d (cached %d)", s.TotalInputTokens, s.CachedInputTokens)
	line("  Output tokens\t%d", s.TotalOutputTokens)
	line("  Total tokens\t%d", s.TotalTokens)
	line("  Cost (USD)\t%s", usd(s.TotalCostUSD))
	line("  Active gateway keys\t%d", s.ActiveKeys)
	line("  Most requested model\t%s", orDash(s.TopModel))
	line("  Rollups\t%s", rollupsLine(rep.Rollups))
	if err := tw.Flush(); err != nil {
		return err
	}

	section := func(title, header string, rows int, row func(i int)) error {
		fmt.Fprintf(w, "\n%s\n", title)
		if rows == 0 {
			fmt.Fprintln(w, "  (no traffic)")
			return nil
		}
		line("  " + header)
		for i := range rows {
			row(i)
		}
		return tw.Flush()
	}
	if err := section("Top models, ranked by cost (then requests)", "MODEL\tREQUESTS\tERRORS\tINPUT TOKENS\tOUTPUT TOKENS\tCOST (USD)\tAVG MS\tP95 MS",
		len(rep.Models), func(i int) {
			m := rep.Models[i]
			line("  %s\t%d\t%d\t%d\t%d\t%s\t%.1f\t%.1f", m.Model, m.Requests, m.Errors, m.InputTokens, m.OutputTokens,
				usd(m.TotalCostUSD), m.AvgLatencyMS, m.P95LatencyMS)
		}); err != nil {
		return err
	}
	if err := section("Top gateway keys, ranked by cost (then requests)", "KEY\tNAME\tREQUESTS\tTOTAL TOKENS\tCOST (USD)\tLAST ACTIVE",
		len(rep.Keys), func(i int) {
			k := rep.Keys[i]
			id, name := k.GatewayKeyID, k.Name
			if id == "" {
				id = "(no key)"
			}
			if name == "" {
				name = "-"
			}
			line("  %s\t%s\t%d\t%d\t%s\t%s", id, name, k.Requests, k.TotalTokens, usd(k.TotalCostUSD), k.LastActiveAt.Format(time.RFC3339))
		}); err != nil {
		return err
	}
	title, rows := "Daily cost (UTC, days with traffic; --all-days for every day)", len(rep.Daily)+1
	if rep.allDays {
		title = "Daily cost (UTC, every day of the window)"
	}
	if s.TotalRequests == 0 && !rep.allDays {
		rows = 0 // no day to list: say so rather than print a lone total
	}
	return section(title, "DAY\tREQUESTS\tTOTAL TOKENS\tCOST (USD)", rows, func(i int) {
		if i == len(rep.Daily) {
			line("  TOTAL\t%d\t%d\t%s", s.TotalRequests, s.TotalTokens, usd(s.TotalCostUSD))
			return
		}
		d := rep.Daily[i]
		line("  %s\t%d\t%d\t%s", d.Date, d.Requests, d.TotalTokens, usd(d.TotalCostUSD))
	})
}

func scope(f reportFilters) string {
	s := "all organizations"
	if f.OrgID != nil {
		s = "organization " + *f.OrgID
	}
	if f.WorkspaceID != nil {
		s += ", workspace " + *f.WorkspaceID
	}
	if f.Provider != nil {
		s += ", provider " + *f.Provider
	}
	if f.Model != nil {
		s += ", model " + *f.Model
	}
	return s
}

func rollupsLine(r reportRollups) string {
	switch {
	case !r.CaughtUp:
		return "as stored (--no-catch-up: batches still pending are not counted)"
	case *r.UnappliedBatches > 0 || r.DiscardedBatches > 0:
		return fmt.Sprintf("INCOMPLETE: %d pending and %d discarded trace batches are not counted", *r.UnappliedBatches, r.DiscardedBatches)
	case r.AppliedBatches > 0:
		return fmt.Sprintf("complete (applied %d pending trace batches first)", r.AppliedBatches)
	default:
		return "complete"
	}
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}
