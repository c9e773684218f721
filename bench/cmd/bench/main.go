// Command bench runs the gateway's benchmark scenarios against a fake
// upstream on loopback, each next to a direct-to-upstream baseline measured
// in the same run, and writes the report into bench/RESULTS.md: it replaces
// the part between the file's bench:generated markers and keeps the rest,
// the sections written by hand.
//
//	go run ./cmd/bench                      # everything, both stores (~6 min)
//	go run ./cmd/bench -quick               # before a commit touching the request path, < 2 min
//	go run ./cmd/bench -scenarios latency,throughput -drivers sqlite
//
// Run it from bench/, a module of its own: it builds the repository's
// ./cmd/ongoingai and runs it as the gateway under test. Postgres scenarios need a server that lets the given
// admin DSN create databases (127.0.0.1:5432 by default); each run creates a
// throwaway database and drops it afterwards.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ongoingai/gateway/bench/internal/harness"
)

func main() {
	if code, ran := harness.RunRole(); ran {
		os.Exit(code)
	}
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	scenarios := fs.String("scenarios", "all", "comma-separated: "+strings.Join(harness.AllScenarios, ", ")+", or all")
	drivers := fs.String("drivers", "sqlite,postgres", "comma-separated stores: sqlite, postgres")
	out := fs.String("out", "RESULTS.md", "the report file: its generated part is replaced, hand-written sections kept; empty: standard output only")
	quick := fs.Bool("quick", false, "before a commit that touches the request path (under 2 minutes): "+
		strings.Join(harness.QuickScenarios, ", ")+" on sqlite with fewer samples, printed instead of written (unless -scenarios, -drivers or -out say otherwise)")
	gateway := fs.String("gateway", "build", `"build": compile ./cmd/ongoingai and measure it; "self": run the gateway from this binary`)
	profileDir := fs.String("profile-dir", "", "keep profile files (.pb.gz) here for go tool pprof; empty: discarded with the work directory")
	workDir := fs.String("work-dir", "", "keep databases and gateway logs here instead of a removed temporary directory")
	streams := fs.Int("streams", 0, "override the number of concurrent streams of scenario 3")
	round := fs.Duration("round", 0, "override the length of each latency and throughput round")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		// A quick run's figures do not replace a full run's in RESULTS.md.
		if !set["scenarios"] {
			*scenarios = strings.Join(harness.QuickScenarios, ",")
		}
		if !set["drivers"] {
			*drivers = "sqlite"
		}
		if !set["out"] {
			*out = ""
		}
	}

	o := harness.Options{
		Drivers:     split(*drivers),
		Quick:       *quick,
		Gateway:     *gateway,
		ProfileDir:  *profileDir,
		WorkDir:     *workDir,
		KeepWorkDir: *workDir != "",
		Log:         os.Stderr,
		Scale:       harness.FullScale(),
		Command:     "go run ./cmd/bench " + strings.Join(os.Args[1:], " "),
	}
	if *scenarios != "all" {
		o.Scenarios = split(*scenarios)
	}
	if *quick {
		o.Scale = harness.QuickScale()
	}
	if *streams > 0 {
		o.Scale.Streams = *streams
	}
	if *round > 0 {
		o.Scale.LatencyRound, o.Scale.ThroughputRound = *round, *round
	}
	o.Command = strings.TrimSpace(o.Command)

	// A hard ceiling on the whole run, whatever the scale: the harness
	// must stop by itself.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()

	rep, err := harness.Run(ctx, o)
	if rep != nil {
		if *out != "" {
			if werr := rep.WriteFile(*out); werr != nil {
				fmt.Fprintln(os.Stderr, "bench:", werr)
				return 1
			}
			fmt.Fprintf(os.Stderr, "report written to %s (generated part replaced, other sections kept)\n", *out)
		} else {
			fmt.Print(rep.Markdown())
		}
		met, missed, na := 0, 0, 0
		for _, c := range rep.Checks() {
			switch {
			case c.NA:
				na++
			case c.Met:
				met++
			default:
				missed++
				fmt.Fprintf(os.Stderr, "target missed: %s [%s] %s: %s (target %s)\n", c.Scenario, c.Driver, c.What, c.Got, c.Target)
			}
		}
		for _, f := range rep.Failures() {
			fmt.Fprintln(os.Stderr, "could not be measured:", f)
		}
		fmt.Fprintf(os.Stderr, "targets: %d met, %d missed, %d not measurable on this machine\n", met, missed, na)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
