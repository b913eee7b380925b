package pdffont_test

import "github.com/go-pdf/fpdf"

func newPDF() *fpdf.Fpdf { return fpdf.New("P", "mm", "A4", "") }
