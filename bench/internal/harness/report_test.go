package harness

import "testing"

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

// A file without markers loses nothing: the generated part goes first,
// and later runs replace only it.
func TestMergeFileWithoutMarkersKeepsItsText(t *testing.T) {
	old := "## Optimisations\n\nBy hand.\n"
	got := Merge(old, gen("new"))
	if got != gen("new")+"\n"+old {
		t.Fatalf("merged:\n%s", got)
	}
	if again := Merge(got, gen("newer")); again != gen("newer")+"\n"+old {
		t.Fatalf("second merge:\n%s", again)
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
