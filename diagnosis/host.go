package diagnosis

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
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
		ev.Text = fmt.Sprintf("the agent's call into the LSA (LookupAccountSid of S-1-5-18) took %s", human.Elapsed(p.Latency))
		f.Summary = fmt.Sprintf("The Local Security Authority on %s is slow: a lookup it answers from memory took %s", t.Host, human.Elapsed(p.Latency))
	}
	f.Evidence = []triage.Evidence{ev}
	return []triage.Finding{f}
}

// keytabRule compares SQL Server on Linux's keytab with the directory and the KDC. Every
// required SPN must have a key with the key version the account has now
// (msDS-KeyVersionNumber) and an encryption type the KDC encrypts its tickets with:
//   - a ticket the kerberos check obtained for the SPN names both, and the keytab must
//     hold that key;
//   - without one, the account's explicit msDS-SupportedEncryptionTypes says which
//     types the KDC may use, and a keytab sharing none of them (RC4 keys only for an
//     account allowed AES only, AES keys only for one allowed RC4 only) cannot decrypt
//     any ticket;
//   - an account without the attribute gets the domain controllers' default, which
//     KB5073381 makes AES only ("all domain controllers only support ... AES-SHA1
//     -encrypted tickets for accounts without an explicit Kerberos encryption type
//     configuration", https://support.microsoft.com/topic/1ebcda33-720a-4da8-93c1-b0496e1910dc):
//     RC4 keys only is then a warning, as it works only while the default allows RC4.
//
// Microsoft's adutil tutorial says to "avoid arcfour-hmac in a production environment
// because it has weak encryption"
// (https://learn.microsoft.com/sql/linux/security/authentication/adutil-tutorial); the
// fix's steps say so.
type keytabRule struct{}

func (keytabRule) Name() string { return "keytab" }

func (keytabRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if obs.Host == nil || obs.Host.Keytab == nil {
		return nil
	}
	kt := obs.Host.Keytab
	var required []string
	var acct *triage.Account
	var tickets []triage.TicketResult
	if d := obs.Directory; d != nil {
		required, acct, tickets = d.RequiredSPNs, d.ServiceAccount, d.Tickets
	}
	if len(required) == 0 {
		required = t.RequiredSPNs()
	}
	kvno := 0
	if acct != nil {
		kvno = acct.KVNO
	}
	var ev []triage.Evidence
	warnOnly := true
	add := func(text string, warning bool) {
		ev = append(ev, triage.Evidence{Check: "keytab", Source: triage.SourceAgent, Text: text})
		warnOnly = warnOnly && warning
	}
	for _, spn := range required {
		keys := keytabKeys(kt, spn)
		newest := -1
		for v := range keys {
			newest = max(newest, v)
		}
		if newest < 0 {
			add(fmt.Sprintf("%s has no key for %s", kt.Path, spn), false)
			continue
		}
		if kvno > 0 && newest != kvno {
			add(fmt.Sprintf("%s has key version %d for %s, but the account's msDS-KeyVersionNumber is %d", kt.Path, newest, spn, kvno), false)
			continue
		}
		if tr, ok := issuedFor(tickets, spn); ok && tr.KVNO > 0 {
			if !slices.Contains(keys[tr.KVNO], tr.Etype) {
				add(fmt.Sprintf("the KDC encrypts tickets for %s with %s at key version %d, but %s holds for it %s", spn, tr.Etype, tr.KVNO, kt.Path, describeKeys(keys)), false)
			}
			continue
		}
		if acct == nil {
			continue
		}
		have := keys[newest]
		if slices.Contains(have, "") {
			continue // a key whose type the agent did not report
		}
		switch allowed := triage.MsdsEtypes(acct.EncTypes); {
		case len(allowed) > 0 && !sharesEtype(have, allowed):
			add(fmt.Sprintf("%s holds only %s keys for %s (key version %d), but %s allows %s (msDS-SupportedEncryptionTypes 0x%x)",
				kt.Path, strings.Join(have, ", "), spn, newest, acct.Name(), strings.Join(allowed, ", "), acct.EncTypes), false)
		case triage.EncTypesDefault(acct.EncTypes) && !slices.ContainsFunc(have, isAES):
			add(fmt.Sprintf("%s holds only %s keys for %s (key version %d), and %s has no msDS-SupportedEncryptionTypes: domain controllers that apply KB5073381's AES-only default encrypt its tickets with AES",
				kt.Path, strings.Join(have, ", "), spn, newest, acct.Name()), true)
		}
	}
	if len(ev) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.KeytabStale, namesFor(t, obs).vars)
	if warnOnly { // only the account-without-attribute case, so acct is known
		f.Severity = triage.Warning
		f.Summary = fmt.Sprintf("The keytab on %s holds RC4 keys only: SQL Server cannot decrypt the AES tickets domain controllers issue for %s once they apply KB5073381's AES-only default", t.ShortName(), acct.Name())
	}
	f.Evidence = ev
	return []triage.Finding{f}
}

// keytabKeys returns the encryption types of kt's keys for spn, by key version.
func keytabKeys(kt *triage.KeytabFacts, spn string) map[int][]string {
	keys := map[int][]string{}
	for _, e := range kt.Entries {
		p, _, _ := strings.Cut(e.Principal, "@")
		if strings.EqualFold(p, spn) && !slices.Contains(keys[e.KVNO], e.Etype) {
			keys[e.KVNO] = append(keys[e.KVNO], e.Etype)
		}
	}
	return keys
}

// describeKeys writes a keytab's keys for one SPN: "key version 3: rc4-hmac; key version
// 4: aes256-cts-hmac-sha1-96".
func describeKeys(keys map[int][]string) string {
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(keys)) {
		parts = append(parts, fmt.Sprintf("key version %d: %s", v, strings.Join(keys[v], ", ")))
	}
	return strings.Join(parts, "; ")
}

// issuedFor returns the ticket the KDC issued for spn, if the kerberos check got one.
func issuedFor(tickets []triage.TicketResult, spn string) (triage.TicketResult, bool) {
	for _, tr := range tickets {
		if tr.OK && strings.EqualFold(tr.SPN, spn) {
			return tr, true
		}
	}
	return triage.TicketResult{}, false
}

func sharesEtype(have, allowed []string) bool {
	return slices.ContainsFunc(have, func(e string) bool { return slices.Contains(allowed, e) })
}

func isAES(etype string) bool { return triage.EtypeFamily(etype) == "aes" }
