package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/triage"
)

// fakeCorrelator is a FAKE Correlator: a finding of warning or worse is one
// signature naming dc2, and a cause on two hosts or more is an incident.
type fakeCorrelator struct{}

func (fakeCorrelator) Signatures(rep triage.Report) []triage.Signature {
	var out []triage.Signature
	for _, f := range rep.Findings {
		if f.Severity >= triage.Warning {
			out = append(out, triage.Signature{Host: rep.Host, ReportID: rep.ID, Cause: f.Cause, Severity: f.Severity,
				First: rep.StartedAt, Last: rep.StartedAt, Factors: []triage.Factor{{Kind: triage.FactorDC, Value: "dc2.corp.example"}}})
		}
	}
	return out
}

func (fakeCorrelator) Correlate(sigs []triage.Signature, checked []string) []triage.Incident {
	byCause := map[triage.CauseID]*triage.Incident{}
	var order []triage.CauseID
	for _, s := range sigs {
		inc := byCause[s.Cause]
		if inc == nil {
			inc = &triage.Incident{ID: "in" + strings.ReplaceAll(string(s.Cause), ".", ""), Cause: s.Cause, Severity: s.Severity,
				Shared: s.Factors, Fixes: []triage.Step{{Text: "Fix " + string(s.Cause) + " once"}}}
			byCause[s.Cause] = inc
			order = append(order, s.Cause)
		}
		if !slices.ContainsFunc(inc.Hosts, func(h triage.IncidentHost) bool { return h.Host == s.Host }) {
			inc.Hosts = append(inc.Hosts, triage.IncidentHost{Host: s.Host, ReportID: s.ReportID, First: s.First})
		}
	}
	var out []triage.Incident
	for _, c := range order {
		if inc := byCause[c]; len(inc.Hosts) >= 2 {
			inc.FirstSeen = inc.Hosts[0]
			out = append(out, *inc)
		}
	}
	return out
}

func (fakeCorrelator) Unexplained(sigs []triage.Signature, incs []triage.Incident) []string {
	var out []string
	for _, s := range sigs {
		if !slices.ContainsFunc(incs, func(i triage.Incident) bool { return i.Cause == s.Cause }) && !slices.Contains(out, s.Host) {
			out = append(out, s.Host)
		}
	}
	return out
}

// fleetOf is a FAKE Fleet: hosts, all tagged prod.
type fleetOf []string

func (f fleetOf) Hosts() []string { return f }
func (f fleetOf) Tagged(tag string) ([]string, bool) {
	if tag == "prod" {
		return f, true
	}
	return nil, false
}

// recentSigs is a FAKE SignatureStore.
type recentSigs []triage.Signature

func (r recentSigs) RecentSignatures(context.Context, time.Time) ([]triage.Signature, error) {
	return slices.Clone(r), nil
}

func hostNames(n int) []string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = fmt.Sprintf("sqlhost%05d", i+1)
	}
	return hs
}

// The incident command triages every host of the tag, shows its progress in the
// parent, and posts one thread: the incidents, each fix once.
func TestIncidentCommandPostsOneThread(t *testing.T) {
	hosts := hostNames(40)
	h := newHarness(t, func(o *Options) {
		o.Inventory = inventoryOf(hosts)
		o.Fleet = fleetOf(hosts)
		o.Correlator = fakeCorrelator{}
		o.Workers = 4
	})
	code, body := h.slash(dba, incident, "incident prod")
	if code != 200 || !strings.Contains(body, "Looking at 40 hosts") {
		t.Fatalf("ack = %d %s; want it to say it looks at 40 hosts", code, body)
	}
	parent := h.wait("chat.postMessage", 1)[0]
	if b := parent.Params.Get("blocks"); !strings.Contains(b, "0 of 40 hosts checked") {
		t.Errorf("first parent = %s; want 0 of 40 hosts checked", b)
	}
	// The final parent: the incidents.
	var final string
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		calls, err := h.fake.WaitCalls(ctx, "chat.update", n)
		if err != nil {
			t.Fatalf("no final parent: %v", err)
		}
		if b := calls[n-1].Params.Get("blocks"); strings.Contains(b, "Incidents: prod") {
			final = b
			break
		}
	}
	if got := len(h.tr.calls()); got != 40 {
		t.Errorf("%d triages; want 40", got)
	}
	updates := h.fake.Calls("chat.update")
	if len(updates) < 2 {
		t.Errorf("%d updates of the parent; want progress before the result", len(updates))
	}
	// ProgressEvery is 1 ms, but an incident run's parent waits 10 s between
	// updates: the first one shows at once, and this run is done long before
	// the next.
	if n := len(updates) - 1; n > 1 {
		t.Errorf("%d progress updates; want 1, the next after 10 s", n)
	}
	for _, u := range updates[:len(updates)-1] {
		if !strings.Contains(u.Params.Get("blocks"), "hosts checked") {
			t.Errorf("a progress update does not count hosts: %s", u.Params.Get("blocks"))
		}
	}
	if !strings.Contains(final, "dc.unreachable") || !strings.Contains(final, "40 hosts") {
		t.Errorf("final parent = %s; want dc.unreachable on 40 hosts", final)
	}
	parentTS := updates[0].Params.Get("ts")
	h.wait("chat.postMessage", 3)
	all := ""
	for _, r := range h.fake.Calls("chat.postMessage")[1:] {
		if r.Params.Get("thread_ts") != parentTS {
			t.Errorf("reply under %q; want the parent's %q", r.Params.Get("thread_ts"), parentTS)
		}
		all += r.Params.Get("blocks")
	}
	if n := strings.Count(all, "Fix dc.unreachable once"); n != 1 {
		t.Errorf("the incident's fix appears %d times; want once", n)
	}
	// Every host's report is stored, in the incident's thread.
	rec, err := h.db.Report(t.Context(), reportID(1))
	if err != nil || rec.ThreadTS != parentTS {
		t.Errorf("report 1 = %+v, %v; want it stored in the incident's thread", rec.ThreadTS, err)
	}
}

// With package correlate, the demo incident on every host is one incident.
func TestIncidentCommandWithCorrelate(t *testing.T) {
	hosts := hostNames(6)
	h := newHarness(t, func(o *Options) {
		o.Inventory = inventoryOf(hosts)
		o.Fleet = fleetOf(hosts)
		o.Correlator = Correlate(correlate.Options{})
	})
	if code, _ := h.slash(dba, incident, "incident prod"); code != 200 {
		t.Fatal(code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		calls, err := h.fake.WaitCalls(ctx, "chat.update", n)
		if err != nil {
			t.Fatalf("no final parent: %v", err)
		}
		if b := calls[n-1].Params.Get("blocks"); strings.Contains(b, "Incidents: prod") {
			if !strings.Contains(b, "`dc.unreachable` on *6 hosts*") {
				t.Errorf("final parent = %s; want dc.unreachable on 6 hosts", b)
			}
			return
		}
	}
}

// A fleet too large for a thread gets its full run as a file, uploaded through
// files.getUploadURLExternal and files.completeUploadExternal.
func TestIncidentCommandAttachesBigFleet(t *testing.T) {
	hosts := hostNames(300)
	h := newHarness(t, func(o *Options) {
		o.Inventory = inventoryOf(hosts[:1])
		o.Fleet = fleetOf(hosts)
		o.Correlator = fakeCorrelator{}
		o.Workers = 16
		o.NewID = nil // the store reserves the IDs
	})
	if code, _ := h.slash(dba, incident, "incident"); code != 200 {
		t.Fatal(code)
	}
	complete := h.wait("files.completeUploadExternal", 1)
	if got := complete[0].Params.Get("thread_ts"); got == "" {
		t.Errorf("file shared at the top level; want it in the incident's thread")
	}
	uploads := h.wait("files.getUploadURLExternal", 1)
	if name := uploads[0].Params.Get("filename"); !strings.HasPrefix(name, "authtriage-incidents-") {
		t.Errorf("file name = %q", name)
	}
	var content []byte
	for i := 1; i < 100; i++ {
		if _, b, ok := h.fake.Upload(fmt.Sprintf("F%08d", i)); ok {
			content = b
			break
		}
	}
	if n := strings.Count(string(content), "| sqlhost"); n < 300 {
		t.Errorf("the file lists %d host rows; want every one of 300", n)
	}
	if got := len(h.tr.calls()); got != 300 {
		t.Errorf("%d triages; want 300", got)
	}
}

func TestIncidentCommandRefusals(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Fleet = fleetOf{"sqlhost01", "sqlhost02"}
		o.Correlator = fakeCorrelator{}
		o.MaxIncidentHosts = 1
	})
	for _, c := range []struct{ text, want string }{
		{"incident nosuchtag", "neither a host of authtriage's inventory nor a tag"},
		{"incident prod", "That is 2 hosts; an incident looks at 1 at most"},
		{"incident sqlhost01:1433", "leave out the instance"},
	} {
		if _, body := h.slash(dba, incident, c.text); !strings.Contains(body, c.want) {
			t.Errorf("%q answered %s; want %q", c.text, body, c.want)
		}
	}
	h.stop()
	if got := h.tr.calls(); len(got) != 0 {
		t.Errorf("triages = %v; want none", got)
	}
}

// A check whose cause other hosts have too says so in its parent.
func TestCheckSaysCauseIsShared(t *testing.T) {
	var others recentSigs
	for _, host := range []string{"sqlhost07", "sqlhost08"} {
		others = append(others, triage.Signature{Host: host, ReportID: "rpother0", Cause: triage.DCUnreachable, Severity: triage.Critical,
			Factors: []triage.Factor{{Kind: triage.FactorDC, Value: "dc2.corp.example"}}})
	}
	h := newHarness(t, func(o *Options) {
		o.Correlator = fakeCorrelator{}
		o.Signatures = others
	})
	if code, _ := h.slash(dba, incident, "check sqlhost01"); code != 200 {
		t.Fatal(code)
	}
	final := h.wait("chat.update", 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for n := len(final); ; n++ {
		calls, err := h.fake.WaitCalls(ctx, "chat.update", n)
		if err != nil {
			t.Fatalf("no final parent: %v", err)
		}
		b := calls[n-1].Params.Get("blocks")
		if strings.Contains(b, "CRITICAL") {
			if !strings.Contains(b, "also seen on *2 other hosts*") || !strings.Contains(b, "same DC `dc2.corp.example`") || !strings.Contains(b, "incident `indcunreachable`") {
				t.Errorf("final parent does not say the cause is shared: %s", b)
			}
			return
		}
	}
}
