package events

// identityTypes lists the identity domain's event types for the catalogue.
func identityTypes() []Type {
	return nil
}
