// Command cardgen writes generated ID-card and licence photos with their
// ground truth, to look at them or to feed another tool:
//
//	go run ./tests/cardgen/cmd/cardgen -n 5 -seed 1 -out /tmp/cards
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/sjzamr/smartreg/tests/cardgen"
)

func main() {
	n := flag.Int("n", 5, "cards to write")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("out", "cards", "output directory")
	flat := flag.Bool("flat", false, "also write the undistorted card as PNG")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < *n; i++ {
		s := cardgen.NewSample(rand.New(rand.NewPCG(*seed, uint64(i))), cardgen.Realistic)
		base := filepath.Join(*out, fmt.Sprintf("%04d", i))
		must(os.WriteFile(base+"-front.jpg", s.FrontJPEG, 0o644))
		must(os.WriteFile(base+"-back.jpg", s.BackJPEG, 0o644))
		must(os.WriteFile(base+"-licence.jpg", s.LicenceJPEG, 0o644))
		b, _ := json.MarshalIndent(s, "", "  ")
		must(os.WriteFile(base+".json", b, 0o644))
		if *flat {
			f, err := os.Create(base + "-flat.png")
			must(err)
			must(png.Encode(f, cardgen.Front(s.Person, s.Style, 12)))
			f.Close()
		}
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
