package diagnosis

import (
	"fmt"
	"strings"
	"time"

	"authtriage/triage"
)

// slowLSA is the LSA probe latency from which authtriage calls the LSA slow: a lookup of
// a well-known SID is answered from memory in well under a millisecond.
const slowLSA = time.Second

// lsaRule reports a Local Security Authority on the SQL Server host that did not answer
// the agent's probe (critical) or answered slowly (warning).
type lsaRule struct{}

func (lsaRule) Name() string { return "lsa" }

func (lsaRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if obs.Host == nil || obs.Host.LSA == nil {
		return nil
	}
	p := obs.Host.LSA
	if p.Err == "" && p.Latency < slowLSA {
		return nil
	}
	f := triage.NewFinding(triage.LSAUnresponsive, namesFor(t, obs).vars)
	ev := triage.Evidence{Check: "lsa", Source: triage.SourceAgent}
	if p.Err != "" {
		ev.Text = "the agent's call into the LSA (LookupAccountSid of S-1-5-18) failed: " + p.Err
		f.Summary = fmt.Sprintf("The Local Security Authority on %s did not answer: %s", t.Host, p.Err)
	} else {
		f.Severity = triage.Warning
		ev.Text = fmt.Sprintf("the agent's call into the LSA (LookupAccountSid of S-1-5-18) took %s", p.Latency.Round(time.Millisecond))
		f.Summary = fmt.Sprintf("The Local Security Authority on %s is slow: a lookup it answers from memory took %s", t.Host, p.Latency.Round(time.Millisecond))
	}
	f.Evidence = []triage.Evidence{ev}
	return []triage.Finding{f}
}

// keytabRule compares SQL Server on Linux's keytab with the directory: every required
// SPN must have a key, with the key version the account has now (msDS-KeyVersionNumber).
type keytabRule struct{}

func (keytabRule) Name() string { return "keytab" }

func (keytabRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if obs.Host == nil || obs.Host.Keytab == nil {
		return nil
	}
	kt := obs.Host.Keytab
	var required []string
	kvno := 0
	if d := obs.Directory; d != nil {
		required = d.RequiredSPNs
		if d.ServiceAccount != nil {
			kvno = d.ServiceAccount.KVNO
		}
	}
	if len(required) == 0 {
		required = t.RequiredSPNs()
	}
	var ev []triage.Evidence
	for _, spn := range required {
		newest := -1
		for _, e := range kt.Entries {
			p, _, _ := strings.Cut(e.Principal, "@")
			if strings.EqualFold(p, spn) {
				newest = max(newest, e.KVNO)
			}
		}
		switch {
		case newest < 0:
			ev = append(ev, triage.Evidence{Check: "keytab", Source: triage.SourceAgent,
				Text: fmt.Sprintf("%s has no key for %s", kt.Path, spn)})
		case kvno > 0 && newest != kvno:
			ev = append(ev, triage.Evidence{Check: "keytab", Source: triage.SourceAgent,
				Text: fmt.Sprintf("%s has key version %d for %s, but the account's msDS-KeyVersionNumber is %d", kt.Path, newest, spn, kvno)})
		}
	}
	if len(ev) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.KeytabStale, namesFor(t, obs).vars)
	f.Evidence = ev
	return []triage.Finding{f}
}
