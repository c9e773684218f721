package main

import (
	"fmt"
	"runtime"

	"github.com/ongoingai/gateway/internal/version"
)

func versionCmd(c *cli, args []string) int {
	f := newFlags("version", "ongoingai version", "Prints the version, commit and build date of this binary.")
	if code, done := f.parse(c, args); done {
		return code
	}
	if code, done := f.noArgs(c); done {
		return code
	}
	fmt.Fprintf(c.stdout, "ongoingai %s\ncommit: %s\nbuilt:  %s\ngo:     %s\n",
		version.Version, orUnknown(version.Commit), orUnknown(version.Date), runtime.Version())
	return exitOK
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
