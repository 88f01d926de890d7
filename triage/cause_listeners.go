package triage

// listenerCauses are the catalog entries of availability-group listeners.
func listenerCauses() []Cause {
	return nil
}
