package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/bot"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

func newServeFlags(configPath *string, verbose *bool, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(configPath, "config", "", "configuration `FILE` (YAML) with slack, access, hosts and, optionally, agents, schedules and store")
	fs.BoolVar(verbose, "v", false, "log debug messages")
	fs.BoolVar(verbose, "verbose", false, "the same as -v")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage serve --config FILE [-v]

Runs the Slack bot: answers /authtriage and @authtriage commands with diagnosis
threads, posts the configured schedules' fleet summaries, and keeps reports, history
and the audit log in its store. Socket Mode (default) needs no inbound port; HTTP
mode serves /slack/commands, /slack/events and /slack/interactivity on slack.listen.
/healthz, /readyz and /metrics are served on slack.ops_listen.

It first checks the configuration as authtriage config check --as bot does (the files
it names, certificates, keys and their CAs) and does not start on a problem.

Logs are JSON lines on stderr. SIGINT or SIGTERM stops it gracefully: running
triages finish (or post what they have after 30 s) before it exits.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func runServe(ctx context.Context, args []string, e env) int {
	var configPath string
	var verbose bool
	fs := newServeFlags(&configPath, &verbose, e.stderr)
	cfg, log, code, done := startDaemon(ctx, "serve", config.RoleBot, fs, &configPath, &verbose, args, e)
	if done {
		return code
	}
	if err := serve(ctx, cfg, log, e); err != nil {
		log.Error("serve stopped", "err", err)
		return exitUnknown
	}
	return exitOK
}

// startDaemon does what the long-running commands (serve, agent) do first: it
// parses their flags (--config and -v, no arguments), makes their logger, JSON
// lines on stderr, and loads and checks the configuration for role as
// `config check` does, logging each problem and warning. On a problem it does not
// return the configuration: done is true, and the command returns code.
func startDaemon(ctx context.Context, name string, role config.Role, fs *flag.FlagSet, configPath *string, verbose *bool, args []string, e env) (cfg *config.Config, log *slog.Logger, code int, done bool) {
	if code, done := parseNoArgs(fs, args, e); done {
		return nil, nil, code, true
	}
	if *configPath == "" {
		return nil, nil, usageError(e, "%s needs --config FILE", name), true
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log = slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	r := config.Check(ctx, []string{*configPath}, role, e.getenv, config.CheckOptions{})[0]
	for _, p := range r.Problems {
		if p.Warning {
			log.Warn("configuration warning", "problem", p.String())
		} else {
			log.Error("configuration problem", "problem", p.String())
		}
	}
	if r.Config == nil {
		log.Error("not starting: the configuration has "+human.Count(r.Errors(), "problem", "problems"), "config", *configPath,
			"check", "authtriage config check --config "+*configPath)
		return nil, nil, exitUnknown, true
	}
	return r.Config, log, 0, false
}

// serve runs the bot until ctx ends or a part fails for good.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, e env) error {
	sc := cfg.Slack
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	opts := []slack.Option{
		slack.OptionAPIURL(sc.APIURL),
		slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second}),
	}
	if sc.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(sc.AppToken.Reveal()))
	}
	api := slack.New(sc.BotToken.Reveal(), opts...)
	authCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	auth, err := api.AuthTestContext(authCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("slack auth.test with the bot token: %w", err)
	}
	log.Info("connected to Slack", "team", auth.Team, "bot_user", auth.UserID)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := bot.NewMetrics(reg)

	// The evidence sources' clients live as long as serve: every triage and sweep
	// shares them, and they are closed once the bot has stopped.
	ad := plan.NewAdapters(cfg, log)
	defer ad.Close()
	planner := plan.New(cfg, ad, plan.Options{Now: e.now, Log: log})
	if err := planner.Open(ctx); err != nil {
		return err
	}
	tr := &triager{planner: planner, cfg: cfg, ad: ad, log: log, now: e.now}
	var rules []bot.Rule
	var groups []string
	for _, r := range cfg.Access {
		rules = append(rules, r)
		for _, g := range r.UserGroups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	queue := sc.Queue
	if queue == 0 {
		queue = -1 // the configuration's 0 is no queue; the bot's 0 is its default
	}
	b, err := bot.New(bot.Options{
		API: api, Store: db, Triager: tr, Batcher: fleetTriager{tr}, Inventory: inventory{cfg}, Fleet: inventory{cfg},
		Correlator: bot.Correlate(correlate.Options{}), IncidentWindow: cfg.Defaults.Incidents(),
		Access: rules, UserGroups: groups, BotUserID: auth.UserID,
		Workers: sc.Workers, Queue: queue, MaxThreadMessages: sc.MaxThreadMessages,
		Metrics: metrics, Log: log,
	})
	if err != nil {
		return err
	}
	sched, err := newScheduler(cfg, db, tr, b, log)
	if err != nil {
		return err
	}

	// Shutdown order: first the parts that take requests (transports, the
	// scheduler), so nothing new arrives; then the bot, which finishes or records
	// what it took; the ops endpoints last, so /healthz answers until the end.
	front, stopFront := context.WithCancel(ctx)
	defer stopFront()
	botCtx, stopBot := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBot()
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()

	fail := make(chan error, 8)
	var frontWG, opsWG sync.WaitGroup
	// part runs f; its error, which must say which part failed, stops serve.
	part := func(wg *sync.WaitGroup, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				fail <- err
			}
		})
	}
	botDone := make(chan error, 1)
	go func() { botDone <- b.Run(botCtx) }()

	var socket bot.SocketState
	ready := func() error {
		if !b.Accepting() {
			return errors.New("the bot is not accepting requests (starting or stopping)")
		}
		if sc.Mode == config.SlackSocket && !socket.Connected() {
			return errors.New("socket mode is not connected to Slack")
		}
		return nil
	}
	if sc.OpsListen != config.OpsOff {
		part(&opsWG, func() error { return listenAndServe(opsCtx, sc.OpsListen, bot.OpsHandler(reg, ready), log, "ops") })
	}
	switch sc.Mode {
	case config.SlackHTTP:
		part(&frontWG, func() error {
			return listenAndServe(front, sc.Listen, b.HTTPHandler(sc.SigningSecret.Reveal()), log, "slack")
		})
	default:
		part(&frontWG, func() error { // its errors start "socket mode:"
			return b.RunSocketMode(front, func() *socketmode.Client { return socketmode.New(api) }, &socket)
		})
	}
	if sched != nil {
		part(&frontWG, func() error {
			if err := sched.Run(front); err != nil {
				return fmt.Errorf("scheduler: %w", err)
			}
			return nil
		})
	}
	part(&frontWG, func() error { prune(front, db, log); return nil })

	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err = <-fail:
		log.Error("stopping after a failure", "err", err)
	}
	stopFront()
	frontWG.Wait()
	stopBot()
	if berr := <-botDone; err == nil {
		err = berr
	}
	stopOps()
	opsWG.Wait()
	return err
}

// listenAndServe serves h on addr until ctx ends, then shuts down gracefully. Its
// errors name the server.
func listenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger, name string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s server: listen on %s: %w", name, addr, err)
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "server", name, "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s server: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// openStore opens the configured store.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.DB, error) {
	s := cfg.Store
	dsn := s.Path
	if s.Driver == "postgres" {
		dsn = s.DSN.Reveal()
	}
	return store.Open(ctx, store.Options{Driver: s.Driver, DSN: dsn, Retention: s.Retention, Log: log}) // its errors say which store
}

// prune deletes what the store keeps past its retention, hourly, until ctx ends.
func prune(ctx context.Context, db *store.DB, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := db.Prune(ctx); err != nil && ctx.Err() == nil {
			log.Error("store not pruned", "err", err)
		} else if n > 0 {
			log.Info("store pruned", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newScheduler returns the scheduler of the configured schedules, nil for none.
func newScheduler(cfg *config.Config, db *store.DB, tr *triager, b *bot.Bot, log *slog.Logger) (*schedule.Scheduler, error) {
	if len(cfg.Schedules) == 0 {
		return nil, nil
	}
	var list []schedule.Schedule
	for _, s := range cfg.Schedules {
		var hosts []string
		for _, h := range cfg.ScheduleHosts(s) {
			hosts = append(hosts, h.Name)
		}
		list = append(list, schedule.Schedule{
			Name: s.Name, Spec: s.Cron, Location: s.Location, Channel: s.Channel, Hosts: hosts,
			Quiet: s.Quiet, Concurrency: s.Concurrency, Deadline: s.Deadline,
		})
	}
	return schedule.New(schedule.Options{
		Schedules: list, Triager: fleetTriager{tr}, Store: db, Notifier: b,
		Holder: replicaID(), LeaseTTL: cfg.Store.LeaseTTL, Log: log,
		// A run's incidents: its hosts' findings that overlap in time and
		// share a factor (correlate's defaults).
		Signatures: correlate.Signatures,
		Correlate: func(sigs []triage.Signature, checked []string) []triage.Incident {
			return correlate.Correlate(sigs, checked, correlate.Options{})
		},
	})
}

// replicaID names this process among replicas sharing a store: host name, process
// ID and a random suffix.
func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// inventory is the configuration's host list as the bot looks hosts up.
type inventory struct{ cfg *config.Config }

func (i inventory) Lookup(name string) (string, bool) {
	h, ok := i.cfg.Host(name)
	return h.Name, ok
}

func (i inventory) Suggest(name string) []string { return i.cfg.Suggest(name) }

// Hosts returns the name of every inventory host, for the incident command.
func (i inventory) Hosts() []string {
	out := make([]string, len(i.cfg.Hosts))
	for k, h := range i.cfg.Hosts {
		out[k] = h.Name
	}
	return out
}

// Tagged returns the names of the inventory hosts with tag, and false when none has it.
func (i inventory) Tagged(tag string) ([]string, bool) {
	var out []string
	for _, h := range i.cfg.Hosts {
		if slices.ContainsFunc(h.Tags, func(t string) bool { return strings.EqualFold(t, tag) }) {
			out = append(out, h.Name)
		}
	}
	return out, len(out) > 0
}

// triager runs the triage of an inventory host, as the bot and the scheduler ask.
type triager struct {
	planner *plan.Planner
	// cfg and ad are the planner's configuration and adapters: with them, the
	// scheduler sweeps the hosts behind an agent in its batch requests (see
	// fleetTriager.Batches); without, one triage at a time.
	cfg *config.Config
	ad  *plan.Adapters
	log *slog.Logger
	now func() time.Time // nil means the real clock
	// since is how far back a sweep's hosts are read; 0 means the configuration's.
	since time.Duration
}

func (t *triager) Triage(ctx context.Context, r bot.TriageRequest) (triage.Report, error) {
	return t.run(ctx, r.Host, r.Instance, func() string { return r.ID }, r.Progress)
}

// run triages host, of its instance inst alone unless inst is the zero Instance. Its
// error is the planner's: a host no longer in the inventory (wrapping
// triage.ErrNotInInventory), or adapters that could not be made.
func (t *triager) run(ctx context.Context, host string, inst triage.Instance, newID func() string, progress func(done, total int)) (triage.Report, error) {
	var o plan.Overrides
	if inst != (triage.Instance{}) {
		o.Instances = []triage.Instance{inst}
	}
	pl, err := t.planner.For(ctx, host, o)
	if err != nil {
		return triage.Report{}, err
	}
	runner := pl.Runner()
	runner.Log, runner.Now, runner.NewID, runner.Progress = t.log, t.now, newID, progress
	return runner.Run(ctx, pl.Target), nil
}

// fleetTriager is the triager as the scheduler calls it, and the bot's
// Batcher for its incident runs.
type fleetTriager struct{ t *triager }

var _ schedule.BatchTriager = fleetTriager{}

func (f fleetTriager) Triage(ctx context.Context, host string) (triage.Report, error) {
	return f.t.run(ctx, host, triage.Instance{}, nil, nil)
}

// Batches groups, by agent, the hosts whose whole scheduled triage runs in their
// agent: those the inventory puts behind an agent and whose plan (with no
// overrides, as a sweep has none) has every check in it. Their sweep then goes
// through the agent's batch requests and its sweep budget (see Sweep) instead
// of a request each within its interactive limits. A host whose plan fails,
// runs a check here, or whose name another host has already taken ignoring
// case, is left to Triage.
func (f fleetTriager) Batches(ctx context.Context, hosts []string) map[string][]string {
	t := f.t
	if t.cfg == nil || t.ad == nil {
		return nil
	}
	groups := map[string][]string{}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		k := strings.ToLower(h)
		if seen[k] {
			continue
		}
		seen[k] = true
		if a, ok := t.agentOf(ctx, h); ok {
			groups[a] = append(groups[a], h)
		}
	}
	return groups
}

// agentOf returns the name of the agent that runs every check of host's
// triage without overrides, and false when there is none.
func (t *triager) agentOf(ctx context.Context, host string) (string, bool) {
	h, ok := t.cfg.Host(host)
	if !ok {
		return "", false
	}
	a, ok := t.cfg.AgentFor(h)
	if !ok {
		return "", false
	}
	pl, err := t.planner.For(ctx, host, plan.Overrides{})
	if err != nil || len(pl.Checks) == 0 {
		return "", false
	}
	for _, c := range pl.Checks {
		if r, ok := c.(triage.Remote); !ok || !strings.EqualFold(r.Agent(), a.Name) {
			return "", false
		}
	}
	return a.Name, true
}

// Sweep triages hosts, all behind the agent named group (see Batches), with the
// agent client's Sweep: each host's report is what Triage would give (the
// agent's checks, diagnosed here against the planner's target for the host),
// within the agent's sweep budget; a host the agent could not triage is
// reported with agent.unreachable. Its error is the client's, or that the
// agent's client cannot be made, in which case no host was reported.
func (f fleetTriager) Sweep(ctx context.Context, group string, hosts []string, onReport func(host string, rep triage.Report, err error)) error {
	t := f.t
	i := slices.IndexFunc(t.cfg.Agents, func(a config.Agent) bool { return strings.EqualFold(a.Name, group) })
	if i < 0 {
		return fmt.Errorf("no agent %q in the configuration", group)
	}
	c, err := t.ad.Agent(ctx, t.cfg.Agents[i])
	if err != nil {
		return err
	}
	return c.Sweep(ctx, hosts, agent.SweepOptions{
		Since: cmp.Or(t.since, t.cfg.Defaults.Since),
		Rules: diagnosis.Rules(),
		Target: func(host string) triage.Target {
			pl, err := t.planner.For(ctx, host, plan.Overrides{})
			if err != nil { // gone from the inventory since: the name alone
				return triage.Target{Host: host}
			}
			return pl.Target
		},
	}, onReport)
}
