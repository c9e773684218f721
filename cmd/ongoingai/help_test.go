package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// leaf is a command that parses flags: a plain command or a subcommand.
type leaf struct{ path []string }

// leaves walks the command table: every command, and every subcommand of a
// command made of them, so a new one is checked without editing the test.
func leaves(t *testing.T) (plain []leaf, groups []command) {
	t.Helper()
	for _, cmd := range commandTable() {
		if cmd.group == nil {
			plain = append(plain, leaf{[]string{cmd.name}})
			continue
		}
		groups = append(groups, cmd)
		for _, s := range cmd.group().subs {
			plain = append(plain, leaf{[]string{cmd.name, s.name}})
		}
	}
	return plain, groups
}

var (
	// A flag in a usage line: --name, then a VALUE unless the next word is
	// another flag or a bracket.
	synopsisFlag = regexp.MustCompile(`--([a-z][a-z0-9-]*)(?: ([^\s\[\]]+))?`)
	// A flag in a "Flags:" list: two spaces, --name, maybe one PLACEHOLDER.
	flagLine     = regexp.MustCompile(`^  (-{1,2})([a-z][a-z0-9-]*)(?: (.+))?$`)
	placeholderR = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

// One style for every command: help reaches every command and subcommand
// the same three ways, usage lines and flag lists both say --flag VALUE
// with the same upper-case VALUE, every flag listed is in the usage line,
// and flag mistakes exit 2 naming the flag with two dashes.
func TestEveryCommandHelpHasOneStyle(t *testing.T) {
	plain, groups := leaves(t)
	for _, l := range plain {
		name := strings.Join(l.path, " ")
		t.Run(name, func(t *testing.T) {
			help := runCLI(t, nil, "", append([]string{"help"}, l.path...)...)
			help.expect(t, exitOK)
			if help.stderr != "" || !strings.HasPrefix(help.stdout, "Usage: ongoingai "+name) {
				t.Fatalf("help %s: stdout=%q stderr=%q", name, help.stdout, help.stderr)
			}
			for _, flag := range []string{"-h", "--help"} {
				r := runCLI(t, nil, "", append(slices.Clone(l.path), flag)...)
				r.expect(t, exitOK)
				if r.stdout != help.stdout || r.stderr != "" {
					t.Errorf("%s %s differs from help %s:\n%s", name, flag, name, r.stdout)
				}
			}

			synopsis, _, _ := strings.Cut(strings.TrimPrefix(help.stdout, "Usage: "), "\n")
			inSynopsis := map[string]string{}
			for _, m := range synopsisFlag.FindAllStringSubmatch(synopsis, -1) {
				value := m[2]
				if strings.HasPrefix(value, "--") || value == "|" {
					value = ""
				}
				inSynopsis[m[1]] = value
			}
			_, list, hasFlags := strings.Cut(help.stdout, "\nFlags:\n")
			listed := map[string]bool{}
			if hasFlags {
				for _, line := range strings.Split(list, "\n") {
					m := flagLine.FindStringSubmatch(line)
					if m == nil {
						continue
					}
					dashes, flag, value := m[1], m[2], m[3]
					listed[flag] = true
					if dashes != "--" {
						t.Errorf("flag list says %s%s, want --%s", dashes, flag, flag)
					}
					if value != "" && !placeholderR.MatchString(value) {
						t.Errorf("--%s takes %q: a placeholder is one upper-case word", flag, value)
					}
					syn, ok := inSynopsis[flag]
					switch {
					case !ok:
						t.Errorf("--%s is listed but not in the usage line %q", flag, synopsis)
					case syn != value && !(value != "" && strings.Contains(syn, "|")):
						t.Errorf("usage line says --%s %s, flag list --%s %s", flag, syn, flag, value)
					}
				}
			}
			for flag := range inSynopsis {
				if flag != "" && !listed[flag] {
					t.Errorf("usage line names --%s, which the flag list lacks", flag)
				}
			}

			// A flag that does not exist is a usage error, named as typed.
			r := runCLI(t, nil, "", append(slices.Clone(l.path), "--no-such-flag")...)
			r.expect(t, exitUsage)
			if !strings.Contains(r.stderr, "not defined: --no-such-flag") {
				t.Errorf("unknown flag: stderr %q", r.stderr)
			}
		})
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			help := runCLI(t, nil, "", "help", g.name)
			help.expect(t, exitOK)
			for _, s := range g.group().subs {
				if !strings.Contains(help.stdout, "\n  "+s.name+" ") {
					t.Errorf("help %s does not list %s:\n%s", g.name, s.name, help.stdout)
				}
			}
			if !strings.Contains(help.stdout, "\nFlags:\n  --config FILE\n") {
				t.Errorf("help %s has no flags section:\n%s", g.name, help.stdout)
			}
			for _, flag := range []string{"-h", "--help"} {
				if r := runCLI(t, nil, "", g.name, flag); r.code != exitOK || r.stdout != help.stdout {
					t.Errorf("%s %s: %d\n%s", g.name, flag, r.code, r.stdout)
				}
			}
			runCLI(t, nil, "", g.name).expect(t, exitUsage)
			runCLI(t, nil, "", g.name, "nope").expect(t, exitUsage)
		})
	}
}

func TestHelpHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "help"}, {"help", "-h"}, {"help", "--help"}} {
		r := runCLI(t, nil, "", args...)
		r.expect(t, exitOK)
		if !strings.HasPrefix(r.stdout, "Usage: ongoingai help [COMMAND [SUBCOMMAND]]\n") {
			t.Errorf("%v: %q", args, r.stdout)
		}
	}
	runCLI(t, nil, "", "help", "serve", "extra").expect(t, exitUsage)
	runCLI(t, nil, "", "help", "keys", "create", "more").expect(t, exitUsage)
}

// A value the store would refuse is a usage error (2) like any bad flag,
// found before the store is touched when the CLI can tell; store failures
// are 1.
func TestKeysCreateBadRoleIsAUsageError(t *testing.T) {
	r := runCLI(t, nil, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "root")
	r.expect(t, exitUsage)
	if !strings.Contains(r.stderr, `--role: role must be one of`) || !strings.Contains(r.stderr, `got "root"`) {
		t.Errorf("stderr %q", r.stderr)
	}
	r = runCLI(t, nil, "", "keys", "create", "--org", "acme", "--workspace", "bad/ws", "--role", "viewer")
	r.expect(t, exitUsage)
	r = runCLI(t, nil, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "viewer", "--permission", "keys:everything")
	r.expect(t, exitUsage)
	if !strings.Contains(r.stderr, `unknown permission "keys:everything"`) {
		t.Errorf("stderr %q", r.stderr)
	}
}
