// Package plan decides what a triage of a host runs: its target, from the inventory and
// the request's overrides, and its checks, each with its source of evidence (files, the
// directory, the KDC, SQL Server, an agent), built on adapters made once per process.
// Every front end plans through it: the command line, the bot and its scheduler, and
// the agent. Its errors say what is missing in words any front end can show; they name
// no command-line flag and no configuration key.
package plan

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/triage"
)

// A Planner plans triages for the hosts of a configuration's inventory, on adapters it
// shares among them. It is safe for concurrent use.
type Planner struct {
	cfg *config.Config // nil: no configuration
	ad  *Adapters
	o   Options
}

// Options say whose triages a Planner plans.
type Options struct {
	// AnyHost lets the planner triage a host the inventory does not list, from the
	// overrides and the configured directory (the command line). Without it such a host
	// is an *UnknownHostError.
	AnyHost bool
	// Agent makes the planner the agent's: every check runs here, for inventory hosts
	// only, and the evidence found only on the SQL Server host itself (its ERRORLOG
	// located from the instance's settings, live event logs, the LSA, SQL Server on
	// Linux's keytab) is read when the host is LocalHost.
	Agent bool
	// LocalHost is the name of the machine the agent runs on (os.Hostname).
	LocalHost string
	// Now is the clock the log checks end their window at for live sources; nil means
	// time.Now. Tests fix it.
	Now func() time.Time
	Log *slog.Logger // nil discards
}

// New returns a planner of triages of cfg's inventory (cfg may be nil for none) whose
// checks use the adapters ad.
func New(cfg *config.Config, ad *Adapters, o Options) *Planner {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if ad == nil {
		ad = NewAdapters(cfg, o.Log)
	}
	return &Planner{cfg: cfg, ad: ad, o: o}
}

// Open makes now every adapter the planner's triages can use, so that a configuration
// problem stops a long-running process at its start rather than failing each triage.
func (p *Planner) Open(ctx context.Context) error {
	if _, err := p.ad.Directory(ctx); err != nil {
		return err
	}
	if _, err := p.ad.KDC(ctx); err != nil {
		return err
	}
	if p.sqlLogins() {
		if _, err := p.ad.SQL(); err != nil {
			return err
		}
	}
	if p.cfg != nil && !p.o.Agent {
		for _, a := range p.cfg.Agents {
			if _, err := p.ad.Agent(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// sqlLogins reports whether the planner's checks log in to SQL Server: the agent's
// always; a client's with Kerberos settings, or on Windows, where SSPI logs in as the
// process.
func (p *Planner) sqlLogins() bool {
	return p.o.Agent || (p.cfg != nil && (p.cfg.Kerberos != nil || runtime.GOOS == "windows"))
}

// Overrides are what a request says about a host beyond the inventory: the command
// line's files and names, the bot's instance. Zero fields leave the inventory's.
type Overrides struct {
	// Since is how far back the logs are read; 0 means the configuration's default
	// (in an agent, and without a configuration: the checks' own, 24 hours).
	Since time.Duration
	// ErrorLogs and Events are files copied off the host, read instead of the host's
	// ERRORLOG and event logs, their window ending at their newest entry.
	ErrorLogs, Events []string
	// LDIF names an LDIF export of the directory, read instead of a live directory;
	// the domain controllers and the KDC are then not contacted.
	LDIF           string
	FQDN           string
	Instances      []triage.Instance // replace the inventory's
	ServiceAccount string
	// Users are users whose delegation to check on every delegation path of the host
	// (DOMAIN\name or name@dns.domain), beyond those the inventory names. The
	// delegation check then runs here, never in the host's agent.
	Users []string
	// Progress, when set, is told how far the ERRORLOG scan has come
	// (checks.ErrorLog.Progress).
	Progress func(done, total int64)
}

// A Plan is what a triage of one host runs.
type Plan struct {
	Target triage.Target
	Checks []triage.Check // in the order reports show them
	// CheckTimeout and Deadline bound each check and the whole triage; 0 means the
	// runner's defaults.
	CheckTimeout, Deadline time.Duration
}

// Runner returns a runner of the plan's checks with the diagnosis rules; the caller
// adds its log, clock and callbacks.
func (pl Plan) Runner() triage.Runner {
	return triage.Runner{Checks: pl.Checks, Rules: diagnosis.Rules(), CheckTimeout: pl.CheckTimeout, Deadline: pl.Deadline}
}

// For plans the triage of host with the overrides o. The host is looked up in the
// inventory once. Files the overrides name are opened (and an LDIF export read) under
// ctx, as are the adapters' files the first time they are needed.
//
// Its errors are an *UnknownHostError for a host outside the inventory when the planner
// triages inventory hosts only; a *triage.InputError for what the request got wrong (a
// host name that is not one, a missing file, a window longer than an agent reads, or
// nothing to check: a *NothingToCheckError); and otherwise an error of the
// configuration's adapters.
func (p *Planner) For(ctx context.Context, host string, o Overrides) (Plan, error) {
	var h config.Host
	inInventory := false
	if p.cfg != nil {
		h, inInventory = p.cfg.Host(host)
	}
	if !inInventory {
		if !p.o.AnyHost || p.o.Agent {
			return Plan{}, &UnknownHostError{Host: host, Suggestions: p.suggest(host)}
		}
		if err := triage.ValidHostName(host); err != nil {
			return Plan{}, inputError(err)
		}
	}
	pl := Plan{Target: triage.Target{Host: host}}
	since := o.Since
	if p.cfg != nil {
		pl.CheckTimeout, pl.Deadline = p.cfg.Defaults.CheckTimeout, p.cfg.Defaults.Deadline
		if !p.o.Agent { // the agent's client says how far back
			since = cmp.Or(since, p.cfg.Defaults.Since)
		}
	}
	if inInventory {
		pl.Target = h.Target()
	}
	if err := o.apply(&pl.Target); err != nil {
		return Plan{}, err
	}
	for _, f := range slices.Concat(o.ErrorLogs, o.Events) {
		if err := regularFile(ctx, f); err != nil {
			return Plan{}, inputError(err)
		}
	}

	var remote *agent.Client
	if inInventory && !p.o.Agent {
		if a, ok := p.cfg.AgentFor(h); ok {
			var err error
			if remote, err = p.ad.Agent(ctx, a); err != nil {
				return Plan{}, err
			}
			// The agent bounds each check itself; here every remote check waits for
			// the one stream, which the deadline bounds.
			pl.CheckTimeout = pl.Deadline
			if since > agent.MaxSince {
				return Plan{}, inputError(&WindowTooLongError{Since: since, Max: agent.MaxSince})
			}
		}
	}

	b := builder{p: p, ctx: ctx, t: pl.Target, h: h, inInventory: inInventory, since: since, o: o, remote: remote != nil}
	if err := b.loadLDIF(); err != nil {
		return Plan{}, err
	}
	if !p.o.Agent && !b.hasSource() {
		e := &NothingToCheckError{Host: host, Inventory: p.cfg != nil, InInventory: inInventory}
		if !inInventory {
			e.Suggestions = p.suggest(host)
		}
		return Plan{}, inputError(e)
	}

	local := func(name string) bool { return remote == nil || b.overridden(name) }
	var remoteNames []string
	for _, c := range checkList() {
		if !b.listed(c) {
			continue // read only by an agent on the host, or with nothing live to ask
		}
		if !local(c.name) {
			remoteNames = append(remoteNames, c.name)
		}
	}
	proxies := map[string]triage.Check{}
	if remote != nil {
		for _, c := range remote.Checks(pl.Target.Host, since, remoteNames) {
			proxies[c.Name()] = c
		}
	}
	for _, c := range checkList() {
		switch {
		case !b.listed(c):
		case local(c.name):
			check, err := c.build(&b)
			if err != nil {
				return Plan{}, err
			}
			pl.Checks = append(pl.Checks, check)
		default:
			pl.Checks = append(pl.Checks, proxies[c.name])
		}
	}
	pl.Checks = shareDiscovery(pl.Checks, p.o.Log)
	return pl, nil
}

// suggest returns inventory names close to host.
func (p *Planner) suggest(host string) []string {
	if p.cfg == nil {
		return nil
	}
	return p.cfg.Suggest(host)
}

// apply lets o describe or override the target t.
func (o Overrides) apply(t *triage.Target) error {
	if o.FQDN != "" {
		if err := triage.ValidHostName(o.FQDN); err != nil {
			return inputError(fmt.Errorf("FQDN: %w", err))
		}
		t.FQDN = o.FQDN
	} else if t.FQDN == "" && strings.Contains(t.Host, ".") {
		t.FQDN = t.Host
	}
	if len(o.Instances) > 0 {
		t.Instances = slices.Clone(o.Instances)
	}
	if o.ServiceAccount != "" {
		if err := triage.ValidAccount(o.ServiceAccount); err != nil {
			return inputError(fmt.Errorf("service account: %w", err))
		}
		t.ServiceAccount = o.ServiceAccount
	}
	for _, u := range o.Users {
		if err := triage.ValidAccount(u); err != nil {
			return inputError(fmt.Errorf("user %q: %w", u, err))
		}
	}
	return nil
}
