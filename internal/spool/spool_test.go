package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func open(t *testing.T, dir string, maxBytes int64) *Spool {
	t.Helper()
	s, err := Open(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendAll(t *testing.T, s *Spool, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if err := s.Append([]byte(f)); err != nil {
			t.Fatalf("Append(%q): %v", f, err)
		}
	}
}

// drain reads and acknowledges every frame, in order.
func drain(t *testing.T, s *Spool) []string {
	t.Helper()
	var out []string
	for {
		p, ok, err := s.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, string(p))
		if err := s.Ack(); err != nil {
			t.Fatal(err)
		}
	}
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	return m
}

func frames(n int, size int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%06d", i) + strings.Repeat("x", size)
	}
	return out
}

// Frames come back oldest first across segments, Peek without Ack returns
// the same frame, and a drained spool leaves no segment behind.
func TestAppendPeekAckInOrderAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20) // 64 KiB segments
	want := frames(100, 2000)
	appendAll(t, s, want...)
	if n := len(segments(t, dir)); n < 2 {
		t.Fatalf("%d segments, want the frames spread over several", n)
	}
	p1, _, _ := s.Peek()
	p2, _, _ := s.Peek()
	if string(p1) != want[0] || string(p2) != want[0] {
		t.Fatalf("Peek twice = %.6q, %.6q; want the first frame both times", p1, p2)
	}
	got := drain(t, s)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("drained %d frames out of order or incomplete", len(got))
	}
	if st := s.Stats(); st.Pending != 0 || st.Files != 0 || st.Bytes != 0 {
		t.Fatalf("stats after drain = %+v, want empty", st)
	}
	if m := segments(t, dir); len(m) != 0 {
		t.Fatalf("segments left after drain: %v", m)
	}
	// And it keeps working after it emptied.
	appendAll(t, s, "again")
	if got := drain(t, s); len(got) != 1 || got[0] != "again" {
		t.Fatalf("after emptying: %v", got)
	}
}

// What one process appended and did not acknowledge, the next reads, in
// order, and appends after it.
func TestReopenReadsWhatIsLeftFirst(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	appendAll(t, s, "a", "b", "c")
	if p, _, _ := s.Peek(); string(p) != "a" {
		t.Fatalf("Peek = %q", p)
	}
	s.Ack()
	if p, _, _ := s.Peek(); string(p) != "b" {
		t.Fatalf("Peek = %q", p) // peeked, never acknowledged: read again
	}
	s.Close()

	s2 := open(t, dir, 1<<20)
	if st := s2.Stats(); st.Pending != 2 || st.Corrupt != 0 {
		t.Fatalf("reopened stats = %+v, want 2 pending, none corrupt", st)
	}
	appendAll(t, s2, "d")
	if got := strings.Join(drain(t, s2), ""); got != "bcd" {
		t.Fatalf("after reopen read %q, want bcd", got)
	}
}

// A crash in the middle of a write leaves a torn frame at the end of the
// file: it is counted, never handed out, and the frames before it are.
func TestTornTailIsSkippedAndCounted(t *testing.T) {
	for _, cut := range []int{3, frameHeadLen + 2} { // a torn frame header, a torn payload
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, 1<<20)
			appendAll(t, s, "first", "second", "third-is-torn")
			s.Close()
			seg := segments(t, dir)[0]
			info, _ := os.Stat(seg)
			// Keep "cut" bytes of the last frame (8 + 13 bytes long).
			if err := os.Truncate(seg, info.Size()-int64(frameHeadLen+len("third-is-torn"))+int64(cut)); err != nil {
				t.Fatal(err)
			}
			s2 := open(t, dir, 1<<20)
			if st := s2.Stats(); st.Corrupt != 1 || st.Pending != 2 {
				t.Fatalf("stats = %+v, want the torn tail counted and 2 frames pending", st)
			}
			appendAll(t, s2, "fourth") // goes to a new segment, not after the tear
			if got := strings.Join(drain(t, s2), ","); got != "first,second,fourth" {
				t.Fatalf("read %q", got)
			}
			if m := segments(t, dir); len(m) != 0 {
				t.Fatalf("segments left: %v", m)
			}
		})
	}
}

// A frame whose bytes changed on disk fails its checksum: it alone is
// skipped and counted.
func TestDamagedFrameIsSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	appendAll(t, s, "one", "two", "three")
	s.Close()
	seg := segments(t, dir)[0]
	raw, _ := os.ReadFile(seg)
	i := strings.Index(string(raw), "two")
	raw[i] = 'T'
	if err := os.WriteFile(seg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, 1<<20)
	if got := strings.Join(drain(t, s2), ","); got != "one,three" {
		t.Fatalf("read %q, want the damaged frame skipped", got)
	}
	if st := s2.Stats(); st.Corrupt != 1 || st.Pending != 0 {
		t.Fatalf("stats = %+v, want 1 corrupt", st)
	}
}

// A segment of another format is set aside, not read and not deleted.
func TestUnknownSegmentFormatIsSetAside(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, fmt.Sprintf("%020d%s", 1, segmentSuffix))
	if err := os.WriteFile(bad, []byte("OGWSPOOL\x09\x00\x00\x00garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, 1<<20)
	if st := s.Stats(); st.Corrupt != 1 || st.Files != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if _, err := os.Stat(bad + ".corrupt"); err != nil {
		t.Fatalf("not set aside: %v", err)
	}
	appendAll(t, s, "ok")
	if got := drain(t, s); len(got) != 1 {
		t.Fatalf("read %v", got)
	}
}

// The bound holds on disk, headers included; a full spool refuses with
// ErrFull, and takes frames again once drained.
func TestAppendRefusesPastMaxBytes(t *testing.T) {
	dir := t.TempDir()
	const bound = 256 << 10
	s := open(t, dir, bound)
	frame := strings.Repeat("y", 1000)
	accepted := 0
	for {
		err := s.Append([]byte(frame))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted++
	}
	var onDisk int64
	for _, m := range segments(t, dir) {
		info, _ := os.Stat(m)
		onDisk += info.Size()
	}
	st := s.Stats()
	if onDisk > bound || st.Bytes != onDisk || st.Pending != int64(accepted) {
		t.Fatalf("on disk %d, stats %+v, accepted %d; want at most %d on disk and stats to match", onDisk, st, accepted, bound)
	}
	if onDisk < bound-2*(1000+frameHeadLen+headerLen) {
		t.Fatalf("refused at %d bytes, well short of the %d bound", onDisk, bound)
	}
	if got := drain(t, s); len(got) != accepted {
		t.Fatalf("drained %d, want %d", len(got), accepted)
	}
	appendAll(t, s, frame)
}

// Two processes on one directory would interleave and replay each other's
// frames: the second Open is refused.
func TestOpenRefusesADirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	if _, err := Open(dir, 1<<20); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open = %v, want in use", err)
	}
	s.Close()
	s2, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}
