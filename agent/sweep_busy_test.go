package agent_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/triage"
)

// blockedAgent starts an agent whose hosts blocked01, blocked02... (n of them) run a
// blocker each and whose hosts free01, free02... pass at once; edit may change its
// configuration further.
func blockedAgent(t *testing.T, p pki, n int, edit func(*agent.ServerConfig)) (*testAgent, map[string]*blocker) {
	t.Helper()
	blockers := map[string]*blocker{}
	hosts := inventory("free", 3)
	for h, tg := range inventory("blocked", n) {
		blockers[h] = newBlocker("slow")
		hosts[h] = tg
	}
	a := startAgent(t, p, nil, func(c *agent.ServerConfig) {
		c.Hosts = hosts
		c.Checks = func(t triage.Target, _ time.Duration) []triage.Check {
			if b, ok := blockers[t.Host]; ok {
				return []triage.Check{b}
			}
			return okChecks()
		}
		c.SweepBurst = 100
		if edit != nil {
			edit(c)
		}
	})
	return a, blockers
}

// rawBatch posts a batch as client bot in the background; the returned channel gets
// the whole body once the agent has answered.
func rawBatch(t *testing.T, a *testAgent, hosts ...string) <-chan string {
	t.Helper()
	hc := rawClient(t, a.pki, a.pki, "bot")
	out := make(chan string, 1)
	go func() {
		resp, err := hc.Post(a.url+agent.PathBatch, agent.ContentJSON,
			strings.NewReader(`{"hosts":["`+strings.Join(hosts, `","`)+`"]}`))
		if err != nil {
			t.Errorf("batch of %v: %v", hosts, err)
			out <- ""
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out <- string(b)
	}()
	return out
}

// refusedBatches returns how many batch requests the agent refused with status.
func refusedBatches(a *testAgent, status float64) int {
	n := 0
	for _, r := range a.log.records("request") {
		if r["path"] == agent.PathBatch && r["status"] == status {
			n++
		}
	}
	return n
}

// passed reports whether r is a report of the agent's one errorlog check, passed.
func passed(r swept) bool {
	return r.err == nil && len(r.rep.Checks) == 1 && r.rep.Checks[0].Name == "errorlog" && r.rep.Checks[0].Status == triage.CheckPass
}

// TestSweepWaitsForBusyAgent: while the agent serves as many batches as it may, a
// sweep's batch is refused (503) and waits for room rather than reporting its hosts
// unreachable; when its context ends first, its hosts get the context's cause as err;
// when room comes, they are triaged.
func TestSweepWaitsForBusyAgent(t *testing.T) {
	p := newPKI(t, "bot")
	a, blockers := blockedAgent(t, p, 4, func(c *agent.ServerConfig) { c.SweepConcurrent = 4 })
	var bodies []<-chan string
	for i := range 4 { // every batch place taken
		h := fmt.Sprintf("blocked%02d", i+1)
		bodies = append(bodies, rawBatch(t, a, h))
		await(t, h+" to start", blockers[h].started)
	}
	c := newClient(t, p, a.url, "bot", 10*time.Second)

	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("the schedule's deadline passed")
	done := make(chan map[string]swept, 1)
	go func() {
		got, _ := sweep(t, ctx, c, []string{"free01", "free02"}, agent.SweepOptions{})
		done <- got
	}()
	waitLog(t, a.log, "a refused batch", func(string) bool { return refusedBatches(a, 503) >= 1 })
	cancel(stop)
	got := <-done
	for _, h := range []string{"free01", "free02"} {
		if r := got[h]; !errors.Is(r.err, stop) {
			t.Errorf("%s while the agent was busy and the context ended: %+v, %v; want err the context's cause", h, r.rep, r.err)
		}
	}

	refused := refusedBatches(a, 503)
	type result struct {
		got map[string]swept
		err error
	}
	later := make(chan result, 1)
	go func() {
		got, err := sweep(t, t.Context(), c, []string{"free01", "free02"}, agent.SweepOptions{BatchSize: 1})
		later <- result{got, err}
	}()
	waitLog(t, a.log, "the second sweep refused", func(string) bool { return refusedBatches(a, 503) > refused })
	for _, b := range blockers {
		close(b.release)
	}
	r := <-later
	if r.err != nil {
		t.Errorf("Sweep once the agent had room = %v; want nil", r.err)
	}
	for _, h := range []string{"free01", "free02"} {
		if !passed(r.got[h]) {
			t.Errorf("%s once the agent had room: %+v, %v; want its check passed", h, r.got[h].rep, r.got[h].err)
		}
	}
	for _, b := range bodies {
		<-b
	}
}

// TestBatchSlotWaitFromTurn: a batch's host waits for a slot for at most the batch
// deadline from its own turn, not from the batch's start: a host whose turn comes
// after the deadline has passed since its batch began still runs.
func TestBatchSlotWaitFromTurn(t *testing.T) {
	p := newPKI(t, "bot")
	a, blockers := blockedAgent(t, p, 1, func(c *agent.ServerConfig) {
		c.SweepConcurrent = 1
		c.BatchDeadline = 200 * time.Millisecond
	})
	first := rawBatch(t, a, "blocked01", "free01")
	await(t, "blocked01 to start", blockers["blocked01"].started)
	// Another batch's host, waiting for the one slot, is refused once the deadline
	// has passed: the first batch has run for longer than it by then.
	other := <-rawBatch(t, a, "free02")
	if !strings.Contains(other, `"host":"free02","status":503`) {
		t.Fatalf("the other batch: %s; want free02 refused with 503", other)
	}
	close(blockers["blocked01"].release)
	body := <-first
	if !strings.Contains(body, `"host":"free01","check"`) || !strings.Contains(body, `"host":"free01","done":true`) {
		t.Errorf("the first batch: %s; want free01 triaged after blocked01", body)
	}
}

// TestSweepRequeuesHostsWithoutSlot: a host the agent answers with 503 (no slot came
// free in time) is asked for in a later batch; when none comes free in three
// batches, its report is the refusal.
func TestSweepRequeuesHostsWithoutSlot(t *testing.T) {
	p := newPKI(t, "bot")
	t.Run("a slot comes free", func(t *testing.T) {
		a, blockers := blockedAgent(t, p, 1, func(c *agent.ServerConfig) {
			c.SweepConcurrent = 1
			c.BatchDeadline = time.Second
		})
		c := newClient(t, p, a.url, "bot", 10*time.Second)
		held := rawBatch(t, a, "blocked01")
		await(t, "blocked01 to start", blockers["blocked01"].started)
		type result struct {
			got map[string]swept
			err error
		}
		done := make(chan result, 1)
		go func() {
			got, err := sweep(t, t.Context(), c, []string{"free01"}, agent.SweepOptions{})
			done <- result{got, err}
		}()
		waitLog(t, a.log, "free01 refused", func(string) bool {
			for _, r := range a.log.records("batch host") {
				if r["host"] == "free01" && r["status"] == 503.0 {
					return true
				}
			}
			return false
		})
		close(blockers["blocked01"].release)
		r := <-done
		if r.err != nil {
			t.Errorf("Sweep = %v; want nil", r.err)
		}
		if !passed(r.got["free01"]) {
			t.Errorf("free01: %+v, %v; want its check passed in a later batch", r.got["free01"].rep, r.got["free01"].err)
		}
		<-held
	})
	t.Run("no slot comes free", func(t *testing.T) {
		a, blockers := blockedAgent(t, p, 1, func(c *agent.ServerConfig) {
			c.SweepConcurrent = 1
			c.BatchDeadline = 50 * time.Millisecond
		})
		c := newClient(t, p, a.url, "bot", 10*time.Second)
		b := blockers["blocked01"]
		held := rawBatch(t, a, "blocked01")
		await(t, "blocked01 to start", b.started)
		got, err := sweep(t, t.Context(), c, []string{"free01"}, agent.SweepOptions{})
		if err != nil {
			t.Errorf("Sweep = %v; want nil (the batches were answered)", err)
		}
		r := got["free01"]
		if r.err != nil || len(r.rep.Checks) != 1 || r.rep.Checks[0].Name != "agent" ||
			!strings.Contains(r.rep.Checks[0].Detail, "refused with 503") {
			t.Errorf("free01: %+v, %v; want a report of the agent's 503", r.rep, r.err)
		}
		asked := func() int {
			n := 0
			for _, rec := range a.log.records("batch host") {
				if rec["host"] == "free01" {
					n++
				}
			}
			return n
		}
		waitLog(t, a.log, "free01's refusals", func(string) bool { return asked() >= 3 })
		if n := asked(); n != 3 {
			t.Errorf("free01 asked for in %d batches; want 3", n)
		}
		close(b.release)
		<-held
	})
}

// TestBatchKeepAlive: while a batch's hosts run and nothing else is written, the agent
// writes blank lines.
func TestBatchKeepAlive(t *testing.T) {
	p := newPKI(t, "bot")
	a, blockers := blockedAgent(t, p, 1, func(c *agent.ServerConfig) { c.KeepAlive = 10 * time.Millisecond })
	resp, err := rawClient(t, p, p, "bot").Post(a.url+agent.PathBatch, agent.ContentJSON, strings.NewReader(`{"hosts":["blocked01"]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	await(t, "blocked01 to start", blockers["blocked01"].started)
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for blank := 0; blank < 3 && sc.Scan(); {
		if sc.Text() == "" {
			blank++
			continue
		}
		lines = append(lines, sc.Text())
	}
	if len(lines) != 0 {
		t.Errorf("lines before the host ended: %q; want only blank ones", lines)
	}
	close(blockers["blocked01"].release)
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) != 3 || !strings.Contains(lines[1], `"done":true`) || lines[2] != `{"done":true}` {
		t.Errorf("lines after the host ended: %q; want its check, its end and the batch's", lines)
	}
}

// TestSweepKeepAliveOutlastsStall: a host that runs for longer than the client's
// stall timeout is not cut while the agent writes its keep-alives. How long the host
// ran is known from them: two are at least half the keep-alive interval apart.
func TestSweepKeepAliveOutlastsStall(t *testing.T) {
	p := newPKI(t, "bot")
	const keepAlive = 20 * time.Millisecond
	a, blockers := blockedAgent(t, p, 1, func(c *agent.ServerConfig) { c.KeepAlive = keepAlive })
	const timeout = 100 * time.Millisecond // the stall timeout is 125ms
	c := newClient(t, p, a.url, "bot", timeout)
	b := blockers["blocked01"]
	kept := make(chan bool, 1)
	go func() {
		<-b.started
		// Once the host runs, each write to the connection is a keep-alive: 31 of
		// them are 300ms apart at least, more than twice the stall timeout.
		ok := a.ln.awaitWrites(a.ln.writeCount()+31, b.canceled)
		if ok {
			close(b.release)
		}
		kept <- ok
	}()
	got, err := sweep(t, t.Context(), c, []string{"blocked01"}, agent.SweepOptions{})
	if err != nil {
		t.Errorf("Sweep = %v; want nil", err)
	}
	if r := got["blocked01"]; r.err != nil || len(r.rep.Checks) != 1 || r.rep.Checks[0].Status != triage.CheckPass {
		t.Errorf("blocked01: %+v, %v; want its check passed", r.rep, r.err)
	}
	if !<-kept {
		t.Error("the host was canceled, or no keep-alives came, before it had run for twice the stall timeout")
	}
}

// TestSweepHostLines: a host answered with no check results gets a report of the
// failure, not a pass; a host with more check results than any agent runs breaks the
// stream.
func TestSweepHostLines(t *testing.T) {
	p := newPKI(t, "bot")
	var mu sync.Mutex
	var n int // checks per host
	a := startAgent(t, p, nil, func(c *agent.ServerConfig) {
		c.Hosts = inventory("sqlhost", 1)
		c.Checks = func(triage.Target, time.Duration) []triage.Check {
			mu.Lock()
			defer mu.Unlock()
			checks := make([]triage.Check, n)
			for i := range checks {
				checks[i] = returns(fmt.Sprintf("check%02d", i), triage.Result{}, nil)
			}
			return checks
		}
		c.SweepBurst = 100
	})
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	for _, tt := range []struct {
		checks     int
		err, check string
	}{
		{0, "", "had no check results"},
		{64, "", ""},
		{65, "more than 64 check results", "more than 64 check results"},
	} {
		mu.Lock()
		n = tt.checks
		mu.Unlock()
		got, err := sweep(t, t.Context(), c, []string{"sqlhost01"}, agent.SweepOptions{})
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%d checks: Sweep = %v; want %q", tt.checks, err, tt.err)
		}
		r := got["sqlhost01"]
		switch {
		case r.err != nil:
			t.Errorf("%d checks: err = %v; want a report", tt.checks, r.err)
		case tt.check == "" && (len(r.rep.Checks) != tt.checks || r.rep.Checks[0].Status != triage.CheckPass):
			t.Errorf("%d checks: %d checks reported: %+v; want all of them, passed", tt.checks, len(r.rep.Checks), r.rep.Checks)
		case tt.check != "" && (len(r.rep.Checks) != 1 || r.rep.Checks[0].Name != "agent" || r.rep.Checks[0].Status != triage.CheckError ||
			!strings.Contains(r.rep.Checks[0].Detail, tt.check)):
			t.Errorf("%d checks: %+v; want the agent check failed with %q", tt.checks, r.rep.Checks, tt.check)
		}
	}
}
