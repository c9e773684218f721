//go:build unix

package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive advisory lock on dir, so that two gateways
// pointed at the same directory do not interleave their frames or replay
// each other's. The kernel drops the lock when the process dies, kill -9
// included, so a crash never leaves the directory locked.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("spool: %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
