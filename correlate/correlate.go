// Package correlate finds the incidents in many hosts' reports: findings of the same
// cause, about the same thing (an account, a domain, an SPN owner, an agent), whose
// evidence overlaps in time on several hosts, named once with what the hosts share and
// one set of fixes.
//
// It works on Signatures, a few hundred bytes per finding, so that a sweep of 10,000
// hosts keeps every host's signatures and not its reports.
package correlate

import (
	"cmp"
	"crypto/sha256"
	"encoding/base32"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// Options tune Correlate. The zero value is the default.
type Options struct {
	// Window is how close two findings' evidence spans must come to overlap: a span
	// that starts no later than Window after the group's latest evidence joins it,
	// and groups chain. 0 means 15 minutes.
	Window time.Duration
	// MinHosts is the number of distinct hosts a group needs to be an incident.
	// 0 means 2.
	MinHosts int
}

// DefaultWindow and DefaultMinHosts are what Options' zero values mean.
const (
	DefaultWindow   = 15 * time.Minute
	DefaultMinHosts = 2
)

// maxClients is the number of client addresses a signature keeps as factors: enough
// to see a shared client, few enough to keep signatures small.
const maxClients = 3

// Signatures returns one signature per finding of rep of severity warning or worse,
// in the report's order.
//
// First and Last are the earliest and latest time of the finding's evidence (an
// entry's First, else its Time); both are rep.StartedAt when no evidence has a time.
// The factors come from the finding's Facts (triage.NewFinding), by cause family:
//
//	cause                             factors
//	account.*                         account (Facts "account")
//	spn.*                             spn_owner (Facts "wrong", else "account"), account
//	dc.*, computer.secure_channel,    dc: one per name of Facts "dc" (the DCs the
//	kerberos.*                        evidence names, joined by ", "), each a plain
//	                                  host name; domain (Facts "domain")
//	agent.unreachable                 agent (Facts "agent", else the agent of a check
//	                                  of rep that ended in error)
//	every cause                       client: the first 3 client addresses of the
//	                                  evidence, sorted; subnet: their /24 (IPv4) or
//	                                  /64 (IPv6), each once; start: First truncated
//	                                  to the minute, UTC, RFC 3339, only when the
//	                                  evidence has a time
//
// A signature is timed when it has a start factor: its First is its evidence's, not
// the report's start. The store keeps factors, so this survives it with no column of
// its own.
//
// The other causes (dns.*, instance.*, listener.*, delegation.*, login.*, name.*,
// cluster.*, clock.*, keytab.*, sspi.*, lsa.*) get no factor of their own: their
// Facts name one host's things (its host name, FQDN, instance, SPN, port), and
// where they name an account or a login it is the one that host runs as or refused,
// which hosts share by chance as often as by cause. Correlate makes them an incident
// only when the hosts share a client or subnet.
func Signatures(rep triage.Report) []triage.Signature {
	var out []triage.Signature
	for _, f := range rep.Findings {
		if f.Severity < triage.Warning {
			continue
		}
		s := triage.Signature{Host: rep.Host, ReportID: rep.ID, Cause: f.Cause, Severity: f.Severity}
		s.First, s.Last = span(f.Evidence)
		s.Factors = factorsOf(f, rep, s.First)
		if s.First.IsZero() {
			s.First, s.Last = rep.StartedAt, rep.StartedAt
		}
		out = append(out, s)
	}
	return out
}

// span returns the earliest and latest time of the evidence, zero when none has one.
func span(ev []triage.Evidence) (first, last time.Time) {
	for _, e := range ev {
		for _, t := range []time.Time{e.First, e.Time} {
			if t.IsZero() {
				continue
			}
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	return first, last
}

// factorsOf returns the factors of f, a finding of rep whose evidence starts at first,
// zero when no evidence has a time (then it has no start factor).
func factorsOf(f triage.Finding, rep triage.Report, first time.Time) []triage.Factor {
	var out []triage.Factor
	add := func(k triage.FactorKind, v string) {
		if v != "" {
			out = append(out, triage.Factor{Kind: k, Value: v})
		}
	}
	facts := f.Facts
	switch family(f.Cause) {
	case famAccount:
		add(triage.FactorAccount, facts["account"])
	case famSPN:
		add(triage.FactorOwner, cmp.Or(facts["wrong"], facts["account"]))
		add(triage.FactorAccount, facts["account"])
	case famDomain:
		// diagnosis writes every DC the evidence names in one fact, "dc1, dc2": one
		// factor each, so that hosts naming {dc1, dc2} and {dc2} share dc2.
		for _, dc := range strings.Split(facts["dc"], ", ") {
			if plainHost(dc) {
				add(triage.FactorDC, dc)
			}
		}
		add(triage.FactorDomain, facts["domain"])
	case famAgent:
		agent := facts["agent"]
		for _, c := range rep.Checks {
			if agent == "" && c.Status == triage.CheckError && c.Agent != "" {
				agent = c.Agent
			}
		}
		add(triage.FactorAgent, agent)
	}
	clients := evidenceClients(f.Evidence)
	for _, c := range clients {
		add(triage.FactorClient, c)
	}
	var subnets []string
	for _, c := range clients {
		if s := subnet(c); s != "" && !slices.Contains(subnets, s) {
			subnets = append(subnets, s)
		}
	}
	for _, s := range subnets {
		add(triage.FactorSubnet, s)
	}
	add(triage.FactorStart, startMinute(first))
	return out
}

// plainHost reports whether s is a host name of letters, digits, '-', '_' and '.', at
// most 253 bytes: a DC name from evidence that is anything else is not a factor.
func plainHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// timed reports whether s's First is its evidence's (Signatures gives it a start
// factor then), not its report's start.
func timed(s triage.Signature) bool {
	return slices.ContainsFunc(s.Factors, func(f triage.Factor) bool { return f.Kind == triage.FactorStart })
}

func startMinute(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Minute).Format(time.RFC3339)
}

// evidenceClients returns the first maxClients distinct client addresses of the
// evidence, sorted.
func evidenceClients(ev []triage.Evidence) []string {
	var all []string
	for _, e := range ev {
		all = append(all, e.Clients...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	return all[:min(len(all), maxClients)]
}

// subnet returns the /24 of an IPv4 client or the /64 of an IPv6 one, "" for anything
// that is not an address (evidence may hold a name or worse).
func subnet(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// A causeFamily is the kind of thing a cause is about, which decides its factors.
type causeFamily int

const (
	famOther causeFamily = iota
	famAccount
	famSPN
	famDomain
	famAgent
)

func family(c triage.CauseID) causeFamily {
	prefix, _, _ := strings.Cut(string(c), ".")
	switch {
	case prefix == "account":
		return famAccount
	case prefix == "spn":
		return famSPN
	case prefix == "dc" || prefix == "kerberos" || c == triage.SecureChannelBroken:
		return famDomain
	case c == triage.AgentUnreachable:
		return famAgent
	}
	return famOther
}

// primaryKind is the factor that splits a cause's findings into incidents: two
// accounts locked out are two incidents. For the domain family it is the domain, not
// the DC: one host's findings of the same cause may name the DC (the checker's probe)
// or not (a 17806), and a DC outage is one incident however each host saw it; the DC
// comes first in Shared when every host names the same.
func primaryKind(f causeFamily) triage.FactorKind {
	switch f {
	case famAccount:
		return triage.FactorAccount
	case famSPN:
		return triage.FactorOwner
	case famDomain:
		return triage.FactorDomain
	case famAgent:
		return triage.FactorAgent
	}
	return ""
}

// rank returns where kind goes in Incident.Shared for a cause of family fam: the
// primary factor first (for the domain family a DC every host names, then the
// domain), then the most telling.
func rank(fam causeFamily, kind triage.FactorKind) int {
	if fam == famDomain && kind == triage.FactorDC {
		return -2 // a DC every host names tells more than its domain
	}
	if kind == primaryKind(fam) {
		return -1
	}
	order := [...]triage.FactorKind{
		triage.FactorDC, triage.FactorDomain, triage.FactorAccount, triage.FactorOwner, triage.FactorAgent,
		triage.FactorSubnet, triage.FactorClient, triage.FactorStart,
	}
	if i := slices.Index(order[:], kind); i >= 0 {
		return i
	}
	return len(order)
}

// fold reports whether factors of kind k are compared without regard to case: Windows does not distinguish
// account, domain and host names by case.
func fold(k triage.FactorKind) bool {
	switch k {
	case triage.FactorDC, triage.FactorDomain, triage.FactorAccount, triage.FactorOwner:
		return true
	}
	return false
}

// factorKey is what two factors are compared by.
type factorKey struct {
	kind  triage.FactorKind
	value string
}

func keyOf(f triage.Factor) factorKey {
	if fold(f.Kind) {
		return factorKey{f.Kind, strings.ToLower(f.Value)}
	}
	return factorKey{f.Kind, f.Value}
}

// primaryValue returns the key of a signature's primary factor, "" when it has none.
func primaryValue(s triage.Signature, kind triage.FactorKind) string {
	if kind == "" {
		return ""
	}
	for _, f := range s.Factors {
		if f.Kind == kind {
			return keyOf(f).value
		}
	}
	return ""
}

// Correlate returns the incidents among sigs (typically the signatures of many hosts'
// reports of one sweep or of the last minutes): for each cause, the signatures with
// the same primary factor (the account for account.*, the owner for spn.*, the domain
// for dc.*, computer.secure_channel and kerberos.*, the agent for agent.unreachable;
// nothing for other causes) are grouped by time, a signature joining a group when its
// First is no later than Window after the group's latest Last; a group of at least
// MinHosts distinct hosts is an incident. Its Shared are the factors every host has
// that tell something (no client nor subnet for the causes grouped by domain, no
// subnet that holds a shared client); its Fixes the steps filled by them, done once,
// and PerHost the steps still naming one host's values. A group without a primary
// factor is an incident only when its hosts share more than the start minute (a
// client, a subnet): a configuration finding's time is its report's start, and the
// hosts of one sweep each with its own fault start in the same minute. Groups whose
// incidents get the same ID (a configuration fault found by sweeps more than Window
// apart: no evidence time, same cause and primary factor) are one incident. checked are the hosts of the
// same window, for Incident.Unaffected. Incidents are sorted worst first: severity, then number of
// hosts, then first seen, then ID. The result depends only on its arguments' contents,
// not on their order.
func Correlate(sigs []triage.Signature, checked []string, o Options) []triage.Incident {
	window := cmp.Or(o.Window, DefaultWindow)
	if window < 0 {
		window = DefaultWindow
	}
	minHosts := max(cmp.Or(o.MinHosts, DefaultMinHosts), 1)

	type groupKey struct {
		cause   triage.CauseID
		primary string
	}
	groups := map[groupKey][]int{}
	hostsWith := map[triage.CauseID]map[string]bool{}
	for i, s := range sigs {
		k := groupKey{s.Cause, primaryValue(s, primaryKind(family(s.Cause)))}
		groups[k] = append(groups[k], i)
		if hostsWith[s.Cause] == nil {
			hostsWith[s.Cause] = map[string]bool{}
		}
		hostsWith[s.Cause][strings.ToLower(s.Host)] = true
	}

	type made struct {
		inc triage.Incident
		idx []int
	}
	var out []triage.Incident
	for k, idx := range groups {
		slices.SortFunc(idx, func(a, b int) int { return compareSig(sigs[a], sigs[b]) })
		var incs []made
		start := 0
		end := sigs[idx[0]].Last
		for j := 1; j <= len(idx); j++ {
			if j < len(idx) {
				s := sigs[idx[j]]
				if !s.First.After(end.Add(window)) {
					if s.Last.After(end) {
						end = s.Last
					}
					continue
				}
			}
			if inc, ok := incident(k.cause, k.primary, sigs, idx[start:j], minHosts); ok {
				incs = append(incs, made{inc, idx[start:j]})
			}
			if j < len(idx) {
				start, end = j, sigs[idx[j]].Last
			}
		}
		// Incidents of one group with the same ID are one: made again from all
		// their signatures.
		for i := 0; i < len(incs); i++ {
			for j := i + 1; j < len(incs); j++ {
				if incs[j].inc.ID != incs[i].inc.ID {
					continue
				}
				both := slices.Concat(incs[i].idx, incs[j].idx)
				slices.SortFunc(both, func(a, b int) int { return compareSig(sigs[a], sigs[b]) })
				if inc, ok := incident(k.cause, k.primary, sigs, both, minHosts); ok {
					incs[i] = made{inc, both}
					incs = slices.Delete(incs, j, j+1)
					j = i // compare the merged one with all the others again
				}
			}
		}
		for _, m := range incs {
			m.inc.Unaffected = unaffected(checked, hostsWith[k.cause])
			out = append(out, m.inc)
		}
	}
	slices.SortFunc(out, func(a, b triage.Incident) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(len(b.Hosts), len(a.Hosts)),
			a.FirstSeen.First.Compare(b.FirstSeen.First),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Cause, b.Cause),
		)
	})
	return out
}

// compareSig orders signatures by time, then host and report, then factors, so that
// grouping does not depend on the order they came in.
func compareSig(a, b triage.Signature) int {
	return cmp.Or(
		a.First.Compare(b.First),
		a.Last.Compare(b.Last),
		cmp.Compare(a.Host, b.Host),
		cmp.Compare(a.ReportID, b.ReportID),
		cmp.Compare(a.Severity, b.Severity),
		slices.CompareFunc(a.Factors, b.Factors, func(x, y triage.Factor) int {
			return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Value, y.Value))
		}),
	)
}

// incident makes the incident of one group of signatures (sorted by compareSig) of
// primary factor primary ("" for none), or false when they are on fewer than minHosts
// hosts, or have no primary factor and share nothing but the start minute.
func incident(cause triage.CauseID, primary string, sigs []triage.Signature, idx []int, minHosts int) (triage.Incident, bool) {
	type host struct {
		triage.IncidentHost
		factors map[factorKey]triage.Factor
		start   time.Time // the First of its earliest timed signature, zero for none
	}
	var start time.Time // the earliest timed First of the group
	var hosts []*host
	byName := map[string]*host{}
	inc := triage.Incident{Cause: cause}
	for _, i := range idx {
		s := sigs[i]
		name := strings.ToLower(s.Host)
		h := byName[name]
		if h == nil {
			// The first signature of a host is its earliest: idx is sorted by time.
			h = &host{IncidentHost: triage.IncidentHost{Host: s.Host, ReportID: s.ReportID, First: s.First}, factors: map[factorKey]triage.Factor{}}
			byName[name] = h
			hosts = append(hosts, h)
		}
		// A host's factors are those of all its findings in the group (one finding of
		// a DC outage may name the DC and another of the same host only the domain),
		// but for the start: the host's is the minute of its earliest evidence.
		for _, f := range s.Factors {
			if _, seen := h.factors[keyOf(f)]; !seen && f.Kind != triage.FactorStart {
				h.factors[keyOf(f)] = f
			}
		}
		if timed(s) && h.start.IsZero() {
			h.start = s.First
		}
		if timed(s) && (start.IsZero() || s.First.Before(start)) {
			start = s.First
		}
		inc.Severity = max(inc.Severity, s.Severity)
		if s.Last.After(inc.Last) {
			inc.Last = s.Last
		}
	}
	if len(hosts) < minHosts {
		return triage.Incident{}, false
	}
	for _, h := range hosts {
		if !h.start.IsZero() {
			f := triage.Factor{Kind: triage.FactorStart, Value: startMinute(h.start)}
			h.factors[keyOf(f)] = f
		}
	}
	fam := family(cause)
	for k, f := range hosts[0].factors {
		every := true
		for _, h := range hosts[1:] {
			if _, ok := h.factors[k]; !ok {
				every = false
				break
			}
		}
		if every {
			inc.Shared = append(inc.Shared, f)
		}
	}
	inc.Shared = telling(fam, inc.Shared)
	if primary == "" && !slices.ContainsFunc(inc.Shared, func(f triage.Factor) bool { return f.Kind != triage.FactorStart }) {
		return triage.Incident{}, false
	}
	slices.SortFunc(inc.Shared, func(a, b triage.Factor) int {
		return cmp.Or(cmp.Compare(rank(fam, a.Kind), rank(fam, b.Kind)), cmp.Compare(a.Value, b.Value))
	})
	for _, h := range hosts {
		inc.Hosts = append(inc.Hosts, h.IncidentHost)
	}
	inc.FirstSeen = inc.Hosts[0]

	c, _ := triage.LookupCause(cause)
	inc.Title, inc.Links = c.Title, slices.Clone(c.Links)
	if c.ID != "" {
		inc.Fixes, inc.PerHost = fixes(c, inc.Shared)
	}
	inc.ID = incidentID(cause, idFactors(fam, inc.Shared), startMinute(start))
	return inc, true
}

// telling returns the factors of shared, which every host of an incident of a cause
// of family fam has, that say something about it. For the domain family (a DC outage,
// a broken secure channel, Kerberos) no client nor subnet: a domain controller's
// trouble is every client's, and the clients the hosts happen to share are not what
// the incident is about. For the others, no subnet that holds a shared client: the
// client says it already.
func telling(fam causeFamily, shared []triage.Factor) []triage.Factor {
	var clients []netip.Addr
	for _, f := range shared {
		if a, err := netip.ParseAddr(f.Value); err == nil && f.Kind == triage.FactorClient {
			clients = append(clients, a.Unmap())
		}
	}
	return slices.DeleteFunc(shared, func(f triage.Factor) bool {
		switch f.Kind {
		case triage.FactorClient:
			return fam == famDomain
		case triage.FactorSubnet:
			if fam == famDomain {
				return true
			}
			p, err := netip.ParsePrefix(f.Value)
			return err == nil && slices.ContainsFunc(clients, p.Contains)
		}
		return false
	})
}

// idFactors returns what of shared an incident's ID hashes: the value of the shared
// primary factor; for a cause with no primary factor or hosts that share none, every
// shared factor but the start ("kind=value" joined by "\x00", in Shared's order),
// which is what made them an incident.
func idFactors(fam causeFamily, shared []triage.Factor) string {
	kind := primaryKind(fam)
	var rest []string
	for _, f := range shared {
		if kind != "" && f.Kind == kind {
			return keyOf(f).value
		}
		if f.Kind != triage.FactorStart {
			k := keyOf(f)
			rest = append(rest, string(k.kind)+"="+k.value)
		}
	}
	return strings.Join(rest, "\x00")
}

// fixes returns the catalog's steps for cause filled with the values every host
// shares, split by where they are done. once are the steps fully filled: done once for
// the incident (unlock the shared account once, not on every host). perHost are the
// steps that still hold a placeholder no shared value fills, in their text or their
// command (<HOST>, <FQDN>, <SPN>, <INSTANCE>, <LOGIN>, <SAM> when the account is not
// shared...): they name one host's own values, so they are done on each affected host,
// whose report has them filled in. Each step is in one list, once. The account's
// sAMAccountName, which the AD cmdlets take, is the name part of the shared DOMAIN\name
// account, the form triage.Account.Name writes.
func fixes(c triage.Cause, shared []triage.Factor) (once, perHost []triage.Step) {
	vars := map[string]string{}
	var dcs []string
	set := func(ph, v string) {
		if _, done := vars[ph]; !done {
			vars[ph] = v
		}
	}
	for _, f := range shared {
		switch f.Kind {
		case triage.FactorAccount:
			set(triage.PHAccount, f.Value)
			if _, sam, ok := strings.Cut(f.Value, `\`); ok && sam != "" {
				set(triage.PHSam, sam)
			}
		case triage.FactorOwner:
			if c.ID == triage.SPNWrongAccount || c.ID == triage.SPNDuplicate {
				set(triage.PHWrong, f.Value)
			} else {
				set(triage.PHAccount, f.Value)
			}
		case triage.FactorDomain:
			set(triage.PHDomain, f.Value)
		case triage.FactorDC:
			dcs = append(dcs, f.Value)
		}
	}
	if len(dcs) > 0 {
		set(triage.PHDC, strings.Join(dcs, ", ")) // as diagnosis writes it
	}
	// NewFinding writes one step per catalog step, in order: whether a step is done
	// once is decided on the catalog's template, never on the filled text, where a
	// value from evidence may itself read "<HOST>".
	steps := triage.NewFinding(c.ID, vars).Remediation
	for i, s := range steps {
		list := &once
		if i < len(c.Fix) && unfilled(c.Fix[i], vars) {
			list = &perHost
		}
		if !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	return once, perHost
}

// placeholders returns every placeholder the catalog's steps use (triage's PH
// constants). A test checks that the catalog uses no other.
func placeholders() [23]string {
	return [...]string{
		triage.PHHost, triage.PHFQDN, triage.PHDomain, triage.PHSPN, triage.PHAccount, triage.PHWrong,
		triage.PHCode, triage.PHSam, triage.PHSetAD, triage.PHLogin, triage.PHInstance, triage.PHDC,
		triage.PHSPNs, triage.PHPrincipals, triage.PHBackEndSam, triage.PHBackEndSetAD, triage.PHFrontEnd,
		triage.PHBackEnd, triage.PHUser, triage.PHWrongSPN, triage.PHServerName, triage.PHNewServerName,
		triage.PHPort,
	}
}

// unfilled reports whether catalog step s keeps a placeholder that vars gives no
// value: in its text, or as a slot of its command.
func unfilled(s triage.FixStep, vars map[string]string) bool {
	for _, ph := range placeholders() {
		if vars[ph] == "" && strings.Contains(s.Text, ph) {
			return true
		}
	}
	for cmd := s.Command; cmd != nil; cmd = cmd.Pipe {
		for _, a := range append([]triage.Arg{cmd.Program}, cmd.Args...) {
			if a.Slot != "" && vars[a.Slot] == "" {
				return true
			}
		}
	}
	return false
}

// incidentID returns 8 lower-case base32 characters of a hash of cause, the shared
// factors idFactors picks and the minute of the earliest evidence time ("" when no
// finding has one): the same incident found again gets the same ID.
func incidentID(cause triage.CauseID, factors, minute string) string {
	sum := sha256.Sum256([]byte(string(cause) + "\x00" + factors + "\x00" + minute))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:5]))
}

// unaffected returns the checked hosts that do not have the cause, sorted, each once.
func unaffected(checked []string, with map[string]bool) []string {
	var out []string
	for _, h := range checked {
		if !with[strings.ToLower(h)] {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Unexplained returns the hosts with at least one cause of warning or worse that no
// incident of theirs explains, sorted, each once: a host in a DC outage's incident
// that also has a duplicate SPN of its own is one. UnexplainedCauses says which causes.
func Unexplained(sigs []triage.Signature, incidents []triage.Incident) []string {
	causes := UnexplainedCauses(sigs, incidents)
	out := make([]string, 0, len(causes))
	for h := range causes {
		out = append(out, h)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// UnexplainedCauses returns, for each host of sigs, its causes of warning or worse
// that no incident explains: an incident explains a host's cause when it is of that
// cause and lists the host. Hosts are compared without regard to case and keyed by
// the name of their first signature in sigs; each host's causes are sorted, each
// once. A host whose every cause is explained is not in the map.
func UnexplainedCauses(sigs []triage.Signature, incidents []triage.Incident) map[string][]triage.CauseID {
	type hostCause struct {
		host  string
		cause triage.CauseID
	}
	explained := map[hostCause]bool{}
	for _, inc := range incidents {
		for _, h := range inc.Hosts {
			explained[hostCause{strings.ToLower(h.Host), inc.Cause}] = true
		}
	}
	name := map[string]string{} // a host's key in out, by its lower-case name
	out := map[string][]triage.CauseID{}
	for _, s := range sigs {
		k := strings.ToLower(s.Host)
		if s.Severity < triage.Warning || explained[hostCause{k, s.Cause}] {
			continue
		}
		n, ok := name[k]
		if !ok {
			n = s.Host
			name[k] = n
		}
		if !slices.Contains(out[n], s.Cause) {
			out[n] = append(out[n], s.Cause)
		}
	}
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out
}
