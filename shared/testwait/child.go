package testwait

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Child is the test binary run again as a child process doing real work
// (a push, a crawl, a connector run) that a kill test SIGKILLs mid-way:
// no deferred cleanup runs, transactions in flight die with it, exactly
// as when a pod is killed.
type Child struct {
	cmd    *exec.Cmd
	stderr strings.Builder
}

// StartChild starts the test binary with no tests selected and env added;
// the package's TestMain must hand over to the child's code when it sees
// its variable (see RunChild).
func StartChild(t testing.TB, env ...string) *Child {
	t.Helper()
	c := &Child{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// Kill sends SIGKILL and reaps the child.
func (c *Child) Kill(t testing.TB) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// Stderr is what the child wrote to its standard error.
func (c *Child) Stderr() string { return c.stderr.String() }

// RunChild, called first in TestMain, runs fn and exits with its status
// when the environment variable key is set (the process is a child
// started by StartChild); otherwise it returns and the tests run.
func RunChild(key string, fn func(value string) int) {
	if v := os.Getenv(key); v != "" {
		os.Exit(fn(v))
	}
}
