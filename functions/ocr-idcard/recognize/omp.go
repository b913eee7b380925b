package recognize

import (
	"os"
	"syscall"
)

// Tesseract's LSTM runs under OpenMP, whose idle threads spin. A pool
// engine reads one field at a time and the pool spreads engines over the
// cores, so OpenMP's team only makes engines fight for the same cores:
// measured on two cores, a card takes 860 ms with it and 420 ms without.
// libgomp reads OMP_THREAD_LIMIT once, when it loads, before Go runs, so a
// process that reads cards must start with it set: the Knative Service
// sets it, and entry points that may start without it call
// SingleThreaded first.

// SingleThreaded re-executes the program with OMP_THREAD_LIMIT=1 when it
// is not set; it returns only when it is (or when re-executing failed).
func SingleThreaded() error {
	if os.Getenv("OMP_THREAD_LIMIT") != "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, append(os.Environ(), "OMP_THREAD_LIMIT=1"))
}
