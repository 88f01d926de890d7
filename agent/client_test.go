package agent_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/triage"
)

var remoteNames = []string{"errorlog", "slow", "spn", "account"}

// remoteChecks are the agent's checks in the proxy tests: one with observations, one
// slow, one skipped, one failing with what it saw.
func remoteChecks() []triage.Check {
	return []triage.Check{
		returns("errorlog", logResult("ERRORLOG: 3 entries", 17806), nil),
		fakeCheck{"slow", func(ctx context.Context) (triage.Result, error) {
			select {
			case <-time.After(300 * time.Millisecond):
				return logResult("System log: 1 event", 5719), nil
			case <-ctx.Done():
				return triage.Result{}, ctx.Err()
			}
		}},
		returns("spn", triage.Result{}, triage.Skip("no directory: add a directory section")),
		returns("account", logResult("partial", 18456), errBoom),
	}
}

// TestChecks: the proxies return what the agent's checks returned, and a local Runner
// over them gives the report a local run gives.
func TestChecks(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, remoteChecks, nil)
	c := newClient(t, p, a.url, "bot", 10*time.Second)

	var remoteObs, localObs triage.Observations
	run := func(checks []triage.Check, obs *triage.Observations) triage.Report {
		r := triage.Runner{Checks: checks, Rules: []triage.Rule{capture(obs)}, NewID: func() string { return "x" }}
		return r.Run(t.Context(), triage.Target{Host: "sqlhost01"})
	}
	remote := run(c.Checks("sqlhost01", 24*time.Hour, remoteNames), &remoteObs)
	local := run(remoteChecks(), &localObs)

	ignore := []cmp.Option{
		cmp.Transformer("result", func(cr triage.CheckResult) [3]string { return [3]string{cr.Name, string(cr.Status), cr.Detail} }),
	}
	if diff := cmp.Diff(local.Checks, remote.Checks, ignore...); diff != "" {
		t.Errorf("checks through the agent differ from local ones (-local +remote):\n%s", diff)
	}
	if remote.Status != local.Status {
		t.Errorf("status %s through the agent; %s locally", remote.Status, local.Status)
	}
	if diff := cmp.Diff(localObs, remoteObs); diff != "" {
		t.Errorf("observations through the agent differ (-local +remote):\n%s", diff)
	}
	if n := a.calls.Load(); n != 1 {
		t.Errorf("the agent ran %d triages; want one stream for all the checks", n)
	}
	for _, cr := range remote.Checks {
		if cr.Agent != "agent-test" {
			t.Errorf("check %s ran through agent %q; want the report to name agent-test", cr.Name, cr.Agent)
		}
	}
	for _, cr := range local.Checks {
		if cr.Agent != "" {
			t.Errorf("local check %s names agent %q; want none", cr.Name, cr.Agent)
		}
	}
	if len(remoteObs.Agents) != 0 {
		t.Errorf("Agents = %+v; want none when the agent answered in full", remoteObs.Agents)
	}
}

// TestChecksAgentKilled: an agent killed halfway through the stream leaves the results
// that arrived, the others reported as the agent not answering, once with the facts,
// and a report of status unknown.
func TestChecksAgentKilled(t *testing.T) {
	p := newPKI(t, "bot")
	b := newBlocker("account")
	a := startAgent(t, p, func() []triage.Check {
		// What arrives before the kill shows only a warning (18452 alone), so the verdict
		// rests on the checks that never came back: unknown.
		return []triage.Check{returns("errorlog", logResult("ERRORLOG: 3 entries", 18452), nil),
			returns("spn", triage.Result{}, triage.Skip("no directory")), b, newBlocker("dns")}
	}, nil)
	c := newClient(t, p, a.url, "bot", time.Minute)
	var obs triage.Observations
	heard := 0
	r := triage.Runner{
		Checks: c.Checks("sqlhost01", 0, []string{"errorlog", "spn", "account", "dns"}),
		Rules:  append(diagnosis.Rules(), capture(&obs)),
		OnResult: func(triage.CheckResult, triage.Result) {
			if heard++; heard == 2 { // the lines of errorlog and spn are in
				a.kill()
			}
		},
		CheckTimeout: time.Minute,
	}
	rep := r.Run(t.Context(), triage.Target{Host: "sqlhost01"})
	if rep.Status != triage.StatusUnknown {
		t.Errorf("status %s; want unknown", rep.Status)
	}
	if f, ok := rep.Worst(); !ok || f.Cause != triage.AgentUnreachable || !strings.Contains(f.Summary, "account, dns") {
		t.Errorf("worst finding = %+v; want agent.unreachable naming the missing checks", f)
	}
	if len(rep.Findings) != 2 || rep.Findings[1].Cause != triage.LoginUntrustedDomain {
		t.Errorf("findings %+v; want the arrived 18452 kept as login.untrusted_domain", rep.Findings)
	}
	got := map[string]triage.CheckResult{}
	for _, cr := range rep.Checks {
		got[cr.Name] = cr
	}
	if got["errorlog"].Status != triage.CheckWarn || got["spn"].Status != triage.CheckSkipped {
		t.Errorf("arrived checks: errorlog %+v, spn %+v; want warn and skipped", got["errorlog"], got["spn"])
	}
	for _, n := range []string{"account", "dns"} {
		if cr := got[n]; cr.Status != triage.CheckError || !strings.HasPrefix(cr.Detail, "agent agent-test did not answer: stream cut after 2 results") {
			t.Errorf("%s = %+v; want an error saying the agent did not answer", n, cr)
		}
	}
	if len(obs.Logs) != 1 {
		t.Errorf("%d log events; want the one that arrived", len(obs.Logs))
	}
	want := []triage.AgentFacts{{Agent: "agent-test", URL: a.url, Missing: []string{"account", "dns"}}}
	if diff := cmp.Diff(want, obs.Agents, cmp.Transformer("noErr", func(f triage.AgentFacts) triage.AgentFacts { f.Err = ""; return f })); diff != "" {
		t.Errorf("Agents (-want +got):\n%s", diff)
	}
	if len(obs.Agents) == 1 && !strings.Contains(obs.Agents[0].Err, "stream cut after 2 results") {
		t.Errorf("Agents[0].Err = %q; want the reason", obs.Agents[0].Err)
	}
}

// TestChecksStreamCutNotRetried: once the stream has begun, a cut is reported, never
// retried, even though the agent is still there.
func TestChecksStreamCutNotRetried(t *testing.T) {
	p := newPKI(t, "bot")
	b := newBlocker("account")
	a := startAgent(t, p, func() []triage.Check {
		return []triage.Check{returns("errorlog", triage.Result{Detail: "read"}, nil), b}
	}, nil)
	c := newClient(t, p, a.url, "bot", time.Minute)
	rep := triage.Runner{
		Checks: c.Checks("sqlhost01", 0, []string{"errorlog", "account"}),
		OnResult: func(cr triage.CheckResult, _ triage.Result) {
			if cr.Name == "errorlog" {
				a.ln.cutConns() // the listener stays: a retry would succeed
			}
		},
		CheckTimeout: time.Minute,
	}.Run(t.Context(), triage.Target{Host: "sqlhost01"})
	if rep.Checks[0].Status != triage.CheckPass || rep.Checks[1].Status != triage.CheckError {
		t.Fatalf("checks %+v; want errorlog pass, account error", rep.Checks)
	}
	// The stream is over when the checks return: had the client tried again, the
	// agent would have run a second triage, and the reason would count attempts.
	if d := rep.Checks[1].Detail; !strings.Contains(d, "stream cut after 1 result") || strings.Contains(d, "attempts") {
		t.Errorf("account detail %q; want the stream cut after errorlog's line, without a retry", d)
	}
	if n := a.calls.Load(); n != 1 {
		t.Errorf("the agent got %d triages; want 1 (no retry of a stream)", n)
	}
}

// TestChecksAgentDown: no agent listening: every check reports it, after retries of
// the connection, when the checks' timeout ends the retries: the stream stops at once
// and says why, so that no check is left to be declared late.
func TestChecksAgentDown(t *testing.T) {
	p := newPKI(t, "bot")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	c := newClient(t, p, url, "bot", 30*time.Second)
	var obs triage.Observations
	r := triage.Runner{Checks: c.Checks("sqlhost01", 0, []string{"errorlog", "spn"}), Rules: []triage.Rule{capture(&obs)},
		CheckTimeout: time.Second}
	rep := r.Run(t.Context(), triage.Target{Host: "sqlhost01"})
	if rep.Status != triage.StatusUnknown {
		t.Errorf("status %s; want unknown", rep.Status)
	}
	for _, cr := range rep.Checks {
		if cr.Status != triage.CheckError || !strings.Contains(cr.Detail, "did not answer: timed out after") ||
			!strings.Contains(cr.Detail, "connection refused") || !strings.Contains(cr.Detail, "attempts)") {
			t.Errorf("%s = %+v; want connection refused after several attempts", cr.Name, cr)
		}
	}
	if len(obs.Agents) != 1 || len(obs.Agents[0].Missing) != 2 || !strings.Contains(obs.Agents[0].Err, "connection refused") {
		t.Errorf("Agents = %+v; want one entry missing both checks, with the reason", obs.Agents)
	}
}

// TestChecksRefused: a refusal (here: the host is not in the agent's inventory) is
// reported with the agent's reason and not retried.
func TestChecksRefused(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, nil)
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	var obs triage.Observations
	rep := triage.Runner{Checks: c.Checks("sqlhost02", 0, []string{"errorlog"}), Rules: []triage.Rule{capture(&obs)}}.
		Run(t.Context(), triage.Target{Host: "sqlhost02"})
	if d := rep.Checks[0].Detail; !strings.Contains(d, `refused with 404 Not Found: host "sqlhost02" is not in this agent's inventory`) || strings.Contains(d, "attempts") {
		t.Errorf("detail %q; want the agent's refusal at the first attempt", d)
	}
	if len(obs.Agents) != 1 {
		t.Errorf("Agents = %+v; want the agent's facts", obs.Agents)
	}
	if recs := waitRequests(t, a.log, 1); len(recs) != 1 {
		t.Errorf("%d requests; want 1 (a refusal is not retried)", len(recs))
	}
}

// TestClientRetriesWhenBusy: a 503 is retried after Retry-After, and the triage then
// runs.
func TestClientRetriesWhenBusy(t *testing.T) {
	p := newPKI(t, "bot")
	b := newBlocker("slow")
	var later atomic.Bool
	a := startAgent(t, p, func() []triage.Check {
		if !later.Swap(true) {
			return []triage.Check{b}
		}
		return okChecks()
	}, func(c *agent.ServerConfig) { c.MaxConcurrent = 1 })
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	go c.Triage(t.Context(), "sqlhost01", 0, func(agent.Line) {})
	<-b.started
	go func() {
		waitLog(t, a.log, "503", func(log string) bool { return strings.Contains(log, `"status":503`) })
		close(b.release)
	}()
	var lines []agent.Line
	if err := c.Triage(t.Context(), "sqlhost01", 0, func(l agent.Line) { lines = append(lines, l) }); err != nil {
		t.Fatalf("Triage = %v; want success after a retry", err)
	}
	if len(lines) != 1 || lines[0].Check.Name != "errorlog" {
		t.Errorf("lines %+v; want errorlog's", lines)
	}
}

// TestHungAgent: an agent that accepts connections and never answers gives an error
// at the client's timeout.
func TestHungAgent(t *testing.T) {
	p := newPKI(t, "bot")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn // held open, never read or written
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	c := newClient(t, p, "https://"+ln.Addr().String(), "bot", 500*time.Millisecond)

	if err = c.Health(t.Context()); err == nil || !strings.Contains(err.Error(), "timed out after") {
		t.Errorf("Health = %v; want a timeout", err)
	}

	// The checks' own limit is an hour: only the client's timeout can end them.
	var obs triage.Observations
	rep := triage.Runner{Checks: c.Checks("sqlhost01", 0, []string{"errorlog", "spn"}), Rules: []triage.Rule{capture(&obs)}, CheckTimeout: time.Hour}.
		Run(t.Context(), triage.Target{Host: "sqlhost01"})
	if rep.Status != triage.StatusUnknown || len(obs.Agents) != 1 || !strings.Contains(obs.Agents[0].Err, "timed out after") {
		t.Errorf("status %s, Agents %+v; want unknown with a timeout", rep.Status, obs.Agents)
	}
}

// TestChecksEndWithTheirContext: when the checks' limit passes (their timeout, the
// deadline, or a cancel) before the client's timeout, they cut the stream, which says
// why at once, so the checks report the agent's facts and the reason rather than being
// declared late by the Runner; the agent hears that the client went away. The limits
// are real time: a stream over TLS cannot run on synctest's clock.
func TestChecksEndWithTheirContext(t *testing.T) {
	tests := []struct {
		name   string
		runner triage.Runner
		cancel bool // the test cancels the triage once the agent's check runs
		want   string
	}{
		{"check timeout", triage.Runner{CheckTimeout: time.Second}, false, "timed out after"},
		{"deadline", triage.Runner{CheckTimeout: time.Hour, Deadline: time.Second}, false, "timed out after"},
		{"canceled", triage.Runner{CheckTimeout: time.Hour}, true, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t, "bot")
			b := newBlocker("account")
			a := startAgent(t, p, func() []triage.Check { return []triage.Check{b} }, nil)
			c := newClient(t, p, a.url, "bot", time.Hour)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				go func() {
					<-b.started
					cancel()
				}()
			}
			var obs triage.Observations
			r := tt.runner
			r.Checks, r.Rules = c.Checks("sqlhost01", 0, []string{"account"}), []triage.Rule{capture(&obs)}
			rep := r.Run(ctx, triage.Target{Host: "sqlhost01"})
			if d := rep.Checks[0].Detail; rep.Checks[0].Status != triage.CheckError || !strings.HasPrefix(d, "agent agent-test did not answer: ") || !strings.Contains(d, tt.want) {
				t.Errorf("check %+v; want the agent not answering: %s", rep.Checks[0], tt.want)
			}
			if len(obs.Agents) != 1 || !strings.Contains(obs.Agents[0].Err, tt.want) {
				t.Errorf("Agents %+v; want the agent's facts", obs.Agents)
			}
			if tt.cancel { // the agent's check surely ran: the cancel waited for it
				await(t, "the agent's check to be canceled", b.canceled)
			}
		})
	}
}

// TestClientLongLived: one Client serves many requests, concurrent ones included,
// over its one transport: sequential requests reuse a connection, and after Close the
// Client dials again.
func TestClientLongLived(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, nil)
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	for range 3 {
		if err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.ln.accepted(); n != 1 {
		t.Errorf("%d connections for 3 sequential requests; want 1, reused", n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 { // the agent's default MaxConcurrent
		wg.Go(func() {
			errs <- c.Triage(t.Context(), "sqlhost01", 0, func(agent.Line) {})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Triage = %v", err)
		}
	}
	before := a.ln.accepted()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Health(t.Context()); err != nil {
		t.Fatalf("Health after Close = %v; want the Client to dial again", err)
	}
	if n := a.ln.accepted(); n != before+1 {
		t.Errorf("%d connections after Close and one request; want %d (idle ones closed, one new)", n, before+1)
	}
}

// TestTLSRefusalsNotRetried: a client whose certificate the agent refuses learns why
// at once: that its certificate is not signed by a CA the agent trusts (crypto/tls
// alone would send no certificate and the agent answer "certificate required").
func TestTLSRefusalsNotRetried(t *testing.T) {
	p := newPKI(t, "bot")
	other := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, nil)
	c, err := agent.NewClient(t.Context(), agent.ClientConfig{URL: a.url, CertFile: other.path("bot.pem"), KeyFile: other.path("bot-key.pem"), CAFile: p.path("ca.pem")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Health(t.Context())
	if err == nil || !strings.Contains(err.Error(), "not signed by a CA the agent trusts") || strings.Contains(err.Error(), "certificate required") {
		t.Errorf("Health = %v; want it to say the certificate is not signed by a CA the agent trusts", err)
	}
	if err != nil && strings.Contains(err.Error(), "attempts") {
		t.Errorf("Health = %v; want no retries", err)
	}
	// And an agent whose certificate the client does not trust.
	c, err = agent.NewClient(t.Context(), agent.ClientConfig{URL: a.url, CertFile: p.path("bot.pem"), KeyFile: p.path("bot-key.pem"), CAFile: other.path("ca.pem")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err = c.Health(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("Health = %v; want a certificate verification error at the first attempt", err)
	}
}

func TestNewClientErrors(t *testing.T) {
	p := newPKI(t, "bot")
	tests := []struct {
		name string
		cfg  agent.ClientConfig
		want string
	}{
		{"plain http", agent.ClientConfig{URL: "http://agent:8443"}, "not an https:// URL"},
		{"user in URL", agent.ClientConfig{URL: "https://u:p@agent:8443"}, "not an https:// URL"},
		{"no certificate", agent.ClientConfig{URL: "https://agent:8443", CertFile: p.path("nope.pem"), KeyFile: p.path("nope-key.pem"), CAFile: p.path("ca.pem")}, "load the client certificate"},
		{"CA file without certificates", agent.ClientConfig{URL: "https://agent:8443", CertFile: p.path("bot.pem"), KeyFile: p.path("bot-key.pem"), CAFile: p.path("bot-key.pem")}, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agent.NewClient(t.Context(), tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewClient = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestClientGivesUpWhenRetryAfterIsTooLate: a 429 whose Retry-After ends past the
// deadline is reported at once, not waited for.
func TestClientGivesUpWhenRetryAfterIsTooLate(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, func(c *agent.ServerConfig) { c.RatePerMinute, c.Burst = 1, 1 })
	c := newClient(t, p, a.url, "bot", 5*time.Second)
	if err := c.Triage(t.Context(), "sqlhost01", 0, func(agent.Line) {}); err != nil {
		t.Fatal(err)
	}
	err := c.Triage(t.Context(), "sqlhost01", 0, func(agent.Line) {})
	var se *agent.StatusError
	if !errors.As(err, &se) || se.Code != 429 {
		t.Errorf("Triage = %v; want the agent's 429", err)
	}
	if err != nil && strings.Contains(err.Error(), "timed out") {
		t.Errorf("Triage = %v; want the 429 at once, not after waiting into the timeout", err)
	}
}
