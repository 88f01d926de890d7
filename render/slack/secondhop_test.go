package slackrender

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/triage"
)

// The test domain's names (scripts/testdomain.sh): the back ends sqlbe (svc_sqlbe)
// and sqlrbcd (svc_sqlrbcd, whose msDS-AllowedToActOnBehalfOfOtherIdentity names
// svc_webrbcd), the users alice, bob (sensitive) and carol (Protected Users).
const (
	sidWeb      = "S-1-5-21-1004336348-1177238915-682003330-1105"
	sidWebRBCD  = "S-1-5-21-1004336348-1177238915-682003330-1109"
	unprovedWhy = "the KDC refused resource-based delegation with KDC_ERR_BADOPTION and no NTSTATUS, " +
		"so its answer does not say whether it checked the back end's " +
		"msDS-AllowedToActOnBehalfOfOtherIdentity: a KDC that checks it says STATUS_NOT_FOUND " +
		"when the front end is not allowed ([MS-SFU] 3.2.5.2.3), while Samba 4.17's KDC gives " +
		"no NTSTATUS and refuses resource-based delegation even where the directory allows it"
)

func account(sam, sid string, uac int, spns ...string) *triage.Account {
	return &triage.Account{SAMAccountName: sam, SID: sid, Domain: "corp.test", NetBIOSDomain: "CORP", Class: "user", UAC: uac, SPNs: spns}
}

// frontEndReport is a triage of the front end web01, whose account CORP\svc_web
// must reach three back ends: sqlbe from the inventory, which works (the KDC issued
// a ticket); sqlbe2\SALES through a linked server, which its account may not
// delegate to (the KDC refused); and sqlrbcd, whose account allows it resource-based
// delegation, which Samba's KDC cannot prove.
func frontEndReport() triage.Report {
	be := triage.DelegationPath{FrontEnd: "web01", Account: `CORP\svc_web`, BackEnd: "sqlbe", Instance: triage.Instance{Port: 1433},
		BackEndFQDN: "sqlbe.corp.test", BackEndAccount: `CORP\svc_sqlbe`, Via: "inventory", SelfCredential: true}
	linked := triage.DelegationPath{FrontEnd: "web01", Account: `CORP\svc_web`, BackEnd: "sqlbe2", Instance: triage.Instance{Name: "SALES", Port: 50123},
		BackEndFQDN: "sqlbe2.corp.test", BackEndAccount: `CORP\svc_sqlbe2`, Via: "linked server SALESDB", SelfCredential: true}
	rbcd := triage.DelegationPath{FrontEnd: "web01", Account: `CORP\svc_webrbcd`, BackEnd: "sqlrbcd", Instance: triage.Instance{Port: 1433},
		BackEndFQDN: "sqlrbcd.corp.test", BackEndAccount: `CORP\svc_sqlrbcd`, Via: "inventory", SelfCredential: true}
	d := &triage.DelegationFacts{
		Paths: []triage.DelegationPath{be, linked, rbcd},
		Accounts: []triage.DelegationAccount{
			{Role: triage.RoleFrontEnd, Name: `CORP\svc_web`, Account: account("svc_web", sidWeb, 0x200|triage.UACTrustedToAuthForDelegation, "HTTP/web.corp.test"),
				AllowedToDelegateTo: []string{"MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test"}},
			{Role: triage.RoleBackEnd, Name: `CORP\svc_sqlbe`, Account: account("svc_sqlbe", "S-1-5-21-1004336348-1177238915-682003330-1103", 0x200,
				"MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test")},
			{Role: triage.RoleBackEnd, Name: `CORP\svc_sqlbe2`, Account: account("svc_sqlbe2", "S-1-5-21-1004336348-1177238915-682003330-1104", 0x200,
				"MSSQLSvc/sqlbe2.corp.test:50123", "MSSQLSvc/sqlbe2.corp.test:SALES")},
			{Role: triage.RoleFrontEnd, Name: `CORP\svc_webrbcd`, Account: account("svc_webrbcd", sidWebRBCD, 0x200, "HTTP/webrbcd.corp.test")},
			{Role: triage.RoleBackEnd, Name: `CORP\svc_sqlrbcd`, Account: account("svc_sqlrbcd", "S-1-5-21-1004336348-1177238915-682003330-1110", 0x200,
				"MSSQLSvc/sqlrbcd.corp.test:1433"),
				AllowedToActOnBehalf: []triage.Principal{{SID: sidWebRBCD, Name: `CORP\svc_webrbcd`}}},
			{Role: triage.RoleUser, Name: `CORP\alice`, Account: account("alice", "S-1-5-21-1004336348-1177238915-682003330-1111", 0x200)},
			{Role: triage.RoleUser, Name: `CORP\bob`, Account: account("bob", "S-1-5-21-1004336348-1177238915-682003330-1112", 0x200|triage.UACNotDelegated)},
			{Role: triage.RoleUser, Name: `CORP\carol`, Account: account("carol", "S-1-5-21-1004336348-1177238915-682003330-1113", 0x200), ProtectedUser: true},
		},
		Proofs: []triage.DelegationProof{
			{Path: be, User: "alice@CORP.TEST", SPN: "MSSQLSvc/sqlbe.corp.test:1433", SelfIssued: true, SelfForwardable: true, ProxyIssued: true},
			{Path: linked, User: "alice@CORP.TEST", SPN: "MSSQLSvc/sqlbe2.corp.test:50123", SelfIssued: true, SelfForwardable: true,
				Step: "s4u2proxy", KDCError: 13, ErrorName: "KDC_ERR_BADOPTION", NTStatus: "STATUS_NO_MATCH"},
			{Path: rbcd, User: "alice@CORP.TEST", SPN: "MSSQLSvc/sqlrbcd.corp.test:1433", SelfIssued: true,
				Step: "s4u2proxy", KDCError: 13, ErrorName: "KDC_ERR_BADOPTION", Unprovable: unprovedWhy + "; the S4U2self ticket was not forwardable, which [MS-SFU] accepts for the resource-based delegation of a user who is not sensitive and Samba's KDC refuses"},
		},
	}
	f := triage.NewFinding(triage.DelegationSPNNotAllowed, map[string]string{triage.PHHost: "web01"})
	f.Summary = `web01 (CORP\svc_web) may delegate only to other services (MSSQLSvc/sqlbe.corp.test:1433, MSSQLSvc/sqlbe.corp.test), not to sqlbe2\SALES: its msDS-AllowedToDelegateTo lacks MSSQLSvc/sqlbe2.corp.test:50123 and MSSQLSvc/sqlbe2.corp.test:SALES`
	f.Severity = triage.Critical
	f.Remediation = nil
	f.Links = nil
	return triage.Report{
		ID: "w3b9fr0n", Host: "web01", Status: triage.StatusCritical, StartedAt: started, Duration: 2 * time.Second,
		Findings: []triage.Finding{f},
		Checks: []triage.CheckResult{{Name: "delegation", Status: triage.CheckPass, Duration: 900 * time.Millisecond,
			Detail: `web01 (CORP\svc_web) -> sqlbe: 1 of 1 ticket issued through the front end; web01 (CORP\svc_web) -> sqlbe2\SALES: 0 of 1 ticket issued through the front end; web01 (CORP\svc_webrbcd) -> sqlrbcd: 0 of 1 ticket issued through the front end`}},
		Delegation: d,
	}
}

// backEndReport is a triage of the back end sqlbe, whose front ends web01 and
// app02 are inventory hosts and svc_report an application's account.
func backEndReport() triage.Report {
	web := triage.DelegationPath{FrontEnd: "web01", Account: `CORP\svc_web`, BackEnd: "sqlbe", Instance: triage.Instance{Port: 1433},
		BackEndFQDN: "sqlbe.corp.test", BackEndAccount: `CORP\svc_sqlbe`, Via: "inventory", SelfCredential: true}
	app := triage.DelegationPath{FrontEnd: "app02", Account: `CORP\svc_webnopt`, BackEnd: "sqlbe", Instance: triage.Instance{Port: 1433},
		BackEndFQDN: "sqlbe.corp.test", BackEndAccount: `CORP\svc_sqlbe`, Via: "inventory", SelfCredential: true}
	rs := triage.DelegationPath{Account: `CORP\svc_webnone`, BackEnd: "sqlbe", Instance: triage.Instance{Port: 1433},
		BackEndFQDN: "sqlbe.corp.test", BackEndAccount: `CORP\svc_sqlbe`, Via: "inventory", SelfCredential: true}
	both := []string{"MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test"}
	return triage.Report{
		ID: "b4ck3nd2", Host: "sqlbe", Status: triage.StatusOK, StartedAt: started, Duration: time.Second,
		Findings: []triage.Finding{},
		Checks:   []triage.CheckResult{{Name: "delegation", Status: triage.CheckPass, Duration: 300 * time.Millisecond}},
		Delegation: &triage.DelegationFacts{
			Paths: []triage.DelegationPath{web, app, rs},
			Accounts: []triage.DelegationAccount{
				{Role: triage.RoleFrontEnd, Name: `CORP\svc_web`, Account: account("svc_web", sidWeb, 0x200|triage.UACTrustedToAuthForDelegation), AllowedToDelegateTo: both},
				{Role: triage.RoleBackEnd, Name: `CORP\svc_sqlbe`, Account: account("svc_sqlbe", "S-1-5-21-1004336348-1177238915-682003330-1103", 0x200, both...)},
				{Role: triage.RoleFrontEnd, Name: `CORP\svc_webnopt`, Account: account("svc_webnopt", "S-1-5-21-1004336348-1177238915-682003330-1106", 0x200), AllowedToDelegateTo: both},
				{Role: triage.RoleFrontEnd, Name: `CORP\svc_webnone`, Err: "LDAP search: no answer from dc1.corp.test within 5s"},
			},
		},
	}
}

func TestSecondHop(t *testing.T) {
	tests := []struct {
		name string
		rep  triage.Report
		opt  ThreadOptions
	}{
		{"frontend", frontEndReport(), ThreadOptions{Buttons: true}},
		{"backend", backEndReport(), ThreadOptions{Buttons: true, FrontEnds: []FrontEnd{
			{Host: "web01", ReportID: "7kq2m9xd", Status: triage.StatusWarning, Link: "https://example.slack.com/archives/C0DBA/p1764072000000100"},
			{Host: "app02"},
			{Host: "app03", Unread: true},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := Thread(tt.rep, tt.opt)
			if err != nil {
				t.Fatalf("Thread: %v", err)
			}
			checkThread(t, tt.rep, tt.opt, msgs)
			if msgs[len(msgs)-1].Truncated {
				t.Error("thread Truncated; want all of it shown")
			}
			golden.Check(t, goldenFile(t, "thread.json"), threadJSON(t, msgs))
			golden.Check(t, goldenFile(t, "thread.txt"), []byte(ThreadText(msgs)))
			golden.Check(t, goldenFile(t, "report.md"), []byte(Markdown(tt.rep)))
		})
	}
}

// TestSecondHopReply checks where the second hop goes: a reply of its own, before
// the checks, when the thread has room; in the checks reply when it has not; and
// nowhere for a report without it.
func TestSecondHopReply(t *testing.T) {
	rep := frontEndReport()
	for _, limit := range []int{0, 3, 4} {
		msgs, err := Thread(rep, ThreadOptions{MaxMessages: limit})
		if err != nil {
			t.Fatal(err)
		}
		checkThread(t, rep, ThreadOptions{MaxMessages: limit}, msgs)
		at := -1
		for i, m := range msgs {
			if strings.Contains(messageText(m), "Second hop") {
				at = i
			}
		}
		want := len(msgs) - 2
		if limit == 3 {
			want = len(msgs) - 1
		}
		if at != want {
			t.Errorf("MaxMessages %d: second hop in message %d of %d; want %d", limit, at, len(msgs), want)
		}
	}
	msgs, err := Thread(okReport(), ThreadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if all := allText(msgs); strings.Contains(all, "Second hop") {
		t.Errorf("thread of a report without delegation paths mentions the second hop:\n%s", all)
	}
	if md := Markdown(okReport()); strings.Contains(md, "Second hop") {
		t.Errorf("Markdown of a report without delegation paths mentions the second hop:\n%s", md)
	}
}

// TestSecondHopLimits checks that a host with more paths, answers, users and front
// ends than a reply shows gets "and N more" lines within Slack's limits, the thread
// marked Truncated for what the attached report has, and Markdown with all of it.
func TestSecondHopLimits(t *testing.T) {
	rep := frontEndReport()
	d := rep.Delegation
	var fes []FrontEnd
	for i := range 25 {
		p := d.Paths[1]
		p.BackEnd = fmt.Sprintf("sqlbe%02d", i)
		p.BackEndFQDN = p.BackEnd + ".corp.test"
		d.Paths = append(d.Paths, p)
		for j := range 6 {
			pr := d.Proofs[1]
			pr.Path, pr.User = p, fmt.Sprintf("user%02d@CORP.TEST", j)
			d.Proofs = append(d.Proofs, pr)
		}
		d.Accounts = append(d.Accounts, triage.DelegationAccount{Role: triage.RoleUser, Name: fmt.Sprintf(`CORP\user%02d`, i), Account: account(fmt.Sprintf("user%02d", i), "S-1-5-21-1-2-3-"+fmt.Sprint(2000+i), 0x200)})
		fes = append(fes, FrontEnd{Host: fmt.Sprintf("web%02d", i), ReportID: "7kq2m9xd", Status: triage.StatusOK})
	}
	opt := ThreadOptions{FrontEnds: fes}
	msgs, err := Thread(rep, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkThread(t, rep, opt, msgs)
	if !msgs[len(msgs)-1].Truncated {
		t.Error("thread not Truncated, though paths were left out")
	}
	all := allText(msgs)
	for _, want := range []string{"…and 15 more front ends.", "…and 18 more paths, in the attached report.", "…and 2 more answers of the KDC", "…and 18 more users"} {
		if !strings.Contains(all, want) {
			t.Errorf("thread does not say %q", want)
		}
	}
	md := Markdown(rep)
	for _, p := range d.Paths {
		if !strings.Contains(md, p.BackEnd) {
			t.Errorf("Markdown lacks the path to %s", p.BackEnd)
		}
	}
	if n, want := strings.Count(md, "  - KDC: "), len(d.Proofs); n != want {
		t.Errorf("Markdown has %d answers of the KDC; want %d", n, want)
	}
}

// TestSecondHopHostile checks that names from the evidence stay text: mentions,
// links, backquotes, control and bidirectional characters, and huge names.
func TestSecondHopHostile(t *testing.T) {
	evil := "<!channel> & <http://evil.example|ok> ```x``` \x1b[31m\u202e*bold*\n"
	rep := frontEndReport()
	d := rep.Delegation
	p := triage.DelegationPath{FrontEnd: evil + "web", Account: evil + strings.Repeat("A", 5000), BackEnd: evil, Instance: triage.Instance{Name: evil},
		BackEndFQDN: evil, BackEndAccount: evil, Via: "linked server " + evil, SelfCredential: true}
	d.Paths = append(d.Paths, p)
	d.Accounts = append(d.Accounts,
		triage.DelegationAccount{Role: triage.RoleFrontEnd, Name: p.Account, Err: evil + strings.Repeat("e", 9000)},
		triage.DelegationAccount{Role: triage.RoleUser, Name: evil, Account: &triage.Account{SAMAccountName: evil, NetBIOSDomain: evil}})
	d.Proofs = append(d.Proofs, triage.DelegationProof{Path: p, User: evil, SPN: evil, Step: evil, ErrorName: evil, NTStatus: evil, Err: evil})
	opt := ThreadOptions{FrontEnds: []FrontEnd{{Host: evil, ReportID: evil, Status: "weird<&>", Link: "https://evil.example/a|b>"}, {Host: evil, ReportID: "x", Link: "javascript:alert(1)"}}}
	msgs, err := Thread(rep, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkThread(t, rep, opt, msgs)
	for i, m := range msgs {
		for _, s := range mrkdwnTexts(m) {
			if strings.Contains(s, "\x1b") || strings.Contains(s, "\u202e") {
				t.Errorf("message %d: control or bidirectional character in %q", i, abbrev(s))
			}
			if strings.Contains(s, "evil.example") && strings.Contains(s, "<http") {
				t.Errorf("message %d: a link from the evidence: %q", i, abbrev(s))
			}
		}
	}
	md := Markdown(rep)
	if strings.Contains(md, "\x1b") || strings.Contains(md, "\u202e") || strings.Contains(strings.ReplaceAll(md, `\<`, ""), "<!channel>") {
		t.Errorf("Markdown carries evidence as markup:\n%s", abbrev(md))
	}
}

// TestSecondHopProperties renders random reports with random second hops and front
// ends, and checks what every thread must satisfy (checkThread) and that, when the
// thread is not Truncated, every path is in it.
func TestSecondHopProperties(t *testing.T) {
	n := 100
	if testing.Short() || raceEnabled {
		n = 30
	}
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, 0x2e0f))
		rep := randomReport(r)
		rep.Delegation = randomDelegation(r)
		opt := ThreadOptions{Buttons: r.IntN(2) == 0}
		if r.IntN(3) == 0 {
			opt.MaxMessages = r.IntN(8)
		}
		for range r.IntN(3) * r.IntN(15) {
			opt.FrontEnds = append(opt.FrontEnds, FrontEnd{Host: randText(r, 80), ReportID: pick(r, []string{"", "7kq2m9xd", randText(r, 300)}),
				Status: pick(r, []triage.Status{triage.StatusOK, triage.StatusCritical, "odd"}), Unread: r.IntN(4) == 0,
				Link: pick(r, []string{"", "https://example.slack.com/archives/C1/p1", randText(r, 40)})})
		}
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			msgs, err := Thread(rep, opt)
			if err != nil {
				t.Fatalf("Thread: %v", err)
			}
			checkThread(t, rep, opt, msgs)
			if msgs[len(msgs)-1].Truncated {
				return
			}
			all := allText(msgs)
			w := hopWriter{name: oneLine, text: oneLine}
			for _, g := range hopGroups(rep) {
				for _, h := range g.paths {
					if title := w.title(h.path); !strings.Contains(all, title) {
						t.Errorf("path %q not in the thread, which is not Truncated", abbrev(title))
					}
				}
			}
		})
	}
}

func randomDelegation(r *rand.Rand) *triage.DelegationFacts {
	if r.IntN(4) == 0 {
		return nil
	}
	d := &triage.DelegationFacts{}
	name := func() string { return pick(r, []string{"web01", "sqlbe", `CORP\svc_web`, "", randText(r, 120)}) }
	for range r.IntN(3) * r.IntN(15) {
		p := triage.DelegationPath{FrontEnd: name(), Account: name(), BackEnd: name(), Instance: triage.Instance{Name: pick(r, []string{"", "SALES", randText(r, 20)}), Port: r.IntN(2) * 1433},
			BackEndFQDN: pick(r, []string{"", "sqlbe.corp.test", randText(r, 100)}), BackEndAccount: name(), Via: pick(r, []string{"inventory", "linked server " + randText(r, 40)}), SelfCredential: true}
		d.Paths = append(d.Paths, p)
		for range r.IntN(3) {
			a := triage.DelegationAccount{Role: pick(r, []string{triage.RoleFrontEnd, triage.RoleBackEnd, triage.RoleUser}), Name: pick(r, []string{p.Account, p.BackEndAccount, name()})}
			switch r.IntN(4) {
			case 0:
				a.Err = randText(r, 2000)
			case 1:
			default:
				a.Account = account(randText(r, 30), pick(r, []string{sidWeb, ""}), r.IntN(1<<25))
				for range r.IntN(4) {
					a.AllowedToDelegateTo = append(a.AllowedToDelegateTo, pick(r, []string{"MSSQLSvc/sqlbe.corp.test:1433", randText(r, 100)}))
				}
				for range r.IntN(3) {
					a.AllowedToActOnBehalf = append(a.AllowedToActOnBehalf, triage.Principal{SID: pick(r, []string{sidWeb, randText(r, 20)})})
				}
				a.ProtectedUser = r.IntN(2) == 0
			}
			d.Accounts = append(d.Accounts, a)
		}
		for range r.IntN(3) * r.IntN(4) {
			d.Proofs = append(d.Proofs, triage.DelegationProof{Path: p, User: randText(r, 60), SPN: randText(r, 80), ProxyIssued: r.IntN(3) == 0,
				Step: pick(r, []string{"", "s4u2self", "s4u2proxy", randText(r, 20)}), KDCError: r.IntN(50), ErrorName: pick(r, []string{"", "KDC_ERR_BADOPTION", randText(r, 40)}),
				Unprovable: pick(r, []string{"", randText(r, 3000)}), Err: pick(r, []string{"", randText(r, 500)})})
		}
	}
	return d
}

// TestSecondHopFallback checks that the reply's first block is the
// header "Second hop", and that its fallback text counts the paths and front ends.
func TestSecondHopFallback(t *testing.T) {
	rep := backEndReport()
	msgs, err := Thread(rep, ThreadOptions{FrontEnds: []FrontEnd{{Host: "web01"}, {Host: "app02"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[len(msgs)-2]
	if h, ok := m.Blocks[0].(*slack.HeaderBlock); !ok || h.Text.Text != "Second hop" {
		t.Errorf("second-hop reply starts with %#v; want the header Second hop", m.Blocks[0])
	}
	if want := "Second hop of sqlbe: 3 delegation paths, 2 front ends"; m.Text != want {
		t.Errorf("fallback text = %q; want %q", m.Text, want)
	}
}
