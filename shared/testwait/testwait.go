// Package testwait polls for a condition in tests of asynchronous work
// (event delivery, retries): it fails the test with what it waited for
// instead of sleeping a fixed time.
package testwait

import (
	"testing"
	"time"
)

// Timeout bounds every wait; generous because CI shares two cores.
const Timeout = 60 * time.Second

// For polls cond every 20 ms until it holds, failing t after Timeout.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", Timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
