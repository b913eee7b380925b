package codes

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDataDir holds the reference tables as published (GB/T 4754-2017
// before its amendment, the statistics bureau's division codes), kept in
// the repository so the embedded tables can be checked against them on a
// clone of the repository alone.
const sharedDataDir = "testdata/reference"

// readSharedTable reads one table from the shared data folder, failing with
// a clear message when the folder is not there.
func readSharedTable(t *testing.T, name string) [][]string {
	t.Helper()
	p := filepath.Join(sharedDataDir, name)
	f, err := os.Open(p)
	if err != nil {
		abs, _ := filepath.Abs(sharedDataDir)
		t.Fatalf("reference data %s not found (expected at %s): %v", name, abs, err)
	}
	defer f.Close()
	rows, err := readTable(f)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return rows
}
