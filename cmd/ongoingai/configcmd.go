package main

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/ongoingai/gateway/internal/config"
)

// configGroup is the config command: validate and show.
func configGroup() group {
	return group{
		name:        "config",
		description: "Checks or prints the configuration the gateway would run with.",
		subs: []subcommand{
			{"validate", "check the configuration; prints \"config is valid\", or \"config is invalid\" and every error", configValidateCmd},
			{"show", "print the effective configuration (defaults, then file, then\nenvironment) as YAML with secrets masked", configShowCmd},
		},
		shared: func() *flags {
			f := newFlags("config", "", "")
			f.configFlag()
			return f
		},
	}
}

func configCmd(c *cli, args []string) int { return configGroup().run(c, args) }

func configValidateCmd(c *cli, args []string) int {
	f := newFlags("config validate", "ongoingai config validate [--config FILE]",
		"Loads the configuration and checks every rule. Exits 1 listing each broken\nfield when the configuration is invalid.")
	cf := f.configFlag()
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	if _, ok := c.loadConfig("config validate", cf); !ok {
		// The verdict goes to stdout like its positive twin; the broken
		// fields, one per line, went to stderr.
		fmt.Fprintln(c.stdout, "config is invalid")
		return exitFail
	}
	fmt.Fprintln(c.stdout, "config is valid")
	return exitOK
}

// configShowCmd prints the configuration even when it breaks rules, since
// seeing what the gateway actually read is how one finds out why; the
// errors follow on stderr and the exit code still says it is invalid.
func configShowCmd(c *cli, args []string) int {
	f := newFlags("config show", "ongoingai config show [--config FILE]",
		"Prints the effective configuration as YAML, secrets masked. The output is\na valid config file.")
	cf := f.configFlag()
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	cfg, err := config.Read(cf.path, cf.explicit, c.getenv)
	if err != nil {
		c.printErrors("config show", err)
		return exitFail
	}

	fmt.Fprintln(c.stdout, "# Effective configuration: defaults, then the config file, then the environment.")
	fmt.Fprintln(c.stdout, "# Secrets are masked.")
	enc := yaml.NewEncoder(c.stdout)
	enc.SetIndent(2)
	if err := enc.Encode(cfg.Masked()); err != nil {
		fmt.Fprintf(c.stderr, "ongoingai config show: %v\n", err)
		return exitFail
	}
	if err := enc.Close(); err != nil {
		fmt.Fprintf(c.stderr, "ongoingai config show: %v\n", err)
		return exitFail
	}

	if err := cfg.Validate(); err != nil {
		c.printErrors("config show", err)
		return exitFail
	}
	return exitOK
}
