package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy"
)

// keysGroup is the keys command: create, list, rotate and revoke.
func keysGroup() group {
	return group{
		name: "keys",
		description: `Manages gateway keys directly in the configured store, as the operator: no
gateway key is needed, which is how the first owner key of an installation
is made. Every change is written to the audit log (actor "cli").

Gateways on a shared Postgres see a change within a second; a gateway on
the same SQLite file sees it at its next periodic reload (within 30s).`,
		subs: []subcommand{
			{"create", "mint a key; creates the organization and workspace when missing\nand prints the token once", keysCreateCmd},
			{"list", "list keys (all, or one organization or workspace)", keysListCmd},
			{"rotate", "give a key a new token; the old one works for a grace period", keysRotateCmd},
			{"revoke", "revoke a key at once", keysRevokeCmd},
		},
		shared: func() *flags {
			f := newFlags("keys", "", "")
			f.configFlag()
			f.Bool("json", false, "print JSON instead of text")
			return f
		},
	}
}

func keysCmd(c *cli, args []string) int { return keysGroup().run(c, args) }

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// withKeyService loads the configuration, opens the store and runs fn with
// the operator's service, closing everything afterwards (which writes the
// audit events). Ctrl-C cancels fn.
func (c *cli) withKeyService(name string, cf *configFlag, fn func(ctx context.Context, svc *tenancy.Service) error) int {
	cfg, ok := c.loadConfig(name, cf)
	if !ok {
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, closeSvc, err := app.OpenKeyService(ctx, cfg)
	if err != nil {
		fmt.Fprintf(c.stderr, "ongoingai %s: %v\n", name, err)
		return exitFail
	}
	return c.finishService(name, fn(ctx, svc), closeSvc)
}

// finishService closes what a service command opened (which writes its
// audit events) and turns the command's error into an exit code.
func (c *cli) finishService(name string, runErr error, closeSvc func(context.Context) error) int {
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	closeErr := closeSvc(closeCtx)
	if runErr != nil {
		fmt.Fprintf(c.stderr, "ongoingai %s: %v\n", name, runErr)
		// A value the service refuses as malformed (a role, an id, a
		// permission, a grace period) is a usage error like a bad flag; the
		// service is the one place that knows the rules.
		if errors.Is(runErr, tenancy.ErrInvalid) {
			return exitUsage
		}
		return exitFail
	}
	if closeErr != nil {
		fmt.Fprintf(c.stderr, "ongoingai %s: closing the store: %v\n", name, closeErr)
		return exitFail
	}
	return exitOK
}

func keysCreateCmd(c *cli, args []string) int {
	f := newFlags("keys create",
		"ongoingai keys create --org ID --workspace ID --role ROLE [--name NAME] [--permission PERMISSION]... [--expires-in DURATION | --expires-at TIME] [--limit LIMIT]... [--json] [--config FILE]",
		"Mints a gateway key in workspace --workspace of organization --org, creating\n"+
			"both when missing, and prints its token. The token is shown this once: the\n"+
			"store keeps only its SHA-256. Clients send it in the gateway key header\n"+
			"(auth.header, default X-OngoingAI-Gateway-Key). The first key of an\n"+
			"installation is made here, with --role owner.")
	cf := f.configFlag()
	org := f.String("org", "", "organization `ID` (required)")
	ws := f.String("workspace", "", "workspace `ID` (required)")
	role := f.String("role", "", "`ROLE`: "+strings.Join(rbac.Roles, ", ")+
		" (required); operator reads the installation-wide diagnostics and metrics, and no tenant data")
	name := f.String("name", "", "display `NAME`")
	var perms stringList
	f.Var(&perms, "permission", "extra `PERMISSION` (repeatable or comma-separated): "+strings.Join(rbac.Permissions, ", "))
	var keyLimits stringList
	f.Var(&keyLimits, "limit", "set a `LIMIT` of the new key as NAME=VALUE (repeatable or comma-separated), NAME one of "+limitNames+" (see ongoingai limits set)")
	expiresIn := f.Duration("expires-in", 0, "expire after `DURATION` (e.g. 720h)")
	expiresAt := f.String("expires-at", "", "expire at `TIME` (RFC3339)")
	asJSON := f.Bool("json", false, "print the key, token included, as JSON")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	var missing []string
	for _, m := range []struct{ flag, v string }{{"--org", *org}, {"--workspace", *ws}, {"--role", *role}} {
		if m.v == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(c.stderr, "ongoingai keys create: missing %s\n", strings.Join(missing, ", "))
		f.printUsage(c.stderr)
		return exitUsage
	}
	if !rbac.ValidRole(*role) {
		fmt.Fprintf(c.stderr, "ongoingai keys create: --role: %s, got %q\n", tenancy.MsgUnknownRole, *role)
		return exitUsage
	}
	in := tenancy.NewKey{Name: *name, Role: *role, OrgID: *org, WorkspaceID: *ws, Permissions: perms}
	switch {
	case *expiresIn != 0 && *expiresAt != "":
		fmt.Fprintln(c.stderr, "ongoingai keys create: give --expires-in or --expires-at, not both")
		return exitUsage
	case *expiresIn < 0:
		fmt.Fprintln(c.stderr, "ongoingai keys create: --expires-in must be positive")
		return exitUsage
	case *expiresIn > 0:
		t := time.Now().Add(*expiresIn)
		in.ExpiresAt = &t
	case *expiresAt != "":
		t, err := time.Parse(time.RFC3339Nano, *expiresAt)
		if err != nil {
			fmt.Fprintln(c.stderr, "ongoingai keys create: --expires-at must be an RFC3339 time, e.g. 2027-01-31T00:00:00Z")
			return exitUsage
		}
		in.ExpiresAt = &t
	}
	if len(keyLimits) > 0 {
		// Refused before anything is created.
		req, err := limits.ParseAssignments(keyLimits)
		if err == nil {
			_, err = req.Override()
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "ongoingai keys create: --limit: %v\n", err)
			return exitUsage
		}
	}
	return c.withLimitsService("keys create", cf, func(ctx context.Context, svc *tenancy.Service, m *limits.Manager) error {
		actor := tenancy.OperatorActor()
		if err := svc.EnsureWorkspace(ctx, actor, *org, *ws); err != nil {
			return err
		}
		k, err := svc.CreateKey(ctx, actor, in)
		if err != nil {
			return err
		}
		if len(keyLimits) > 0 {
			if err := setLimits(ctx, svc, m, tenancy.LimitTarget{KeyID: k.ID}, keyLimits); err != nil {
				return fmt.Errorf("key %s created, but its limits were not set: %w", k.ID, err)
			}
		}
		if *asJSON {
			return writeJSON(c.stdout, k)
		}
		fmt.Fprintf(c.stdout, "Created gateway key %s (role %s) in %s/%s.\n\n  %s\n\n", k.ID, k.Role, k.OrgID, k.WorkspaceID, k.Token)
		fmt.Fprintln(c.stdout, "This token is shown once: store it now. It cannot be recovered, only rotated.")
		if len(keyLimits) > 0 {
			fmt.Fprintf(c.stdout, "Limits: %s\n", strings.Join(keyLimits, " "))
		}
		return nil
	})
}

func keysListCmd(c *cli, args []string) int {
	f := newFlags("keys list", "ongoingai keys list [--org ID] [--workspace ID] [--json] [--config FILE]",
		"Lists gateway keys, newest first, with their status as authentication sees\nit now. Tokens are never shown; token_last4 tells keys apart.")
	cf := f.configFlag()
	org := f.String("org", "", "only organization `ID`")
	ws := f.String("workspace", "", "only workspace `ID`")
	asJSON := f.Bool("json", false, "print JSON")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	return c.withKeyService("keys list", cf, func(ctx context.Context, svc *tenancy.Service) error {
		keys, err := svc.ListKeys(ctx, store.Tenant{OrgID: *org, WorkspaceID: *ws})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, map[string]any{"items": keys})
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tORG\tWORKSPACE\tNAME\tROLE\tSTATUS\tTOKEN\tEXPIRES\tLAST USED")
		for _, k := range keys {
			status := string(k.Status)
			if k.Static {
				status += " (static)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t…%s\t%s\t%s\n", k.ID, k.OrgID, k.WorkspaceID, k.Name, k.Role,
				status, k.TokenLast4, when(k.ExpiresAt), when(k.LastUsedAt))
		}
		return tw.Flush()
	})
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// idArg parses flags around one positional ID, so that both "rotate ID
// --grace 1h" and "rotate --grace 1h ID" work (flag stops at the first
// positional argument).
func (f *flags) idArg(c *cli, args []string) (id string, code int, done bool) {
	if code, done := f.parse(c, args); done {
		return "", code, true
	}
	if f.NArg() == 0 {
		fmt.Fprintf(c.stderr, "ongoingai %s: missing key ID\n", f.Name())
		f.printUsage(c.stderr)
		return "", exitUsage, true
	}
	id = f.Arg(0)
	if code, done := f.parse(c, f.Args()[1:]); done {
		return "", code, true
	}
	if code, done := f.noArgs(c); done {
		return "", code, true
	}
	return id, exitOK, false
}

func keysRotateCmd(c *cli, args []string) int {
	f := newFlags("keys rotate", "ongoingai keys rotate ID [--grace DURATION] [--json] [--config FILE]",
		"Gives key ID a new token and prints it once. The previous token keeps working\n"+
			"for the grace period, then stops.")
	cf := f.configFlag()
	grace := f.Duration("grace", tenancy.DefaultGrace, "the previous token keeps working for `DURATION` (0 ends it at once; at most 720h)")
	asJSON := f.Bool("json", false, "print the key, token included, as JSON")
	id, code, done := f.idArg(c, args)
	if done {
		return code
	}
	return c.withKeyService("keys rotate", cf, func(ctx context.Context, svc *tenancy.Service) error {
		k, err := svc.RotateKey(ctx, tenancy.OperatorActor(), id, *grace)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, k)
		}
		fmt.Fprintf(c.stdout, "Rotated gateway key %s. New token:\n\n  %s\n\n", k.ID, k.Token)
		if k.PreviousTokenExpiresAt != nil {
			fmt.Fprintf(c.stdout, "The previous token works until %s.\n", when(k.PreviousTokenExpiresAt))
		} else {
			fmt.Fprintln(c.stdout, "The previous token no longer works.")
		}
		fmt.Fprintln(c.stdout, "This token is shown once: store it now.")
		return nil
	})
}

func keysRevokeCmd(c *cli, args []string) int {
	f := newFlags("keys revoke", "ongoingai keys revoke ID [--json] [--config FILE]",
		"Revokes key ID: every request with it is refused from now on.")
	cf := f.configFlag()
	asJSON := f.Bool("json", false, "print the key as JSON")
	id, code, done := f.idArg(c, args)
	if done {
		return code
	}
	return c.withKeyService("keys revoke", cf, func(ctx context.Context, svc *tenancy.Service) error {
		k, err := svc.RevokeKey(ctx, tenancy.OperatorActor(), id)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, k)
		}
		fmt.Fprintf(c.stdout, "Revoked gateway key %s.\n", k.ID)
		return nil
	})
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
