package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestPortUnknownDetail: the SPN and Kerberos checks say that the TCP SPN of a named
// instance whose port is not known was not checked.
func TestPortUnknownDetail(t *testing.T) {
	target := triage.Target{Host: "sql01", FQDN: "sql01.corp.example", Instances: []triage.Instance{{Name: "SALES"}, {Name: "HR", Port: 50200}}}
	const want = "not checked: the TCP SPN of SALES (MSSQLSvc/sql01.corp.example:PORT), whose port is not known"

	res, err := SPN{Dir: fakeDir{}}.Run(t.Context(), target)
	if err != nil || !strings.Contains(res.Detail, want) || strings.Contains(res.Detail, "of HR") {
		t.Errorf("spn detail %q, %v; want it to say %q, for SALES only", res.Detail, err, want)
	}
	res, err = Kerberos{KDC: fakeTicketer{results: []triage.TicketResult{{SPN: "a", OK: true}}}}.Run(t.Context(), target)
	if err != nil || !strings.Contains(res.Detail, want) {
		t.Errorf("kerberos detail %q, %v; want it to say %q", res.Detail, err, want)
	}

	known := target
	known.Instances = []triage.Instance{{Name: "SALES", Port: 50123}}
	if res, _ := (SPN{Dir: fakeDir{}}).Run(t.Context(), known); strings.Contains(res.Detail, "not checked") {
		t.Errorf("spn detail %q with every port known", res.Detail)
	}
}

type fakeProber []triage.DCProbe

func (p fakeProber) ProbeDCs(context.Context) []triage.DCProbe { return p }

// TestDCCheckCertificate: a DC whose certificate failed verification answered; the
// detail counts it apart from the DCs that answer and those that do not.
func TestDCCheckCertificate(t *testing.T) {
	res, err := DC{Dir: fakeProber{
		{Address: "dc1:636", Cert: "signed by an authority the checker does not trust", Err: "its certificate failed verification"},
		{Address: "dc2:636"},
		{Address: "dc3:636", Err: "connection refused"},
	}}.Run(t.Context(), triage.Target{})
	const want = "1 of 3 domain controllers answer; 1 more answered, but with an LDAPS certificate that fails verification"
	if err != nil || res.Detail != want {
		t.Errorf("dc detail %q, %v; want %q", res.Detail, err, want)
	}
	if len(res.Obs.Directory.DCs) != 3 || res.Obs.Directory.DCs[0].Cert == "" {
		t.Errorf("probes %+v; want all three, the first with its certificate problem", res.Obs.Directory.DCs)
	}
}
