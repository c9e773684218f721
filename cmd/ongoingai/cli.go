package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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
}

// commandTable lists every command in the order usage shows them. A new
// command (keys, report, doctor, ...) is one entry here plus one file
// holding its run function. It is a function rather than a variable because
// help refers back to the table.
func commandTable() []command {
	return []command{
		{"serve", "run the gateway", serveCmd},
		{"config", "validate or show the effective configuration", configCmd},
		{"doctor", "check config, storage, routes, auth and the OTLP collector", doctorCmd},
		{"shell-init", "print shell exports that point OpenAI and Anthropic SDKs at the gateway", shellInitCmd},
		{"wrap", "run a command with SDK base URLs pointing at the gateway", wrapCmd},
		{"keys", "create, list, rotate and revoke gateway keys in the store", keysCmd},
		{"report", "print usage and cost from the store: summary, top models and keys, daily cost", reportCmd},
		{"version", "print version information", versionCmd},
		{"help", "show help for a command", helpCmd},
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

// helpCmd prints the top-level usage, or a command's own help by asking
// the command for it the way a user would, with -h.
func helpCmd(c *cli, args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return exitOK
	}
	cmd, ok := lookupCommand(args[0])
	if !ok || cmd.name == "help" {
		fmt.Fprintf(c.stderr, "ongoingai help: unknown command %q\n\n", args[0])
		c.usage(c.stderr)
		return exitUsage
	}
	return cmd.run(c, append([]string{"-h"}, args[1:]...))
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
		fmt.Fprintf(c.stderr, "ongoingai %s: %v\n", f.Name(), err)
		f.printUsage(c.stderr)
		return exitUsage, true
	}
}

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
	hasFlags := false
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
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
	f.Var(cf, "config", "read the configuration from `FILE`; without this flag a missing "+config.DefaultPath+" means built-in defaults")
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
