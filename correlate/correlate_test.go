package correlate_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/triage"
)

// A fleet is the reports of one sweep and the hosts it checked.
type fleet struct {
	reports []triage.Report
	checked []string
}

// add adds n hosts of group, numbered from first, each reporting what obs(i) shows
// (i counts from 0) in a triage started at start(i).
func (f *fleet) add(group string, first, n int, obs func(i int) triage.Observations, start func(i int) time.Time) {
	for i := range n {
		tg := host(group, first+i)
		f.reports = append(f.reports, report(tg, obs(i), start(i)))
		f.checked = append(f.checked, tg.Host)
	}
}

// addLocked adds n hosts of group running as CORP\sam, locked out at at; each triage
// starts a few seconds after the one before, two minutes after the lockout.
func (f *fleet) addLocked(group string, first, n int, sam string, at time.Time) {
	for i := range n {
		tg := host(group, first+i)
		tg.ServiceAccount = `CORP\` + sam
		f.reports = append(f.reports, report(tg, lockedOut(sam, at), at.Add(2*time.Minute+time.Duration(i)*5*time.Second)))
		f.checked = append(f.checked, tg.Host)
	}
}

// addOutage adds n hosts of group that lost dc2 in the minute after t0, their
// clients in 10.20.30.0/24.
func (f *fleet) addOutage(group string, first, n int) {
	f.add(group, first, n,
		func(i int) triage.Observations {
			return dcOutage(t0.Add(time.Duration(i%50)*time.Second), fmt.Sprintf("10.20.30.%d", 10+i), fmt.Sprintf("10.20.30.%d", 100+i%100))
		},
		func(i int) time.Time { return t0.Add(8*time.Minute + time.Duration(i)*time.Second) })
}

// addHealthy adds n hosts of group with nothing wrong.
func (f *fleet) addHealthy(group string, first, n int) {
	f.add(group, first, n, func(int) triage.Observations { return triage.Observations{} },
		func(int) time.Time { return t0.Add(8 * time.Minute) })
}

// addFindings adds n hosts of group, numbered from first, whose triage started at
// start finds what findings(tg, i) returns (i counts from 0).
func (f *fleet) addFindings(group string, first, n int, start time.Time, findings func(tg triage.Target, i int) []triage.Finding) {
	for i := range n {
		tg := host(group, first+i)
		f.reports = append(f.reports, triage.Report{ID: "r-" + tg.Host, Host: tg.Host, StartedAt: start, Findings: findings(tg, i)})
		f.checked = append(f.checked, tg.Host)
	}
}

// spnFinding returns a finding of cause about tg's SPN, registered (or to register)
// on account, wrongly on wrong when it is not "".
func spnFinding(cause triage.CauseID, tg triage.Target, account, wrong string) triage.Finding {
	vars := map[string]string{
		triage.PHHost: strings.ToUpper(tg.Host), triage.PHFQDN: tg.FQDN, triage.PHSPN: "MSSQLSvc/" + tg.FQDN + ":1433",
		triage.PHAccount: account,
	}
	if wrong != "" {
		vars[triage.PHWrong] = wrong
	}
	return triage.NewFinding(cause, vars)
}

// loginFailed returns an 18456 finding of tg whose evidence at at names clients.
func loginFailed(tg triage.Target, at time.Time, clients ...string) triage.Finding {
	f := triage.NewFinding(triage.LoginFailed, map[string]string{triage.PHHost: strings.ToUpper(tg.Host)})
	f.Evidence = []triage.Evidence{{Time: at, Clients: clients}}
	return f
}

func (f *fleet) signatures() []triage.Signature {
	var out []triage.Signature
	for _, r := range f.reports {
		out = append(out, correlate.Signatures(r)...)
	}
	return out
}

// wantIncident is what a test expects of one incident.
type wantIncident struct {
	cause      triage.CauseID
	hosts      []string // the affected hosts, in the incident's order
	shared     []triage.Factor
	unaffected []string
	// once are substrings of step texts or commands, each of which must be in
	// exactly one of the incident's Fixes and in none of its PerHost steps.
	once []string
	// perHost has a substring of the text or command of each of the incident's
	// PerHost steps, in order; none may be in its Fixes.
	perHost []string
}

// hosts returns the names of n hosts of group, numbered from first.
func hosts(group string, first, n int) []string {
	var out []string
	for i := range n {
		out = append(out, host(group, first+i).Host)
	}
	return out
}

func factors(kv ...string) []triage.Factor {
	var out []triage.Factor
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, triage.Factor{Kind: triage.FactorKind(kv[i]), Value: kv[i+1]})
	}
	return out
}

func TestCorrelate(t *testing.T) {
	const (
		dc     = "dc"
		domain = "domain"
		acct   = "account"
		subnet = "subnet"
		start  = "start"
	)
	// A DC outage shares no client nor subnet: the clients are not what it is about.
	outageShared := factors(dc, "dc2.corp.example", domain, "corp.example", start, "2026-11-24T05:14:00Z")
	outageFixes := []string{"nltest /sc_query:corp.example"}
	outagePerHost := []string{"nltest /dsgetdc:corp.example /force /kdc", "Make sure <HOST> can reach"}

	tests := []struct {
		name        string
		build       func(f *fleet)
		opts        correlate.Options
		want        []wantIncident
		unexplained []string
		// causes is what UnexplainedCauses returns, checked when not nil.
		causes map[string][]triage.CauseID
	}{
		{
			name: "a DC outage across 40 hosts, one healthy host: one incident, the DC and domain shared, each fix once",
			build: func(f *fleet) {
				f.addOutage("sqlprod", 1, 40)
				f.addHealthy("sqlprod", 41, 1)
			},
			want: []wantIncident{{
				cause: triage.DCUnreachable, hosts: hosts("sqlprod", 1, 40), shared: outageShared,
				unaffected: []string{"sqlprod41"}, once: outageFixes, perHost: outagePerHost,
			}},
		},
		{
			name: "a shared service account locked out on 12 hosts: one incident, unlocked once",
			build: func(f *fleet) {
				f.addLocked("sqlapp", 1, 12, "svc_shared", t0)
				f.addHealthy("sqlapp", 13, 3)
			},
			want: []wantIncident{{
				cause: triage.AccountLockedOut, hosts: hosts("sqlapp", 1, 12),
				shared:     factors(acct, `CORP\svc_shared`),
				unaffected: hosts("sqlapp", 13, 3),
				once:       []string{"Unlock-ADAccount -Identity svc_shared"},
			}},
		},
		{
			name: "two unrelated incidents at once: a DC outage on 20 hosts, another account locked on 5 others",
			build: func(f *fleet) {
				f.addOutage("sqlprod", 1, 20)
				f.addLocked("sqletl", 1, 5, "svc_etl", t0.Add(3*time.Minute))
			},
			want: []wantIncident{
				{
					cause: triage.DCUnreachable, hosts: hosts("sqlprod", 1, 20), shared: outageShared,
					unaffected: hosts("sqletl", 1, 5), once: outageFixes, perHost: outagePerHost,
				},
				{
					cause: triage.AccountLockedOut, hosts: hosts("sqletl", 1, 5),
					shared:     factors(acct, `CORP\svc_etl`),
					unaffected: hosts("sqlprod", 1, 20),
					once:       []string{"Unlock-ADAccount -Identity svc_etl"},
				},
			},
		},
		{
			name: "the same cause on different accounts is two incidents",
			build: func(f *fleet) {
				f.addLocked("sqla", 1, 4, "svc_a", t0)
				f.addLocked("sqlb", 1, 3, "svc_b", t0)
			},
			want: []wantIncident{
				{cause: triage.AccountLockedOut, hosts: hosts("sqla", 1, 4), shared: factors(acct, `CORP\svc_a`),
					once: []string{"Unlock-ADAccount -Identity svc_a"}},
				{cause: triage.AccountLockedOut, hosts: hosts("sqlb", 1, 3), shared: factors(acct, `CORP\svc_b`),
					once: []string{"Unlock-ADAccount -Identity svc_b"}},
			},
		},
		{
			// The directory says the account is locked, not since when: the two sweeps'
			// findings have no evidence time, so one incident, as its ID says.
			name: "the same account found locked out by sweeps three hours apart is one incident",
			build: func(f *fleet) {
				f.addLocked("sqlam", 1, 3, "svc_shared", t0)
				f.addLocked("sqlpm", 1, 2, "svc_shared", t0.Add(3*time.Hour))
			},
			want: []wantIncident{
				{cause: triage.AccountLockedOut, hosts: append(hosts("sqlam", 1, 3), hosts("sqlpm", 1, 2)...), shared: factors(acct, `CORP\svc_shared`),
					unaffected: nil, once: []string{"Unlock-ADAccount -Identity svc_shared"}},
			},
		},
		{
			name: "logins refused from one client three hours apart are two incidents: their evidence has a time",
			build: func(f *fleet) {
				f.addFindings("sqlam", 1, 2, t0, func(tg triage.Target, _ int) []triage.Finding {
					return []triage.Finding{loginFailed(tg, t0, "10.1.2.3")}
				})
				f.addFindings("sqlpm", 1, 2, t0.Add(3*time.Hour), func(tg triage.Target, _ int) []triage.Finding {
					return []triage.Finding{loginFailed(tg, t0.Add(3*time.Hour), "10.1.2.3")}
				})
			},
			want: []wantIncident{
				{cause: triage.LoginFailed, hosts: hosts("sqlam", 1, 2), shared: factors("client", "10.1.2.3", start, "2026-11-24T05:14:00Z"),
					once: []string{"Act on the state's meaning"}},
				{cause: triage.LoginFailed, hosts: hosts("sqlpm", 1, 2), shared: factors("client", "10.1.2.3", start, "2026-11-24T08:14:00Z"),
					once: []string{"Act on the state's meaning"}},
			},
		},
		{
			name: "3 hosts each with its own DNS mismatch in one sweep share only the minute: no incident",
			build: func(f *fleet) {
				f.addFindings("sqldns", 1, 3, t0, func(tg triage.Target, _ int) []triage.Finding {
					return []triage.Finding{triage.NewFinding(triage.DNSMismatch, map[string]string{triage.PHHost: strings.ToUpper(tg.Host), triage.PHFQDN: tg.FQDN})}
				})
			},
			unexplained: hosts("sqldns", 1, 3),
		},
		{
			name: "logins refused at once on 3 hosts from clients of different subnets: no incident",
			build: func(f *fleet) {
				f.addFindings("sqlweb", 1, 3, t0, func(tg triage.Target, i int) []triage.Finding {
					return []triage.Finding{loginFailed(tg, t0, fmt.Sprintf("10.%d.2.3", i))}
				})
			},
			unexplained: hosts("sqlweb", 1, 3),
		},
		{
			name: "DCs named per host: the DC every host names is shared, not the list",
			build: func(f *fleet) {
				dcs := []string{"dc1.corp.example, dc2.corp.example", "dc2.corp.example", "dc2.corp.example, dc3.corp.example"}
				f.addFindings("sqldc", 1, 3, t0, func(tg triage.Target, i int) []triage.Finding {
					return []triage.Finding{triage.NewFinding(triage.DCUnreachable, map[string]string{
						triage.PHHost: strings.ToUpper(tg.Host), triage.PHDomain: "corp.example", triage.PHDC: dcs[i]})}
				})
			},
			want: []wantIncident{{
				cause: triage.DCUnreachable, hosts: hosts("sqldc", 1, 3), shared: factors(dc, "dc2.corp.example", domain, "corp.example"),
				once: outageFixes, perHost: outagePerHost,
			}},
		},
		{
			name: "spans that chain within the window are one incident, over more than the window",
			build: func(f *fleet) {
				for i := range 4 {
					f.addLocked("sqlchain", 1+i, 1, "svc_shared", t0.Add(time.Duration(i)*10*time.Minute))
				}
			},
			want: []wantIncident{{cause: triage.AccountLockedOut, hosts: hosts("sqlchain", 1, 4), shared: factors(acct, `CORP\svc_shared`),
				once: []string{"Unlock-ADAccount -Identity svc_shared"}}},
		},
		{
			name: "a single host is no incident: nothing explains it",
			build: func(f *fleet) {
				f.addOutage("sqlprod", 1, 1)
				f.addHealthy("sqlprod", 2, 1)
			},
			unexplained: []string{"sqlprod01"},
		},
		{
			name: "fewer hosts than MinHosts is no incident",
			build: func(f *fleet) {
				f.addLocked("sqlapp", 1, 2, "svc_shared", t0)
			},
			opts:        correlate.Options{MinHosts: 3},
			unexplained: hosts("sqlapp", 1, 2),
		},
		{
			name: "a host in no incident beside one: the hosts nothing explains",
			build: func(f *fleet) {
				f.addLocked("sqlapp", 1, 3, "svc_shared", t0)
				f.addLocked("sqlodd", 1, 1, "svc_odd", t0)
			},
			want: []wantIncident{{cause: triage.AccountLockedOut, hosts: hosts("sqlapp", 1, 3), shared: factors(acct, `CORP\svc_shared`),
				unaffected: nil, once: []string{"Unlock-ADAccount -Identity svc_shared"}}},
			unexplained: []string{"sqlodd01"},
		},
		{
			name: "a host in a DC outage's incident with a duplicate SPN of its own: its SPN is unexplained",
			build: func(f *fleet) {
				f.addOutage("sqlprod", 1, 3)
				f.addFindings("sqlprod", 2, 1, t0.Add(8*time.Minute), func(tg triage.Target, _ int) []triage.Finding {
					return []triage.Finding{spnFinding(triage.SPNDuplicate, tg, `CORP\svc_sqlprod02`, `CORP\svc_old`)}
				})
			},
			want: []wantIncident{{
				cause: triage.DCUnreachable, hosts: hosts("sqlprod", 1, 3), shared: outageShared,
				once: outageFixes, perHost: outagePerHost,
			}},
			unexplained: []string{"sqlprod02"},
			causes:      map[string][]triage.CauseID{"sqlprod02": {triage.SPNDuplicate}},
		},
		{
			name: "an SPN missing on 3 hosts of one service account: registering each host's SPN is per host",
			build: func(f *fleet) {
				f.addFindings("sqlhr", 1, 3, t0, func(tg triage.Target, _ int) []triage.Finding {
					return []triage.Finding{spnFinding(triage.SPNMissing, tg, `CORP\svc_hr`, "")}
				})
			},
			want: []wantIncident{{
				cause: triage.SPNMissing, hosts: hosts("sqlhr", 1, 3),
				shared:  factors("spn_owner", `CORP\svc_hr`, acct, `CORP\svc_hr`),
				perHost: []string{`setspn -S <SPN> CORP\svc_hr`},
			}},
		},
		{
			name: "logins refused on 3 hosts from one client: the client is shared, not its subnet",
			build: func(f *fleet) {
				f.addFindings("sqlweb", 1, 3, t0, func(tg triage.Target, i int) []triage.Finding {
					return []triage.Finding{loginFailed(tg, t0, "10.1.2.3", fmt.Sprintf("10.9.%d.1", i))}
				})
			},
			want: []wantIncident{{
				cause: triage.LoginFailed, hosts: hosts("sqlweb", 1, 3),
				shared: factors("client", "10.1.2.3", start, "2026-11-24T05:14:00Z"),
				once:   []string{"Act on the state's meaning"},
			}},
		},
		{
			name: "logins refused on 3 hosts from different clients of one subnet: the subnet is shared",
			build: func(f *fleet) {
				f.addFindings("sqlweb", 1, 3, t0, func(tg triage.Target, i int) []triage.Finding {
					return []triage.Finding{loginFailed(tg, t0, fmt.Sprintf("10.1.2.%d", 10+i))}
				})
			},
			want: []wantIncident{{
				cause: triage.LoginFailed, hosts: hosts("sqlweb", 1, 3),
				shared: factors(subnet, "10.1.2.0/24", start, "2026-11-24T05:14:00Z"),
				once:   []string{"Act on the state's meaning"},
			}},
		},
		{
			name: "a DC outage whose hosts share a client: no client nor subnet is shared",
			build: func(f *fleet) {
				f.add("sqlprod", 1, 3, func(i int) triage.Observations { return dcOutage(t0, "10.20.30.5", fmt.Sprintf("10.20.30.%d", 50+i)) },
					func(int) time.Time { return t0.Add(8 * time.Minute) })
			},
			want: []wantIncident{{
				cause: triage.DCUnreachable, hosts: hosts("sqlprod", 1, 3), shared: outageShared,
				once: outageFixes, perHost: outagePerHost,
			}},
		},
	}
	id := regexp.MustCompile(`^[a-z2-7]{8}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fleet
			tt.build(&f)
			sigs := f.signatures()
			got := correlate.Correlate(sigs, f.checked, tt.opts)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d incidents %s; want %d", len(got), describe(got), len(tt.want))
			}
			ids := map[string]bool{}
			for i, w := range tt.want {
				g := got[i]
				if g.Cause != w.cause {
					t.Errorf("incident %d cause %s; want %s", i, g.Cause, w.cause)
				}
				if h := hostNames(g); !slices.Equal(h, w.hosts) {
					t.Errorf("incident %d hosts %v; want %v", i, h, w.hosts)
				}
				if g.FirstSeen != g.Hosts[0] {
					t.Errorf("incident %d first seen %+v; want its first host %+v", i, g.FirstSeen, g.Hosts[0])
				}
				if !slices.Equal(g.Shared, w.shared) {
					t.Errorf("incident %d shared %v; want %v", i, g.Shared, w.shared)
				}
				if !slices.Equal(g.Unaffected, w.unaffected) {
					t.Errorf("incident %d unaffected %v; want %v", i, g.Unaffected, w.unaffected)
				}
				for _, cmd := range w.once {
					if n, m := stepsWith(g.Fixes, cmd), stepsWith(g.PerHost, cmd); n != 1 || m != 0 {
						t.Errorf("incident %d: %q in %d steps once, %d per host; want 1 and 0: %+v %+v", i, cmd, n, m, g.Fixes, g.PerHost)
					}
				}
				if len(g.PerHost) != len(w.perHost) {
					t.Errorf("incident %d: %d steps per host %+v; want %d", i, len(g.PerHost), g.PerHost, len(w.perHost))
				}
				for j, text := range w.perHost {
					if j >= len(g.PerHost) || stepsWith(g.PerHost[j:j+1], text) != 1 || stepsWith(g.Fixes, text) != 0 {
						t.Errorf("incident %d: per host step %d does not hold %q, or a step once does: %+v %+v", i, j, text, g.PerHost, g.Fixes)
					}
				}
				c, _ := triage.LookupCause(g.Cause)
				if g.Title != c.Title || !slices.Equal(g.Links, c.Links) || g.Severity < triage.Warning {
					t.Errorf("incident %d title %q links %v severity %s; want the catalog's", i, g.Title, g.Links, g.Severity)
				}
				if !id.MatchString(g.ID) || ids[g.ID] {
					t.Errorf("incident %d ID %q: want 8 base32 characters, distinct", i, g.ID)
				}
				ids[g.ID] = true
			}
			if u := correlate.Unexplained(sigs, got); !slices.Equal(u, tt.unexplained) {
				t.Errorf("Unexplained = %v; want %v", u, tt.unexplained)
			}
			causes := correlate.UnexplainedCauses(sigs, got)
			if tt.causes != nil && !maps.EqualFunc(causes, tt.causes, slices.Equal) {
				t.Errorf("UnexplainedCauses = %v; want %v", causes, tt.causes)
			}
			if keys := slices.Sorted(maps.Keys(causes)); !slices.Equal(keys, tt.unexplained) {
				t.Errorf("UnexplainedCauses' hosts %v; want Unexplained's %v", keys, tt.unexplained)
			}

			// The result does not depend on the order of the signatures.
			r := rand.New(rand.NewPCG(1, 2))
			for range 3 {
				shuffled := slices.Clone(sigs)
				r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				again := correlate.Correlate(shuffled, f.checked, tt.opts)
				if describe(again) != describe(got) || !slices.EqualFunc(again, got, sameIncident) {
					t.Fatalf("shuffled signatures give %s; want %s", describe(again), describe(got))
				}
			}
		})
	}
}

func sameIncident(a, b triage.Incident) bool {
	return a.ID == b.ID && a.Cause == b.Cause && slices.Equal(a.Shared, b.Shared) && slices.Equal(a.Hosts, b.Hosts) &&
		slices.Equal(a.Unaffected, b.Unaffected) && slices.Equal(a.Fixes, b.Fixes) && slices.Equal(a.PerHost, b.PerHost) &&
		a.Last.Equal(b.Last)
}

// stepsWith returns the number of steps whose text or command holds sub.
func stepsWith(steps []triage.Step, sub string) int {
	n := 0
	for _, s := range steps {
		if strings.Contains(s.Text, sub) || strings.Contains(s.Command, sub) {
			n++
		}
	}
	return n
}

func hostNames(inc triage.Incident) []string {
	var out []string
	for _, h := range inc.Hosts {
		out = append(out, h.Host)
	}
	return out
}

func describe(incs []triage.Incident) string {
	var b strings.Builder
	for _, inc := range incs {
		fmt.Fprintf(&b, "[%s %s %d hosts %v] ", inc.ID, inc.Cause, len(inc.Hosts), inc.Shared)
	}
	return b.String()
}

// TestSignatures checks the factors a report's findings give, by cause family.
func TestSignatures(t *testing.T) {
	start := t0.Add(8 * time.Minute)
	tests := []struct {
		name string
		rep  triage.Report
		want [][]triage.Factor
	}{
		{
			name: "a DC outage: the 17806 finding names the domain and clients, the probe's the DC",
			rep:  report(host("sqlprod", 1), dcOutage(t0, "10.20.30.5", "10.20.31.6", "10.20.30.7", "10.20.30.8"), start),
			want: [][]triage.Factor{
				factors("domain", "corp.example", "client", "10.20.30.5", "client", "10.20.30.7", "client", "10.20.30.8", "subnet", "10.20.30.0/24", "start", "2026-11-24T05:14:00Z"),
				factors("dc", "dc2.corp.example", "domain", "corp.example"),
			},
		},
		{
			name: "a locked-out account: the account; no start, its evidence has no time",
			rep:  report(host("sqlapp", 1), lockedOut("svc_sqlapp01", t0), start),
			want: [][]triage.Factor{factors("account", `CORP\svc_sqlapp01`)},
		},
		{
			name: "an agent that did not answer: the agent the check names",
			rep: triage.Report{Host: "sqlbranch01", StartedAt: start,
				Findings: []triage.Finding{triage.NewFinding(triage.AgentUnreachable, map[string]string{triage.PHHost: "SQLBRANCH01"})},
				Checks:   []triage.CheckResult{{Name: "errorlog", Status: triage.CheckError, Agent: "branch-east"}}},
			want: [][]triage.Factor{factors("agent", "branch-east")},
		},
		{
			name: "an SPN on the wrong account: its owner and the right account",
			rep: triage.Report{Host: "sqlhr01", StartedAt: start,
				Findings: []triage.Finding{triage.NewFinding(triage.SPNWrongAccount, map[string]string{triage.PHAccount: `CORP\svc_hr`, triage.PHWrong: `CORP\svc_old`})}},
			want: [][]triage.Factor{factors("spn_owner", `CORP\svc_old`, "account", `CORP\svc_hr`)},
		},
		{
			name: "DCs the evidence names: one factor each, hostile names left out",
			rep: triage.Report{Host: "sqlprod01", StartedAt: start,
				Findings: []triage.Finding{triage.NewFinding(triage.SecureChannelBroken, map[string]string{triage.PHDomain: "corp.example",
					triage.PHDC: "dc1.corp.example, dc2$(reboot).corp, , dc3.corp.example\u202e, dc4.corp.example"})}},
			want: [][]triage.Factor{factors("dc", "dc1.corp.example", "dc", "dc4.corp.example", "domain", "corp.example")},
		},
		{
			name: "an info finding is no signature; hostile clients are no subnet",
			rep: triage.Report{Host: "sqlx", StartedAt: start, Findings: []triage.Finding{
				{Cause: triage.DelegationResourceBased, Severity: triage.Info},
				{Cause: triage.LoginFailed, Severity: triage.Warning, Evidence: []triage.Evidence{{Time: t0, Clients: []string{"$(reboot)\n", "10.0.0.1"}}}},
			}},
			want: [][]triage.Factor{factors("client", "$(reboot)\n", "client", "10.0.0.1", "subnet", "10.0.0.0/24", "start", "2026-11-24T05:14:00Z")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := correlate.Signatures(tt.rep)
			if len(sigs) != len(tt.want) {
				t.Fatalf("got %d signatures %+v; want %d", len(sigs), sigs, len(tt.want))
			}
			for i, s := range sigs {
				if !slices.Equal(s.Factors, tt.want[i]) {
					t.Errorf("signature %d (%s) factors %v; want %v", i, s.Cause, s.Factors, tt.want[i])
				}
				if s.First.IsZero() || s.Last.Before(s.First) || s.Host != tt.rep.Host {
					t.Errorf("signature %d: host %q span %v..%v", i, s.Host, s.First, s.Last)
				}
			}
		})
	}
}

// benchSignatures returns the signatures of a sweep of n hosts: a DC outage on 40%,
// two accounts locked out on 20% and 10% (the second hours later), and on the rest
// an account locked out of its own, which no other host shares.
func benchSignatures(b *testing.B, n int) ([]triage.Signature, []string) {
	b.Helper()
	outage := report(host("tpl", 1), dcOutage(t0, "10.20.30.5", "10.20.30.6"), t0.Add(8*time.Minute))
	locked := report(host("tpl", 2), lockedOut("svc_shared", t0), t0.Add(2*time.Minute))
	var sigs []triage.Signature
	var checked []string
	for i := range n {
		name := fmt.Sprintf("sql%05d", i)
		checked = append(checked, name)
		var rep triage.Report
		switch shift := time.Duration(i%600) * time.Second; {
		case i%10 < 4:
			rep = outage
			rep.StartedAt = rep.StartedAt.Add(shift)
		case i%10 < 6:
			rep = locked
			rep.StartedAt = rep.StartedAt.Add(shift)
		case i%10 < 7:
			rep = locked
			rep.StartedAt = rep.StartedAt.Add(4*time.Hour + shift)
			rep.Findings = []triage.Finding{withFact(locked.Findings[0], "account", `CORP\svc_batch`)}
		default:
			rep = locked
			rep.StartedAt = rep.StartedAt.Add(shift)
			rep.Findings = []triage.Finding{withFact(locked.Findings[0], "account", `CORP\svc_`+name)}
		}
		rep.Host, rep.ID = name, "r"+name
		sigs = append(sigs, correlate.Signatures(rep)...)
	}
	return sigs, checked
}

func withFact(f triage.Finding, k, v string) triage.Finding {
	facts := map[string]string{k: v}
	for fk, fv := range f.Facts {
		if fk != k {
			facts[fk] = fv
		}
	}
	f.Facts = facts
	return f
}

// BenchmarkCorrelate10k correlates the signatures of 10,000 hosts' reports;
// BenchmarkReferenceSort10k, the reference, only sorts them by cause and time, the
// least any grouping by cause and time does.
func BenchmarkCorrelate10k(b *testing.B) {
	sigs, checked := benchSignatures(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		incs := correlate.Correlate(sigs, checked, correlate.Options{})
		if len(incs) != 3 {
			b.Fatalf("%d incidents: %s", len(incs), describe(incs))
		}
	}
	b.ReportMetric(float64(len(sigs)), "signatures")
}

func BenchmarkReferenceSort10k(b *testing.B) {
	sigs, _ := benchSignatures(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := slices.Clone(sigs)
		slices.SortFunc(s, func(x, y triage.Signature) int {
			if c := strings.Compare(string(x.Cause), string(y.Cause)); c != 0 {
				return c
			}
			return x.First.Compare(y.First)
		})
	}
	b.ReportMetric(float64(len(sigs)), "signatures")
}

// TestIncidentIDStable checks what an incident's ID hashes: the cause, the shared
// primary factor (or, with none, the shared factors) and the minute of the earliest
// evidence time, none when no finding has one.
func TestIncidentIDStable(t *testing.T) {
	id := func(build func(f *fleet)) string {
		t.Helper()
		var f fleet
		build(&f)
		incs := correlate.Correlate(f.signatures(), f.checked, correlate.Options{})
		if len(incs) != 1 {
			t.Fatalf("got %d incidents %s; want 1", len(incs), describe(incs))
		}
		return incs[0].ID
	}
	locked := func(sam string, at time.Time) string {
		return id(func(f *fleet) { f.addLocked("sqlapp", 1, 3, sam, at) })
	}
	refused := func(at, start time.Time, client string) string {
		return id(func(f *fleet) {
			f.addFindings("sqlweb", 1, 3, start, func(tg triage.Target, _ int) []triage.Finding {
				return []triage.Finding{loginFailed(tg, at, client)}
			})
		})
	}
	if a, b := locked("svc_shared", t0), locked("svc_shared", t0.Add(time.Hour)); a != b {
		t.Errorf("a locked account found by sweeps an hour apart: IDs %s and %s; want one", a, b)
	}
	if a, b := locked("svc_a", t0), locked("svc_b", t0); a == b {
		t.Errorf("two accounts locked out: one ID %s; want two", a)
	}
	if a, b := refused(t0, t0.Add(5*time.Minute), "10.1.2.3"), refused(t0.Add(20*time.Second), t0.Add(40*time.Minute), "10.1.2.3"); a != b {
		t.Errorf("logins refused from the same minute, seen by two sweeps: IDs %s and %s; want one", a, b)
	}
	if a, b := refused(t0, t0, "10.1.2.3"), refused(t0.Add(time.Hour), t0.Add(time.Hour), "10.1.2.3"); a == b {
		t.Errorf("logins refused an hour apart: one ID %s; want two", a)
	}
	if a, b := refused(t0, t0, "10.1.2.3"), refused(t0, t0, "10.7.2.3"); a == b {
		t.Errorf("logins refused from two clients: one ID %s; want two", a)
	}
}
