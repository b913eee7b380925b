package codes

import "testing"

func TestMaskIDNumber(t *testing.T) {
	tests := map[string]string{
		"11010519491231002X": "110105********002X",
		"440524188001010014": "440524********0014",
		"110105491231002":    "110105*****1002", // old 15-digit form keeps the same ends
		"1234567890":         "**********",      // too short to show both ends
		"":                   "",
	}
	for in, want := range tests {
		if got := MaskIDNumber(in); got != want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := map[string]string{
		"13812341234":   "138****1234",
		"0311-86012345": "031******2345",
		"12345":         "*****",
		"":              "",
	}
	for in, want := range tests {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
