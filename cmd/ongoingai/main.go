// Command ongoingai is the OngoingAI Gateway's command line: it serves the
// gateway and offers the small tools around it (config checks, shell setup,
// running a program against the gateway). Every command lives in its own
// file and is reached through run, so tests drive the CLI in process.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
