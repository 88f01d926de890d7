package triage

import (
	"slices"
	"strings"
	"testing"
)

// TestSelfRegistrationRights: the steps that let SQL Server register its own SPN name the
// rights "Cannot generate SSPI context" names for the service account (Read and Write
// servicePrincipalName) and cite that page; no cause names "Validated write to service
// principal name", a validated write for a computer's SPNs of its own DNS host name.
func TestSelfRegistrationRights(t *testing.T) {
	for _, tt := range []struct {
		cause CauseID
		step  string // a substring of the step that lets SQL Server register its SPN
	}{
		{SPNRegistrationFailed, "Or let SQL Server register it at its next start"},
		{SPNStalePort, "or let SQL Server register its own SPN at each start"},
	} {
		t.Run(string(tt.cause), func(t *testing.T) {
			c, ok := LookupCause(tt.cause)
			if !ok {
				t.Fatalf("no cause %s", tt.cause)
			}
			i := slices.IndexFunc(c.Fix, func(s FixStep) bool { return strings.Contains(s.Text, tt.step) })
			if i < 0 {
				t.Fatalf("no step %q in %+v", tt.step, c.Fix)
			}
			if text := c.Fix[i].Text; !strings.Contains(text, "Read servicePrincipalName and Write servicePrincipalName rights") {
				t.Errorf("step %q does not name the Read and Write servicePrincipalName rights", text)
			}
			if !slices.Contains(c.Links, linkSSPIContext) {
				t.Errorf("links %v do not cite %s, which names those rights", c.Links, linkSSPIContext)
			}
		})
	}
	for _, c := range Causes() {
		for _, s := range append([]string{c.Title, c.Summary}, fixTexts(c)...) {
			if strings.Contains(strings.ToLower(s), "validated write") {
				t.Errorf("%s: %q names a validated write, which is for computers' own SPNs", c.ID, s)
			}
		}
	}
}

func fixTexts(c Cause) []string {
	var out []string
	for _, s := range c.Fix {
		out = append(out, s.Text)
	}
	return out
}
