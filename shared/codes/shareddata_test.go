package codes

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDataDir is the reference data beside the repository: from this
// package (shared/codes) it is ../../../shared/data.
const sharedDataDir = "../../../shared/data"

// readSharedTable reads one table from the shared data folder, failing with
// a clear message when the folder is not there.
func readSharedTable(t *testing.T, name string) [][]string {
	t.Helper()
	p := filepath.Join(sharedDataDir, name)
	f, err := os.Open(p)
	if err != nil {
		abs, _ := filepath.Abs(sharedDataDir)
		t.Fatalf("reference data %s not found (expected the shared folder beside the repository at %s): %v", name, abs, err)
	}
	defer f.Close()
	rows, err := readTable(f)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return rows
}
