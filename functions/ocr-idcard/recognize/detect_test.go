package recognize

import (
	"bytes"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"github.com/sjzamr/smartreg/tests/cardgen"
)

// The document is found within a few pixels of where the generator put it,
// on every background, rotation and light it draws.
func TestFindDocument(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	worst := 0.0
	for i := 0; i < 12; i++ {
		p, st := cardgen.RandomPerson(r), cardgen.RandomStyle(r)
		b, shot := cardgen.Photograph(cardgen.Front(p, st, 10), r, cardgen.Realistic)
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		q, ok := findDocument(toRGB(img), cardgen.CardW/cardgen.CardH)
		if !ok {
			t.Errorf("card %d (%s, %.1f°): not found", i, shot.Background, shot.Rotation)
			continue
		}
		for k := range q {
			d := dist(q[k], shot.Corners[k])
			worst = max(worst, d)
			if d > 8 {
				t.Errorf("card %d (%s, %.1f°) corner %d at %v, truth %v", i, shot.Background, shot.Rotation, k, q[k], shot.Corners[k])
			}
		}
	}
	t.Logf("worst corner error %.1f px", worst)
}
