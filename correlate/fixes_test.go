package correlate_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/triage"
)

// TestPlaceholdersCoverCatalog checks that correlate knows every placeholder the
// catalog's steps use, in text or as a command's slot: a step holding one it does not
// know would be shown once with a value still to fill in per host.
func TestPlaceholdersCoverCatalog(t *testing.T) {
	known := correlate.Placeholders()
	token := regexp.MustCompile(`<[A-Z][A-Z-]*>`)
	for _, c := range triage.Causes() {
		for i, fs := range c.Fix {
			var used []string
			used = append(used, token.FindAllString(fs.Text, -1)...)
			for cmd := fs.Command; cmd != nil; cmd = cmd.Pipe {
				for _, a := range append([]triage.Arg{cmd.Program}, cmd.Args...) {
					if a.Slot != "" {
						used = append(used, a.Slot)
					}
				}
			}
			for _, ph := range used {
				if !slices.Contains(known, ph) {
					t.Errorf("%s step %d uses %s, which correlate does not know", c.ID, i, ph)
				}
			}
		}
	}
}

// TestFixesOnceOrPerHost correlates two hosts' findings of every cause of the catalog
// of warning or worse, which share the domain, the DC and the account (for the causes
// grouped by them) and differ in host, SPN, instance and login: every step of the
// cause is in Fixes or PerHost, once; no step in Fixes holds a placeholder; every
// step in PerHost does.
func TestFixesOnceOrPerHost(t *testing.T) {
	start := t0.Add(8 * time.Minute)
	for _, c := range triage.Causes() {
		if c.Severity < triage.Warning || len(c.Fix) == 0 {
			continue
		}
		t.Run(string(c.ID), func(t *testing.T) {
			var sigs []triage.Signature
			var want []triage.Step
			for _, h := range []string{"sqla01", "sqla02"} {
				vars := map[string]string{
					triage.PHHost: strings.ToUpper(h), triage.PHFQDN: h + ".corp.example", triage.PHSPN: "MSSQLSvc/" + h + ".corp.example:1433",
					triage.PHInstance: "SALES", triage.PHLogin: `CORP\u_` + h, triage.PHCode: "0x80090311",
					triage.PHDomain: "corp.example", triage.PHDC: "dc2.corp.example",
					triage.PHAccount: `CORP\svc_shared`, triage.PHSam: "svc_shared", triage.PHWrong: `CORP\svc_old`,
				}
				f := triage.NewFinding(c.ID, vars)
				// A shared client: a cause with no primary factor needs one to be
				// an incident.
				f.Evidence = []triage.Evidence{{Clients: []string{"10.1.2.3"}}}
				for _, s := range triage.NewFinding(c.ID, nil).Remediation {
					if !slices.Contains(want, s) {
						want = append(want, s)
					}
				}
				sigs = append(sigs, correlate.Signatures(triage.Report{ID: "r-" + h, Host: h, StartedAt: start, Findings: []triage.Finding{f}})...)
			}
			incs := correlate.Correlate(sigs, nil, correlate.Options{})
			if len(incs) != 1 {
				t.Fatalf("%d incidents; want 1", len(incs))
			}
			inc := incs[0]
			holds := func(s triage.Step) bool {
				return slices.ContainsFunc(correlate.Placeholders(), func(ph string) bool {
					return strings.Contains(s.Text, ph) || strings.Contains(s.Command, ph)
				})
			}
			for _, s := range inc.Fixes {
				if holds(s) {
					t.Errorf("a step once holds a placeholder: %+v", s)
				}
			}
			for _, s := range inc.PerHost {
				if !holds(s) && s.Omitted == "" {
					t.Errorf("a step per host holds no placeholder: %+v", s)
				}
			}
			if n := len(inc.Fixes) + len(inc.PerHost); n != len(want) {
				t.Errorf("%d steps once and %d per host; want %d in all: %+v %+v", len(inc.Fixes), len(inc.PerHost), len(want), inc.Fixes, inc.PerHost)
			}
		})
	}
}

// TestFixesDecideOnTheCatalog checks that a shared value from evidence that reads
// like a placeholder does not move a step per host: the catalog's step decides.
func TestFixesDecideOnTheCatalog(t *testing.T) {
	var sigs []triage.Signature
	for _, h := range []string{"sqlb01", "sqlb02"} {
		f := triage.NewFinding(triage.AccountLockedOut, map[string]string{triage.PHAccount: `CORP\<HOST>`, triage.PHSam: "<HOST>"})
		sigs = append(sigs, correlate.Signatures(triage.Report{ID: "r-" + h, Host: h, StartedAt: t0, Findings: []triage.Finding{f}})...)
	}
	incs := correlate.Correlate(sigs, nil, correlate.Options{})
	if len(incs) != 1 {
		t.Fatalf("%d incidents; want 1", len(incs))
	}
	if inc := incs[0]; len(inc.PerHost) != 0 || len(inc.Fixes) != 2 {
		t.Errorf("fixes %+v, per host %+v; want both steps once", inc.Fixes, inc.PerHost)
	}
}
