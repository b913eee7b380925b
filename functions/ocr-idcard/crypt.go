package ocridcard

import "github.com/sjzamr/smartreg/shared/seal"

// sealer encrypts photos and numbers at rest with envelope keys
// (shared/seal): the key-encryption keys come from OCR_PHOTO_KEYS, the
// first seals, every listed key opens.
type sealer = seal.Sealer

func newSealer(secrets []string) (*sealer, error) { return seal.New("ocr-idcard", secrets) }
