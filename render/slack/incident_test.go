package slackrender

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/triage"
)

var incidentStart = time.Date(2026, 11, 25, 9, 14, 0, 0, time.UTC)

// dcOutage is an incident of n hosts that lost dc2 at 09:14.
func dcOutage(n int) triage.Incident {
	inc := triage.Incident{
		ID: "in7kq2m9", Cause: triage.DCUnreachable, Severity: triage.Critical,
		Title:  "The domain controller cannot be reached",
		Shared: []triage.Factor{{Kind: triage.FactorDC, Value: "dc2.corp.example"}, {Kind: triage.FactorStart, Value: "2026-11-25T09:14:00Z"}},
		Last:   incidentStart.Add(3 * time.Minute),
		Fixes: []triage.Step{{Text: "Check that dc2 answers on the Kerberos port:",
			Command: "Test-NetConnection -ComputerName dc2.corp.example -Port 88", Shell: triage.ShellPowerShell}},
		Links:      []string{"https://learn.microsoft.com/en-us/troubleshoot/windows-server/active-directory/troubleshoot-domain-controller-location-issues"},
		Unaffected: []string{"sqlhost99"},
	}
	for i := range n {
		h := triage.IncidentHost{Host: fmt.Sprintf("sqlhost%02d", i+1), ReportID: fmt.Sprintf("rp%06d", i+1), First: incidentStart.Add(time.Duration(i) * time.Second)}
		inc.Hosts = append(inc.Hosts, h)
	}
	inc.FirstSeen = inc.Hosts[0]
	return inc
}

// lockout is an incident of n hosts whose service account is locked out.
func lockout(n int) triage.Incident {
	inc := triage.Incident{
		ID: "inx4p8wd", Cause: triage.AccountLockedOut, Severity: triage.Critical,
		Title:  "The service account is locked out",
		Shared: []triage.Factor{{Kind: triage.FactorAccount, Value: `CORP\svc_sql`}, {Kind: triage.FactorDC, Value: "dc1.corp.example"}},
		Fixes:  []triage.Step{{Text: "Unlock the account once:", Command: "Unlock-ADAccount -Identity svc_sql", Shell: triage.ShellPowerShell}},
	}
	for i := range n {
		inc.Hosts = append(inc.Hosts, triage.IncidentHost{Host: fmt.Sprintf("sqlapp%02d", i+1), First: incidentStart.Add(-time.Hour)})
	}
	inc.FirstSeen = inc.Hosts[0]
	return inc
}

func typicalIncidentRun() IncidentRun {
	run := IncidentRun{Scope: "prod", Started: incidentStart.Add(5 * time.Minute), Finished: incidentStart.Add(6 * time.Minute),
		Incidents: []triage.Incident{lockout(12), dcOutage(40)}}
	for _, inc := range run.Incidents {
		for _, h := range inc.Hosts {
			run.Hosts = append(run.Hosts, triage.HostState{Host: h.Host, ReportID: h.ReportID, Status: triage.StatusCritical, Causes: []triage.CauseID{inc.Cause}})
		}
	}
	run.Incidents[1].PerHost = []triage.Step{{Text: "From <HOST>, find a domain controller now, bypassing the cache:",
		Command: "nltest /dsgetdc:corp.example /force /kdc", Shell: triage.ShellCmd}}
	run.Hosts = append(run.Hosts,
		triage.HostState{Host: "sqlhalf", ReportID: "rp000098", Status: triage.StatusUnknown},
		triage.HostState{Host: "sqlhost99", ReportID: "rp000099", Status: triage.StatusOK},
		triage.HostState{Host: "sqlodd01", ReportID: "rp000100", Status: triage.StatusWarning, Causes: []triage.CauseID{triage.ClockSkew}},
		triage.HostState{Host: "sqlgone", Status: triage.StatusUnknown, Error: "the agent did not answer in time"})
	run.Unexplained = []string{"sqlodd01"}
	return run
}

func TestIncidentThread(t *testing.T) {
	run := typicalIncidentRun()
	msgs, err := IncidentThread(run, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, goldenFile(t, "incidents.golden.json"), threadJSON(t, msgs))
	golden.Check(t, goldenFile(t, "incidents.golden.md"), []byte(IncidentMarkdown(run, time.UTC)))

	// Worst first: the DC outage has more hosts than the lockout.
	all := ThreadText(msgs)
	if i, j := strings.Index(all, "reached · critical"), strings.Index(all, "locked out · critical"); i < 0 || j < 0 || i > j {
		t.Errorf("incidents not worst first (dc.unreachable at %d, account.locked_out at %d):\n%s", i, j, all)
	}
	if n := strings.Count(all, "Unlock-ADAccount"); n != 1 {
		t.Errorf("the lockout's fix appears %d times; want once", n)
	}
	for _, want := range []string{"same DC dc2.corp.example", "40 hosts", "first on sqlhost01", "1 host nothing explains", "sqlodd01", "sqlgone",
		"The domain controller cannot be reached · critical · in7kq2m9", // the title, then the ID
		"since 09:14 UTC (all within one minute)",
		"Fix, the same for all of them\n  │ 1. Check that dc2 answers",
		"On each affected host (its report has the exact command):\n  │ 1. From <HOST>, find a domain controller",
		"1 incomplete", "Incomplete (1): sqlhalf", "Not checked (1): sqlgone"} {
		if !strings.Contains(all, want) {
			t.Errorf("thread lacks %q:\n%s", want, all)
		}
	}
	// The minute is said once; a step of each host is named, its command in the reports.
	for _, unwant := range []string{"began the same minute", "nltest", "+00:00"} {
		if strings.Contains(all, unwant) {
			t.Errorf("thread has %q:\n%s", unwant, all)
		}
	}
	if md := IncidentMarkdown(run, time.UTC); !strings.Contains(md, "- began the same minute, 2026-11-25 09:14 UTC\n") {
		t.Errorf("the file does not say the minute with its date:\n%s", md)
	}
}

// TestIncidentThreadLastReply: the last reply names the hosts no other message
// does (not checked, incomplete) and is left out when there are none: the parent
// has the counts.
func TestIncidentThreadLastReply(t *testing.T) {
	run := IncidentRun{Scope: "prod", Started: incidentStart, Incidents: []triage.Incident{dcOutage(2)}}
	for _, h := range run.Incidents[0].Hosts {
		run.Hosts = append(run.Hosts, triage.HostState{Host: h.Host, ReportID: h.ReportID, Status: triage.StatusCritical, Causes: []triage.CauseID{triage.DCUnreachable}})
	}
	run.Hosts = append(run.Hosts, triage.HostState{Host: "sqlhost99", Status: triage.StatusOK})
	msgs, err := IncidentThread(run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages; want the parent and the incident's reply:\n%s", len(msgs), ThreadText(msgs))
	}
	run.Hosts = append(run.Hosts, triage.HostState{Host: "sqlhalf", ReportID: "rp1", Status: triage.StatusUnknown})
	msgs, err = IncidentThread(run, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := strings.Join(sectionTexts(msgs[len(msgs)-1]), "\n")
	if len(msgs) != 3 || !strings.HasPrefix(last, "*Incomplete* (1): *sqlhalf*") || strings.Contains(last, "healthy") {
		t.Errorf("last reply = %q (of %d messages); want only the incomplete host", last, len(msgs))
	}
	if parent := strings.Join(sectionTexts(msgs[0]), "\n"); !strings.Contains(parent, "*1* incomplete") {
		t.Errorf("parent does not count the incomplete host:\n%s", parent)
	}
}

// TestIncidentFixWords: an incident with no step done once says so plainly, and
// its steps on each host are named under their own title.
func TestIncidentFixWords(t *testing.T) {
	for _, tt := range []struct {
		name    string
		perHost []triage.Step
		want    string
	}{
		{"per host only", []triage.Step{{Text: "Register the SPN of <HOST>", Command: "setspn -S MSSQLSvc/<HOST> <ACCOUNT>"}},
			"*Fix, the same for all of them*: nothing; every step is done on each host, below.\n*On each affected host* (its report has the exact command):\n*1.* Register the SPN of &lt;HOST&gt;"},
		{"none", nil, "*Fix, the same for all of them*: none is known; each host's report has what was found."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inc := dcOutage(2)
			inc.Fixes, inc.PerHost = nil, tt.perHost
			msgs, err := IncidentThread(IncidentRun{Started: incidentStart, Incidents: []triage.Incident{inc}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			reply := strings.Join(sectionTexts(msgs[1]), "\n")
			if !strings.Contains(reply, tt.want) || strings.Contains(reply, "setspn") {
				t.Errorf("reply lacks %q or shows a host's command:\n%s", tt.want, reply)
			}
			md := IncidentMarkdown(IncidentRun{Incidents: []triage.Incident{inc}}, nil)
			if !strings.Contains(md, "### Fix, the same for all of them\n\nNo") {
				t.Errorf("the file does not say there is nothing to do once:\n%s", md)
			}
		})
	}
}

func TestValueSpan(t *testing.T) {
	for in, want := range map[string]string{
		`CORP\svc_sql`:   "`CORP\\svc_sql`",
		"10.40.7.0/24":   "`10.40.7.0/24`",
		"a<!here>&*b*":   "`a&lt;!here&gt;&amp;*b*`",
		"x`y":            "“x`y”",
		"x```<!channel>": "“x`\u200b`\u200b`&lt;!channel&gt;”",
		"":               "",
	} {
		if got := valueSpan(in); got != want {
			t.Errorf("valueSpan(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestIncidentProgress(t *testing.T) {
	m := IncidentProgress("prod <!here>", incidentStart, 37, 400)
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(sectionTexts(m), "\n")
	if !strings.Contains(text, "37 of 400 hosts checked") || strings.Contains(text, "<!here>") {
		t.Errorf("progress = %q; want 37 of 400 hosts checked and the scope escaped", text)
	}
}

// bigRun is an incident run of n hosts: one incident of most of them, many small
// ones, hosts nothing explains and hosts not checked, names hostile when asked.
func bigRun(r *rand.Rand, n int, hostile bool) IncidentRun {
	name := func(i int) string {
		if hostile {
			return fmt.Sprintf("sqlhost%05d", i) + strings.Repeat("<&>`", 20+r.IntN(40)) + "\u202e\n"
		}
		return fmt.Sprintf("sqlhost%05d.corp.example", i)
	}
	run := IncidentRun{Started: incidentStart, Finished: incidentStart.Add(10 * time.Minute)}
	big := dcOutage(1)
	big.Hosts = nil
	big.Unaffected = nil
	var small []triage.Incident
	for i := range n {
		h := triage.HostState{Host: name(i), ReportID: triage.NewID(), Status: triage.StatusCritical, Causes: []triage.CauseID{triage.DCUnreachable}}
		switch {
		case i < n*6/10:
			big.Hosts = append(big.Hosts, triage.IncidentHost{Host: h.Host, ReportID: h.ReportID, First: incidentStart})
		case i < n*7/10:
			k := (i - n*6/10) / 20
			for len(small) <= k {
				inc := lockout(1)
				inc.ID, inc.Hosts = fmt.Sprintf("insmall%d", k), nil
				if hostile {
					inc.Shared = []triage.Factor{{Kind: triage.FactorAccount, Value: strings.Repeat("CORP\\<!channel>&`", 30)}, {Kind: "<x>", Value: "\u202e"}}
				}
				small = append(small, inc)
			}
			small[k].Hosts = append(small[k].Hosts, triage.IncidentHost{Host: h.Host, First: incidentStart})
			h.Causes = []triage.CauseID{triage.AccountLockedOut}
		case i < n*8/10:
			h.Status, h.Causes = triage.StatusWarning, []triage.CauseID{triage.ClockSkew, triage.SPNDuplicate}
			run.Unexplained = append(run.Unexplained, h.Host)
		case i < n*9/10:
			h.Status, h.ReportID, h.Causes, h.Error = triage.StatusUnknown, "", nil, "the agent <did not> answer & more"
		default:
			h.Status, h.Causes = triage.StatusOK, nil
			big.Unaffected = append(big.Unaffected, h.Host)
		}
		run.Hosts = append(run.Hosts, h)
	}
	for i := range small {
		small[i].FirstSeen = small[i].Hosts[0]
	}
	big.FirstSeen = big.Hosts[0]
	run.Incidents = append(small, big)
	return run
}

// TestIncidentThreadLimits renders runs of up to 10,000 hosts and checks that
// every message passes Validate, that the thread has a bounded number of
// messages, and that what it leaves out is in the file.
func TestIncidentThreadLimits(t *testing.T) {
	for _, n := range []int{10, 1000, 10000} {
		for _, hostile := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d hosts hostile=%v", n, hostile), func(t *testing.T) {
				run := bigRun(rand.New(rand.NewPCG(uint64(n), 7)), n, hostile)
				msgs, err := IncidentThread(run, time.UTC)
				if err != nil {
					t.Fatal(err)
				}
				// parent, 10 incidents of at most 2 messages, the rest, 2 of unexplained, healthy
				if max := 1 + 2*maxIncidentReplies + 1 + maxListReplies + 1; len(msgs) > max {
					t.Errorf("%d messages; want at most %d", len(msgs), max)
				}
				for i, m := range msgs {
					if err := Validate(m); err != nil {
						t.Errorf("message %d: %v", i, err)
					}
					if m.Truncated && i != len(msgs)-1 {
						t.Errorf("message %d is Truncated; only the last may be", i)
					}
				}
				if n >= 1000 && !msgs[len(msgs)-1].Truncated {
					t.Errorf("a run of %d hosts fits in Slack whole; want the rest in a file", n)
				}
				md := IncidentMarkdown(run, time.UTC)
				_, every, _ := strings.Cut(md, "## Every host\n\n")
				if rows := strings.Count(every, "\n") - 2; rows != n {
					t.Errorf("the file lists %d hosts; want %d", rows, n)
				}
				if !strings.Contains(md, "## 1. `dc.unreachable`") {
					t.Errorf("the file does not start with the worst incident")
				}
				t.Logf("%d hosts: %d messages, file %d bytes", n, len(msgs), len(md))
			})
		}
	}
}

func TestThreadNamesSharedIncident(t *testing.T) {
	rep := loadReport(t, "testdata/demo.json")
	inc := dcOutage(13)
	// Its first host is the report's (sqlhost01); the report's zone is -05:00, the
	// incident's times are in UTC, its minute said once.
	for _, tt := range []struct {
		name, link, want string
	}{
		{"linked", "https://example.slack.com/archives/C0INC/p1764000000000100",
			"also seen on *12 other hosts* since 09:14 UTC (all within one minute), same DC `dc2.corp.example` — <https://example.slack.com/archives/C0INC/p1764000000000100|incident in7kq2m9>"},
		{"by ID", "", "also seen on *12 other hosts* since 09:14 UTC (all within one minute), same DC `dc2.corp.example` — incident `in7kq2m9`: `/authtriage incident` shows it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep.StartedAt = incidentStart.Add(time.Hour)
			msgs, err := Thread(rep, ThreadOptions{Incidents: []IncidentRef{{Incident: inc, Link: tt.link}}})
			if err != nil {
				t.Fatal(err)
			}
			parent := strings.Join(sectionTexts(msgs[0]), "\n")
			if !strings.Contains(parent, tt.want) {
				t.Errorf("parent lacks %q:\n%s", tt.want, parent)
			}
		})
	}
}

func TestSummaryThreadIncidents(t *testing.T) {
	s := typicalSummary()
	inc := dcOutage(2)
	inc.Hosts[0].Host, inc.Hosts[1].Host = "sqlhost01", "sqlhost06"
	inc.FirstSeen = inc.Hosts[0]
	s.Run.Hosts = append(s.Run.Hosts, hostState("sqlhost06", "k2m3n4p5", triage.StatusCritical, triage.DCUnreachable))
	msgs, err := summaryThread(s, []triage.Incident{inc}, fleetZone)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, goldenFile(t, "summary.golden.json"), threadJSON(t, msgs))
	replies := strings.Join(sectionTexts(msgs[1]), "\n")
	if strings.Contains(replies, "*sqlhost06*  ") || strings.Count(replies, "sqlhost06") != 1 {
		t.Errorf("sqlhost06, explained by the incident alone, is listed again:\n%s", replies)
	}
	if !strings.Contains(replies, "*sqlhost01* · `spn.duplicate`") {
		t.Errorf("sqlhost01's other cause is not listed:\n%s", replies)
	}
}

// TestSummaryIncidentFix: an incident's line in a summary shows the first step of
// its fix with a short command; a fix not all shown sends people to the attached
// file, which is then attached (the last reply is Truncated).
func TestSummaryIncidentFix(t *testing.T) {
	long := strings.Repeat("Set-ADUser -Identity svc_sql -Replace @{x=1}\n", 3)
	for _, tt := range []struct {
		name      string
		fixes     []triage.Step
		perHost   []triage.Step
		want      string
		truncated bool
	}{
		{"one short step", []triage.Step{{Text: "Check that dc2 answers:", Command: "Test-NetConnection dc2 -Port 88"}}, nil,
			"      Fix: Check that dc2 answers:\n```Test-NetConnection dc2 -Port 88```", false},
		{"a long command", []triage.Step{{Text: "Set the account:", Command: long}}, nil,
			"      Fix: Set the account:\n      In full: see the attached file.", true},
		{"more steps", []triage.Step{{Text: "First:"}, {Text: "Second:"}}, []triage.Step{{Text: "On <HOST>:"}},
			"      Fix: First:\n      …and 2 more steps: see the attached file.", true},
		{"per host only", nil, []triage.Step{{Text: "On <HOST>:"}}, "      Fix: on each host, as its report says.", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := typicalSummary()
			inc := dcOutage(2)
			inc.Fixes, inc.PerHost = tt.fixes, tt.perHost
			inc.Hosts[0].Host, inc.Hosts[1].Host = "sqlhost01", "sqlhost06"
			msgs, err := summaryThread(s, []triage.Incident{inc}, nil)
			if err != nil {
				t.Fatal(err)
			}
			replies := strings.Join(sectionTexts(msgs[1]), "\n")
			if !strings.Contains(replies, tt.want) {
				t.Errorf("replies lack %q:\n%s", tt.want, replies)
			}
			last := msgs[len(msgs)-1]
			if last.Truncated != tt.truncated {
				t.Errorf("Truncated = %v; want %v", last.Truncated, tt.truncated)
			}
			if note := "Every incident's fix in full is in the attached file"; tt.truncated && !strings.Contains(strings.Join(sectionTexts(last), "\n"), note) {
				t.Errorf("the last reply does not say the fix is in the file:\n%s", ThreadText(msgs))
			}
		})
	}
}
