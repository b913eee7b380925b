package cardgen

import "math/rand/v2"

// Sample is one generated holder with the photos of both sides of their
// card and of a business licence, and the truth behind them.
type Sample struct {
	Person      Person  `json:"person"`
	Licence     Licence `json:"licence"`
	Style       Style   `json:"style"`
	Front       Shot    `json:"front"`
	Back        Shot    `json:"back"`
	LicenceShot Shot    `json:"licence_shot"`
	FrontJPEG   []byte  `json:"-"`
	BackJPEG    []byte  `json:"-"`
	LicenceJPEG []byte  `json:"-"`
}

// DrawScale is the resolution the documents are drawn at before they are
// photographed (pixels per millimetre): finer than any photo, so the
// photo's own resampling decides the sharpness.
const DrawScale = 14

// NewSample draws everything from r.
func NewSample(r *rand.Rand, o ShotOptions) Sample {
	s := Sample{Person: RandomPerson(r), Licence: RandomLicence(r), Style: RandomStyle(r)}
	s.FrontJPEG, s.Front = Photograph(Front(s.Person, s.Style, DrawScale), r, o)
	s.BackJPEG, s.Back = Photograph(Back(s.Person, s.Style, DrawScale), r, o)
	lo := o
	lo.MinFill, lo.MaxFill = 0.75, 0.92
	s.LicenceJPEG, s.LicenceShot = Photograph(LicenceImage(s.Licence, s.Style, 5), r, lo)
	return s
}
