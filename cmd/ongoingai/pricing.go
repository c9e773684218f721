package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/trace"
)

// pricingGroup is the pricing command: what the catalog in use prices.
func pricingGroup() group {
	return group{
		name: "pricing",
		description: `Checks the price catalog the gateway would use (the embedded catalog,
pricing.catalog_file merged over it, then pricing.overrides) against the
traces in the configured store, and reprices them. No gateway needs to run.`,
		subs: []subcommand{
			{"check", "list the models seen in traces that the catalog does not price,\nwith request counts and tokens; exits 1 when there are any", pricingCheckCmd},
			{"reprice", "recompute stored trace costs with the catalog in use and correct\nthe rollups exactly; audited", pricingRepriceCmd},
		},
		shared: func() *flags {
			f := newFlags("pricing", "", "")
			f.configFlag()
			return f
		},
	}
}

func pricingCmd(c *cli, args []string) int { return pricingGroup().run(c, args) }

// unpricedModel is one model the catalog does not price.
type unpricedModel struct {
	Model        string `json:"model"`
	Provider     string `json:"provider"`
	Requests     int64  `json:"requests"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
}

// pricingCheck is the check's JSON answer.
type pricingCheck struct {
	From           time.Time       `json:"from"`
	To             time.Time       `json:"to"`
	PricingVersion string          `json:"pricing_version"`
	Traces         int64           `json:"traces"`
	Unpriced       []unpricedModel `json:"unpriced"`
	// NowPriced counts traces stored unpriced whose model the catalog
	// prices now (a price added since): their stored cost is still 0.
	NowPriced int64 `json:"now_priced"`
}

func pricingCheckCmd(c *cli, args []string) int {
	f := newFlags("pricing check", "ongoingai pricing check [--from TIME] [--to TIME] [--json] [--config FILE]",
		"Reads every trace of the window and lists the models the price catalog does\n"+
			"not know, busiest first, with their requests and tokens: the calls recorded\n"+
			"at $0. Exits 0 when every model is priced, 1 when some are not.")
	cf := f.configFlag()
	from := f.String("from", "", "start the window at `TIME`: RFC3339 or YYYY-MM-DD (UTC); default 30 days before --to")
	to := f.String("to", "", "end the window before `TIME`: RFC3339, or YYYY-MM-DD to include that whole day; default the end of the current hour")
	asJSON := f.Bool("json", false, "print JSON")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	q, err := reportQuery(*from, *to, time.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai pricing check: %v\n", err)
		return exitUsage
	}
	cfg, ok := c.loadConfig("pricing check", cf)
	if !ok {
		return exitFail
	}
	prices, err := app.LoadPrices(cfg.Pricing)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai pricing check: %v\n", err)
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openExistingStore(ctx, cfg.Storage)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai pricing check: %v\n", err)
		return exitFail
	}
	defer st.Close()

	res := pricingCheck{From: q.From, To: q.To, PricingVersion: prices.Version()}
	byModel := map[string]*unpricedModel{}
	filter := store.TraceFilter{From: q.From, To: q.To, Limit: 200}
	for {
		page, next, err := st.ListTraces(ctx, filter)
		if err != nil {
			fmt.Fprintf(c.stderr, "ongoingai pricing check: reading traces: %v\n", err)
			return exitFail
		}
		for _, r := range page {
			res.Traces++
			model := r.Model
			if model == "" {
				model = r.RequestModel
			}
			if _, priced := prices.Lookup(model); priced {
				if !r.Priced {
					res.NowPriced++
				}
				continue
			}
			if model == "" {
				continue // no model named (an error before the body was read): nothing to price
			}
			m := byModel[model]
			if m == nil {
				m = &unpricedModel{Model: model, Provider: r.Provider}
				byModel[model] = m
			}
			m.Requests++
			m.InputTokens += r.InputTokens
			m.OutputTokens += r.OutputTokens
		}
		if next == nil {
			break
		}
		filter.Cursor = next
	}
	for _, m := range byModel {
		res.Unpriced = append(res.Unpriced, *m)
	}
	slices.SortFunc(res.Unpriced, func(a, b unpricedModel) int {
		if a.Requests != b.Requests {
			return int(b.Requests - a.Requests)
		}
		return strings.Compare(a.Model, b.Model)
	})
	if res.Unpriced == nil {
		res.Unpriced = []unpricedModel{}
	}

	if *asJSON {
		if err := writeJSON(c.stdout, res); err != nil {
			fmt.Fprintf(c.stderr, "ongoingai pricing check: %v\n", err)
			return exitFail
		}
	} else {
		writePricingCheck(c, res)
	}
	if len(res.Unpriced) > 0 {
		return exitFail
	}
	return exitOK
}

func writePricingCheck(c *cli, res pricingCheck) {
	fmt.Fprintf(c.stdout, "%d traces from %s to %s, prices %s\n", res.Traces,
		res.From.Format(time.RFC3339), res.To.Format(time.RFC3339), res.PricingVersion)
	if len(res.Unpriced) == 0 {
		fmt.Fprintln(c.stdout, "every model is priced")
	} else {
		fmt.Fprintf(c.stdout, "%d models are not priced (recorded at $0):\n", len(res.Unpriced))
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tPROVIDER\tREQUESTS\tINPUT TOKENS\tOUTPUT TOKENS")
		for _, m := range res.Unpriced {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", m.Model, m.Provider, m.Requests, m.InputTokens, m.OutputTokens)
		}
		tw.Flush()
		fmt.Fprintln(c.stdout, "add them to pricing.catalog_file (or pricing.overrides) to price new calls")
	}
	if res.NowPriced > 0 {
		fmt.Fprintf(c.stdout, "%d traces were recorded unpriced for models the catalog prices now; ongoingai pricing reprice prices them\n", res.NowPriced)
	}
}

// repriceChunk is how many trace updates one transaction (and one rollup
// correction job) carries.
const repriceChunk = 500

// repriceResult is the reprice's JSON answer.
type repriceResult struct {
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	Model          string    `json:"model,omitempty"`
	PricingVersion string    `json:"pricing_version"`
	Traces         int64     `json:"traces"`   // read in the window
	Repriced       int64     `json:"repriced"` // whose cost, priced flag or version changed
	// CostChangeNanoUSD is the sum of new minus old costs written.
	CostChangeNanoUSD int64 `json:"cost_change_nano_usd"`
	NowPriced         int64 `json:"now_priced"` // traces priced now that were not
}

func pricingRepriceCmd(c *cli, args []string) int {
	f := newFlags("pricing reprice", "ongoingai pricing reprice --from TIME --to TIME [--model NAME] [--json] [--config FILE]",
		"Recomputes the cost of every stored trace of the window (or of one model)\n"+
			"with the price catalog in use now (the embedded catalog, pricing.catalog_file,\n"+
			"pricing.overrides), each at the price in force at its start and with the tier\n"+
			"its response reported, and corrects the rollups by the difference through the\n"+
			"same exactly-once jobs that build them, so analytics agree with the traces.\n"+
			"Writes an audit event (pricing.reprice).")
	cf := f.configFlag()
	from := f.String("from", "", "start the window at `TIME`: RFC3339 or YYYY-MM-DD (UTC); required")
	to := f.String("to", "", "end the window before `TIME`: RFC3339, or YYYY-MM-DD to include that whole day; required")
	model := f.String("model", "", "only traces of model `NAME`, as recorded")
	asJSON := f.Bool("json", false, "print JSON")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	if *from == "" || *to == "" {
		fmt.Fprintln(c.stderr, "ongoingai pricing reprice: --from and --to are required: a repricing changes stored costs")
		return exitUsage
	}
	q, err := reportQuery(*from, *to, time.Now())
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai pricing reprice: %v\n", err)
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(c.stderr, "ongoingai pricing reprice: %v\n", err)
		return exitFail
	}
	cfg, ok := c.loadConfig("pricing reprice", cf)
	if !ok {
		return exitFail
	}
	prices, err := app.LoadPrices(cfg.Pricing)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := openExistingStore(ctx, cfg.Storage)
	if err != nil {
		return fail(err)
	}
	defer st.Close()

	res := repriceResult{From: q.From, To: q.To, Model: *model, PricingVersion: prices.Version()}
	var changes []store.Reprice
	flush := func() error {
		if len(changes) == 0 {
			return nil
		}
		written, err := st.RepriceTraces(ctx, changes, nil)
		if err != nil {
			return err
		}
		for _, w := range written {
			res.Repriced++
			res.CostChangeNanoUSD += w.CostNanoUSD - w.Trace.CostNanoUSD
			if w.Priced && !w.Trace.Priced {
				res.NowPriced++
			}
		}
		changes = changes[:0]
		return nil
	}
	filter := store.TraceFilter{From: q.From, To: q.To, Model: *model, Limit: 200}
	for {
		page, next, err := st.ListTraces(ctx, filter)
		if err != nil {
			return fail(fmt.Errorf("reading traces: %w", err))
		}
		for _, r := range page {
			res.Traces++
			if ch, changed := repriced(prices, r); changed {
				changes = append(changes, ch)
			}
		}
		if len(changes) >= repriceChunk || next == nil {
			if err := flush(); err != nil {
				return fail(err)
			}
		}
		if next == nil {
			break
		}
		filter.Cursor = next
	}

	// Apply the correction jobs now, as report does, so analytics agree
	// when this returns; a running gateway's runner would apply them
	// too, and the ledger keeps each applied once.
	if res.Repriced > 0 {
		if _, err := st.CatchUpRollups(ctx, nil); err != nil {
			return fail(fmt.Errorf("applying rollup corrections: %w", err))
		}
	}
	target := "traces:" + res.From.Format(time.RFC3339) + ".." + res.To.Format(time.RFC3339)
	if *model != "" {
		target += " model:" + *model
	}
	ev := store.AuditEvent{
		ID: uuid.NewString(), Time: time.Now().UTC(), ActorKeyID: "cli",
		Action: auditlog.ActionPricingReprice, Target: target, Outcome: auditlog.OutcomeOK,
		Reason: fmt.Sprintf("%d of %d traces repriced with %s; cost change %d nano-USD; %d now priced",
			res.Repriced, res.Traces, res.PricingVersion, res.CostChangeNanoUSD, res.NowPriced),
	}
	if err := st.InsertAudit(ctx, []store.AuditEvent{ev}); err != nil {
		return fail(fmt.Errorf("audit: %w", err))
	}

	if *asJSON {
		if err := writeJSON(c.stdout, res); err != nil {
			return fail(err)
		}
		return exitOK
	}
	fmt.Fprintf(c.stdout, "%d of %d traces repriced with %s (%d now priced); cost change $%.9f\n",
		res.Repriced, res.Traces, res.PricingVersion, res.NowPriced, float64(res.CostChangeNanoUSD)/1e9)
	return exitOK
}

// repriced is r priced with prices: the change to write, and whether
// anything changes.
func repriced(prices *pricing.Catalog, r trace.Record) (store.Reprice, bool) {
	model := r.Model
	if model == "" {
		model = r.RequestModel
	}
	var cond pricing.Conditions
	if len(r.Metadata) > 0 {
		_ = json.Unmarshal(r.Metadata, &cond) // the tier the response reported, when it said
	}
	cost := prices.CostAt(model, r.Timestamp, trace.PricingTokens(&r), cond)
	version := cost.Version
	if !cost.Priced {
		version = prices.Version()
	}
	if cost.NanoUSD == r.CostNanoUSD && cost.Priced == r.Priced {
		return store.Reprice{}, false
	}
	return store.Reprice{Trace: r, CostNanoUSD: cost.NanoUSD, Priced: cost.Priced, PricingVersion: version}, true
}
