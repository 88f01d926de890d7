package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/slackfake"
	"github.com/authtriage/authtriage/triage"
)

// fakeBatcher is a FAKE Batcher: it groups hosts as groups says, and its Sweep
// reports each host of a group with report, except that a group in fail stops
// after its first host with that error, one in panics panics there, and every
// sweep also reports a host again and one it was not asked. Every sweep waits
// until all of want have started, so sweeps one after another never end.
type fakeBatcher struct {
	groups map[string][]string
	report triage.Report
	fail   map[string]error
	panics map[string]bool
	all    sync.WaitGroup // one for each group that must run at once

	mu    sync.Mutex
	swept map[string][]string
}

func (f *fakeBatcher) Batches(_ context.Context, hosts []string) map[string][]string {
	return f.groups
}

func (f *fakeBatcher) Sweep(ctx context.Context, group string, hosts []string, onReport func(string, triage.Report, error)) error {
	f.mu.Lock()
	f.swept[group] = slices.Clone(hosts)
	f.mu.Unlock()
	f.all.Done()
	waited := make(chan struct{})
	go func() { f.all.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return ctx.Err()
	}
	for k, h := range hosts {
		if k == 1 && f.panics[group] {
			panic("sweep of " + group + " broke")
		}
		if err := f.fail[group]; k == 1 && err != nil {
			return err
		}
		rep := f.report
		rep.Host = h
		onReport(h, rep, nil)
	}
	onReport(hosts[0], f.report, nil)   // again: dropped
	onReport("sqlother", f.report, nil) // not asked: dropped
	return nil
}

// An incident run sweeps the hosts the Batcher groups, every group at once and
// each host in one group, triages the others one at a time, and counts every
// host once: a host a failed or panicking sweep did not report is not checked,
// in Explain's words.
func TestIncidentSweepsBatches(t *testing.T) {
	hosts := hostNames(12)
	bt := &fakeBatcher{
		groups: map[string][]string{
			"boom": {hosts[7], hosts[8]},
			"east": {hosts[0], hosts[1], hosts[2], hosts[3], "sqlnotasked"},
			"west": {hosts[4], hosts[5], hosts[6]},
			"zeta": {hosts[3], hosts[9]}, // hosts[3] is east's already
		},
		fail:   map[string]error{"west": errors.New("agent west: connection refused")},
		panics: map[string]bool{"boom": true},
		swept:  map[string][]string{},
	}
	bt.all.Add(4)
	h := newHarness(t, func(o *Options) {
		o.Inventory = inventoryOf(hosts)
		o.Correlator = fakeCorrelator{}
		o.Batcher = bt
		o.Workers = 2
	})
	bt.report = h.tr.report
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var (
		progressMu sync.Mutex
		progress   []int
	)
	states, sigs := h.bot.triageAll(ctx, Request{User: "U0DBA", Channel: incident}, hosts, incident, "1764000000.000100", h.bot.log,
		func(done, total int) {
			progressMu.Lock()
			defer progressMu.Unlock()
			progress = append(progress, done)
		})
	slices.Sort(progress)
	if ctx.Err() != nil {
		t.Fatal("the sweeps did not run at once")
	}

	wantSwept := map[string][]string{
		"boom": {hosts[7], hosts[8]}, "east": hosts[0:4], "west": hosts[4:7], "zeta": {hosts[9]},
	}
	if !maps.EqualFunc(bt.swept, wantSwept, slices.Equal) {
		t.Errorf("swept %v; want %v", bt.swept, wantSwept)
	}
	if got := h.tr.calls(); !slices.Equal(got, hosts[10:]) {
		t.Errorf("triaged one at a time: %v; want %v", got, hosts[10:])
	}
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; !slices.Equal(progress, want) {
		t.Errorf("progress %v; want each host counted once: %v", progress, want)
	}
	notChecked := map[int]string{5: "an internal error (reference ", 6: "an internal error (reference ", 8: "an internal error (reference "}
	for i, st := range states {
		if st.Host != hosts[i] {
			t.Errorf("state %d is of %q; want %q", i, st.Host, hosts[i])
		}
		if want, ok := notChecked[i]; ok {
			if st.Status != triage.StatusUnknown || st.ReportID != "" || !strings.HasPrefix(st.Error, want) {
				t.Errorf("%s: %+v; want it not checked: %s…", hosts[i], st, want)
			}
			continue
		}
		if st.ReportID == "" || st.Error != "" {
			t.Errorf("%s: %+v; want its report", hosts[i], st)
			continue
		}
		rec, err := h.db.Report(t.Context(), st.ReportID)
		if err != nil || rec.Report.Host != hosts[i] || rec.ThreadTS != "1764000000.000100" {
			t.Errorf("%s: stored %s, %v; want its report in the run's thread", hosts[i], rec.Report.Host, err)
		}
	}
	if got, want := len(sigs), 9*len(fakeCorrelator{}.Signatures(h.tr.report)); got != want {
		t.Errorf("%d signatures; want %d, those of the 9 reports", got, want)
	}
}

// A sweep cut short by the bot's stop leaves its unreported hosts for the run
// to mark as not checked because the bot stopped.
func TestIncidentSweepStopped(t *testing.T) {
	hosts := hostNames(3)
	reported := make(chan struct{})
	bt := &stoppingBatcher{reported: reported}
	h := newHarness(t, func(o *Options) {
		o.Inventory = inventoryOf(hosts)
		o.Correlator = fakeCorrelator{}
		o.Batcher = bt
	})
	bt.report = h.tr.report
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-reported; cancel() }()
	states, _ := h.bot.triageAll(ctx, Request{User: "U0DBA", Channel: incident}, hosts, incident, "1764000000.000100", h.bot.log, func(int, int) {})
	if states[0].ReportID == "" {
		t.Errorf("the host reported before the stop: %+v; want its report", states[0])
	}
	for _, st := range states[1:] {
		if st.Host != "" || st.ReportID != "" || st.Error != "" {
			t.Errorf("a host not reported: %+v; want it left for the run to mark", st)
		}
	}
}

// stoppingBatcher is a FAKE Batcher that groups every host, reports the first
// and waits for ctx.
type stoppingBatcher struct {
	report   triage.Report
	reported chan struct{}
}

func (s *stoppingBatcher) Batches(_ context.Context, hosts []string) map[string][]string {
	return map[string][]string{"east": hosts}
}

func (s *stoppingBatcher) Sweep(ctx context.Context, _ string, hosts []string, onReport func(string, triage.Report, error)) error {
	rep := s.report
	rep.Host = hosts[0]
	onReport(hosts[0], rep, nil)
	close(s.reported)
	<-ctx.Done()
	return fmt.Errorf("sweep: %w", ctx.Err())
}

// fixedCorrelator is a FAKE Correlator whose every run has the incidents incs.
type fixedCorrelator struct{ incs []triage.Incident }

func (fixedCorrelator) Signatures(triage.Report) []triage.Signature { return nil }
func (f fixedCorrelator) Correlate([]triage.Signature, []string) []triage.Incident {
	return slices.Clone(f.incs)
}
func (fixedCorrelator) Unexplained([]triage.Signature, []triage.Incident) []string { return nil }

// An incident run asks Slack for the permalinks of the incidents it shows
// with a reply of their own, the worst ten, and of no other.
func TestIncidentRunLinksOnlyShownIncidents(t *testing.T) {
	hosts := hostNames(13)
	var incs []triage.Incident
	for i := range 12 { // incident i is on i+2 hosts: the last is the worst
		inc := triage.Incident{ID: fmt.Sprintf("in%02d", i), Cause: triage.DCUnreachable, Severity: triage.Critical}
		for _, host := range hosts[:i+2] {
			inc.Hosts = append(inc.Hosts, triage.IncidentHost{Host: host})
		}
		inc.FirstSeen = inc.Hosts[0]
		incs = append(incs, inc)
	}
	h := newHarness(t, func(o *Options) {
		o.Inventory = inventoryOf(hosts)
		o.Fleet = fleetOf(hosts)
		o.Correlator = fixedCorrelator{incs}
	})
	for _, inc := range incs {
		h.bot.places.remember(inc.ID, incident, "ts-"+inc.ID)
	}
	if code, _ := h.slash(dba, incident, "incident prod"); code != 200 {
		t.Fatal(code)
	}
	h.wait("chat.postMessage", 3) // the parent, then replies: the links were asked for
	h.stop()
	var asked []string
	for _, c := range h.fake.Calls("chat.getPermalink") {
		asked = append(asked, c.Params.Get("message_ts"))
	}
	slices.Sort(asked)
	var want []string
	for i := 2; i < 12; i++ {
		want = append(want, fmt.Sprintf("ts-in%02d", i))
	}
	if !slices.Equal(asked, want) {
		t.Errorf("permalinks asked for %v; want those of the 10 incidents shown: %v", asked, want)
	}
}

// The incident command's answer counts its hosts in words: "1 host".
func TestIncidentCommandCountsOneHost(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Correlator = fakeCorrelator{} })
	if _, body := h.slash(dba, incident, "incident sqlhost01"); !strings.Contains(body, "Looking at 1 host…") {
		t.Errorf("ack = %s; want it to look at 1 host", body)
	}
}

// A check's progress updates are shown one at a time: while one waits out
// Slack's rate limit, a newer count waits for it, so an older count never
// lands after a newer one.
func TestProgressNeverShowsAnOlderCount(t *testing.T) {
	var (
		refused = make(chan struct{})     // the first update was refused
		arrived = make(chan struct{}, 10) // another update arrived
		report  = demoReport(t)
		once    sync.Once
	)
	triager := triagerFunc(func(ctx context.Context, r TriageRequest) (triage.Report, error) {
		r.Progress(1, 5)
		<-refused
		r.Progress(2, 5)
		r.Progress(3, 5)
		// Two more updates arrive whatever their order: the count 1 again after
		// the wait, and the newer count.
		for range 2 {
			select {
			case <-arrived:
			case <-ctx.Done():
				return triage.Report{}, ctx.Err()
			}
		}
		rep := report
		rep.ID, rep.Host = r.ID, r.Host
		return rep, nil
	})
	h := newHarness(t, func(o *Options) { o.Triager = triager })
	h.fake.Respond("chat.update", func(c slackfake.Call) (int, http.Header, any) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(refused)
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, map[string]any{"ok": false, "error": "ratelimited"}
		}
		select {
		case arrived <- struct{}{}:
		default:
		}
		return 0, nil, nil
	})
	if code, _ := h.slash(dba, incident, "check sqlhost01"); code != 200 {
		t.Fatal(code)
	}
	h.wait("chat.update", 4) // and the verdict
	h.stop()
	counted := regexp.MustCompile(`(\d+) of 5 checks finished`)
	var landed []int
	for _, c := range h.fake.Calls("chat.update")[1:] { // the first was refused
		m := counted.FindStringSubmatch(c.Params.Get("blocks"))
		if m == nil {
			landed = append(landed, 6) // the verdict
			continue
		}
		n, _ := strconv.Atoi(m[1])
		landed = append(landed, n)
	}
	if !slices.IsSorted(landed) || landed[len(landed)-1] != 6 {
		t.Errorf("counts shown in the order %v; want them never older than the one before, the verdict last", landed)
	}
}

// triagerFunc is a Triager of one function.
type triagerFunc func(ctx context.Context, r TriageRequest) (triage.Report, error)

func (f triagerFunc) Triage(ctx context.Context, r TriageRequest) (triage.Report, error) {
	return f(ctx, r)
}
