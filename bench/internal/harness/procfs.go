package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The gateway runs as its own process so that its memory and CPU can be read
// from /proc without the load generator's own figures mixed in. These
// helpers read the few fields the report needs.

// memInfo is a process's resident memory, in bytes.
type memInfo struct {
	RSS, HWM int64 // current and peak resident set
}

func readMem(pid int) (memInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}, err
	}
	var m memInfo
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			m.RSS = kbField(line)
		case strings.HasPrefix(line, "VmHWM:"):
			m.HWM = kbField(line)
		}
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return m, nil
}

func kbField(line string) int64 {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n << 10
}

// resetPeak makes VmHWM start again from the current RSS (writing 5 to
// clear_refs, Linux ≥ 4.0), so a later VmHWM is the peak of what came
// after. It reports whether the kernel allowed it.
func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// peakSampler polls RSS while something runs, as a fallback for kernels or
// permissions that do not allow resetPeak, and as a cross-check.
type peakSampler struct {
	pid  int
	stop chan struct{}
	done chan int64
}

func samplePeak(pid int, every time.Duration) *peakSampler {
	s := &peakSampler{pid: pid, stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := readMem(pid); err == nil && m.RSS > peak {
				peak = m.RSS
			}
			select {
			case <-s.stop:
				s.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the largest RSS seen.
func (s *peakSampler) Stop() int64 {
	close(s.stop)
	return <-s.done
}

// peakDuring returns the peak RSS of pid while fn runs: the kernel's own
// high-water mark when it can be reset, else the sampled peak.
func peakDuring(pid int, fn func() error) (peak int64, exact bool, err error) {
	exact = resetPeak(pid)
	s := samplePeak(pid, 5*time.Millisecond)
	err = fn()
	sampled := s.Stop()
	if exact {
		if m, merr := readMem(pid); merr == nil {
			return max(m.HWM, sampled), true, err
		}
	}
	return sampled, false, err
}

// ioCounts are a process's read and write system call counts
// (/proc/PID/io syscr and syscw): every read, recv, write or send on a
// socket is one.
type ioCounts struct{ Reads, Writes int64 }

func readIO(pid int) (ioCounts, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return ioCounts{}, err
	}
	var c ioCounts
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			c.Reads = n
		case "syscw":
			c.Writes = n
		}
	}
	return c, nil
}

// cpuTime is the CPU time pid has used, all threads, user and system. The
// per-thread schedstat files give nanoseconds (the process-level one only
// covers the main thread); stat's clock ticks (assumed 100 Hz, the Linux
// default) are the fallback. Threads that already exited are missed, which
// for a Go process, whose threads live as long as it does, is none.
func cpuTime(pid int) (time.Duration, error) {
	if tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid)); err == nil {
		var total time.Duration
		ok := false
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
			if err != nil {
				continue
			}
			if f := strings.Fields(string(b)); len(f) > 0 {
				if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					total += time.Duration(ns)
					ok = true
				}
			}
		}
		if ok {
			return total, nil
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command; utime and stime are the
	// 14th and 15th of the whole line.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// raiseFileLimit lifts the open-files soft limit to the hard limit: a
// thousand streams hold two thousand sockets in this process (client and
// fake upstream ends) and as many in the gateway, which inherits the limit.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}
