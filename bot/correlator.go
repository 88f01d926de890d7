package bot

import (
	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/triage"
)

// Correlate returns the Correlator of package correlate with o (its Window
// should be the configured incident window, as Options.IncidentWindow).
func Correlate(o correlate.Options) Correlator { return correlator(o) }

type correlator correlate.Options

func (c correlator) Signatures(rep triage.Report) []triage.Signature {
	return correlate.Signatures(rep)
}

func (c correlator) Correlate(sigs []triage.Signature, checked []string) []triage.Incident {
	return correlate.Correlate(sigs, checked, correlate.Options(c))
}

func (c correlator) Unexplained(sigs []triage.Signature, incidents []triage.Incident) []string {
	return correlate.Unexplained(sigs, incidents)
}
