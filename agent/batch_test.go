package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/triage"
)

// inventory returns an inventory of hosts named name01, name02 and so on.
func inventory(name string, n int) map[string]triage.Target {
	hosts := map[string]triage.Target{}
	for i := range n {
		h := fmt.Sprintf("%s%02d", name, i+1)
		hosts[h] = triage.Target{Host: h, FQDN: h + ".corp.example"}
	}
	return hosts
}

// swept is what Sweep reported for one host.
type swept struct {
	rep triage.Report
	err error
}

// sweep runs c.Sweep and returns its error and the reports by host, failing the test
// when a host is reported twice.
func sweep(t *testing.T, ctx context.Context, c *agent.Client, hosts []string, o agent.SweepOptions) (map[string]swept, error) {
	t.Helper()
	got := map[string]swept{}
	var mu sync.Mutex
	err := c.Sweep(ctx, hosts, o, func(host string, rep triage.Report, err error) {
		mu.Lock()
		defer mu.Unlock()
		if _, twice := got[host]; twice {
			t.Errorf("host %q reported twice", host)
		}
		got[host] = swept{rep, err}
	})
	return got, err
}

// TestSweep: every host is reported once, with the agent's checks diagnosed by the
// client's rules against the client's target; a host the agent does not know gets a
// report of the agent's refusal, a name that is not a host name an input error, and a
// host named twice (ignoring case) one report.
func TestSweep(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, nil, func(c *agent.ServerConfig) {
		c.Hosts = inventory("sqlhost", 7)
		c.Checks = func(t triage.Target, since time.Duration) []triage.Check {
			return []triage.Check{
				returns("errorlog", logResult("ERRORLOG of "+t.Host+" since "+since.String(), 17806), nil),
				returns("spn", triage.Result{}, triage.Skip("no directory")),
			}
		}
		c.SweepConcurrent = 3
	})
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	hosts := []string{"sqlhost01", "sqlhost02", "sqlhost03", "sqlhost04", "sqlhost05", "sqlhost06", "sqlhost07",
		"sqlhost99", "bad host;rm", "SQLHOST01"}
	var judged []string
	var mu sync.Mutex
	rule := ruleFunc(func(obs triage.Observations) []triage.Finding { return nil })
	got, err := sweep(t, t.Context(), c, hosts, agent.SweepOptions{
		Since: 6 * time.Hour, BatchSize: 4, Rules: []triage.Rule{rule},
		Target: func(h string) triage.Target {
			mu.Lock()
			defer mu.Unlock()
			judged = append(judged, h)
			return triage.Target{Host: h, FQDN: h + ".client.example"}
		},
		NewID: func() string { return "r1" },
	})
	if err != nil {
		t.Errorf("Sweep = %v; want nil", err)
	}
	if len(got) != 9 {
		t.Errorf("%d hosts reported; want 9 (sqlhost01 once): %v", len(got), got)
	}
	for i := range 7 {
		h := fmt.Sprintf("sqlhost%02d", i+1)
		r := got[h]
		if r.err != nil || r.rep.Host != h || r.rep.ID != "r1" || len(r.rep.Checks) != 2 {
			t.Errorf("%s: %+v, %v; want a report of 2 checks", h, r.rep, r.err)
			continue
		}
		if c := r.rep.Checks[0]; c.Name != "errorlog" || c.Status != triage.CheckPass || c.Agent != "agent-test" ||
			c.Detail != "ERRORLOG of "+h+" since 6h0m0s" {
			t.Errorf("%s: check 0 = %+v; want errorlog passed on agent-test, for 6h", h, c)
		}
		if c := r.rep.Checks[1]; c.Name != "spn" || c.Status != triage.CheckSkipped {
			t.Errorf("%s: check 1 = %+v; want spn skipped", h, c)
		}
	}
	if r := got["sqlhost99"]; r.err != nil || len(r.rep.Checks) != 1 || r.rep.Checks[0].Name != "agent" ||
		!strings.Contains(r.rep.Checks[0].Detail, `refused with 404 Not Found: host "sqlhost99" is not in this agent's inventory`) {
		t.Errorf("sqlhost99: %+v, %v; want a report of the agent's refusal", r.rep, r.err)
	}
	var in *triage.InputError
	if r := got["bad host;rm"]; !errors.As(r.err, &in) {
		t.Errorf("bad host name: err = %v; want an input error", r.err)
	}
	if len(judged) != 8 {
		t.Errorf("Target called for %v; want the 8 hosts asked", judged)
	}
	// The 8 hosts asked (sqlhost99 included) in two batches of 4.
	recs := waitRequests(t, a.log, 2)
	for _, r := range recs {
		if r["path"] != agent.PathBatch || r["status"] != 200.0 || r["reason"] != "complete" {
			t.Errorf("audit = %v; want a complete batch", r)
		}
	}
	waitLog(t, a.log, "batch host records", func(string) bool { return len(a.log.records("batch host")) == 8 })
}

// TestSweepLimitsPerKind: a sweep runs within its own budget: while it holds every
// sweep slot an interactive triage still runs, and interactive requests keep their
// own rate limit; batches have theirs.
func TestSweepLimitsPerKind(t *testing.T) {
	p := newPKI(t, "bot")
	blockers := map[string]*blocker{"swept01": newBlocker("slow"), "swept02": newBlocker("slow")}
	a := startAgent(t, p, nil, func(c *agent.ServerConfig) {
		c.Hosts = inventory("swept", 2)
		c.Hosts["sqlhost01"] = triage.Target{Host: "sqlhost01"}
		c.Checks = func(t triage.Target, _ time.Duration) []triage.Check {
			if b, ok := blockers[t.Host]; ok {
				return []triage.Check{b}
			}
			return okChecks()
		}
		c.MaxConcurrent, c.RatePerMinute, c.Burst = 1, 1, 1
		c.SweepConcurrent, c.SweepRatePerMinute, c.SweepBurst = 2, 1, 1
	})
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	done := make(chan error, 1)
	go func() {
		_, err := sweep(t, t.Context(), c, []string{"swept01", "swept02"}, agent.SweepOptions{})
		done <- err
	}()
	await(t, "the first swept host", blockers["swept01"].started)
	await(t, "the second swept host", blockers["swept02"].started)

	// Every sweep slot is taken: an interactive triage runs all the same.
	if resp, body := post(t, a, "bot", "sqlhost01"); resp.StatusCode != 200 || !strings.Contains(body, `"done":true`) {
		t.Errorf("interactive triage during the sweep: %s %s; want 200 and a whole stream", resp.Status, body)
	}
	// Its rate limit holds during the sweep.
	if resp, body := post(t, a, "bot", "sqlhost01"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second interactive triage: %s %s; want 429", resp.Status, body)
	}
	// And batches have their own: the burst of one is spent.
	resp, body := postBatch(t, a, `{"hosts":["swept01"]}`)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "batches a minute") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second batch: %s %s; want 429 with Retry-After", resp.Status, body)
	}
	close(blockers["swept01"].release)
	close(blockers["swept02"].release)
	if err := <-done; err != nil {
		t.Errorf("Sweep = %v", err)
	}
}

// postBatch sends a batch request as client bot and returns the response with its body
// read.
func postBatch(t *testing.T, a *testAgent, body string) (*http.Response, string) {
	t.Helper()
	resp, err := rawClient(t, a.pki, a.pki, "bot").Post(a.url+agent.PathBatch, agent.ContentJSON, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestBatchValidation: a malformed batch is refused whole and runs nothing; a batch
// with hosts the agent does not triage answers each of them with its own error line,
// the others with their checks, and ends with the end marker.
func TestBatchValidation(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, func(c *agent.ServerConfig) { c.SweepBurst = 100 })
	many := make([]string, agent.MaxBatchHosts+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("h%d", i))
	}
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"no hosts", `{"hosts":[]}`, 400, "at least one host"},
		{"hosts missing", `{}`, 400, "at least one host"},
		{"too many hosts", `{"hosts":[` + strings.Join(many, ",") + `]}`, 413, "at most 1000 hosts"},
		{"too large", `{"hosts":["` + strings.Repeat("a", agent.MaxBatchBytes) + `"]}`, 413, "larger than"},
		{"a host twice", `{"hosts":["sqlhost01","SQLHost01"]}`, 400, `host "SQLHost01" is named twice`},
		{"unknown field", `{"hosts":["sqlhost01"],"exec":"x"}`, 400, `unknown field "exec"`},
		{"keys differing in case", `{"hosts":["sqlhost01"],"Hosts":["x"]}`, 400, "same key"},
		{"bad since", `{"hosts":["sqlhost01"],"since":"-1h"}`, 400, `since "-1h"`},
		{"hosts not a list", `{"hosts":"sqlhost01"}`, 400, "malformed request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postBatch(t, a, tt.body)
			var e struct{ Error string }
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != tt.status || !strings.Contains(e.Error, tt.want) {
				t.Errorf("%s %s; want %d with %q", resp.Status, body, tt.status, tt.want)
			}
		})
	}
	if n := a.calls.Load(); n != 0 {
		t.Errorf("checks built %d times for refused batches; want 0", n)
	}

	resp, body := postBatch(t, a, `{"hosts":["sqlhost99","sqlhost01","x\u202ey;rm"],"since":"1h"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("batch: %s %s; want 200", resp.Status, body)
	}
	byHost := map[string][]map[string]any{}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		h, _ := m["host"].(string)
		byHost[h] = append(byHost[h], m)
	}
	if last := lines[len(lines)-1]; last != `{"done":true}` {
		t.Errorf("last line %s; want the end marker", last)
	}
	if l := byHost["sqlhost99"]; len(l) != 1 || l[0]["status"] != 404.0 || !strings.Contains(l[0]["error"].(string), "not in this agent's inventory") {
		t.Errorf("sqlhost99's lines = %v; want one 404 line", l)
	}
	if l := byHost["x\u202ey;rm"]; len(l) != 1 || l[0]["status"] != 400.0 {
		t.Errorf("the bad name's lines = %v; want one 400 line", l)
	}
	if l := byHost["sqlhost01"]; len(l) != 2 || l[0]["check"] == nil || l[1]["done"] != true {
		t.Errorf("sqlhost01's lines = %v; want its check then its end", l)
	}
	if n := a.calls.Load(); n != 1 {
		t.Errorf("checks built %d times; want 1 (sqlhost01 only)", n)
	}
}

// TestSweepCanceled: when the sweep's context ends mid-batch, the agent cancels the
// hosts running and starts no more, the handler returns (its audit record is written
// once every host's goroutine is done), and each host not reported gets the cause.
func TestSweepCanceled(t *testing.T) {
	p := newPKI(t, "bot")
	blockers := map[string]*blocker{}
	for h := range inventory("sqlhost", 4) {
		blockers[h] = newBlocker("slow")
	}
	a := startAgent(t, p, nil, func(c *agent.ServerConfig) {
		c.Hosts = inventory("sqlhost", 4)
		c.Checks = func(t triage.Target, _ time.Duration) []triage.Check { return []triage.Check{blockers[t.Host]} }
		c.SweepConcurrent = 2
	})
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	ctx, cancel := context.WithCancelCause(t.Context())
	stop := errors.New("the run's deadline passed")
	done := make(chan map[string]swept, 1)
	go func() {
		got, _ := sweep(t, ctx, c, []string{"sqlhost01", "sqlhost02", "sqlhost03", "sqlhost04"}, agent.SweepOptions{})
		done <- got
	}()
	await(t, "sqlhost01 to start", blockers["sqlhost01"].started)
	await(t, "sqlhost02 to start", blockers["sqlhost02"].started)
	cancel(stop)
	await(t, "sqlhost01 to be canceled", blockers["sqlhost01"].canceled)
	await(t, "sqlhost02 to be canceled", blockers["sqlhost02"].canceled)
	got := <-done
	for h, r := range got {
		if !errors.Is(r.err, stop) {
			t.Errorf("%s: err = %v; want the cause", h, r.err)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d hosts reported; want 4", len(got))
	}
	rec := waitRequests(t, a.log, 1)[0]
	if r, _ := rec["reason"].(string); !strings.HasPrefix(r, "canceled") && !strings.HasPrefix(r, "stream cut") {
		t.Errorf("audit reason = %q; want canceled", r)
	}
	for _, h := range []string{"sqlhost03", "sqlhost04"} {
		select {
		case <-blockers[h].started:
			t.Errorf("%s started after the cancel", h)
		default:
		}
	}
}

// TestSweepStalled: a batch whose agent sends nothing for longer than the client's
// timeout is cut, and its hosts get a report of the agent not answering.
func TestSweepStalled(t *testing.T) {
	p := newPKI(t, "bot")
	b := newBlocker("slow")
	a := startAgent(t, p, func() []triage.Check { return []triage.Check{b} }, nil)
	c := newClient(t, p, a.url, "bot", 300*time.Millisecond)
	got, err := sweep(t, t.Context(), c, []string{"sqlhost01"}, agent.SweepOptions{})
	if err == nil || !strings.Contains(err.Error(), "stalled") {
		t.Errorf("Sweep = %v; want the stream stalled", err)
	}
	r := got["sqlhost01"]
	if r.err != nil || len(r.rep.Checks) != 1 || r.rep.Checks[0].Status != triage.CheckError ||
		!strings.Contains(r.rep.Checks[0].Detail, "did not answer") || !strings.Contains(r.rep.Checks[0].Detail, "stalled") {
		t.Errorf("report = %+v, %v; want the agent check failed as stalled", r.rep, r.err)
	}
	await(t, "the check to be canceled", b.canceled)
}

// TestBatchSlowClient: a client that does not read is cut after the write timeout; the
// hosts running are canceled and the agent holds no more than they wrote.
func TestBatchSlowClient(t *testing.T) {
	p := newPKI(t, "bot")
	big := strings.Repeat("x", 256<<10)
	a := startAgent(t, p, nil, func(c *agent.ServerConfig) {
		c.Hosts = inventory("sqlhost", 200)
		c.Checks = func(triage.Target, time.Duration) []triage.Check {
			return []triage.Check{returns("errorlog", triage.Result{Detail: big}, nil)}
		}
		c.WriteTimeout = 200 * time.Millisecond
	})
	hosts := make([]string, 0, 200)
	for h := range inventory("sqlhost", 200) {
		hosts = append(hosts, fmt.Sprintf("%q", h))
	}
	resp, err := rawClient(t, p, p, "bot").Post(a.url+agent.PathBatch, agent.ContentJSON,
		strings.NewReader(`{"hosts":[`+strings.Join(hosts, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Read nothing: the agent's writes fill the connection's buffers, then time out.
	waitLog(t, a.log, "the batch's audit record", func(string) bool { return len(a.log.records("request")) == 1 })
	rec := a.log.records("request")[0]
	if r, _ := rec["reason"].(string); !strings.HasPrefix(r, "stream cut") {
		t.Errorf("audit reason = %q; want the stream cut", r)
	}
	// What did arrive is whole lines of whole hosts, and no end marker.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `{"done":true}`) {
			t.Error("the cut stream has the batch's end marker")
		}
	}
}
