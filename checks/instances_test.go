package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/triage"
)

var errNoAnswer = errors.New("SQL Server Browser on sqlhost01.corp.example did not answer within 2s: UDP 1434 may be blocked")

// fakeBrowser answers as SQL Server Browser would, or not at all.
type fakeBrowser struct {
	views []triage.InstanceView
	err   error
	block bool // wait for the context to end
}

func (b fakeBrowser) Instances(ctx context.Context, host string) ([]triage.InstanceView, error) {
	if b.block {
		<-ctx.Done()
		return nil, fmt.Errorf("%w: %w", errNoAnswer, ctx.Err())
	}
	return b.views, b.err
}

// fakeInspector answers for each instance by name ("" for the default).
type fakeInspector struct {
	answers map[string]triage.Inspection
	errs    map[string]error
	mu      sync.Mutex
	asked   []triage.Instance
}

func (f *fakeInspector) Inspect(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error) {
	f.mu.Lock()
	f.asked = append(f.asked, in)
	f.mu.Unlock()
	return f.answers[in.Name], f.errs[in.Name]
}

// dnsFake resolves from maps; a name in neither is not found.
type dnsFake struct {
	cname map[string]string
	hosts map[string][]string
}

func (r dnsFake) LookupCNAME(ctx context.Context, host string) (string, error) {
	if c, ok := r.cname[host]; ok {
		return c + ".", nil
	}
	if _, ok := r.hosts[host]; ok {
		return host + ".", nil
	}
	return "", fmt.Errorf("lookup %s: no such host", host)
}

func (r dnsFake) LookupHost(ctx context.Context, host string) ([]string, error) {
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", host)
}

// replicaLogins logs in to replicas, answering by FQDN.
type replicaLogins struct {
	accounts map[string]string // FQDN -> service account; absent: refused
	calls    atomic.Int32
}

func (f *replicaLogins) Logins(ctx context.Context, t triage.Target) []triage.SQLLogin {
	f.calls.Add(1)
	if a, ok := f.accounts[t.FQDN]; ok {
		return []triage.SQLLogin{{Instance: t.Instances[0].String(), OK: true, ServiceAccount: a}}
	}
	return []triage.SQLLogin{{Instance: t.Instances[0].String(), Number: 18456, State: 5, Connected: true}}
}

var target = triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example"}

// TestInstancesDiscovers: with only the FQDN, the Browser's instances are each asked
// through a SQL login on the port the Browser gave, and every source's claims are
// kept with it; the detail says per instance what was seen and what is configured.
func TestInstancesDiscovers(t *testing.T) {
	insp := &fakeInspector{answers: map[string]triage.Inspection{
		"SALES": {View: triage.InstanceView{Name: "SALES", ServerName: `SQLHOST01\SALES`, ServiceAccount: `CORP\svc_sales`,
			Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 50177}, {Source: triage.PortServerRegistry, Dynamic: true}}}},
		"": {View: triage.InstanceView{Name: "MSSQLSERVER", ServiceAccount: `CORP\svc_sql`, Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 1433}}}},
	}}
	c := Instances{
		Browser: fakeBrowser{views: []triage.InstanceView{
			{Name: "MSSQLSERVER", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 1433}}},
			{Name: "SALES", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 50177}}, Version: "16.0.1000.6"},
		}},
		Configured: func(ctx context.Context) ([]triage.InstanceView, error) {
			return []triage.InstanceView{{Name: "SALES", Ports: []triage.PortClaim{{Source: triage.PortRegistry, Port: 50177, Dynamic: true}}}}, nil
		},
		Inspector: insp,
		Resolver:  dnsFake{hosts: map[string][]string{"sqlhost01.corp.example": {"10.0.0.5"}}},
	}
	res, err := c.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Obs.Instances
	if f == nil || len(f.Instances) != 2 {
		t.Fatalf("instances %+v; want MSSQLSERVER and SALES", f)
	}
	sales := f.Instances[1]
	wantPorts := []triage.PortClaim{{Source: triage.PortBrowser, Port: 50177}, {Source: triage.PortRegistry, Port: 50177, Dynamic: true},
		{Source: triage.PortListening, Port: 50177}, {Source: triage.PortServerRegistry, Dynamic: true}}
	if diff := cmp.Diff(wantPorts, sales.Ports); diff != "" {
		t.Errorf("SALES's claims (-want +got):\n%s", diff)
	}
	if sales.Version != "16.0.1000.6" || sales.ServiceAccount != `CORP\svc_sales` || sales.ServerName != `SQLHOST01\SALES` {
		t.Errorf("SALES %+v; want the Browser's version and SQL Server's names", sales)
	}
	if !slices.Contains(insp.asked, triage.Instance{Name: "SALES", Port: 50177}) || !slices.Contains(insp.asked, triage.Instance{Port: 1433}) {
		t.Errorf("asked %v; want SALES on the Browser's port 50177 and the default instance on 1433", insp.asked)
	}
	for _, want := range []string{
		"SALES: TCP 50177 (browser, sys.dm_tcp_listener_states); configured: dynamic (registry, sys.dm_server_registry); runs as CORP\\svc_sales",
		"MSSQLSERVER: TCP 1433 (browser, sys.dm_tcp_listener_states)",
		"sqlhost01.corp.example (10.0.0.5)",
	} {
		if !strings.Contains(res.Detail, want) {
			t.Errorf("detail %q; want it to say %q", res.Detail, want)
		}
	}
	if f.Names == nil || len(f.Names.Chain) != 0 || !slices.Equal(f.Names.Addresses, []string{"10.0.0.5"}) {
		t.Errorf("names %+v; want the FQDN canonical with its address", f.Names)
	}
}

// TestInstancesInventoryFirst: the inventory's instances are the ones asked, with the
// port discovery found; its ports are claims of their own.
func TestInstancesInventoryFirst(t *testing.T) {
	insp := &fakeInspector{}
	c := Instances{
		Browser: fakeBrowser{views: []triage.InstanceView{
			{Name: "SALES", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 50177}}},
			{Name: "HR", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 50200}}},
		}},
		Inspector: insp,
	}
	tg := target
	tg.Instances = []triage.Instance{{Name: "sales", Port: 50123}}
	res, err := c.Run(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(insp.asked, []triage.Instance{{Name: "sales", Port: 50177}}) {
		t.Errorf("asked %v; want only the inventory's instance, on the port the Browser gave", insp.asked)
	}
	got := res.Obs.Instances.Instances[0]
	if got.Name != "sales" || !slices.Contains(got.Ports, triage.PortClaim{Source: triage.PortInventory, Port: 50123}) ||
		!slices.Contains(got.Ports, triage.PortClaim{Source: triage.PortBrowser, Port: 50177}) {
		t.Errorf("first instance %+v; want the inventory's, with its claim and the Browser's", got)
	}
	if !strings.Contains(res.Detail, "sales: TCP 50177 (browser); configured: 50123 (inventory)") {
		t.Errorf("detail %q", res.Detail)
	}
}

// TestInstancesBrowserSilent: a Browser that does not answer is a note, and discovery
// goes on with SQL Server's own view; one that blocks ends with the context.
func TestInstancesBrowserSilent(t *testing.T) {
	insp := &fakeInspector{answers: map[string]triage.Inspection{"": {View: triage.InstanceView{Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 1433}}}}}}
	c := Instances{Browser: fakeBrowser{err: errNoAnswer}, NoAnswer: errNoAnswer, Inspector: insp}
	res, err := c.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	notes := res.Obs.Instances.Notes
	if len(notes) != 1 || notes[0] != errNoAnswer.Error() {
		t.Errorf("notes %q; want the Browser's silence", notes)
	}
	if !strings.Contains(res.Detail, "MSSQLSERVER: TCP 1433 (sys.dm_tcp_listener_states)") {
		t.Errorf("detail %q; want the instance SQL Server described", res.Detail)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err = Instances{Browser: fakeBrowser{block: true}, NoAnswer: errNoAnswer}.Run(ctx, target)
	if !errors.Is(err, context.Canceled) || res.Obs.Instances == nil || len(res.Obs.Instances.Notes) != 1 {
		t.Errorf("blocked Browser, canceled: %v, %+v; want the cancellation with the Browser's note", err, res.Obs.Instances)
	}
}

// TestInstancesSQLDenied: an instance that refuses the login or a permission is a
// note; what the Browser said stands.
func TestInstancesSQLDenied(t *testing.T) {
	insp := &fakeInspector{
		answers: map[string]triage.Inspection{"HR": {View: triage.InstanceView{Name: "HR"}, Notes: []string{"VIEW SERVER STATE permission was denied on HR"}}},
		errs:    map[string]error{"SALES": errors.New("login failed: error 18456, state 5")},
	}
	c := Instances{
		Browser: fakeBrowser{views: []triage.InstanceView{
			{Name: "SALES", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 50177}}},
			{Name: "HR", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 50200}}},
		}},
		Inspector: insp,
	}
	res, err := c.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SQL Server SALES:50177 on sqlhost01.corp.example could not be asked: login failed: error 18456, state 5",
		"VIEW SERVER STATE permission was denied on HR"}
	if diff := cmp.Diff(want, res.Obs.Instances.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// TestInstancesNothingLearnt: when no source answers, the check is an error, and the
// inventory's claims and the notes are kept.
func TestInstancesNothingLearnt(t *testing.T) {
	c := Instances{
		Browser:    fakeBrowser{err: errNoAnswer},
		Configured: func(ctx context.Context) ([]triage.InstanceView, error) { return nil, errors.New("access denied") },
		Inspector:  &fakeInspector{errs: map[string]error{"SALES": errors.New("connection refused")}},
		Resolver:   dnsFake{},
	}
	tg := target
	tg.Instances = []triage.Instance{{Name: "SALES", Port: 50123}}
	res, err := c.Run(t.Context(), tg)
	if err == nil || !strings.Contains(err.Error(), "nothing could be learnt of sqlhost01.corp.example's instances") {
		t.Fatalf("error %v; want nothing learnt", err)
	}
	f := res.Obs.Instances
	if f == nil || len(f.Instances) != 1 || !slices.Equal(f.Instances[0].Ports, []triage.PortClaim{{Source: triage.PortInventory, Port: 50123}}) {
		t.Errorf("facts %+v; want the inventory's claim kept", f)
	}
	if len(f.Notes) != 5 { // Browser, host, CNAME, address, SQL
		t.Errorf("notes %q; want one per source", f.Notes)
	}
}

// TestInstancesSkips: without a source it says what it lacks.
func TestInstancesSkips(t *testing.T) {
	_, err := Instances{NoSource: "offline"}.Run(t.Context(), target)
	if reason, ok := triage.IsSkip(err); !ok || reason != "offline" || triage.Lacking(err) != triage.MissingKerberos {
		t.Errorf("no source: %v; want skipped, lacking kerberos", err)
	}
	_, err = Instances{Browser: fakeBrowser{}}.Run(t.Context(), triage.Target{Host: "sqlhost01"})
	if triage.Lacking(err) != triage.MissingFQDN {
		t.Errorf("no FQDN: %v; want skipped, lacking the FQDN", err)
	}
}

// TestInstancesListeners: the inventory's listeners and those SQL Server names are
// merged; each replica's account is read through a login (the host's own replica from
// its inspection), once per replica, and every name resolved.
func TestInstancesListeners(t *testing.T) {
	replicas := []triage.Replica{{Server: `SQLHOST01\SALES`}, {Server: "SQLHOST02"}, {Server: "SQLHOST03"}}
	insp := &fakeInspector{answers: map[string]triage.Inspection{"SALES": {
		View: triage.InstanceView{Name: "SALES", ServiceAccount: `CORP\svc_a`, Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 50177}}},
		Listeners: []triage.Listener{
			{Name: "sales-ag", Port: 1433, Group: "AG1", Replicas: replicas},
			{Name: "sales-ro", Port: 1444, Group: "AG1", Replicas: replicas},
		},
	}}}
	logins := &replicaLogins{accounts: map[string]string{"sqlhost02.corp.example": `CORP\svc_a`}}
	c := Instances{
		Inspector: insp,
		Logins:    logins,
		Resolver: dnsFake{hosts: map[string][]string{
			"sqlhost01.corp.example": {"10.0.0.1"}, "sqlhost02.corp.example": {"10.0.0.2"}, "sqlhost03.corp.example": {"10.0.0.3"},
			"sales-ag.corp.example": {"10.0.0.9"}, "sales-ro.corp.example": {"10.0.0.10"},
		}},
	}
	tg := target
	tg.Instances = []triage.Instance{{Name: "SALES"}}
	tg.Listeners = []triage.Listener{{Name: "sales-ag", FQDN: "sales-ag.corp.example", Source: "inventory"}, {Name: "old-ag", FQDN: "old-ag.corp.example", Port: 1433, Source: "inventory"}}
	res, err := c.Run(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	ls := res.Obs.Instances.Listeners
	if len(ls) != 3 {
		t.Fatalf("listeners %+v; want sales-ag, old-ag and sales-ro", ls)
	}
	ag := ls[0]
	if ag.Source != "inventory, sql" || ag.Port != 1433 || ag.Group != "AG1" || !slices.Equal(ag.Addresses, []string{"10.0.0.9"}) {
		t.Errorf("sales-ag %+v; want the inventory's with SQL Server's port, group and its address", ag)
	}
	wantReplicas := []triage.Replica{
		{Server: `SQLHOST01\SALES`, FQDN: "sqlhost01.corp.example", ServiceAccount: `CORP\svc_a`, Addresses: []string{"10.0.0.1"}},
		{Server: "SQLHOST02", FQDN: "sqlhost02.corp.example", ServiceAccount: `CORP\svc_a`, Addresses: []string{"10.0.0.2"}},
		{Server: "SQLHOST03", FQDN: "sqlhost03.corp.example", Addresses: []string{"10.0.0.3"}, Err: "login refused: error 18456, state 5"},
	}
	for _, l := range []triage.Listener{ag, ls[2]} {
		if diff := cmp.Diff(wantReplicas, l.Replicas); diff != "" {
			t.Errorf("%s's replicas (-want +got):\n%s", l.Name, diff)
		}
	}
	if ls[1].Source != "inventory" || ls[2].Source != "sql" || ls[2].FQDN != "sales-ro.corp.example" {
		t.Errorf("old-ag %+v, sales-ro %+v; want the inventory's alone and SQL Server's fully qualified", ls[1], ls[2])
	}
	if n := logins.calls.Load(); n != 2 {
		t.Errorf("%d logins; want one per replica not the host's own", n)
	}
	if !strings.Contains(res.Detail, `listener sales-ag.corp.example:1433 (inventory, sql): replicas SQLHOST01\SALES (CORP\svc_a), SQLHOST02 (CORP\svc_a), SQLHOST03 (not asked: login refused: error 18456, state 5)`) {
		t.Errorf("detail %q", res.Detail)
	}
	if !slices.ContainsFunc(res.Obs.Instances.Notes, func(n string) bool { return strings.Contains(n, "old-ag.corp.example could not be resolved") }) {
		t.Errorf("notes %q; want old-ag's name not resolved", res.Obs.Instances.Notes)
	}
}

// TestInstancesNames: the CNAME chain is followed to the canonical name, at most 8
// steps, a loop stopped; the canonical name's addresses are read.
func TestInstancesNames(t *testing.T) {
	long := map[string]string{}
	for i := range 10 {
		long[fmt.Sprintf("n%d.corp.example", i)] = fmt.Sprintf("n%d.corp.example", i+1)
	}
	long["sqlhost01.corp.example"] = "n0.corp.example"
	tests := []struct {
		name  string
		r     dnsFake
		chain []string
		addrs []string
		note  string
	}{
		{"alias", dnsFake{cname: map[string]string{"sqlhost01.corp.example": "sql-a.corp.example"}, hosts: map[string][]string{"sql-a.corp.example": {"10.0.0.7"}}},
			[]string{"sql-a.corp.example"}, []string{"10.0.0.7"}, ""},
		{"loop", dnsFake{cname: map[string]string{"sqlhost01.corp.example": "a.corp.example", "a.corp.example": "sqlhost01.corp.example"}},
			[]string{"a.corp.example"}, nil, "the CNAMEs of sqlhost01.corp.example loop at sqlhost01.corp.example"},
		{"too long", dnsFake{cname: long},
			[]string{"n0.corp.example", "n1.corp.example", "n2.corp.example", "n3.corp.example", "n4.corp.example", "n5.corp.example", "n6.corp.example", "n7.corp.example"},
			nil, "longer than 8 names"},
		{"not a name", dnsFake{cname: map[string]string{"sqlhost01.corp.example": "a b.example"}}, nil, nil, "is not a host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := Instances{Browser: fakeBrowser{err: errNoAnswer}, Resolver: tt.r}.Run(t.Context(), target)
			n := res.Obs.Instances.Names
			if n == nil || !slices.Equal(n.Chain, tt.chain) || !slices.Equal(n.Addresses, tt.addrs) {
				t.Fatalf("names %+v; want chain %v, addresses %v", n, tt.chain, tt.addrs)
			}
			if tt.note != "" && !slices.ContainsFunc(res.Obs.Instances.Notes, func(s string) bool { return strings.Contains(s, tt.note) }) {
				t.Errorf("notes %q; want %q", res.Obs.Instances.Notes, tt.note)
			}
		})
	}
}

// TestInstancesBounded: the logins run a few at a time, never all at once.
func TestInstancesBounded(t *testing.T) {
	var active, most atomic.Int32
	started := make(chan struct{}, 16)
	release := make(chan struct{})
	insp := inspectFunc(func(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error) {
		n := active.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		started <- struct{}{}
		<-release
		active.Add(-1)
		return triage.Inspection{View: triage.InstanceView{Name: in.Name, Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 1000 + in.Port}}}}, nil
	})
	tg := target
	for i := range 10 {
		tg.Instances = append(tg.Instances, triage.Instance{Name: fmt.Sprintf("I%d", i), Port: 2000 + i})
	}
	done := make(chan error)
	go func() {
		_, err := Instances{Inspector: insp}.Run(t.Context(), tg)
		done <- err
	}()
	for range maxParallel {
		<-started
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m > maxParallel {
		t.Errorf("%d logins at once; want at most %d", m, maxParallel)
	}
}

type inspectFunc func(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error)

func (f inspectFunc) Inspect(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error) {
	return f(ctx, host, in)
}

// TestInstancesHostileNames: an instance name no SQL Server allows is left out, and a
// replica whose host is not a host name is not dialled.
func TestInstancesHostileNames(t *testing.T) {
	logins := &replicaLogins{}
	c := Instances{
		Browser: fakeBrowser{views: []triage.InstanceView{{Name: "SALES\u202e; rm -rf /"}, {Name: "HR"}}},
		Inspector: &fakeInspector{answers: map[string]triage.Inspection{"HR": {
			View:      triage.InstanceView{Name: "HR"},
			Listeners: []triage.Listener{{Name: "ag", Port: 1433, Replicas: []triage.Replica{{Server: "bad host$(x)"}}}},
		}}},
		Logins: logins,
	}
	res, err := c.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Obs.Instances
	if len(f.Instances) != 1 || f.Instances[0].Name != "HR" {
		t.Errorf("instances %+v; want HR alone", f.Instances)
	}
	if r := f.Listeners[0].Replicas[0]; r.FQDN != "" || r.Err == "" || logins.calls.Load() != 0 {
		t.Errorf("replica %+v, %d logins; want it not dialled", r, logins.calls.Load())
	}
}

// TestInstancesPanicReachesTheRunner: a source that panics in one of discovery's
// goroutines panics in the check's own, where the Runner recovers it.
func TestInstancesPanicReachesTheRunner(t *testing.T) {
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v; want the source's panic", p)
		}
	}()
	Instances{Configured: func(context.Context) ([]triage.InstanceView, error) { panic("boom") }}.Run(t.Context(), target)
	t.Error("Run returned")
}

// TestInstancesNamesChecked: the names SQL Server reports are checked before anything
// is built from them: a node, the physical node or a service account that is not one
// is cleared with a note, and a replica whose host or instance is not one is not asked.
func TestInstancesNamesChecked(t *testing.T) {
	logins := &replicaLogins{accounts: map[string]string{"sqlhost04.corp.example": "CORP\\svc\nx"}}
	c := Instances{
		Inspector: &fakeInspector{answers: map[string]triage.Inspection{"": {
			View: triage.InstanceView{Name: "MSSQLSERVER", Clustered: new(true), PhysicalNode: "NODE1;x", Nodes: []string{"NODE1", "a b"},
				ServiceAccount: "CORP\\svc\u202ex", Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 1433}}},
			Listeners: []triage.Listener{{Name: "ag", Port: 1433, Replicas: []triage.Replica{
				{Server: `SQLHOST02\BAD;x`}, {Server: "SQLHOST03", ServiceAccount: "x\ny"}, {Server: "SQLHOST04"},
			}}},
		}}},
		Logins: logins,
	}
	res, err := c.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Obs.Instances
	v := f.Instances[0]
	if v.PhysicalNode != "" || !slices.Equal(v.Nodes, []string{"NODE1"}) || v.ServiceAccount != "" {
		t.Errorf("instance %+v; want the names that are not names cleared", v)
	}
	want := []triage.Replica{
		{Server: `SQLHOST02\BAD;x`, Err: "its instance is not a name SQL Server allows"},
		{Server: "SQLHOST03", FQDN: "sqlhost03.corp.example", Err: "login refused: error 18456, state 5"},
		{Server: "SQLHOST04", FQDN: "sqlhost04.corp.example", Err: "logged in, but the account sys.dm_server_services named, \"CORP\\\\svc\\nx\", is not an account name"},
	}
	if diff := cmp.Diff(want, f.Listeners[0].Replicas); diff != "" {
		t.Errorf("replicas (-want +got):\n%s", diff)
	}
	if n := logins.calls.Load(); n != 2 {
		t.Errorf("%d logins; want 2, none to the replica whose instance is not a name", n)
	}
	for _, s := range []string{`physical node "NODE1;x"`, `cluster node "a b"`, `its service account "CORP\\svc\u202ex"`,
		`replica "SQLHOST02\\BAD;x" was not asked`, `replica "SQLHOST03": its service account "x\ny"`} {
		if !slices.ContainsFunc(f.Notes, func(n string) bool { return strings.Contains(n, s) }) {
			t.Errorf("notes %q; want one with %q", f.Notes, s)
		}
	}
}

// blockingLogins waits for the context to end, as a replica that never answers does.
type blockingLogins struct{ calls atomic.Int32 }

func (b *blockingLogins) Logins(ctx context.Context, t triage.Target) []triage.SQLLogin {
	b.calls.Add(1)
	<-ctx.Done()
	return []triage.SQLLogin{{Instance: t.Instances[0].String(), Err: ctx.Err().Error()}}
}

// TestInstancesBudget: replicas that never answer take at most their share of the
// time: the check returns before its deadline with what the other sources told, and
// a note that the time ran out.
func TestInstancesBudget(t *testing.T) {
	logins := &blockingLogins{}
	c := Instances{
		Inspector: &fakeInspector{answers: map[string]triage.Inspection{"": {
			View:      triage.InstanceView{Name: "MSSQLSERVER", Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 1433}}},
			Listeners: []triage.Listener{{Name: "ag", Port: 1433, Replicas: []triage.Replica{{Server: "SQLHOST02"}}}},
		}}},
		Logins: logins,
	}
	// On synctest's clock, so that the deadline is the check's budget, not the
	// machine's load.
	var res triage.Result
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		var err error
		res, err = c.Run(ctx, target)
		if ctx.Err() != nil {
			t.Errorf("Run returned after its deadline")
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	f := res.Obs.Instances
	if len(f.Instances) != 1 || f.Instances[0].Name != "MSSQLSERVER" || logins.calls.Load() != 1 {
		t.Errorf("facts %+v, %d logins; want the instance kept and the replica asked", f, logins.calls.Load())
	}
	if !slices.ContainsFunc(f.Notes, func(n string) bool {
		return n == "the check's time ran out while asking the listeners' replicas: what was learnt until then is kept"
	}) {
		t.Errorf("notes %q; want the time that ran out", f.Notes)
	}
}

// TestInstancesSilentBrowserNoPort: when SQL Server Browser is silent, a named
// instance no source gives a port for is not asked (the driver would ask the same
// Browser); the others are. A failed login to the default instance, guessed at, adds
// nothing.
func TestInstancesSilentBrowserNoPort(t *testing.T) {
	insp := &fakeInspector{
		answers: map[string]triage.Inspection{"HR": {View: triage.InstanceView{Name: "HR", Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 50200}}}}},
		errs:    map[string]error{"": errors.New("connection refused")},
	}
	c := Instances{Browser: fakeBrowser{err: errNoAnswer}, NoAnswer: errNoAnswer, Inspector: insp}
	tg := target
	tg.Instances = []triage.Instance{{Name: "SALES"}, {Name: "HR", Port: 50200}}
	res, err := c.Run(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []triage.Instance{{Name: "HR", Port: 50200}}; !slices.Equal(insp.asked, want) {
		t.Errorf("asked %v; want %v", insp.asked, want)
	}
	want := "SQL Server SALES on sqlhost01.corp.example was not asked: no source knows its port, and SQL Server Browser, which the driver asks for it, did not answer"
	if !slices.Contains(res.Obs.Instances.Notes, want) {
		t.Errorf("notes %q; want %q", res.Obs.Instances.Notes, want)
	}

	insp = &fakeInspector{errs: map[string]error{"": errors.New("connection refused")}}
	c = Instances{Browser: fakeBrowser{err: errNoAnswer}, NoAnswer: errNoAnswer, Inspector: insp, Resolver: dnsFake{hosts: map[string][]string{"sqlhost01.corp.example": {"10.0.0.1"}}}}
	res, err = c.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(insp.asked, []triage.Instance{{Port: 1433}}) || len(res.Obs.Instances.Instances) != 0 {
		t.Errorf("asked %v, instances %+v; want the default asked and not added", insp.asked, res.Obs.Instances.Instances)
	}
}

// TestInstancesRingBufferWindow: ring-buffer groups last seen before the window are
// left out, with a note of how many.
func TestInstancesRingBufferWindow(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	failures := []triage.RingBufferEvent{
		{Instance: "MSSQLSERVER", Code: "0x8009030c", Count: 2, First: now.Add(-50 * time.Hour), Last: now.Add(-time.Hour)},
		{Instance: "MSSQLSERVER", Code: "0x80090311", Count: 1, First: now.Add(-50 * time.Hour), Last: now.Add(-25 * time.Hour)},
	}
	insp := &fakeInspector{answers: map[string]triage.Inspection{"": {
		View: triage.InstanceView{Name: "MSSQLSERVER", Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 1433}}}, Failures: failures,
	}}}
	for _, tc := range []struct {
		since time.Duration
		want  []triage.RingBufferEvent
		note  string
	}{
		{0, failures[:1], "1 ring-buffer group left out: last seen more than 24h ago, before the window"},
		{72 * time.Hour, failures, ""},
		{30 * time.Minute, nil, "2 ring-buffer groups left out: last seen more than 30m ago, before the window"},
	} {
		res, err := Instances{Inspector: insp, Since: tc.since, Now: func() time.Time { return now }}.Run(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
		f := res.Obs.Instances
		if diff := cmp.Diff(tc.want, f.Failures, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("since %s: failures (-want +got):\n%s", tc.since, diff)
		}
		if got := strings.Join(f.Notes, "; "); got != tc.note {
			t.Errorf("since %s: notes %q; want %q", tc.since, got, tc.note)
		}
	}
}
