package plan

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/triage"
)

// countingBrowser answers as SQL Server Browser would, counting the questions; with
// block it answers only when the context ends, and says so on ended.
type countingBrowser struct {
	views []triage.InstanceView
	err   error
	block bool
	asked *atomic.Int32
	ended chan struct{}
}

func (b countingBrowser) Instances(ctx context.Context, host string) ([]triage.InstanceView, error) {
	b.asked.Add(1)
	if b.block {
		<-ctx.Done()
		close(b.ended)
		return nil, ctx.Err()
	}
	return b.views, b.err
}

// recorder is a check that records the targets it ran on.
type recorder struct {
	name string
	mu   *sync.Mutex
	seen *[]triage.Target
}

func newRecorder(name string) recorder {
	return recorder{name: name, mu: &sync.Mutex{}, seen: &[]triage.Target{}}
}

func (r recorder) Name() string { return r.name }

func (r recorder) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.seen = append(*r.seen, t)
	return triage.Result{Detail: "ran"}, nil
}

func (r recorder) targets() []triage.Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(*r.seen)
}

var sqlhost01 = triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example"}

// TestDiscoveryShared: discovery runs once per plan, alongside the other checks; the
// checks that ask about the instances run on the target as discovery describes it
// (its port, the account the instance runs as), the others on the target as given.
func TestDiscoveryShared(t *testing.T) {
	var asked atomic.Int32
	b := countingBrowser{asked: &asked, views: []triage.InstanceView{{Name: "SALES", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 50177}}}}}
	insp := inspectFunc(func(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error) {
		return triage.Inspection{View: triage.InstanceView{Name: in.Name, ServiceAccount: `CORP\svc_sales`}}, nil
	})
	spn, sql, clock := newRecorder("spn"), newRecorder("sql"), newRecorder("clock")
	cs := shareDiscovery([]triage.Check{spn, checks.Instances{Browser: b, Inspector: insp}, sql, clock}, nil)
	rep := triage.Runner{Checks: cs}.Run(t.Context(), sqlhost01)

	if n := asked.Load(); n != 1 {
		t.Errorf("the Browser was asked %d times; want once per plan", n)
	}
	if rep.Instances == nil || len(rep.Instances.Instances) != 1 || rep.Checks[1].Name != "instances" || rep.Checks[1].Status != triage.CheckPass {
		t.Errorf("report's discovery %+v, checks %+v; want the instances check's", rep.Instances, rep.Checks)
	}
	want := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", Instances: []triage.Instance{{Name: "SALES", Port: 50177}}, ServiceAccount: `CORP\svc_sales`}
	for _, r := range []recorder{spn, sql} {
		got := r.targets()
		if len(got) != 1 || got[0].FQDN != want.FQDN || !slices.Equal(got[0].Instances, want.Instances) || got[0].ServiceAccount != want.ServiceAccount {
			t.Errorf("%s ran on %+v; want %+v", r.name, got, want)
		}
	}
	if got := clock.targets(); len(got) != 1 || len(got[0].Instances) != 0 || got[0].ServiceAccount != "" {
		t.Errorf("clock ran on %+v; want the target as given", got)
	}
	if _, wrapped := cs[3].(onDiscovered); wrapped {
		t.Error("clock waits for discovery; want it run at once")
	}
}

type inspectFunc func(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error)

func (f inspectFunc) Inspect(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error) {
	return f(ctx, host, in)
}

// TestDiscoveryFails: when discovery learns nothing, the dependent checks run on the
// target as given; the configured account is never replaced, nor one the instances
// disagree about added.
func TestDiscoveryFails(t *testing.T) {
	var asked atomic.Int32
	spn := newRecorder("spn")
	cs := shareDiscovery([]triage.Check{checks.Instances{Browser: countingBrowser{asked: &asked, err: errors.New("no answer")}}, spn}, nil)
	tg := sqlhost01
	tg.Instances = []triage.Instance{{Name: "SALES", Port: 50123}}
	rep := triage.Runner{Checks: cs}.Run(t.Context(), tg)
	if rep.Checks[0].Status != triage.CheckError {
		t.Errorf("instances %+v; want an error", rep.Checks[0])
	}
	if got := spn.targets(); len(got) != 1 || !slices.Equal(got[0].Instances, tg.Instances) {
		t.Errorf("spn ran on %+v; want the target as given", got)
	}

	f := &triage.InstanceFacts{Instances: []triage.InstanceView{{Name: "SALES", ServiceAccount: `CORP\a`}, {Name: "HR", ServiceAccount: `CORP\b`}}}
	two := triage.Target{Host: "h", FQDN: "h.corp.example"}
	if got := discovered(two, f).ServiceAccount; got != "" {
		t.Errorf("instances on two accounts: %q; want none", got)
	}
	two.ServiceAccount = `CORP\configured`
	if got := discovered(two, f).ServiceAccount; got != `CORP\configured` {
		t.Errorf("configured account: %q; want it kept", got)
	}
	bad := &triage.InstanceFacts{Instances: []triage.InstanceView{{Name: "SALES", ServiceAccount: "x*)(cn=*"}}}
	if got := discovered(triage.Target{Host: "h", FQDN: "h.corp.example"}, bad).ServiceAccount; got != "" {
		t.Errorf("an account that is not one: %q; want none", got)
	}
}

// TestDiscoveryBounded: a dependent check waits for discovery at most half of its
// time, then runs on the target as given and says so; discovery stops when no one
// waits for it any more.
func TestDiscoveryBounded(t *testing.T) {
	var asked atomic.Int32
	ended := make(chan struct{})
	spn := newRecorder("spn")
	cs := shareDiscovery([]triage.Check{checks.Instances{Browser: countingBrowser{asked: &asked, block: true, ended: ended}}, spn}, nil)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	res, err := cs[1].Run(ctx, sqlhost01)
	if err != nil || !strings.Contains(res.Detail, "discovery of the instances was late") {
		t.Errorf("spn: %q, %v; want it run, late discovery said", res.Detail, err)
	}
	if got := spn.targets(); len(got) != 1 || len(got[0].Instances) != 0 {
		t.Errorf("spn ran on %+v; want the target as given", got)
	}
	<-ended // the only waiter left: discovery was canceled
	if _, err := cs[0].Run(t.Context(), sqlhost01); err == nil {
		t.Error("instances after its cancellation: no error")
	}
}

// TestDiscoveryPanics: a discovery that panics is the instances check's error, and
// the dependents run on the target as given.
func TestDiscoveryPanics(t *testing.T) {
	spn := newRecorder("spn")
	panicky := inspectFunc(func(context.Context, string, triage.Instance) (triage.Inspection, error) { panic("boom") })
	cs := shareDiscovery([]triage.Check{checks.Instances{Inspector: panicky}, spn}, nil)
	rep := triage.Runner{Checks: cs}.Run(t.Context(), sqlhost01)
	if rep.Checks[0].Status != triage.CheckError || !strings.Contains(rep.Checks[0].Detail, "internal error: boom") {
		t.Errorf("instances %+v; want the panic as its error", rep.Checks[0])
	}
	if len(spn.targets()) != 1 {
		t.Error("spn did not run")
	}
}

// TestOfflineDiscoversNothing: a triage from files alone lists no instances check and
// wraps nothing; with a live configuration but an LDIF export, the instances check is
// skipped as offline without asking anything; the agent on its host reads the
// configured ports; a client whose host an agent serves leaves discovery to it.
func TestOfflineDiscoversNothing(t *testing.T) {
	const ldif = "../internal/demo/sqlhost01/directory.ldf"
	pl, err := New(nil, nil, Options{AnyHost: true}).For(t.Context(), "sqlhost01.corp.example", Overrides{LDIF: ldif})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pl.Checks {
		if c.Name() == "instances" {
			t.Error("offline: an instances check")
		}
		if _, ok := c.(onDiscovered); ok {
			t.Errorf("offline: %s waits for discovery", c.Name())
		}
	}

	cfg, err := config.ParseAs([]byte("kerberos: {realm: CORP.EXAMPLE, principal: authtriage, password: x}\nhosts:\n  - {name: sqlhost01, fqdn: sqlhost01.corp.example}\n"),
		"authtriage.yaml", func(string) string { return "" }, nil, config.RoleCLI)
	if err != nil {
		t.Fatal(err)
	}
	pl, err = New(cfg, nil, Options{AnyHost: true}).For(t.Context(), "sqlhost01", Overrides{LDIF: ldif})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(pl.Checks, func(c triage.Check) bool { return c.Name() == "instances" })
	if i < 0 {
		t.Fatal("a live configuration with an LDIF export: no instances check")
	}
	if _, err := pl.Checks[i].Run(t.Context(), pl.Target); triage.Lacking(err) == "" || !strings.Contains(err.Error(), "offline") {
		t.Errorf("instances with an LDIF export: %v; want skipped as offline", err)
	}

	pl, err = New(cfg, nil, Options{Agent: true, LocalHost: "SQLHOST01"}).For(t.Context(), "sqlhost01", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	i = slices.IndexFunc(pl.Checks, func(c triage.Check) bool { return c.Name() == "instances" })
	c := pl.Checks[i].(discoverCheck).d.check.(checks.Instances)
	if c.Configured == nil || c.Browser == nil || c.Inspector == nil || c.Logins == nil || c.Resolver == nil {
		t.Errorf("the agent on its host: %+v; want every source", c)
	}
}

// TestDiscoveryEndedWins: a waiter whose wait has ended when discovery has too gets
// discovery's result, never the wait's error (select alone would pick either).
func TestDiscoveryEndedWins(t *testing.T) {
	done := make(chan struct{})
	close(done)
	want := triage.Result{Detail: "learnt", Obs: triage.Observations{Instances: &triage.InstanceFacts{Notes: []string{"x"}}}}
	d := &discovery{done: done, started: true, cancel: func() {}, res: want}
	wctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 100 {
		if res, err := d.wait(t.Context(), wctx, sqlhost01); err != nil || res.Detail != want.Detail {
			t.Fatalf("wait = %+v, %v; want discovery's result", res, err)
		}
	}
}

// TestDiscoveryKeepsWhatItLearnt: a source that never answers does not cost the
// instances check what the others told: it returns them before its deadline.
func TestDiscoveryKeepsWhatItLearnt(t *testing.T) {
	var asked atomic.Int32
	configured := func(context.Context) ([]triage.InstanceView, error) {
		return []triage.InstanceView{{Name: "MSSQLSERVER", Ports: []triage.PortClaim{{Source: triage.PortMssqlConf, Port: 1433}}}}, nil
	}
	// On synctest's clock: the Browser never answers, and the check must return what it
	// learnt before its deadline, however loaded the machine.
	synctest.Test(t, func(t *testing.T) {
		cs := shareDiscovery([]triage.Check{checks.Instances{Browser: countingBrowser{asked: &asked, block: true, ended: make(chan struct{})}, Configured: configured}}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		res, err := cs[0].Run(ctx, sqlhost01)
		if err != nil || res.Obs.Instances == nil || len(res.Obs.Instances.Instances) != 1 {
			t.Fatalf("instances = %+v, %v; want the configured instance", res.Obs.Instances, err)
		}
		if ctx.Err() != nil {
			t.Error("the instances check returned after its deadline")
		}
	})
}
