package events

// qrTypes lists the qr domain's event types for the catalogue.
func qrTypes() []Type {
	return nil
}
