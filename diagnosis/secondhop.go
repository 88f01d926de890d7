package diagnosis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// secondHopRule reports the symptom of a failed second hop on a back end: 18456 for a
// login that is no user (NT AUTHORITY\ANONYMOUS LOGON, '(null)' or an empty name, as
// anonymousRule reads them) on a host that delegation paths name as their back end
// is delegation.second_hop, naming the front ends that connect on their users'
// behalf, with what is known of each path; on a front end, linkedSecondHops reports
// the same failure as its linked servers carried it. anonymousRule leaves ANONYMOUS
// LOGON to it then; '(null)' and the empty name keep their own findings too, whose
// fixes (the SPN's owner, the domain controller) differ.
//
// Sources: "MSSQLSERVER_18456",
// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error
// (ANONYMOUS LOGON in "double-hop (constraint delegation) scenarios across multiple
// computers", such as a linked server "made using the login's current security
// context"); "You can't use Kerberos unconstrained delegation in certain versions of
// Windows",
// https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/windows-prevents-unconstrained-delegation
// ("When testing connection to a linked server, you see an error like Login failed
// for user NT AUTHORITY\ANONYMOUS LOGON"). Microsoft names no cause of '(null)' or of
// the empty name that is specific to a second hop; they are shown as the evidence
// they are, with their own meaning.
type secondHopRule struct{}

func (secondHopRule) Name() string { return "second-hop" }

func (secondHopRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	linked := linkedSecondHops(t, obs) // the front end's side (secondhoplinked.go)
	events := secondHopEvents(t, obs)
	if len(events) == 0 {
		return linked
	}
	hs := backEndHops(t, obs)
	var fronts []string
	for _, h := range hs {
		fronts = append(fronts, frontName(h.path))
	}
	fronts = distinct(fronts)
	n := namesFor(t, obs)
	f := triage.NewFinding(triage.DelegationSecondHop, n.with(triage.PHFrontEnd, strings.Join(fronts, ", ")))
	sort.SliceStable(events, func(i, j int) bool { return events[i].Count > events[j].Count })
	total := 0
	byKind := map[triage.CauseID]int{}
	for _, e := range events {
		total += e.Count
		c, _ := anonymousCause(e.Login, e.State)
		byKind[c] += e.Count
		f.Evidence = append(f.Evidence, e.Evidence(anonymousText(e)))
	}
	for _, h := range hs {
		f.Evidence = append(f.Evidence, triage.Evidence{Check: checkDelegation, Source: triage.SourceDirectory, Text: hopState(h)})
	}
	also := spnCorroboration(t, obs, &f)

	var kinds []string
	for _, k := range []struct {
		c    triage.CauseID
		what string
	}{{triage.LoginAnonymous, `as NT AUTHORITY\ANONYMOUS LOGON`}, {triage.LoginNullUser, "as '(null)'"}, {triage.LoginEmptyUser, "with an empty name"}} {
		if c := byKind[k.c]; c > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", c, k.what))
		}
	}
	clients, more := distinctClients(events)
	from := ""
	if c := len(clients) + more; c > 0 {
		from = fmt.Sprintf(", from %s (%s)", human.Count(c, "client", "clients"), listClients(clients, more))
	}
	f.Summary = fmt.Sprintf("SQL Server on %s refused %s that carried no user's identity (18456: %s), %s%s: %s is the back end of %s, which %s on their users' behalf, so this is a second hop whose delegation failed; the findings about each path say why",
		t.Host, human.Count(total, "Windows login", "Windows logins"), strings.Join(kinds, ", "), spanAll(events, total), from,
		t.Host, human.List(fronts), human.Plural(len(fronts), "connects to it", "connect to it"))
	if len(also) > 0 {
		f.Summary += "; the evidence also shows " + strings.Join(also, ", and ")
	}
	return append([]triage.Finding{f}, linked...)
}

// backEndHops returns the hops whose back end is the triaged host.
func backEndHops(t triage.Target, obs triage.Observations) []hop {
	var out []hop
	for _, h := range hops(t, obs) {
		if isHost(t, h.path.BackEnd) {
			out = append(out, h)
		}
	}
	return out
}

// secondHopEvents returns the 18456 failures of logins that are no user on the
// triaged host when paths that need delegation name it as their back end, unless
// every client is the host itself: services on the same computer passing on their
// users' credentials fail so too, and anonymousRule explains that.
func secondHopEvents(t triage.Target, obs triage.Observations) []triage.LogEvent {
	if len(backEndHops(t, obs)) == 0 {
		return nil
	}
	var events []triage.LogEvent
	for _, e := range sqlEvents(obs, triage.Msg18456) {
		if _, ok := anonymousCause(e.Login, e.State); ok {
			events = append(events, e)
		}
	}
	if clients, more := distinctClients(events); len(clients) > 0 && more == 0 && allLocal(clients, obs) {
		return nil
	}
	return events
}

// hopState says in one line what is known of a hop: how its front end may delegate,
// and what the KDC answered.
func hopState(h hop) string {
	s := h.path.String() + ": "
	switch {
	case h.front == nil || h.front.Account == nil:
		s += "the front end's account was not read from the directory"
	default:
		fa := *h.front.Account
		var how []string
		if rbcd, denied := resourceBased(h.back, fa); rbcd && !denied {
			how = append(how, "resource-based delegation allowed by the back end's account")
		}
		if l := h.front.AllowedToDelegateTo; len(l) > 0 {
			pt := "Kerberos only"
			if fa.UAC&triage.UACTrustedToAuthForDelegation != 0 {
				pt = "any authentication protocol"
			}
			how = append(how, fmt.Sprintf("constrained delegation to %s (%s)", strings.Join(l, ", "), pt))
		}
		if fa.UAC&triage.UACTrustedForDelegation != 0 {
			how = append(how, "unconstrained delegation")
		}
		if len(how) == 0 {
			how = append(how, "no delegation")
		}
		s += "the front end's account has " + strings.Join(how, "; ")
	}
	issued, refusedN, unproven := 0, 0, 0
	for _, p := range h.proofs {
		switch {
		case p.ProxyIssued:
			issued++
		case refused(p):
			refusedN++
		default:
			unproven++
		}
	}
	if len(h.proofs) > 0 {
		s += fmt.Sprintf("; the KDC, asked through the front end, issued %d, refused %d and could not prove %d of %s",
			issued, refusedN, unproven, human.Count(len(h.proofs), "ticket", "tickets"))
	}
	return s
}
