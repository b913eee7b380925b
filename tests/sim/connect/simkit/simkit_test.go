package simkit

import "testing"

// An unchanged Put keeps its sequence (a client sees each change once);
// a change moves the row past every earlier change.
func TestDatasetSequence(t *testing.T) {
	d := NewDataset()
	d.Put("a", map[string]string{"x": "1"})
	d.Put("b", map[string]string{"x": "2"})
	d.Put("a", map[string]string{"x": "1"})
	if rows, more := d.After(0, 10); len(rows) != 2 || more || rows[0].ID != "a" || rows[1].Seq != 2 {
		t.Fatalf("after 0: %+v %v", rows, more)
	}
	sum := d.Checksum()
	d.Put("a", map[string]string{"x": "3"})
	rows, _ := d.After(2, 10)
	if len(rows) != 1 || rows[0].ID != "a" || rows[0].Seq != 3 || d.Checksum() == sum {
		t.Fatalf("after a change: %+v", rows)
	}
	if rows, more := d.After(0, 1); len(rows) != 1 || !more {
		t.Fatalf("paging: %+v %v", rows, more)
	}
}

func TestFaultsAreConsumed(t *testing.T) {
	var f Faults
	f.Set(func(f *Faults) { f.Storm, f.Malformed = 2, 1 })
	got := []Fault{f.Take(), f.Take(), f.Take(), f.Take()}
	if got[0].Status != 503 || got[1].Status != 503 || !got[2].Malformed || got[3] != (Fault{}) || f.Requests() != 4 {
		t.Fatalf("faults %+v", got)
	}
}
