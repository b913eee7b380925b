package events

// scanTypes lists the scan domain's event types for the catalogue.
func scanTypes() []Type {
	return nil
}
