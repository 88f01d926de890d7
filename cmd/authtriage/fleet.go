package main

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/render"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/triage"
)

// The bounds of --concurrency: how many hosts a check of several triages at once.
const (
	defaultConcurrency = 16
	maxConcurrency     = 256
)

// tagList is the repeatable --tag flag; each value may be a comma-separated list.
type tagList []string

func (l *tagList) String() string { return strings.Join(*l, ",") }
func (l *tagList) Set(s string) error {
	for t := range strings.SplitSeq(s, ",") {
		t = strings.TrimSpace(t)
		if err := validTag(t); err != nil {
			return err
		}
		if !slices.Contains(*l, t) {
			*l = append(*l, t)
		}
	}
	return nil
}

// validTag accepts what the inventory accepts as a tag: 1 to 32 lower-case letters,
// digits, '_' or '-'.
func validTag(t string) error {
	ok := t != "" && len(t) <= 32
	for _, r := range t {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}
	if !ok {
		return fmt.Errorf("%q is not a tag: a tag is 1 to 32 lower-case letters, digits, '_' or '-'", printable(t))
	}
	return nil
}

// oneHostFlags lists the flags given that describe one host, which a check of
// several hosts refuses: each host's files and names come from the inventory.
func (o checkOptions) oneHostFlags() []string {
	var set []string
	add := func(name string, given bool) {
		if given {
			set = append(set, name)
		}
	}
	add("--errorlog", len(o.errorlogs) > 0)
	add("--events", len(o.events) > 0)
	add("--fqdn", o.fqdn != "")
	add("--port", o.port != 0)
	add("--instance", len(o.instances) > 0)
	add("--service-account", o.serviceAccount != "")
	return set
}

// fleetHosts returns the hosts a check of several hosts triages: those named, then
// those of the inventory with one of the tags, in inventory order, each once (names
// compared without regard to case, as the inventory does).
func fleetHosts(cfg *config.Config, names []string, tags []string) ([]string, error) {
	var out []string
	add := func(h string) {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, h) }) {
			out = append(out, h)
		}
	}
	for _, n := range names {
		add(n)
	}
	for _, t := range tags {
		hosts := cfg.ScheduleHosts(config.Schedule{Tags: []string{t}})
		if len(hosts) == 0 {
			return nil, fmt.Errorf("no host of the inventory has the tag %q", t)
		}
		for _, h := range hosts {
			add(h.Name)
		}
	}
	return out, nil
}

// runFleet triages hosts, at most o.concurrency at once, through one planner whose
// adapters they share, correlates their findings into incidents and prints the
// correlated view. A host that cannot be planned is a line of the view, not the end
// of the command. The exit status is the worst host's.
func runFleet(ctx context.Context, o checkOptions, cfg *config.Config, hosts []string, ov plan.Overrides, e env) int {
	log := newLogger(e.stderr, o.verbose)
	ad := plan.NewAdapters(cfg, log)
	defer ad.Close()
	planner := plan.New(cfg, ad, plan.Options{AnyHost: true, Now: e.now, Log: log})
	now := e.now
	if now == nil {
		now = time.Now
	}

	prog := newProgress(e.stderr)
	defer prog.done()
	f := render.Fleet{CheckedAt: now(), Hosts: make([]triage.HostState, len(hosts))}
	// Each host keeps its signatures and, for the JSON that prints them whole, its
	// report; the other outputs keep what they show of it (compactReport), so memory
	// grows with the hosts, not with their reports.
	reports := make([]*triage.Report, len(hosts))
	sigs := make([][]triage.Signature, len(hosts))
	var mu sync.Mutex
	done := 0
	finish := func(i int, rep *triage.Report, st triage.HostState) {
		var sig []triage.Signature
		if rep != nil {
			sig = correlate.Signatures(*rep)
			if o.output != "json" {
				c := compactReport(*rep)
				rep = &c
			}
		}
		mu.Lock()
		defer mu.Unlock()
		reports[i], sigs[i], f.Hosts[i] = rep, sig, st
		done++
		prog.hosts(done, len(hosts))
	}
	// A host that is not triaged has the time it was given up on.
	notChecked := func(i int, why string) {
		finish(i, nil, triage.HostState{Host: hosts[i], Status: triage.StatusUnknown, StartedAt: now(), Error: why})
	}
	triaged := func(i int, rep triage.Report) {
		addFlagHints(&rep, o)
		finish(i, &rep, triage.StateOf(rep))
	}

	// The hosts behind an agent go in its batch requests, within the agent's sweep
	// budget rather than one interactive request each; the others are triaged here.
	groups := map[string][]string{}
	// A window longer than an agent reads leaves each host to the planner, which says so.
	if cfg != nil && onlySince(ov) && ov.Since <= agent.MaxSince {
		groups = fleetTriager{&triager{planner: planner, cfg: cfg, ad: ad, log: log, now: e.now, since: ov.Since}}.Batches(ctx, hosts)
	}
	index := map[string]int{}
	for i, h := range hosts {
		index[strings.ToLower(h)] = i
	}
	batched := map[int]bool{}
	for _, hs := range groups {
		for _, h := range hs {
			batched[index[strings.ToLower(h)]] = true
		}
	}
	var batches sync.WaitGroup
	for group, hs := range groups {
		batches.Go(func() {
			reported := map[int]bool{}
			ft := fleetTriager{&triager{planner: planner, cfg: cfg, ad: ad, log: log, now: e.now, since: ov.Since}}
			err := ft.Sweep(ctx, group, hs, func(host string, rep triage.Report, err error) {
				i, ok := index[strings.ToLower(host)]
				if !ok || reported[i] {
					return
				}
				reported[i] = true
				if err != nil {
					notChecked(i, "not checked: "+err.Error())
					return
				}
				triaged(i, rep)
			})
			for _, h := range hs {
				if i := index[strings.ToLower(h)]; !reported[i] {
					why := "not checked: the agent " + group + " did not report it"
					if err != nil {
						why = "not checked: agent " + group + ": " + err.Error()
					}
					notChecked(i, why)
				}
			}
		})
	}
	var rest []int
	for i := range hosts {
		if !batched[i] {
			rest = append(rest, i)
		}
	}
	each(len(rest), o.concurrency, func(k int) {
		i := rest[k]
		if ctx.Err() != nil {
			notChecked(i, "not checked: the command was interrupted")
			return
		}
		pl, err := planner.For(ctx, hosts[i], ov)
		if err != nil {
			notChecked(i, planError(err, o.configPath, true))
			return
		}
		runner := pl.Runner()
		runner.Log, runner.Now, runner.NewID = log, e.now, e.newID
		triaged(i, runner.Run(ctx, pl.Target))
	})
	batches.Wait()
	prog.done()
	f.Duration = now().Sub(f.CheckedAt)

	var all []triage.Signature
	var checked []string
	for i, r := range reports {
		if r != nil {
			f.Reports = append(f.Reports, *r)
			all = append(all, sigs[i]...)
			checked = append(checked, r.Host)
		}
	}
	f.Incidents = correlate.Correlate(all, checked, correlate.Options{})
	f.Unexplained = correlate.Unexplained(all, f.Incidents)

	if err := writeFleet(e.stdout, f, o.output, fleetScope(o), e); err != nil {
		fmt.Fprintf(e.stderr, "authtriage: %s\n", display.Text(err.Error()))
		return exitUnknown
	}
	return f.Status().ExitCode()
}

// compactReport returns what the correlated view shows of a report beside its
// incidents: its identity and status, its worst finding without evidence or steps, and
// the checks that could not run.
func compactReport(r triage.Report) triage.Report {
	c := triage.Report{ID: r.ID, Host: r.Host, Status: r.Status, StartedAt: r.StartedAt, Duration: r.Duration}
	if len(r.Findings) > 0 { // sorted worst first
		w := r.Findings[0]
		c.Findings = []triage.Finding{{Cause: w.Cause, Severity: w.Severity, Title: w.Title, Summary: w.Summary}}
	}
	for _, ch := range r.Checks {
		if ch.Status == triage.CheckError {
			c.Checks = append(c.Checks, ch)
		}
	}
	return c
}

// onlySince reports whether the overrides say nothing but how far back to read, so
// that a host's triage is the inventory's and can run in its agent's batch.
func onlySince(ov plan.Overrides) bool {
	ov.Since = 0
	return reflect.ValueOf(ov).IsZero()
}

// each calls fn(i) for every i in [0, n), at most limit at once, and returns when
// every call has.
func each(n, limit int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, limit) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// fleetScope is what the command asked for, as the Slack renderer names a run:
// the hosts named and the tags.
func fleetScope(o checkOptions) string {
	return strings.Join(slices.Concat(o.hosts, o.tags), " ")
}

// writeFleet renders the correlated view in the chosen format; text gets colour
// only on a terminal that has not asked for none, as write does.
func writeFleet(w io.Writer, f render.Fleet, format, scope string, e env) error {
	switch format {
	case "json":
		return render.FleetJSON(w, f)
	case "markdown":
		_, err := io.WriteString(w, slackrender.IncidentMarkdown(incidentRun(f, scope), nil))
		return err
	case "blocks", "slack":
		msgs, err := slackrender.IncidentThread(incidentRun(f, scope), nil)
		if err != nil {
			return fmt.Errorf("render the Slack thread: %w", err)
		}
		if format == "slack" {
			_, err = io.WriteString(w, slackrender.ThreadText(msgs))
			return err
		}
		return slackrender.BlocksJSON(w, msgs)
	}
	color := isTerminal(w) && e.getenv("NO_COLOR") == "" && e.getenv("TERM") != "dumb"
	return render.FleetText(w, f, render.TextOptions{Color: color})
}

// incidentRun is the fleet as the Slack renderer's incident thread shows it.
func incidentRun(f render.Fleet, scope string) slackrender.IncidentRun {
	return slackrender.IncidentRun{
		Scope: scope, Started: f.CheckedAt, Finished: f.CheckedAt.Add(f.Duration),
		Hosts: f.Hosts, Incidents: f.Incidents, Unexplained: f.Unexplained,
	}
}
