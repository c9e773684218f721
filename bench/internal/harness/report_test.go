package harness

import (
	"strings"
	"testing"
)

func gen(body string) string {
	return GeneratedStart + "\n# Gateway benchmark results\n\n" + body + "\n" + GeneratedEnd + "\n"
}

func TestMergeReplacesOnlyTheGeneratedPart(t *testing.T) {
	before := "Preamble by hand.\n\n"
	after := "\n## Optimisations\n\nHand-written.\n\n## Analytics at scale\n\nAlso by hand.\n"
	old := before + gen("old figures") + after
	got := Merge(old, gen("new figures"))
	want := before + gen("new figures") + after
	if got != want {
		t.Fatalf("merged:\n%s\nwant:\n%s", got, want)
	}
	// Idempotent: merging the same run again changes nothing.
	if again := Merge(got, gen("new figures")); again != got {
		t.Fatalf("second merge changed the file:\n%s", again)
	}
}

func TestMergeLegacyFileKeepsHandWrittenSections(t *testing.T) {
	old := strings.Join([]string{
		"# Gateway benchmark results",
		"",
		"Written by the benchmark harness.",
		"",
		"## Targets",
		"",
		"| a |",
		"",
		"## 1. Added latency",
		"",
		"text",
		"",
		"## Profile of the hot path",
		"",
		"```",
		"## not a heading: inside a code block",
		"```",
		"",
		"## Scale of this run",
		"",
		"- x",
		"",
		"## Optimisations (issue #5): before and after",
		"",
		"By hand.",
		"",
		"### A subsection",
		"",
		"```",
		"## also inside code",
		"```",
		"",
		"## Analytics at scale",
		"",
		"Also by hand.",
		"",
	}, "\n")
	got := Merge(old, gen("new"))
	if !strings.HasPrefix(got, gen("new")) {
		t.Fatalf("generated part not first:\n%s", got)
	}
	for _, want := range []string{"## Optimisations (issue #5): before and after", "### A subsection", "## also inside code", "## Analytics at scale\n\nAlso by hand."} {
		if !strings.Contains(got, want) {
			t.Errorf("lost %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"## Targets", "## 1. Added latency", "## Profile of the hot path", "not a heading", "## Scale of this run", "Written by the benchmark harness."} {
		if strings.Contains(got, gone) {
			t.Errorf("kept the old generated %q:\n%s", gone, got)
		}
	}
	// Once merged, the file has markers and later runs replace only them.
	if again := Merge(got, gen("newer")); !strings.Contains(again, "## Analytics at scale") || strings.Contains(again, "\nnew\n") {
		t.Errorf("second merge:\n%s", again)
	}
}

func TestMergeEmpty(t *testing.T) {
	if got := Merge("", gen("x")); got != gen("x") {
		t.Fatalf("got %q", got)
	}
}

func TestParseMemStats(t *testing.T) {
	text := "heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1\n\n# runtime.MemStats\n# Alloc = 10\n# TotalAlloc = 123456\n# Sys = 9\n# Mallocs = 789\n# Frees = 700\n# NumGC = 12\n# NumForcedGC = 0\n"
	m, err := parseMemStats([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if m.Mallocs != 789 || m.TotalAlloc != 123456 || m.NumGC != 12 {
		t.Fatalf("parsed %+v", m)
	}
	if _, err := parseMemStats([]byte("heap profile: nothing\n")); err == nil {
		t.Fatal("no error without MemStats")
	}
}
