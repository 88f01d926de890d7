package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// hostileFleet carries payload in every field of a fleet that can come from evidence
// or the inventory: host names, an incident's ID, title, shared values, fixes and
// links, and a host's error.
func hostileFleet() Fleet {
	rep := hostileReport()
	at := rep.StartedAt
	inc := triage.Incident{
		ID: "i" + payload, Cause: triage.CauseID("dc.unreachable" + payload), Severity: triage.Critical, Title: "Title " + payload,
		Shared: []triage.Factor{
			{Kind: triage.FactorDC, Value: "dc2" + payload},
			{Kind: triage.FactorKind("kind" + payload), Value: payload},
			{Kind: triage.FactorStart, Value: payload},
		},
		FirstSeen:  triage.IncidentHost{Host: rep.Host, ReportID: rep.ID, First: at},
		Hosts:      []triage.IncidentHost{{Host: rep.Host, ReportID: "r" + payload, First: at}, {Host: "b" + payload, First: at}},
		Unaffected: []string{"c" + payload},
		Last:       at,
		Fixes:      []triage.Step{{Text: "Fix " + payload, Command: "nltest /dsgetdc:" + payload}},
		PerHost:    []triage.Step{{Text: "On each " + payload, Command: "setspn -S " + payload}},
		Links:      []string{"https://learn.microsoft.com/" + payload},
	}
	other := rep
	other.Host, other.ID = "u"+payload, "x"+payload
	return Fleet{
		CheckedAt: at,
		Hosts: []triage.HostState{
			triage.StateOf(rep), triage.StateOf(other),
			{Host: "e" + payload, Status: triage.StatusUnknown, Error: "nothing to check for e" + payload},
		},
		Incidents:   []triage.Incident{inc},
		Unexplained: []string{other.Host},
		Reports:     []triage.Report{rep, other},
	}
}

func TestFleetTextShowsHostileEvidenceEscaped(t *testing.T) {
	for _, colour := range []bool{false, true} {
		var b bytes.Buffer
		if err := FleetText(&b, hostileFleet(), TextOptions{Color: colour}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if colour {
			out = ourColours.ReplaceAllString(out, "")
		}
		for i, r := range out {
			if unsafeRune(r) {
				t.Errorf("colour %v: %U reaches the terminal at byte %d:\n%s", colour, r, i, out)
				break
			}
		}
		for _, want := range []string{
			`(incident i` + `svc\x1b]0;pwned`,            // the incident's ID
			`same DC dc2svc\x1b]0;pwned`,                 // a shared value
			`nltest /dsgetdc:svc\x1b]0;pwned`,            // a fix
			`  UNKNOWN  esvc\x1b]0;pwned`,                // a host not checked
			`began the same minute, svc\x1b]0;pwned\x07`, // a start that is no time
			`1) On each svc\x1b]0;pwned`,                 // a step on each host
		} {
			if !strings.Contains(out, want) {
				t.Errorf("colour %v: the reader does not see %q:\n%s", colour, want, out)
			}
		}
	}
}

// FuzzFleetText: whatever the names, the text view has no unsafe character and
// FleetJSON writes an object that reads back.
func FuzzFleetText(f *testing.F) {
	f.Add("sqlhost01", "dc2.corp.example", `CORP\svc_sql`, "nltest /sc_query:corp.example")
	f.Add(payload, payload, payload, payload)
	f.Fuzz(func(t *testing.T, host, dc, account, command string) {
		fl := hostileFleet()
		fl.Hosts[0].Host, fl.Incidents[0].Hosts[0].Host, fl.Reports[0].Host = host, host, host
		fl.Incidents[0].Shared[0].Value = dc
		fl.Incidents[0].Shared = append(fl.Incidents[0].Shared, triage.Factor{Kind: triage.FactorAccount, Value: account})
		fl.Incidents[0].Fixes[0].Command = command
		var b bytes.Buffer
		if err := FleetText(&b, fl, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, r := range b.String() {
			if unsafeRune(r) {
				t.Fatalf("%U reaches the terminal at byte %d", r, i)
			}
		}
		b.Reset()
		if err := FleetJSON(&b, fl); err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatalf("FleetJSON wrote no JSON object: %v", err)
		}
	})
}

func TestFleetStatus(t *testing.T) {
	tests := []struct {
		statuses []triage.Status
		errs     int
		want     triage.Status
	}{
		{nil, 0, triage.StatusUnknown},
		{[]triage.Status{triage.StatusOK, triage.StatusOK}, 0, triage.StatusOK},
		{[]triage.Status{triage.StatusOK, triage.StatusWarning}, 0, triage.StatusWarning},
		{[]triage.Status{triage.StatusWarning, triage.StatusUnknown}, 0, triage.StatusUnknown},
		{[]triage.Status{triage.StatusUnknown, triage.StatusCritical, triage.StatusOK}, 0, triage.StatusCritical},
		{[]triage.Status{triage.StatusOK}, 1, triage.StatusUnknown},
		{[]triage.Status{triage.StatusCritical}, 1, triage.StatusCritical},
		{[]triage.Status{"bogus"}, 0, "bogus"}, // ranks as unknown; its exit code is 3
	}
	for _, tt := range tests {
		var f Fleet
		for i, s := range tt.statuses {
			f.Hosts = append(f.Hosts, triage.HostState{Host: fmt.Sprint("h", i), Status: s})
		}
		for i := range tt.errs {
			f.Hosts = append(f.Hosts, triage.HostState{Host: fmt.Sprint("e", i), Status: triage.StatusUnknown, Error: "no"})
		}
		if got := f.Status(); got != tt.want {
			t.Errorf("Status(%v, %d not checked) = %q; want %q", tt.statuses, tt.errs, got, tt.want)
		}
	}
}

// TestFleetTextLimits: an incident of many hosts lists the first 20 and counts the
// rest, as it does for the hosts not affected past 10; the count line counts them all.
func TestFleetTextLimits(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 14, 0, 0, time.UTC)
	var f Fleet
	inc := triage.Incident{ID: "abcd2345", Cause: triage.AccountLockedOut, Severity: triage.Critical,
		Shared: []triage.Factor{{Kind: triage.FactorAccount, Value: `CORP\svc_sql`}}, Last: at}
	for i := range 40 {
		h := fmt.Sprintf("sql%02d", i)
		st := triage.StatusCritical
		if i >= 25 {
			st = triage.StatusOK
			inc.Unaffected = append(inc.Unaffected, h)
		} else {
			inc.Hosts = append(inc.Hosts, triage.IncidentHost{Host: h, First: at.Add(time.Duration(i) * time.Second)})
		}
		f.Hosts = append(f.Hosts, triage.HostState{Host: h, Status: st})
	}
	inc.FirstSeen = inc.Hosts[0]
	f.Incidents = []triage.Incident{inc}
	var b bytes.Buffer
	if err := FleetText(&b, f, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"CRITICAL  40 hosts: 1 incident on 25 hosts, 0 hosts nothing explains, 15 healthy  (0s)\n",
		"   - sql19                2026-11-24 09:14:19 UTC\n   - ...and 5 more (--output json lists them all)\n",
		"Shared: same service account CORP\\svc_sql\n",
		"Not affected, checked in the same window: 15 hosts: sql25, sql26, sql27, sql28, sql29, sql30, sql31, sql32, sql33, sql34 and 5 more\n",
		"\nHosts: 25 critical, 15 ok\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sql20 ") {
		t.Errorf("the 21st host is listed:\n%s", out)
	}
}

// TestFleetTextIncidentFix: the steps done once are under "once", the steps that
// name one host's own values under "on each affected host" without their command
// (each report has it filled in), and an incident with nothing to do once says so;
// the minute the hosts began together is said once, with the first time.
func TestFleetTextIncidentFix(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 14, 0, 0, time.UTC)
	perHost := []triage.Step{{Text: "Register the SPN of <HOST>", Command: "setspn -S MSSQLSvc/<HOST>:1433 <ACCOUNT>"}}
	for _, tt := range []struct {
		name         string
		fixes        []triage.Step
		want, unwant []string
	}{
		{"both", []triage.Step{{Text: "Unlock the account once", Command: "Unlock-ADAccount -Identity svc_sql"}},
			[]string{"   Fix, the same for all of them:\n   1) Unlock the account once\n      Unlock-ADAccount -Identity svc_sql\n",
				"   On each affected host (its report has the exact command):\n   1) Register the SPN of <HOST>\n"},
			[]string{"setspn"}},
		{"per host only", nil,
			[]string{"   Fix, the same for all of them: nothing; every step is done on each host, below.\n",
				"   On each affected host (its report has the exact command):\n   1) Register the SPN of <HOST>\n"},
			[]string{"setspn"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inc := triage.Incident{ID: "abcd2345", Cause: triage.SPNMissing, Severity: triage.Warning,
				Shared: []triage.Factor{{Kind: triage.FactorOwner, Value: `CORP\svc_sql`}, {Kind: triage.FactorStart, Value: "2026-11-24T09:14:00Z"}},
				Fixes:  tt.fixes, PerHost: perHost,
				Hosts: []triage.IncidentHost{{Host: "sql01", First: at}, {Host: "sql02", First: at.Add(30 * time.Second)}},
				Last:  at.Add(time.Minute)}
			inc.FirstSeen = inc.Hosts[0]
			var b bytes.Buffer
			if err := FleetText(&b, Fleet{Incidents: []triage.Incident{inc}}, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			want := append(tt.want, "Shared: same SPN owner CORP\\svc_sql\n",
				"(first 2026-11-24 09:14:00 UTC (all within one minute), last at 2026-11-24 09:15:00 UTC)")
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("view lacks %q:\n%s", w, out)
				}
			}
			for _, u := range append(tt.unwant, "began the same minute") {
				if strings.Contains(out, u) {
					t.Errorf("view has %q:\n%s", u, out)
				}
			}
		})
	}
}

// TestFleetJSONEmptyLists: lists with nothing in them are [] and never null, so that
// a program can iterate them without a check.
func TestFleetJSONEmptyLists(t *testing.T) {
	var b bytes.Buffer
	f := Fleet{Incidents: []triage.Incident{{ID: "x"}}}
	if err := FleetJSON(&b, f); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "null") {
		t.Errorf("FleetJSON writes null:\n%s", out)
	}
	for _, k := range []string{`"checked_at"`, `"hosts": []`, `"unexplained": []`, `"reports": []`, `"shared": []`, `"fixes": []`} {
		if !strings.Contains(out, k) {
			t.Errorf("FleetJSON lacks %s:\n%s", k, out)
		}
	}
	if f.Incidents[0].Shared != nil {
		t.Errorf("FleetJSON changed its argument")
	}
}
