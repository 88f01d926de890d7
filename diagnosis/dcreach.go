package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// dcReachRule reports domain controllers that do not answer from where authtriage runs
// (the agent inside the network, or the CLI): none answering is dc.unreachable; some
// failing is a warning, since clients and SQL Server may pick the broken ones. A DC
// that answered but whose LDAPS certificate failed verification is not unreachable: it
// is dc.certificate, saying what is wrong with the certificate, and the firewall is not
// suspected.
type dcReachRule struct{}

func (dcReachRule) Name() string { return "dc" }

func (dcReachRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || len(d.DCs) == 0 {
		return nil
	}
	var down, up, badCert []string
	var ev, certEv []triage.Evidence
	for _, dc := range d.DCs {
		if dc.Cert != "" {
			badCert = append(badCert, dc.Address)
			certEv = append(certEv, triage.Evidence{Check: "dc", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s (%s): LDAP answered, but its certificate failed verification: %s", dc.Address, dc.Via, dc.Cert)})
		}
		switch {
		case dc.Err != "" && dc.Cert == "":
			down = append(down, dc.Address)
			ev = append(ev, triage.Evidence{Check: "dc", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s (%s): LDAP: %s", dc.Address, dc.Via, dc.Err)})
		case dc.KDCError != "":
			down = append(down, dc.Address)
			ev = append(ev, triage.Evidence{Check: "dc", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s (%s): Kerberos port: %s", dc.Address, dc.Via, dc.KDCError)})
		case dc.Cert != "":
			up = append(up, dc.Address+" (certificate refused)")
		default:
			up = append(up, fmt.Sprintf("%s (%s)", dc.Address, human.Elapsed(dc.Latency)))
		}
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	if len(down) > 0 {
		f := triage.NewFinding(triage.DCUnreachable, n.with(triage.PHDC, namedDC(triage.DCUnreachable, t, obs)))
		f.Evidence = ev
		if len(up) > 0 {
			f.Severity = triage.Warning
			f.Summary = fmt.Sprintf("%d of %d domain controllers do not answer from the checker (%s); these do: %s",
				len(down), len(d.DCs), strings.Join(down, ", "), strings.Join(up, ", "))
		} else {
			f.Summary = fmt.Sprintf("No domain controller answers from the checker: %s", strings.Join(down, ", "))
		}
		out = append(out, f)
	}
	if len(badCert) > 0 {
		f := triage.NewFinding(triage.DCCertificate, n.with(triage.PHDC, namedDC(triage.DCCertificate, t, obs)))
		f.Evidence = certEv
		if len(badCert) == 1 {
			f.Summary = fmt.Sprintf("The LDAPS certificate of %s failed verification: %s", badCert[0], certProblems(d.DCs))
		} else {
			f.Summary = fmt.Sprintf("The LDAPS certificates of %d domain controllers failed verification (%s): %s",
				len(badCert), strings.Join(badCert, ", "), certProblems(d.DCs))
		}
		if len(badCert)+len(down) == len(d.DCs) {
			f.Summary += "; the directory could not be read through any domain controller"
		}
		out = append(out, f)
	}
	return out
}

// certProblems returns the distinct certificate problems of the DCs, in order.
func certProblems(dcs []triage.DCProbe) string {
	var out []string
	seen := map[string]bool{}
	for _, dc := range dcs {
		if dc.Cert != "" && !seen[dc.Cert] {
			seen[dc.Cert] = true
			out = append(out, dc.Cert)
		}
	}
	return strings.Join(out, "; ")
}
