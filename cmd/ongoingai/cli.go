package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/ongoingai/gateway/internal/config"
)

// Exit codes shared by every command. Usage mistakes are 2 as with most
// Unix tools, so scripts can tell "you called me wrong" from "it failed".
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// cli is the environment a command runs in. Tests build one with their own
// streams and environment instead of touching the process's.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv feeds the config loader's environment overlay.
	getenv func(string) (string, bool)
	// environ is the base environment of programs started by wrap.
	environ func() []string
}

// command is one entry of the command table.
type command struct {
	name    string
	summary string // one line in the top-level usage
	run     func(c *cli, args []string) int
	group   func() group // for a command made of subcommands; nil otherwise
}

// commandTable lists every command in the order usage shows them. A new
// command (keys, report, doctor, ...) is one entry here plus one file
// holding its run function. It is a function rather than a variable because
// help refers back to the table.
func commandTable() []command {
	return []command{
		{"serve", "run the gateway", serveCmd, nil},
		{"config", "validate or show the effective configuration", configCmd, configGroup},
		{"doctor", "check config, storage, routes, auth and the OTLP collector", doctorCmd, nil},
		{"shell-init", "print shell exports that point OpenAI and Anthropic SDKs at the gateway", shellInitCmd, nil},
		{"wrap", "run a command with SDK base URLs pointing at the gateway", wrapCmd, nil},
		{"keys", "create, list, rotate and revoke gateway keys in the store", keysCmd, keysGroup},
		{"limits", "set and show the rate limits and budgets of a key or workspace", limitsCmd, limitsGroup},
		{"migrate", "show or apply the store's schema migrations", migrateCmd, migrateGroup},
		{"backup", "write a consistent copy of the store to a file, safe while serving", backupCmd, nil},
		{"report", "print usage and cost from the store: summary, top models and keys, daily cost", reportCmd, nil},
		{"pricing", "check which models seen in traces the price catalog does not price", pricingCmd, pricingGroup},
		{"healthcheck", "exit 0 when a running gateway's /api/health answers 200 (container probes)", healthcheckCmd, nil},
		{"version", "print version information", versionCmd, nil},
		{"help", "show help for a command", helpCmd, nil},
	}
}

// run executes the command line args (without the program name) and
// returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{
		stdin:   stdin,
		stdout:  stdout,
		stderr:  stderr,
		getenv:  os.LookupEnv,
		environ: os.Environ,
	}
	return c.run(args)
}

func (c *cli) run(args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return helpCmd(c, args[1:])
	case "--version", "-version":
		return versionCmd(c, args[1:])
	}
	cmd, ok := lookupCommand(args[0])
	if !ok {
		fmt.Fprintf(c.stderr, "ongoingai: unknown command %q\n\n", args[0])
		c.usage(c.stderr)
		return exitUsage
	}
	return cmd.run(c, args[1:])
}

func lookupCommand(name string) (command, bool) {
	for _, cmd := range commandTable() {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, `ongoingai is an AI gateway: point an OpenAI or Anthropic SDK at it and every
call is proxied, its token usage priced and a trace stored.

Usage:
  ongoingai <command> [flags]

Commands:
`)
	for _, cmd := range commandTable() {
		fmt.Fprintf(w, "  %-12s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, "\nRun 'ongoingai help <command>' for a command's flags.\n")
}

// helpCmd prints the top-level usage, or the help of a command or of a
// subcommand (help keys create) by asking it the way a user would, with
// -h after its name.
func helpCmd(c *cli, args []string) int {
	f := newFlags("help", "ongoingai help [COMMAND [SUBCOMMAND]]",
		"Prints the list of commands, or the usage and flags of one command or\n"+
			"subcommand (ongoingai help keys create).")
	if code, done := f.parse(c, args); done {
		return code
	}
	args = f.Args()
	if len(args) == 0 {
		c.usage(c.stdout)
		return exitOK
	}
	if args[0] == "help" {
		f.printUsage(c.stdout)
		return exitOK
	}
	cmd, ok := lookupCommand(args[0])
	if !ok {
		fmt.Fprintf(c.stderr, "ongoingai help: unknown command %q\n\n", args[0])
		c.usage(c.stderr)
		return exitUsage
	}
	// A command takes at most a subcommand here; flags belong to it, not
	// to help, so anything else is a mistake.
	if len(args) > 2 || (len(args) == 2 && strings.HasPrefix(args[1], "-")) {
		fmt.Fprintf(c.stderr, "ongoingai help: unexpected argument %q\n", args[len(args)-1])
		f.printUsage(c.stderr)
		return exitUsage
	}
	return cmd.run(c, append(args[1:], "-h"))
}

// flags is a command's flag set plus the text its help shows.
type flags struct {
	*flag.FlagSet
	synopsis    string // e.g. "ongoingai serve [--config FILE]"
	description string
}

func newFlags(name, synopsis, description string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// parse reports errors itself, once, in the CLI's own format.
	fs.SetOutput(io.Discard)
	return &flags{FlagSet: fs, synopsis: synopsis, description: description}
}

// parse parses args. When done is true the command must return code at
// once: help was printed (0) or the arguments were wrong (2).
func (f *flags) parse(c *cli, args []string) (code int, done bool) {
	err := f.Parse(args)
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, flag.ErrHelp):
		f.printUsage(c.stdout)
		return exitOK, true
	default:
		// The flag package names flags with one dash; this CLI's usage
		// lines and flag lists use two, and so do its errors.
		msg := singleDash.ReplaceAllString(err.Error(), "$1--$2")
		fmt.Fprintf(c.stderr, "ongoingai %s: %s\n", f.Name(), msg)
		f.printUsage(c.stderr)
		return exitUsage, true
	}
}

// singleDash matches a flag name as the flag package writes it in its
// errors ("flag provided but not defined: -nope").
var singleDash = regexp.MustCompile(`(^|\s)-([A-Za-z])`)

// noArgs rejects positional arguments for commands that take none.
func (f *flags) noArgs(c *cli) (code int, done bool) {
	if f.NArg() == 0 {
		return exitOK, false
	}
	fmt.Fprintf(c.stderr, "ongoingai %s: unexpected argument %q\n", f.Name(), f.Arg(0))
	f.printUsage(c.stderr)
	return exitUsage, true
}

func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", f.synopsis, f.description)
	printFlags(w, f.FlagSet)
}

// printFlags writes a "Flags:" section in the CLI's one style, the style of
// its usage lines: --name PLACEHOLDER, the placeholder being the upper-case
// `WORD` quoted in the flag's usage text (the flag package's own listing
// says -name and falls back to Go type names such as "string").
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(fl *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		fmt.Fprintf(w, "  %s\n      %s", flagSynopsis(fl), usageText(fl))
		if d := fl.DefValue; d != "" && d != "false" && d != "0" && d != "0s" && d != "[]" {
			fmt.Fprintf(w, " (default %s)", d)
		}
		fmt.Fprintln(w)
	})
}

// flagSynopsis is "--name PLACEHOLDER", or "--name" for a switch.
func flagSynopsis(fl *flag.Flag) string {
	if placeholder(fl) == "" {
		return "--" + fl.Name
	}
	return "--" + fl.Name + " " + placeholder(fl)
}

// placeholder is the `WORD` of the flag's usage text; "" for a switch.
func placeholder(fl *flag.Flag) string {
	if isSwitch(fl) {
		return ""
	}
	name, _ := flag.UnquoteUsage(fl)
	return name
}

// usageText is the usage text with the backquotes around the placeholder
// removed.
func usageText(fl *flag.Flag) string {
	_, usage := flag.UnquoteUsage(fl)
	return usage
}

// isSwitch reports a boolean flag, one that takes no value.
func isSwitch(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// subcommand is one entry of a command made of subcommands (config, keys).
type subcommand struct {
	name    string
	summary string // may span lines
	run     func(c *cli, args []string) int
}

// group is a command made of subcommands: its help lists them and the
// flags every one of them takes (shared), and it dispatches to them.
type group struct {
	name        string
	description string
	subs        []subcommand
	shared      func() *flags // the flags common to every subcommand, for help
}

func (g group) usage(w io.Writer) {
	names := make([]string, len(g.subs))
	for i, s := range g.subs {
		names[i] = s.name
	}
	fmt.Fprintf(w, "Usage: ongoingai %s <%s> [flags]\n\n%s\n\nSubcommands:\n", g.name, strings.Join(names, "|"), g.description)
	for _, s := range g.subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, strings.ReplaceAll(s.summary, "\n", "\n             "))
	}
	printFlags(w, g.shared().FlagSet)
	fmt.Fprintf(w, "\nRun 'ongoingai help %s SUBCOMMAND' for all of a subcommand's flags.\n", g.name)
}

// run dispatches to the subcommand named first in args.
func (g group) run(c *cli, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(c.stderr, "ongoingai %s: missing subcommand\n", g.name)
		g.usage(c.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		g.usage(c.stdout)
		return exitOK
	}
	for _, s := range g.subs {
		if s.name == args[0] {
			return s.run(c, args[1:])
		}
	}
	fmt.Fprintf(c.stderr, "ongoingai %s: unknown subcommand %q\n", g.name, args[0])
	g.usage(c.stderr)
	return exitUsage
}

// configFlag is --config. It records whether the user set it, because a
// missing default file means "use defaults" while a missing named file is
// an error.
type configFlag struct {
	path     string
	explicit bool
}

func (f *configFlag) String() string { return f.path }

func (f *configFlag) Set(v string) error {
	f.path, f.explicit = v, true
	return nil
}

func (f *flags) configFlag() *configFlag {
	cf := &configFlag{path: config.DefaultPath}
	f.Var(cf, "config", "read the configuration from `FILE`; when the default file is missing, built-in defaults apply")
	return cf
}

// loadConfig loads and validates the configuration, printing the errors
// (every one of them) when it cannot.
func (c *cli) loadConfig(cmdName string, cf *configFlag) (config.Config, bool) {
	cfg, err := config.Load(cf.path, cf.explicit, c.getenv)
	if err != nil {
		c.printErrors(cmdName, err)
		return config.Config{}, false
	}
	return cfg, true
}

// printErrors prints one error on one line, and a joined list of errors as
// an indented block, so that each broken field reads on its own line.
func (c *cli) printErrors(cmdName string, err error) {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 1 {
		fmt.Fprintf(c.stderr, "ongoingai %s: %s\n", cmdName, lines[0])
		return
	}
	fmt.Fprintf(c.stderr, "ongoingai %s: %d configuration errors:\n", cmdName, len(lines))
	for _, l := range lines {
		fmt.Fprintf(c.stderr, "  %s\n", l)
	}
}
