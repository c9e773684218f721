package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/tenancy"
)

// limitsGroup is the limits command: set and show the limits of a key or
// workspace.
func limitsGroup() group {
	return group{
		name: "limits",
		description: `Sets and shows the rate limits and budgets of one gateway key or workspace
directly in the configured store, as the operator (actor "cli", audited).
The defaults come from limits.per_key and limits.per_workspace in the
configuration; what is set here replaces them for that key or workspace.
Running gateways on the same store apply a change within a second.`,
		subs: []subcommand{
			{"set", "replace the limits of a key or workspace: NAME=VALUE...", limitsSetCmd},
			{"show", "show the limits of a key or workspace, what is used and when it resets", limitsShowCmd},
		},
		shared: func() *flags {
			f := newFlags("limits", "", "")
			f.configFlag()
			f.Bool("json", false, "print JSON instead of text")
			return f
		},
	}
}

func limitsCmd(c *cli, args []string) int { return limitsGroup().run(c, args) }

// limitNames lists what NAME=VALUE accepts, for help texts.
var limitNames = "requests_per_minute, tokens_per_minute, tokens_per_day, usd_per_day, usd_per_month"

// withLimitsService is withKeyService for the limits commands.
func (c *cli) withLimitsService(name string, cf *configFlag, fn func(ctx context.Context, svc *tenancy.Service, m *limits.Manager) error) int {
	cfg, ok := c.loadConfig(name, cf)
	if !ok {
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, m, closeSvc, err := app.OpenLimitsService(ctx, cfg)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai %s: %v\n", name, err)
		return exitFail
	}
	return c.finishService(name, fn(ctx, svc, m), closeSvc)
}

// limitTargetFlags are --key ID and --workspace ORG/ID, exactly one.
type limitTargetFlags struct{ key, workspace *string }

func addLimitTarget(f *flags) limitTargetFlags {
	return limitTargetFlags{
		key:       f.String("key", "", "gateway key `ID`"),
		workspace: f.String("workspace", "", "`WORKSPACE` as ORG/ID"),
	}
}

func (t limitTargetFlags) target() (tenancy.LimitTarget, error) {
	switch {
	case (*t.key == "") == (*t.workspace == ""):
		return tenancy.LimitTarget{}, errors.New("give --key ID or --workspace ORG/ID")
	case *t.key != "":
		return tenancy.LimitTarget{KeyID: *t.key}, nil
	}
	org, ws, ok := strings.Cut(*t.workspace, "/")
	if !ok || org == "" || ws == "" {
		return tenancy.LimitTarget{}, errors.New("--workspace must be ORG/ID")
	}
	return tenancy.LimitTarget{OrgID: org, WorkspaceID: ws}, nil
}

func subjectOf(t tenancy.LimitTarget) string {
	if t.KeyID != "" {
		return limits.KeySubject(t.KeyID)
	}
	return limits.WorkspaceSubject(t.OrgID, t.WorkspaceID)
}

// setLimits replaces t's overrides with the assignments, audited as the
// operator's change.
func setLimits(ctx context.Context, svc *tenancy.Service, m *limits.Manager, t tenancy.LimitTarget, assignments []string) error {
	req, err := limits.ParseAssignments(assignments)
	if err != nil {
		return tenancy.InvalidLimits(err.Error())
	}
	o, err := req.Override()
	if err != nil {
		return tenancy.InvalidLimits(err.Error())
	}
	return svc.SetLimits(ctx, tenancy.OperatorActor(), t, o.Describe(), func(rt tenancy.LimitTarget) error {
		return m.Set(ctx, subjectOf(rt), o, "cli", time.Now())
	})
}

func limitsSetCmd(c *cli, args []string) int {
	f := newFlags("limits set", "ongoingai limits set [--key ID | --workspace WORKSPACE] NAME=VALUE... [--json] [--config FILE]",
		"Replaces the limits of a key or workspace (give exactly one of --key and\n"+
			"--workspace). NAME is one of "+limitNames+";\n"+
			"VALUE is a whole number (dollars for usd_*), 0 to lift the limit, or\n"+
			"default to keep the configured default. Names left out keep the default too.")
	cf := f.configFlag()
	tf := addLimitTarget(f)
	asJSON := f.Bool("json", false, "print the limits now in force as JSON")
	var assignments []string
	for rest := args; ; {
		if code, done := f.parse(c, rest); done {
			return code
		}
		if f.NArg() == 0 {
			break
		}
		assignments = append(assignments, f.Arg(0))
		rest = f.Args()[1:]
	}
	t, err := tf.target()
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai limits set: %v\n", err)
		f.printUsage(c.stderr)
		return exitUsage
	}
	return c.withLimitsService("limits set", cf, func(ctx context.Context, svc *tenancy.Service, m *limits.Manager) error {
		if err := setLimits(ctx, svc, m, t, assignments); err != nil {
			return err
		}
		return printLimits(ctx, c, svc, m, t, *asJSON)
	})
}

func limitsShowCmd(c *cli, args []string) int {
	f := newFlags("limits show", "ongoingai limits show [--key ID | --workspace WORKSPACE] [--json] [--config FILE]",
		"Shows every limit of a key or workspace (give exactly one of --key and\n"+
			"--workspace): its value (0: none) and source\n"+
			"(default or override), what is used (every gateway's calls, as written to\n"+
			"the store within the last second) and when that next goes down.")
	cf := f.configFlag()
	tf := addLimitTarget(f)
	asJSON := f.Bool("json", false, "print JSON")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	t, err := tf.target()
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai limits show: %v\n", err)
		f.printUsage(c.stderr)
		return exitUsage
	}
	return c.withLimitsService("limits show", cf, func(ctx context.Context, svc *tenancy.Service, m *limits.Manager) error {
		return printLimits(ctx, c, svc, m, t, *asJSON)
	})
}

func printLimits(ctx context.Context, c *cli, svc *tenancy.Service, m *limits.Manager, t tenancy.LimitTarget, asJSON bool) error {
	var err error
	if t.KeyID != "" {
		t, err = svc.KeyLimitTarget(ctx, tenancy.OperatorActor(), t.KeyID)
	} else {
		t, err = svc.WorkspaceLimitTarget(ctx, tenancy.OperatorActor(), t.OrgID, t.WorkspaceID)
	}
	if err != nil {
		return err
	}
	v, err := m.Show(subjectOf(t), time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.stdout, v)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "LIMIT (%s)\tVALUE\tSOURCE\tUSED\tREMAINING\tRESETS AT\n", v.Subject)
	for k := range limits.NumKinds {
		lv := v.Limits[k.String()]
		value := "none"
		if lv.Limit > 0 {
			value = fmt.Sprint(lv.Limit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\n", k, value, lv.Source, lv.Used, lv.Remaining, lv.ResetsAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
