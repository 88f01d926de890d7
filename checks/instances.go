package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// instanceBrowser asks SQL Server Browser on a host for all its instances
// (CLNT_UCAST_EX of the SQL Server Resolution Protocol).
type instanceBrowser interface {
	Instances(ctx context.Context, host string) ([]triage.InstanceView, error)
}

// instanceInspector logs in to one instance of a host and asks it about itself.
type instanceInspector interface {
	Inspect(ctx context.Context, host string, in triage.Instance) (triage.Inspection, error)
}

// nameResolver is the part of *net.Resolver discovery uses.
type nameResolver interface {
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Instances discovers the target's instances as its clients see them: SQL Server
// Browser's answer, the ports configured on the host (by an agent running there), the
// inventory's ports, what each instance says of itself through a SQL login, the
// availability-group listeners with their replicas' service accounts and addresses,
// and the CNAME chain of the host's name. Each source is optional; one that does not
// answer is a note, and discovery goes on with the others.
type Instances struct {
	Browser instanceBrowser // nil: SQL Server Browser is not asked
	// NoAnswer tells the Browser's silence from its other errors (browser.ErrNoAnswer).
	NoAnswer error
	// Configured reads the instances' configured ports on the host itself (the
	// registry's SuperSocketNetLib, mssql.conf); nil when the check does not run there.
	Configured func(ctx context.Context) ([]triage.InstanceView, error)
	Inspector  instanceInspector // nil: no SQL login
	// Logins logs in to the listeners' replicas to read the account each runs as; nil:
	// they are not asked.
	Logins   sqlLogger
	Resolver nameResolver // nil: names are not resolved
	NoSource string
	// Since is the window of the ring-buffer groups kept: a group last seen before
	// Now()-Since is left out, with a note of how many were. 0 means 24h.
	Since time.Duration
	Now   func() time.Time // nil means time.Now
}

// Name returns "instances".
func (Instances) Name() string { return "instances" }

// maxParallel bounds the logins discovery runs at once.
const maxParallel = 4

// maxCNAMESteps bounds the CNAME chain followed from the host's name.
const maxCNAMESteps = 8

// workShare is the share of the time ctx leaves Run that its sources may use: Run
// returns what it learnt before ctx's deadline, so that a caller waiting for it until
// then has its facts.
const workShare = 0.9

// Run discovers within ctx. Its observations are the InstanceFacts, kept with an
// error; it is an error only when no live source told anything. The sources share
// the time ctx leaves: the listeners' replicas, asked last, at most half of what is
// left when their turn comes; a step that runs out of time is a note, and what was
// learnt is kept.
func (c Instances) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.Browser == nil && c.Configured == nil && c.Inspector == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingKerberos, "%s",
			cmp.Or(c.NoSource, "no source of instances: no SQL Server login and no agent on the host"))
	}
	if t.FQDN == "" {
		return triage.Result{}, triage.SkipLacking(triage.MissingFQDN, "the host's FQDN is not known")
	}
	d := &discovery{c: c, t: t, facts: &triage.InstanceFacts{}}
	d.inventory()
	wctx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, time.Duration(float64(time.Until(deadline))*workShare))
		defer cancel()
	}

	// The Browser, the host's settings and the names are independent: ask them at once.
	var browsed, configured []triage.InstanceView
	g := newGroup(0)
	if c.Browser != nil {
		g.Go(func() { browsed = d.browse(wctx) })
	}
	if c.Configured != nil {
		g.Go(func() { configured = d.configured(wctx) })
	}
	if c.Resolver != nil {
		g.Go(func() { d.names(wctx) })
	}
	g.Wait()
	for _, v := range slices.Concat(browsed, configured) {
		d.add(v)
	}
	d.outOfTime(ctx, wctx, "asking SQL Server Browser, the host's settings and DNS")
	d.inspect(wctx)
	d.outOfTime(ctx, wctx, "logging in to the instances")
	d.window()
	lctx := wctx
	if deadline, ok := wctx.Deadline(); ok {
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(wctx, time.Until(deadline)/2)
		defer cancel()
	}
	d.listeners(lctx)
	d.outOfTime(ctx, lctx, "asking the listeners' replicas")

	res := triage.Result{Detail: d.detail(), Obs: triage.Observations{Instances: d.facts}}
	if err := ctx.Err(); err != nil && !d.learnt {
		return res, fmt.Errorf("discovery of %s's instances: %w", t.FQDN, err)
	}
	if !d.learnt {
		return res, fmt.Errorf("nothing could be learnt of %s's instances: %s", t.FQDN, strings.Join(d.facts.Notes, "; "))
	}
	return res, nil
}

// discovery is one run of the instances check.
type discovery struct {
	c     Instances
	t     triage.Target
	mu    sync.Mutex // guards what follows while sources answer at once
	facts *triage.InstanceFacts
	// learnt says a live source told something.
	learnt bool
	// silent says SQL Server Browser was asked and did not answer (NoAnswer).
	silent bool
	// late says a step's time ran out: later steps are not noted again.
	late bool
}

// outOfTime notes that the step ran out of time when its context sctx ended before
// the check's own ctx (which the Run's error reports), once per run.
func (d *discovery) outOfTime(ctx, sctx context.Context, step string) {
	if d.late || sctx.Err() == nil || ctx.Err() != nil {
		return
	}
	d.late = true
	d.note("the check's time ran out while %s: what was learnt until then is kept", step)
}

func (d *discovery) note(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.facts.Notes = append(d.facts.Notes, fmt.Sprintf(format, args...))
}

// key is the name instances are merged by: upper case, MSSQLSERVER for the default.
func key(name string) string {
	if (triage.Instance{Name: name}).IsDefault() {
		return "MSSQLSERVER"
	}
	return strings.ToUpper(name)
}

// view returns the facts' entry of the instance name, added when new. d.mu is held.
func (d *discovery) view(name string) *triage.InstanceView {
	k := key(name)
	for i := range d.facts.Instances {
		if key(d.facts.Instances[i].Name) == k {
			return &d.facts.Instances[i]
		}
	}
	if (triage.Instance{Name: name}).IsDefault() {
		name = "MSSQLSERVER"
	}
	d.facts.Instances = append(d.facts.Instances, triage.InstanceView{Name: name})
	return &d.facts.Instances[len(d.facts.Instances)-1]
}

// inventory records the target's own instances, with their ports as the inventory's
// claims.
func (d *discovery) inventory() {
	for _, in := range d.t.Instances {
		v := d.view(in.Name)
		if in.Port != 0 {
			addClaim(v, triage.PortClaim{Source: triage.PortInventory, Port: in.Port})
		}
	}
}

// add merges what a source saw of an instance into the facts. An instance whose name
// is not one SQL Server allows is left out with a note.
func (d *discovery) add(src triage.InstanceView) {
	if !src.IsDefault() {
		if _, err := triage.ParseInstance(src.Name); err != nil || strings.Contains(src.Name, ":") {
			d.note("an instance named %q was left out: not a valid instance name", src.Name)
			return
		}
	}
	d.checkNames(&src)
	d.mu.Lock()
	defer d.mu.Unlock()
	mergeView(d.view(src.Name), src)
}

// checkNames clears the names of src that SQL Server or a Browser reported and the
// checks would build an SPN, a command or a dial from, when they are not what they
// should be: the nodes and physical node (host names), the service account (an
// account Active Directory can hold). Each is a note.
func (d *discovery) checkNames(src *triage.InstanceView) {
	name := cmp.Or(src.Name, "MSSQLSERVER")
	if src.PhysicalNode != "" && triage.ValidHostName(src.PhysicalNode) != nil {
		d.note("instance %s: its physical node %q was left out: not a host name", name, src.PhysicalNode)
		src.PhysicalNode = ""
	}
	var nodes []string
	for _, n := range src.Nodes {
		if triage.ValidHostName(n) != nil {
			d.note("instance %s: a cluster node %q was left out: not a host name", name, n)
			continue
		}
		nodes = append(nodes, n)
	}
	src.Nodes = nodes
	if src.ServiceAccount != "" && triage.ValidAccount(src.ServiceAccount) != nil {
		d.note("instance %s: its service account %q was left out: not an account name", name, src.ServiceAccount)
		src.ServiceAccount = ""
	}
}

// mergeView adds src's claims to dst and fills what dst does not know.
func mergeView(dst *triage.InstanceView, src triage.InstanceView) {
	for _, c := range src.Ports {
		if c.Port >= 0 && c.Port <= 65535 {
			addClaim(dst, c)
		}
	}
	dst.Pipe = cmp.Or(dst.Pipe, src.Pipe)
	if dst.TCPEnabled == nil {
		dst.TCPEnabled = src.TCPEnabled
	}
	dst.Version = cmp.Or(dst.Version, src.Version)
	dst.BrowserServer = cmp.Or(dst.BrowserServer, src.BrowserServer)
	if dst.Clustered == nil {
		dst.Clustered = src.Clustered
	}
	dst.ServerName = cmp.Or(dst.ServerName, src.ServerName)
	dst.MachineName = cmp.Or(dst.MachineName, src.MachineName)
	dst.PhysicalNode = cmp.Or(dst.PhysicalNode, src.PhysicalNode)
	for _, n := range src.Nodes {
		if !slices.ContainsFunc(dst.Nodes, func(m string) bool { return strings.EqualFold(m, n) }) {
			dst.Nodes = append(dst.Nodes, n)
		}
	}
	dst.ServiceAccount = cmp.Or(dst.ServiceAccount, src.ServiceAccount)
}

func addClaim(v *triage.InstanceView, c triage.PortClaim) {
	if !slices.Contains(v.Ports, c) {
		v.Ports = append(v.Ports, c)
	}
}

// browse asks SQL Server Browser for every instance of the host.
//
// Source: [MC-SQLR] 3.1.5.2 Waiting For Request From Client: "the server listens on
// UDP port 1434 for an incoming request"; for CLNT_UCAST_EX "the server returns
// information about all available instances".
// https://learn.microsoft.com/openspecs/windows_protocols/mc-sqlr/4eea5b65-a848-4deb-99ca-280ebd4e3dc8
func (d *discovery) browse(ctx context.Context) []triage.InstanceView {
	views, err := d.c.Browser.Instances(ctx, d.t.FQDN)
	switch {
	case err != nil && d.c.NoAnswer != nil && errors.Is(err, d.c.NoAnswer):
		d.mu.Lock()
		d.silent = true
		d.mu.Unlock()
		d.note("%v", err) // says which Browser did not answer, and why that may be
	case err != nil:
		d.note("SQL Server Browser on %s: %v", d.t.FQDN, err)
	case len(views) == 0:
		d.note("SQL Server Browser on %s answered with no instance", d.t.FQDN)
	}
	if err == nil {
		d.mu.Lock()
		d.learnt = true
		d.mu.Unlock()
	}
	return views
}

// configured reads the instances' configured ports on the host.
func (d *discovery) configured(ctx context.Context) []triage.InstanceView {
	views, err := d.c.Configured(ctx)
	if err != nil {
		d.note("the configured ports on %s could not be read: %v", d.t.Host, err)
	}
	if len(views) > 0 {
		d.mu.Lock()
		d.learnt = true
		d.mu.Unlock()
	}
	return views
}

// names follows the CNAME chain of the host's FQDN and resolves the canonical name:
// clients build the SPN from the name DNS gives them.
func (d *discovery) names(ctx context.Context) {
	nf := &triage.NameFacts{Asked: d.t.FQDN}
	defer func() {
		d.mu.Lock()
		d.facts.Names = nf
		d.mu.Unlock()
	}()
	cur, learnt := d.t.FQDN, false
	for step := 0; ; step++ {
		if step == maxCNAMESteps {
			d.note("the CNAME chain of %s is longer than %d names; followed no further", d.t.FQDN, maxCNAMESteps)
			break
		}
		next, err := d.c.Resolver.LookupCNAME(ctx, cur)
		if err != nil {
			d.note("the CNAME of %s could not be read: %v", cur, err)
			break
		}
		learnt = true
		next = strings.TrimSuffix(next, ".")
		if next == "" || strings.EqualFold(next, cur) {
			break
		}
		if err := triage.ValidHostName(next); err != nil {
			d.note("the CNAME of %s is not a host name, followed no further: %v", cur, err)
			break
		}
		if strings.EqualFold(next, d.t.FQDN) || slices.ContainsFunc(nf.Chain, func(s string) bool { return strings.EqualFold(s, next) }) {
			d.note("the CNAMEs of %s loop at %s", d.t.FQDN, next)
			break
		}
		nf.Chain = append(nf.Chain, next)
		cur = next
	}
	addrs, err := d.c.Resolver.LookupHost(ctx, nf.Canonical())
	if err != nil {
		d.note("%s could not be resolved: %v", nf.Canonical(), err)
	} else {
		nf.Addresses, learnt = addrs, true
	}
	if learnt {
		d.mu.Lock()
		d.learnt = true
		d.mu.Unlock()
	}
}

// toInspect returns the instances to log in to: the target's, else those discovered,
// else the default instance; each with the port discovery found.
func (d *discovery) toInspect() []triage.Instance {
	var list []triage.Instance
	if len(d.t.Instances) > 0 {
		for _, in := range d.t.Instances {
			list = append(list, triage.Instance{Name: in.Name, Port: in.Port})
		}
	} else {
		for _, v := range d.facts.Instances {
			name := v.Name
			if v.IsDefault() {
				name = ""
			}
			list = append(list, triage.Instance{Name: name})
		}
	}
	if len(list) == 0 {
		list = []triage.Instance{{}}
	}
	for i, in := range list {
		for _, v := range d.facts.Instances {
			if key(v.Name) == key(in.Name) {
				if p, _ := v.Port(); p != 0 {
					list[i].Port = p
				}
			}
		}
		if list[i].IsDefault() && list[i].Port == 0 {
			list[i].Port = 1433 // the default instance's port when no source names one
		}
	}
	return list
}

// inspect logs in to each instance, a few at a time, and merges what each says. A
// named instance with no known port is not asked when SQL Server Browser did not
// answer: the driver would ask that Browser for the port, and wait its whole login
// timeout for the answer that did not come.
//
// Source: "SQL Server Browser service", How SQL Server Browser Works: "the client
// network library sends a UDP message to the server using port 1434. SQL Server
// Browser responds with the TCP/IP port or named pipe of the requested instance";
// Using SQL Server Browser: if it "is not running, the following connections do not
// work: ... Connecting to a named instance without providing the port number or pipe".
// https://learn.microsoft.com/sql/tools/configuration-manager/sql-server-browser-service
func (d *discovery) inspect(ctx context.Context) {
	if d.c.Inspector == nil {
		return
	}
	list := d.toInspect()
	if d.silent {
		list = slices.DeleteFunc(list, func(in triage.Instance) bool {
			if in.IsDefault() || in.Port != 0 {
				return false
			}
			d.note("SQL Server %s on %s was not asked: no source knows its port, and SQL Server Browser, which the driver asks for it, did not answer", in, d.t.FQDN)
			return true
		})
	}
	results := make([]triage.Inspection, len(list))
	errs := make([]error, len(list))
	bounded(len(list), func(i int) {
		results[i], errs[i] = d.c.Inspector.Inspect(ctx, d.t.FQDN, list[i])
	})
	for i, in := range list {
		r := results[i]
		if errs[i] != nil {
			d.note("SQL Server %s on %s could not be asked: %v", in, d.t.FQDN, errs[i])
		}
		if r.View.Name == "" {
			r.View.Name = cmp.Or(in.Name, "MSSQLSERVER")
		}
		told := len(r.View.Ports) > 0 || r.View.ServerName != ""
		if errs[i] == nil || told {
			d.learnt = true
		}
		if errs[i] != nil && !told && !hasData(r.View) {
			continue // nothing learnt: the instance, maybe only the default guessed at, is not added
		}
		d.add(r.View)
		d.facts.Listeners = mergeListeners(d.facts.Listeners, r.Listeners, "sql")
		d.facts.Connections = append(d.facts.Connections, r.Connections...)
		d.facts.Failures = append(d.facts.Failures, r.Failures...)
		d.facts.Notes = append(d.facts.Notes, r.Notes...)
	}
}

// hasData reports whether v holds anything beyond its name.
func hasData(v triage.InstanceView) bool {
	return len(v.Ports) > 0 || v.Pipe != "" || v.TCPEnabled != nil || v.Version != "" || v.BrowserServer != "" ||
		v.Clustered != nil || v.ServerName != "" || v.MachineName != "" || v.PhysicalNode != "" || len(v.Nodes) > 0 ||
		v.ServiceAccount != ""
}

// window drops the ring-buffer groups last seen before the window, with a note of
// how many were.
func (d *discovery) window() {
	now := time.Now
	if d.c.Now != nil {
		now = d.c.Now
	}
	since := cmp.Or(d.c.Since, defaultSince)
	from := now().Add(-since)
	n := len(d.facts.Failures)
	d.facts.Failures = slices.DeleteFunc(d.facts.Failures, func(e triage.RingBufferEvent) bool {
		return !e.Last.IsZero() && e.Last.Before(from)
	})
	if old := n - len(d.facts.Failures); old > 0 {
		d.note("%s left out: last seen more than %s ago, before the window", human.Count(old, "ring-buffer group", "ring-buffer groups"), human.Span(since))
	}
}

// bounded calls f(0) ... f(n-1), at most maxParallel at once, and returns when all
// have returned.
func bounded(n int, f func(i int)) {
	g := newGroup(maxParallel)
	for i := range n {
		g.Go(func() { f(i) })
	}
	g.Wait()
}

// A group runs functions in goroutines of their own, at most limit at once (0: no
// limit). Wait re-panics with the first panic of any of them, in the caller's
// goroutine, where the Runner recovers a check's panic.
type group struct {
	wg       sync.WaitGroup
	sem      chan struct{}
	once     sync.Once
	panicked any
}

func newGroup(limit int) *group {
	g := &group{}
	if limit > 0 {
		g.sem = make(chan struct{}, limit)
	}
	return g
}

func (g *group) Go(f func()) {
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	g.wg.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				g.once.Do(func() { g.panicked = p })
			}
			if g.sem != nil {
				<-g.sem
			}
		}()
		f()
	})
}

func (g *group) Wait() {
	g.wg.Wait()
	if g.panicked != nil {
		panic(g.panicked)
	}
}

// mergeListeners adds the listeners of a source to list: a new one is appended with
// the source; one already listed gets what it lacks, and the source is added to its
// own.
func mergeListeners(list, add []triage.Listener, source string) []triage.Listener {
	for _, l := range add {
		j := slices.IndexFunc(list, func(m triage.Listener) bool { return sameName(m.FQDN, m.Name, l.FQDN, l.Name) })
		if j < 0 {
			l.Source = source
			list = append(list, l)
			continue
		}
		m := &list[j]
		m.Fill(l)
		if !slices.Contains(strings.Split(m.Source, ", "), source) {
			m.Source = strings.TrimPrefix(m.Source+", "+source, ", ")
		}
	}
	return list
}

// sameName reports whether two names (each an FQDN or, when that is "", a name) are
// the same host (triage.SameHost).
func sameName(afqdn, aname, bfqdn, bname string) bool {
	return triage.SameHost(cmp.Or(afqdn, aname), cmp.Or(bfqdn, bname))
}

// domain returns the DNS domain of the target's FQDN.
func (d *discovery) domain() string {
	_, dom, _ := strings.Cut(d.t.FQDN, ".")
	return dom
}

// qualify returns name fully qualified in the target's domain (in lower case) when
// short, "" when it is not a valid host name.
func (d *discovery) qualify(name string) string {
	if !strings.Contains(name, ".") && d.domain() != "" {
		name = strings.ToLower(name) + "." + d.domain()
	}
	if !strings.Contains(name, ".") || triage.ValidHostName(name) != nil {
		return ""
	}
	return name
}

// listeners merges the inventory's listeners with those SQL Server named, and for
// each resolves its name and asks each replica the account it runs as and resolves
// its host, a few at a time.
func (d *discovery) listeners(ctx context.Context) {
	inv := make([]triage.Listener, len(d.t.Listeners))
	for i, l := range d.t.Listeners {
		l.Source = "inventory"
		inv[i] = l
	}
	d.facts.Listeners = mergeListeners(inv, d.facts.Listeners, "sql")
	for i := range d.facts.Listeners {
		l := &d.facts.Listeners[i]
		if l.FQDN == "" {
			l.FQDN = d.qualify(l.Name)
		} else if triage.ValidHostName(l.FQDN) != nil {
			d.note("listener %q: its FQDN is not a host name", l.Name)
			l.FQDN = ""
		}
		l.Replicas = slices.Clone(l.Replicas)
	}

	// One job per listener to resolve and per replica to ask, each replica once
	// however many listeners of its group name it. Each job's note has its slot, so
	// that notes come in the order of the listeners.
	replicas := map[string]*triage.Replica{} // by lower-case replica_server_name
	var order []string
	for _, l := range d.facts.Listeners {
		for _, r := range l.Replicas {
			k := strings.ToLower(r.Server)
			if _, ok := replicas[k]; ok {
				continue
			}
			d.checkReplica(&r)
			replicas[k], order = &r, append(order, k)
		}
	}
	n := len(d.facts.Listeners)
	notes := make([]string, n+len(order))
	bounded(n+len(order), func(k int) {
		if k < n {
			l := &d.facts.Listeners[k]
			if l.FQDN == "" || d.c.Resolver == nil {
				return
			}
			addrs, err := d.c.Resolver.LookupHost(ctx, l.FQDN)
			if err != nil {
				notes[k] = fmt.Sprintf("listener %s could not be resolved: %v", l.FQDN, err)
			}
			l.Addresses = addrs
			return
		}
		r := replicas[order[k-n]]
		notes[k] = d.replica(ctx, r)
	})
	for _, s := range notes {
		if s != "" {
			d.facts.Notes = append(d.facts.Notes, s)
		}
	}
	for i := range d.facts.Listeners {
		for j, r := range d.facts.Listeners[i].Replicas {
			d.facts.Listeners[i].Replicas[j] = *replicas[strings.ToLower(r.Server)]
		}
	}
}

// checkReplica checks the names SQL Server reported of a replica before anything is
// built from them: the host of its replica_server_name (HOST or HOST\INSTANCE) must
// be a host name, its instance part a name SQL Server allows, its service account an
// account name. A host or an instance that is not is a note and the replica's Err (it
// is not asked); an account that is not is a note and is cleared. The replica's FQDN
// is its host's, qualified in the target's domain.
func (d *discovery) checkReplica(r *triage.Replica) {
	host, inst, named := strings.Cut(r.Server, `\`)
	switch {
	case triage.ValidHostName(host) != nil:
		d.note("replica %q was not asked: its host is not a host name", r.Server)
		r.FQDN, r.Err = "", "its host is not a host name"
	case named && !validInstance(inst):
		d.note("replica %q was not asked: its instance is not a name SQL Server allows", r.Server)
		r.FQDN, r.Err = "", "its instance is not a name SQL Server allows"
	case r.FQDN == "" || triage.ValidHostName(r.FQDN) != nil:
		r.FQDN = d.qualify(host)
	}
	if r.ServiceAccount != "" && triage.ValidAccount(r.ServiceAccount) != nil {
		d.note("replica %q: its service account %q was left out: not an account name", r.Server, r.ServiceAccount)
		r.ServiceAccount = ""
	}
}

// validInstance reports whether s is an instance name SQL Server allows (without a
// port).
func validInstance(s string) bool {
	in, err := triage.ParseInstance(s)
	return err == nil && in.Port == 0 && in.Name == s
}

// replica resolves a replica's host and asks it the account its engine runs as (from
// the target's own inspection when it is one of the target's instances), and returns
// a note of what could not be done, or "".
func (d *discovery) replica(ctx context.Context, r *triage.Replica) (note string) {
	if r.Err != "" {
		return ""
	}
	if r.FQDN == "" {
		r.Err = "its host name is not known"
		return ""
	}
	if d.c.Resolver != nil {
		addrs, err := d.c.Resolver.LookupHost(ctx, r.FQDN)
		if err != nil {
			note = fmt.Sprintf("replica %s could not be resolved: %v", r.FQDN, err)
		}
		r.Addresses = addrs
	}
	if r.ServiceAccount != "" {
		return note
	}
	if a := d.ownAccount(*r); a != "" {
		r.ServiceAccount = a
		return note
	}
	if d.c.Logins == nil {
		return note
	}
	_, inst, _ := strings.Cut(r.Server, `\`)
	short, _, _ := strings.Cut(r.FQDN, ".")
	logins := d.c.Logins.Logins(ctx, triage.Target{Host: short, FQDN: r.FQDN, Instances: []triage.Instance{{Name: inst}}})
	switch {
	case len(logins) == 0:
		r.Err = "no login was made"
	case logins[0].OK && logins[0].ServiceAccount != "" && triage.ValidAccount(logins[0].ServiceAccount) != nil:
		r.Err = fmt.Sprintf("logged in, but the account sys.dm_server_services named, %q, is not an account name", logins[0].ServiceAccount)
	case logins[0].OK && logins[0].ServiceAccount != "":
		r.ServiceAccount = logins[0].ServiceAccount
	case logins[0].OK:
		r.Err = "logged in, but sys.dm_server_services named no account"
	case logins[0].Number != 0:
		r.Err = fmt.Sprintf("login refused: error %d, state %d", logins[0].Number, logins[0].State)
	default:
		r.Err = cmp.Or(logins[0].Err, "login failed")
	}
	return note
}

// ownAccount returns the service account an instance of the target reported for a
// replica that is that instance, "" otherwise.
func (d *discovery) ownAccount(r triage.Replica) string {
	host, inst, _ := strings.Cut(r.Server, `\`)
	if !sameName(r.FQDN, host, d.t.FQDN, d.t.Host) {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, v := range d.facts.Instances {
		if key(v.Name) == key(inst) {
			return v.ServiceAccount
		}
	}
	return ""
}

// detail returns one line per instance, listener and name, joined by " | ":
// "SALES: TCP 50177 (browser, sys.dm_tcp_listener_states); configured: dynamic
// (registry)".
func (d *discovery) detail() string {
	var lines []string
	for _, v := range d.facts.Instances {
		lines = append(lines, instanceLine(v))
	}
	for _, l := range d.facts.Listeners {
		lines = append(lines, listenerLine(l))
	}
	if n := d.facts.Names; n != nil && (len(n.Chain) > 0 || len(n.Addresses) > 0) {
		s := n.Asked
		for _, c := range n.Chain {
			s += " -> CNAME " + c
		}
		if len(n.Addresses) > 0 {
			s += " (" + strings.Join(n.Addresses, ", ") + ")"
		}
		lines = append(lines, s)
	}
	if len(d.facts.Notes) > 0 {
		lines = append(lines, fmt.Sprintf("%d %s: %s", len(d.facts.Notes), plural(len(d.facts.Notes), "note", "notes"), strings.Join(d.facts.Notes, "; ")))
	}
	return strings.Join(lines, " | ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// instanceLine describes one instance: the port it is seen on and by which sources,
// then what is configured and where.
func instanceLine(v triage.InstanceView) string {
	seen, configured := groupClaims(v.Ports, false), groupClaims(v.Ports, true)
	var parts []string
	switch {
	case len(seen) > 0:
		parts = append(parts, "TCP "+strings.Join(seen, ", "))
	case v.TCPEnabled != nil && !*v.TCPEnabled:
		parts = append(parts, "TCP disabled")
	default:
		parts = append(parts, "TCP port not seen")
	}
	if len(configured) > 0 {
		parts = append(parts, "configured: "+strings.Join(configured, ", "))
	}
	if v.Clustered != nil && *v.Clustered {
		parts = append(parts, "clustered"+strings.TrimSuffix(" on "+v.PhysicalNode, " on "))
	}
	if v.ServiceAccount != "" {
		parts = append(parts, "runs as "+v.ServiceAccount)
	}
	return v.Name + ": " + strings.Join(parts, "; ")
}

// groupClaims returns the configured (or else the seen) claims grouped by value, in
// the order first given: "50177 (browser, sys.dm_tcp_listener_states)", "dynamic
// (registry)".
func groupClaims(claims []triage.PortClaim, configured bool) []string {
	var values []string
	sources := map[string][]string{}
	for _, c := range claims {
		v := strconv.Itoa(c.Port)
		switch {
		case c.Source.Configured() != configured:
			continue
		case configured && c.Dynamic:
			v = "dynamic"
		case c.Port == 0:
			continue
		}
		if _, ok := sources[v]; !ok {
			values = append(values, v)
		}
		if !slices.Contains(sources[v], string(c.Source)) {
			sources[v] = append(sources[v], string(c.Source))
		}
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = v + " (" + strings.Join(sources[v], ", ") + ")"
	}
	return out
}

// listenerLine describes a listener: "listener sales-ag.corp.example:1433 (inventory,
// sql): replicas SQL1 (CORP\svc_a), SQL2 (not asked: ...)".
func listenerLine(l triage.Listener) string {
	s := "listener " + cmp.Or(l.FQDN, l.Name)
	if l.Port != 0 {
		s += ":" + strconv.Itoa(l.Port)
	}
	if l.Source != "" {
		s += " (" + l.Source + ")"
	}
	var reps []string
	for _, r := range l.Replicas {
		switch {
		case r.ServiceAccount != "":
			reps = append(reps, r.Server+" ("+r.ServiceAccount+")")
		case r.Err != "":
			reps = append(reps, r.Server+" (not asked: "+r.Err+")")
		default:
			reps = append(reps, r.Server)
		}
	}
	if len(reps) > 0 {
		s += ": replicas " + strings.Join(reps, ", ")
	}
	return s
}
