package diagnosis

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// linkedSecondHops reports the symptom of a failed second hop on a front end: a query
// through a linked server failed, and the OLE DB provider carried the back end's
// 18456 for a login that is no user (NT AUTHORITY\ANONYMOUS LOGON, '(null)' or an
// empty name, as anonymousCause reads them) in 7412 or 7399 (triage.CarriedLogin). It
// is delegation.second_hop on the front end, one finding for each linked server,
// naming the back end when a delegation path of the host is known through that linked
// server or names its back end (linkedHops), and the 7303 and 7399 of the same linked
// server as evidence. secondHopRule returns its findings with its own.
//
// A 7413 of a linked server is the same finding: SQL Server did not connect and said
// "Enable delegation or use a remote SQL Server login for the current user"
// (triage.Msg7413, "Database Engine events and errors (7000 to 7999)",
// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-7000-to-7999),
// that is, the user's Windows login reaches the linked server only if it can be
// delegated. It carries no login, and is counted on its own.
//
// A linked server that SQL Server showed not forwarding the caller's credentials
// (triage.LinkedServer.SelfCredential false) is no second hop: "Linked server account
// mapping error",
// https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/linked-server-account-mapping-error,
// says one whose security is "Be made without using a security context" fails with
// "Login Failed for user NT AUTHORITY\ANONYMOUS LOGON", and "MSSQLSERVER_18456"
// (link18456) names the double hop for a linked server "made using the login's
// current security context". No Microsoft page ties 7303, 7399 or 7412 to ANONYMOUS
// LOGON by their numbers (triage.Msg7303): the carried message names the login.
func linkedSecondHops(t triage.Target, obs triage.Observations) []triage.Finding {
	order := linkedFailures(obs)

	n := namesFor(t, obs)
	var out []triage.Finding
	for _, l := range order {
		hs := linkedHops(t, obs, l.name)
		var fronts, backs []string
		for _, h := range hs {
			fronts = append(fronts, frontName(h.path))
			backs = append(backs, backName(h.path))
		}
		fronts, backs = distinct(fronts), distinct(backs)
		front := t.Host
		if account := n.vars[triage.PHAccount]; account != "" {
			front += " (" + account + ")"
		}
		if len(fronts) > 0 {
			front = human.List(fronts)
		}
		vars := n.with(triage.PHFrontEnd, front, triage.PHHost, l.name)
		delete(vars, triage.PHSPN) // the triaged host's: the back end's is wanted
		if len(backs) > 0 {
			vars[triage.PHHost] = human.List(backs)
		}
		if len(hs) > 0 && len(hs[0].required) > 0 {
			vars[triage.PHSPN] = hs[0].required[0].SPN
		}
		f := triage.NewFinding(triage.DelegationSecondHop, vars)
		for _, e := range l.failed {
			f.Evidence = append(f.Evidence, e.Evidence(linkedText(e)))
		}
		for _, e := range l.others {
			f.Evidence = append(f.Evidence, e.Evidence(linkedText(e)))
		}
		for _, h := range hs {
			f.Evidence = append(f.Evidence, triage.Evidence{Check: checkDelegation, Source: triage.SourceDirectory, Text: hopState(h)})
		}
		explained := false
		for _, h := range hs {
			if h.front != nil && h.front.Account != nil {
				_, ok := judgePath(h, obs, false) // as delegationPathRule judges it on the front end
				explained = explained || ok || rbcdDoubted(h, obs.Delegation)
			}
		}
		f.Summary = linkedSummary(t, l.name, front, backs, explained, l.failed, l.byCause, l.asked, l.total)
		out = append(out, f)
	}
	return out
}

// forwardsNot reports whether SQL Server showed linked server name with no login
// mapping that forwards the caller's credentials.
func forwardsNot(obs triage.Observations, name string) bool {
	if obs.Delegation == nil {
		return false
	}
	for _, ls := range obs.Delegation.LinkedServers {
		if strings.EqualFold(ls.Name, name) && ls.SelfCredential {
			return false
		}
	}
	for _, ls := range obs.Delegation.LinkedServers {
		if strings.EqualFold(ls.Name, name) {
			return true
		}
	}
	return false
}

// linkedHops returns the hops whose front end is the triaged host and that linked
// server name reaches: those the delegation check found through it (Via "linked
// server NAME"), else those whose back end the name names as SQL Server names a
// server, HOST or HOST\INSTANCE (a name with a dot compared whole, one without by the
// first label). "(null)", the linked server of an ad hoc query, reaches none.
func linkedHops(t triage.Target, obs triage.Observations, name string) []hop {
	var via, named []hop
	for _, h := range hops(t, obs) {
		switch {
		case !isHost(t, h.path.FrontEnd):
		case strings.EqualFold(h.path.Via, "linked server "+name):
			via = append(via, h)
		case namesBackEnd(name, h.path):
			named = append(named, h)
		}
	}
	if len(via) > 0 {
		return via
	}
	return named
}

// namesBackEnd reports whether a linked server's name, HOST or HOST\INSTANCE, names
// p's back end: the host by its full name when the name has a dot, else by its first
// label, and the instance when the name gives one, else the default instance.
func namesBackEnd(name string, p triage.DelegationPath) bool {
	host, inst, _ := strings.Cut(name, `\`)
	if host == "" || name == "(null)" {
		return false
	}
	if inst == "" && !p.Instance.IsDefault() || inst != "" && !strings.EqualFold(inst, cmp.Or(p.Instance.Name, "MSSQLSERVER")) {
		return false
	}
	label := func(s string) string { l, _, _ := strings.Cut(s, "."); return l }
	for _, b := range []string{p.BackEnd, p.BackEndFQDN} {
		switch {
		case b == "":
		case strings.Contains(host, "."):
			if strings.EqualFold(host, b) {
				return true
			}
		case strings.EqualFold(host, label(b)):
			return true
		}
	}
	return false
}

// linkedText describes one group of linked-server messages for evidence, from the
// names the reader checked and the carried message it tidied and bounded.
func linkedText(e triage.LogEvent) string {
	var s string
	switch e.ID {
	case triage.Msg7412:
		s = fmt.Sprintf("7412 the OLE DB provider for linked server %s returned the back end's message %s", quoted(e.Linked), quoted(e.Reason))
	case triage.Msg7413:
		s = fmt.Sprintf("7413 could not connect to linked server %s: enable delegation or use a remote SQL Server login for the current user", quoted(e.Linked))
	case triage.Msg7399:
		s = fmt.Sprintf("7399 the OLE DB provider for linked server %s reported an error", quoted(e.Linked))
		if e.Reason != "" {
			s += ": " + e.Reason
		}
	default:
		s = fmt.Sprintf("7303 cannot initialize the data source object of the OLE DB provider for linked server %s", quoted(e.Linked))
	}
	if e.Source == triage.SourceEventlog {
		s += " (" + e.Where() + ")"
	}
	return s
}

// quoted puts s in double quotes, as SQL Server's messages write names, or quotes it
// as Go does when it holds a double quote, a control or format character or invalid
// UTF-8 (the reader refuses such names; other sources may not).
func quoted(s string) string {
	for _, r := range s {
		if r == '"' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return `"` + s + `"`
}

// linkedSummary says how many connections through the linked server were refused as
// whom, how many SQL Server did not make for want of delegation (asked, 7413s), and
// when, and what is known of the path.
func linkedSummary(t triage.Target, name, front string, backs []string, explained bool, failed []triage.LogEvent, byCause map[triage.CauseID]int, asked, total int) string {
	var kinds []string
	for _, k := range []struct {
		c    triage.CauseID
		what string
	}{{triage.LoginAnonymous, `as NT AUTHORITY\ANONYMOUS LOGON`}, {triage.LoginNullUser, "as '(null)'"}, {triage.LoginEmptyUser, "with an empty name"}} {
		if c := byCause[k.c]; c > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", c, k.what))
		}
	}
	via := "linked server " + quoted(name)
	if name == "(null)" {
		via = `an ad hoc query (OPENROWSET or OPENDATASOURCE, written as linked server "(null)")`
	}
	var what []string
	if refused := total - asked; refused > 0 {
		what = append(what, fmt.Sprintf("the back end refused %s that carried no user's identity (%s)", human.Count(refused, "login", "logins"), strings.Join(kinds, ", ")))
	}
	if asked > 0 {
		what = append(what, fmt.Sprintf("SQL Server did not connect %s and asked to enable delegation or use a remote SQL Server login for the current user (7413)", human.Count(asked, "time", "times")))
	}
	s := fmt.Sprintf("Queries on %s through %s failed: %s, %s",
		t.Host, via, strings.Join(what, "; "), spanAll(failed, total))
	if len(backs) > 0 {
		s += fmt.Sprintf(": %s passed on no user's identity to %s, so this is a second hop whose delegation failed", front, human.List(backs))
		if explained {
			return s + "; the findings about the path say why"
		}
		return s + "; what was read of the path does not explain it (see the evidence): the users' accounts, and the KDC asked with the front end's credentials, may"
	}
	s += fmt.Sprintf(": %s passed on no user's identity to the linked server's back end, so this is a second hop whose delegation failed", front)
	if name == "(null)" {
		return s + "; the back end of an ad hoc query is the one its connection string names"
	}
	return s + fmt.Sprintf("; authtriage knows no delegation path through %s: name its back end in the inventory's delegation section, or let the checker log in to SQL Server to read the linked servers, to have the path checked", quoted(name))
}

// A linkedFailure is what a front end's log holds of one linked server's failures that
// name no user (linkedSecondHops).
type linkedFailure struct {
	name    string
	failed  []triage.LogEvent // carrying a login that is no user, or 7413
	others  []triage.LogEvent // 7303 and 7399 of the same linked server
	byCause map[triage.CauseID]int
	asked   int // 7413s: SQL Server asked for delegation or a remote login
	total   int
}

// linkedFailures returns the linked servers whose failures in the front end's log name
// no user (7412 or 7399 carrying such a login, or 7413), in the order first seen, but
// those SQL Server showed not forwarding the caller's credentials.
func linkedFailures(obs triage.Observations) []*linkedFailure {
	var order []*linkedFailure
	byName := map[string]*linkedFailure{}
	get := func(name string) *linkedFailure {
		k := strings.ToLower(name)
		l := byName[k]
		if l == nil {
			l = &linkedFailure{name: name, byCause: map[triage.CauseID]int{}}
			byName[k] = l
			order = append(order, l)
		}
		return l
	}
	var rest []triage.LogEvent
	for _, id := range []int{triage.Msg7412, triage.Msg7413, triage.Msg7399, triage.Msg7303} {
		for _, e := range sqlEvents(obs, id) {
			if e.Linked == "" {
				continue
			}
			if e.ID == triage.Msg7413 {
				if forwardsNot(obs, e.Linked) {
					continue
				}
				l := get(e.Linked)
				l.failed = append(l.failed, e)
				l.asked += e.Count
				l.total += e.Count
				continue
			}
			login, carried := triage.CarriedLogin(e.Reason)
			cause, anonymous := anonymousCause(login, -1) // the back end's state is not carried
			if !carried || !anonymous || forwardsNot(obs, e.Linked) {
				rest = append(rest, e)
				continue
			}
			l := get(e.Linked)
			if e.ID == triage.Msg7399 && len(l.failed) > 0 && l.failed[0].ID == triage.Msg7412 {
				l.others = append(l.others, e) // the same failures, counted by their 7412
				continue
			}
			l.failed = append(l.failed, e)
			l.byCause[cause] += e.Count
			l.total += e.Count
		}
	}
	for _, e := range rest {
		if l := byName[strings.ToLower(e.Linked)]; l != nil && e.ID != triage.Msg7412 {
			l.others = append(l.others, e)
		}
	}
	return order
}
