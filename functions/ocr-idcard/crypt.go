package ocridcard

import "github.com/sjzamr/smartreg/shared/sealbox"

// sealer encrypts photos and numbers at rest with envelope keys
// (shared/sealbox) derived from OCR_PHOTO_KEYS: the first key seals,
// every listed key opens, so keys can rotate. The label stays
// "ocr-idcard", which keeps objects sealed before the move readable.
type sealer = sealbox.Box

func newSealer(secrets []string) (*sealer, error) {
	return sealbox.New("ocr-idcard", "OCR_PHOTO_KEYS", secrets)
}

