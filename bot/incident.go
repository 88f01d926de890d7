package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/commands"
	"github.com/authtriage/authtriage/internal/human"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// A Fleet resolves the incident command's names beyond single hosts: tags, and
// the whole inventory. config.Config's hosts make one.
type Fleet interface {
	// Hosts returns the inventory name of every host.
	Hosts() []string
	// Tagged returns the inventory names of the hosts with tag, and false when
	// no host has it.
	Tagged(tag string) ([]string, bool)
}

// A Correlator finds incidents in the findings of many reports; package
// correlate's Signatures, Correlate (with the configured window) and
// Unexplained make one.
type Correlator interface {
	// Signatures reduces a report to what correlation compares.
	Signatures(rep triage.Report) []triage.Signature
	// Correlate returns the incidents of sigs; checked are every host checked,
	// affected or not.
	Correlate(sigs []triage.Signature, checked []string) []triage.Incident
	// Unexplained returns the hosts with causes no incident explains.
	Unexplained(sigs []triage.Signature, incidents []triage.Incident) []string
}

// A SignatureStore keeps the signatures of the reports it saved; *store.DB has
// one when it keeps them.
type SignatureStore interface {
	RecentSignatures(ctx context.Context, since time.Time) ([]triage.Signature, error)
}

// A Batcher triages groups of hosts in one go; serve's fleet triager is one,
// which sweeps the hosts behind an agent through its batch requests and sweep
// budget instead of a request each within its interactive limits.
type Batcher interface {
	// Batches groups those of hosts it triages together, by a name of the
	// group; a host in no group, or named again in another, is triaged with
	// the Triager, and a name that is not one of hosts is ignored.
	Batches(ctx context.Context, hosts []string) map[string][]string
	// Sweep triages hosts, of group, and calls onReport once for each host as
	// its triage ends, never two calls at once, with what the Triager would
	// return for it. It returns soon after ctx is done; its error says why it
	// could not triage the hosts it has not reported.
	Sweep(ctx context.Context, group string, hosts []string, onReport func(host string, rep triage.Report, err error)) error
}

// Defaults and bounds of the incident options.
const (
	defaultIncidentWindow   = 30 * time.Minute
	defaultMaxIncidentHosts = 10000
	// minIncidentProgress is the least time between two updates of an
	// incident run's parent: a run of many hosts takes minutes, and its
	// updates share Slack's chat.update budget (Tier 3) with check threads.
	minIncidentProgress = 10 * time.Second
	// linkedIncidents is how many incidents, worst first, an incident thread
	// gives a reply of their own (slackrender.IncidentThread), the only ones
	// that link to an earlier thread.
	linkedIncidents = 10
)

// resolveScope returns the inventory hosts the incident command names, each
// once, in the order named (a tag's hosts in the inventory's order), or the
// reply that refuses the command.
func (b *Bot) resolveScope(cmd commands.Command) ([]string, Reply, bool) {
	var hosts []string
	seen := map[string]bool{}
	add := func(hs ...string) {
		for _, h := range hs {
			if k := strings.ToLower(h); !seen[k] {
				seen[k] = true
				hosts = append(hosts, h)
			}
		}
	}
	names := cmd.Names()
	if len(names) == 0 {
		if b.o.Fleet == nil {
			return nil, Reply{Text: "Name the hosts to look at, as in `/authtriage incident sqlhost01 sqlhost02`: this bot knows no tags."}, false
		}
		add(b.o.Fleet.Hosts()...)
	}
	for _, n := range names {
		if h, ok := b.o.Inventory.Lookup(n); ok {
			add(h)
			continue
		}
		if b.o.Fleet != nil {
			if hs, ok := b.o.Fleet.Tagged(n); ok {
				add(hs...)
				continue
			}
		}
		text := notInInventory(n, b.o.Inventory.Suggest(n))
		if b.o.Fleet != nil {
			text = fmt.Sprintf("*%s* is neither a host of authtriage's inventory nor a tag of one.", slackrender.Escape(n))
			if s := b.o.Inventory.Suggest(n); len(s) > 0 {
				text += " Did you mean *" + slackrender.Escape(s[0]) + "*?"
			}
		}
		return nil, Reply{Text: text}, false
	}
	if len(hosts) == 0 {
		return nil, Reply{Text: "There is no host to look at: the inventory is empty."}, false
	}
	if len(hosts) > b.o.MaxIncidentHosts {
		return nil, Reply{Text: fmt.Sprintf("That is %d hosts; an incident looks at %d at most. Name fewer hosts or a smaller tag.", len(hosts), b.o.MaxIncidentHosts)}, false
	}
	return hosts, Reply{}, true
}

// queueIncident queues an incident run of hosts, one at a time: a second one
// while one runs is answered busy.
func (b *Bot) queueIncident(req Request, cmd commands.Command, hosts []string) Reply {
	if b.o.Correlator == nil {
		b.audit(req, cmd.String(), "rejected", "no correlator")
		return Reply{Text: "This authtriage cannot correlate reports, so `incident` is off. Use `check HOST`."}
	}
	if !b.incidentRunning.CompareAndSwap(false, true) {
		b.audit(req, cmd.String(), "busy", "an incident run is running")
		return Reply{Text: ":hourglass: I am already looking for incidents. Try again when that thread is posted."}
	}
	j := job{
		req: req,
		run: func(ctx context.Context) {
			defer b.incidentRunning.Store(false)
			b.incident(ctx, req, cmd, hosts, req.Channel, req.ThreadTS)
		},
		interrupted: func(ctx context.Context) {
			defer b.incidentRunning.Store(false)
			b.audit(req, cmd.String(), "error", "interrupted: the bot stopped before the incident run started")
			b.tell(ctx, req, Reply{Text: ":warning: authtriage restarted before it could look for incidents. Please run the command again."})
		},
	}
	if !b.enqueue(b.triages, j, true) {
		b.incidentRunning.Store(false)
		b.audit(req, cmd.String(), "busy", "triage queue full")
		return Reply{Text: fmt.Sprintf(":hourglass: I am busy with %d triages. Try again in a minute.", b.o.Workers+b.o.Queue)}
	}
	if req.Origin != FromSlash {
		return Reply{}
	}
	return Reply{Text: fmt.Sprintf(":mag: Looking at %s… the incidents will appear in a thread here.", human.Count(len(hosts), "host", "hosts"))}
}

// incident triages hosts, stores each report, correlates their findings and
// answers with one thread (see slackrender.IncidentThread): first a parent that
// counts the hosts checked, updated at most every ProgressEvery or
// minIncidentProgress, whichever is longer, then the incidents, the hosts
// nothing explains and the healthy counts, and, when that does not all fit, the
// whole run as a file. The hosts are triaged by triageAll. When ctx ends, no
// new triage starts; the thread shows what was checked.
func (b *Bot) incident(ctx context.Context, req Request, cmd commands.Command, hosts []string, channel, threadTS string) {
	log := b.log.With("command", "incident", "user", req.User, "channel", channel, "hosts", len(hosts))
	started := b.o.Now()
	parentTS, err := b.post(ctx, channel, threadTS, slackrender.IncidentProgress(cmd.Scope, started, 0, len(hosts)))
	if err != nil {
		b.audit(req, cmd.String(), "error", "could not post: "+errorText(err))
		b.tell(ctx, req, cannotPost(channel, err))
		return
	}
	replyTS := threadTS
	if replyTS == "" {
		replyTS = parentTS
	}
	prog := newProgress(max(b.o.ProgressEvery, minIncidentProgress), func(done, total int) {
		if err := b.update(ctx, channel, parentTS, slackrender.IncidentProgress(cmd.Scope, started, done, total)); err != nil {
			log.Warn("progress not shown", "err", err)
		}
	})

	states, sigs := b.triageAll(ctx, req, hosts, channel, parentTS, log, prog.report)
	prog.stop()

	stopped := false
	checked := make([]string, 0, len(hosts))
	for i, h := range hosts {
		if states[i].Host == "" {
			stopped = true
			states[i] = triage.HostState{Host: h, Status: triage.StatusUnknown, Error: "not checked: the bot stopped first"}
			continue
		}
		if states[i].ReportID != "" {
			checked = append(checked, h)
		}
	}
	incidents := b.o.Correlator.Correlate(sigs, checked)
	slackrender.SortIncidents(incidents)
	run := slackrender.IncidentRun{
		Scope: cmd.Scope, Started: started, Finished: b.o.Now(), Hosts: states, Incidents: incidents,
		Unexplained: b.o.Correlator.Unexplained(sigs, incidents), Stopped: stopped, Links: map[string]string{},
	}
	for _, inc := range incidents[:min(len(incidents), linkedIncidents)] {
		if link := b.incidentLink(ctx, inc.ID, log); link != "" {
			run.Links[inc.ID] = link
		}
	}
	b.audit(req, cmd.String(), "ok", fmt.Sprintf("%d hosts, %d incidents", len(hosts), len(incidents)))
	if err := b.postIncidents(ctx, run, channel, parentTS, replyTS, log); err != nil {
		b.tell(ctx, req, Reply{Text: fmt.Sprintf(":warning: Part of the incident thread could not be posted (%s). The hosts' reports are stored: `history HOST` lists them.", slackrender.Escape(errorText(err)))})
	}
	for _, inc := range incidents {
		b.places.remember(inc.ID, channel, parentTS)
	}
	b.refreshHome(ctx)
}

// triageAll triages hosts for an incident run and returns their states, by
// place (the zero HostState for a host not triaged because ctx ended first),
// and the signatures of their reports, stored in the thread parentTS. The
// hosts the Batcher groups are swept a group at a time, every group at once,
// beside the others, which are triaged at most Workers at a time. Each host
// is counted once: progress gets the hosts done so far.
func (b *Bot) triageAll(ctx context.Context, req Request, hosts []string, channel, parentTS string, log *slog.Logger, progress func(done, total int)) ([]triage.HostState, []triage.Signature) {
	states := make([]triage.HostState, len(hosts))
	var (
		mu   sync.Mutex
		sigs []triage.Signature
		done int
	)
	keep := func(i int, st triage.HostState, ss []triage.Signature) {
		mu.Lock()
		states[i] = st
		sigs = append(sigs, ss...)
		done++
		d := done
		mu.Unlock()
		progress(d, len(hosts))
	}
	groups, rest := b.batches(ctx, hosts, log)
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() { b.sweep(ctx, req, g, hosts, channel, parentTS, log, keep) })
	}
	next := make(chan int)
	for range min(b.o.Workers, len(rest)) {
		wg.Go(func() {
			for i := range next {
				st, ss := b.triageOne(ctx, req, hosts[i], channel, parentTS, log)
				keep(i, st, ss)
			}
		})
	}
	for _, i := range rest {
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return states, sigs
}

// A group is hosts the Batcher sweeps together, by their places in an
// incident run's hosts.
// batches splits hosts, by their places, into the Batcher's groups and the
// rest, for the worker pool, each in host order. Every host is in exactly one
// of them, whatever Batches returned. Without a Batcher, or when Batches
// panics (logged), every host is in the rest.
func (b *Bot) batches(ctx context.Context, hosts []string, log *slog.Logger) ([]schedule.Group, []int) {
	all := make([]int, len(hosts))
	for i := range all {
		all[i] = i
	}
	if b.o.Batcher == nil {
		return nil, all
	}
	var named map[string][]string
	if err := catch(func() { named = b.o.Batcher.Batches(ctx, hosts) }); err != nil {
		log.Error("batches not known; every host is triaged on its own", "err", err)
		return nil, all
	}
	return schedule.Partition(hosts, named)
}

// sweep triages the hosts of g with the Batcher's Sweep and keeps each one's
// state and signatures, its report stored in the run's thread, as triageOne
// does. A host Sweep did not report (its error, a panic in it, or a Sweep
// that forgot it) is kept not checked, in Explain's words for why, unless ctx
// ended first: the caller then marks it as the bot having stopped. Reports of
// hosts not in g, of a host again, or after Sweep returned are dropped.
func (b *Bot) sweep(ctx context.Context, req Request, g schedule.Group, hosts []string, channel, parentTS string, log *slog.Logger, keep func(i int, st triage.HostState, ss []triage.Signature)) {
	log = log.With("group", g.Name)
	names := make([]string, len(g.Hosts))
	member := make(map[string]int, len(g.Hosts))
	for k, i := range g.Hosts {
		names[k] = hosts[i]
		member[hosts[i]] = i
	}
	var (
		mu       sync.Mutex // held while a report is kept
		over     bool       // Sweep returned
		reported = make(map[int]bool, len(g.Hosts))
	)
	onReport := func(host string, rep triage.Report, err error) {
		mu.Lock()
		defer mu.Unlock()
		i, ok := member[host]
		if over || !ok || reported[i] {
			log.Warn("batch sweep reported a host not asked, again or too late; dropped", "host", host)
			return
		}
		reported[i] = true
		var id string
		if err == nil {
			id = b.freshID(ctx, host)
		}
		st, ss := b.keepReport(ctx, req, host, id, rep, err, channel, parentTS, log)
		keep(i, st, ss)
	}
	var err error
	if p := catch(func() { err = b.o.Batcher.Sweep(ctx, g.Name, names, onReport) }); p != nil {
		err = p
	}
	mu.Lock()
	defer mu.Unlock()
	over = true
	missing := len(g.Hosts) - len(reported)
	switch {
	case ctx.Err() != nil && missing > 0:
		return // the bot stopped first
	case missing == 0:
		if err != nil {
			log.Warn("batch sweep ended with errors; every host has its outcome", "err", err)
		}
		return
	case err == nil:
		err = fmt.Errorf("the sweep of %s did not report %d hosts", g.Name, missing)
	}
	text, ref := b.Explain(err)
	log.Error("hosts of a batch not triaged", "hosts", missing, "ref", ref, "err", err)
	for _, i := range g.Hosts {
		if !reported[i] {
			keep(i, triage.HostState{Host: hosts[i], Status: triage.StatusUnknown, Error: text}, nil)
		}
	}
}

// catch runs f and returns its panic as an error, nil when it returned.
func catch(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	f()
	return nil
}

// triageOne triages host for an incident run, stores its report in the run's
// thread, and returns its state and signatures.
func (b *Bot) triageOne(ctx context.Context, req Request, host, channel, parentTS string, log *slog.Logger) (triage.HostState, []triage.Signature) {
	id := b.freshID(ctx, host)
	rep, err := b.o.Triager.Triage(ctx, TriageRequest{ID: id, Host: host})
	return b.keepReport(ctx, req, host, id, rep, err, channel, parentTS, log)
}

// keepReport is host's outcome in an incident run, from what its triage
// returned, rep or err: rep, as report id, is stored in the run's thread, and
// its state and signatures are returned; err becomes a host not checked, in
// Explain's words.
func (b *Bot) keepReport(ctx context.Context, req Request, host, id string, rep triage.Report, err error, channel, parentTS string, log *slog.Logger) (triage.HostState, []triage.Signature) {
	if err != nil {
		text, ref := b.Explain(err)
		if ref != "" {
			log.Error("internal error", "what", "triage "+host, "ref", ref, "err", err)
		}
		return triage.HostState{Host: host, Status: triage.StatusUnknown, Error: text}, nil
	}
	rep.ID = id
	addInventoryHints(&rep)
	b.metrics.triaged(rep)
	saveCtx, cancel := b.postCtx(ctx)
	defer cancel()
	if err := b.o.Store.SaveReport(saveCtx, store.Record{Report: rep, Channel: channel, ThreadTS: parentTS, RequestedBy: req.User}); err != nil {
		log.Error("report not stored", "report", id, "host", host, "err", err)
	}
	st := triage.StateOf(rep)
	st.Host = host // the name the run knows it by
	return st, b.o.Correlator.Signatures(rep)
}

// postIncidents shows an incident run: it replaces the parent parentTS, posts
// the rest under replyTS and attaches the whole run when the thread had to
// leave some out. It returns the first error, after trying every part.
func (b *Bot) postIncidents(ctx context.Context, run slackrender.IncidentRun, channel, parentTS, replyTS string, log *slog.Logger) error {
	msgs, err := slackrender.IncidentThread(run, time.UTC)
	if err != nil {
		f := b.explain(ctx, log, "show the incident run in Slack", "", err)
		msgs = []slackrender.Message{slackrender.Notice("Incident run", f.text)}
	}
	var first error
	failed := func(what string, err error) {
		log.Error(what, "err", err)
		if first == nil {
			first = err
		}
	}
	if err := b.update(ctx, channel, parentTS, msgs[0]); err != nil {
		failed("incident run's parent not shown", err)
	}
	for _, m := range msgs[1:] {
		if _, err := b.post(ctx, channel, replyTS, m); err != nil {
			failed("incident reply not posted", err)
		}
	}
	if msgs[len(msgs)-1].Truncated {
		md := slackrender.IncidentMarkdown(run, time.UTC)
		if err := b.uploadFile(ctx, channel, replyTS, slackrender.IncidentFileName(run), "authtriage incidents", md); err != nil {
			failed("incident run not attached", err)
		}
	}
	return first
}

// uploadFile attaches content to the thread threadTS as a Markdown file, with
// Slack's files.getUploadURLExternal and files.completeUploadExternal (slack-go's
// UploadFileContext).
func (b *Bot) uploadFile(ctx context.Context, channel, threadTS, name, title, content string) error {
	ctx, cancel := b.postCtx(ctx)
	defer cancel()
	return b.call(ctx, "files.upload", func(ctx context.Context) error {
		_, err := b.o.API.UploadFileContext(ctx, slack.UploadFileParameters{
			Channel: channel, ThreadTimestamp: threadTS, Filename: name, Title: title,
			Content: content, FileSize: len(content), SnippetType: "markdown",
		})
		return err
	})
}

// incidentsOf returns the incidents rep's host is part of, with the other hosts'
// signatures the store has from IncidentWindow before the report on, and where
// each is shown; nil when the bot cannot correlate or nothing is shared.
func (b *Bot) incidentsOf(ctx context.Context, rep triage.Report, log *slog.Logger) []slackrender.IncidentRef {
	if b.o.Correlator == nil || b.o.Signatures == nil {
		return nil
	}
	own := b.o.Correlator.Signatures(rep)
	if len(own) == 0 {
		return nil
	}
	sctx, cancel := storeCtx(ctx)
	recent, err := b.o.Signatures.RecentSignatures(sctx, rep.StartedAt.Add(-b.o.IncidentWindow))
	cancel()
	if err != nil {
		log.Warn("recent signatures not read; the thread does not say which hosts share its causes", "err", err)
		return nil
	}
	sigs := slices.DeleteFunc(recent, func(s triage.Signature) bool {
		return s.ReportID == rep.ID || strings.EqualFold(s.Host, rep.Host)
	})
	sigs = append(sigs, own...)
	var checked []string
	seen := map[string]bool{}
	for _, s := range sigs {
		if k := strings.ToLower(s.Host); !seen[k] {
			seen[k] = true
			checked = append(checked, s.Host)
		}
	}
	var refs []slackrender.IncidentRef
	for _, inc := range b.o.Correlator.Correlate(sigs, checked) {
		if len(inc.Hosts) < 2 || !slices.ContainsFunc(inc.Hosts, func(h triage.IncidentHost) bool { return strings.EqualFold(h.Host, rep.Host) }) {
			continue
		}
		refs = append(refs, slackrender.IncidentRef{Incident: inc, Link: b.incidentLink(ctx, inc.ID, log)})
	}
	return refs
}

// incidentLink returns the permalink of the thread that showed the incident
// id last, or "" when none did (as far as this bot remembers) or Slack does not
// say.
func (b *Bot) incidentLink(ctx context.Context, id string, log *slog.Logger) string {
	channel, ts, ok := b.places.lookup(id)
	if !ok {
		return ""
	}
	link, err := b.permalink(ctx, channel, ts)
	if err != nil {
		log.Warn("incident thread's permalink not found", "incident", id, "err", err)
		return ""
	}
	return link
}

// permalink asks Slack for the permalink of the message ts in channel.
func (b *Bot) permalink(ctx context.Context, channel, ts string) (string, error) {
	pctx, cancel := b.postCtx(ctx)
	defer cancel()
	var link string
	err := b.call(pctx, "chat.getPermalink", func(ctx context.Context) error {
		var err error
		link, err = b.o.API.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
		return err
	})
	return link, err
}

// incidentPlaces remembers where incidents were posted (an incident run's or a
// fleet summary's thread), so that a check's thread links to them: the last
// maxPlaces incidents, in this process only.
type incidentPlaces struct {
	mu    sync.Mutex
	at    map[string][2]string // incident ID -> channel, ts
	order []string             // IDs, oldest first
}

const maxPlaces = 1000

func (p *incidentPlaces) remember(id, channel, ts string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at == nil {
		p.at = map[string][2]string{}
	}
	if _, ok := p.at[id]; !ok {
		p.order = append(p.order, id)
	}
	p.at[id] = [2]string{channel, ts}
	if len(p.order) > maxPlaces {
		delete(p.at, p.order[0])
		p.order = p.order[1:]
	}
}

func (p *incidentPlaces) lookup(id string) (channel, ts string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.at[id]
	return v[0], v[1], ok
}
