// Package bot is authtriage's Slack adapter: the Socket Mode and HTTP transports,
// the one request pipeline (parse, access, de-duplication, queues, audit), the
// store's reports and posting what package slackrender renders, within Slack's
// rate limits.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// SlackAPI is what the bot calls of Slack's Web API; *slack.Client has it.
type SlackAPI interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	GetPermalinkContext(ctx context.Context, params *slack.PermalinkParameters) (string, error)
	UploadFileContext(ctx context.Context, params slack.UploadFileParameters) (*slack.FileSummary, error)
	GetUserGroupMembersContext(ctx context.Context, group string, options ...slack.GetUserGroupMembersOption) ([]string, error)
	PublishViewContext(ctx context.Context, req slack.PublishViewContextRequest) (*slack.ViewResponse, error)
}

// Store is what the bot keeps and looks up; *store.DB has it.
type Store interface {
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	ReserveReportID(ctx context.Context, id, host string) (string, error)
	SaveReport(ctx context.Context, r store.Record) error
	Report(ctx context.Context, id string) (store.Record, error)
	History(ctx context.Context, host string, limit int) ([]store.Entry, error)
	Since(ctx context.Context, host string, cause triage.CauseID) (time.Time, bool, error)
	Latest(ctx context.Context) ([]store.Entry, error)
	Audit(ctx context.Context, e store.AuditEntry) error
}

// A TriageRequest asks for one triage. ID is the report's ID, chosen by the bot so
// that the thread shows it from the first message on.
type TriageRequest struct {
	ID       string
	Host     string          // an inventory host name, as Inventory.Lookup returned it
	Instance triage.Instance // the zero Instance means every instance of the host
	// Progress is called as checks finish (see triage.Runner.Progress).
	Progress func(done, total int)
}

// A Triager runs triages. An error means no triage could be made at all (the host
// left the inventory); a triage whose checks failed is a report, not an error.
type Triager interface {
	Triage(ctx context.Context, r TriageRequest) (triage.Report, error)
}

// An Inventory says which hosts the bot may triage. Nothing outside it is ever
// probed: a typed name is looked up, never passed on.
type Inventory interface {
	// Lookup returns the inventory name of the host called name (its name or
	// FQDN, ignoring case).
	Lookup(name string) (host string, ok bool)
	// Suggest returns inventory names close to name, closest first.
	Suggest(name string) []string
}

// A Rule says who may run which command where; config.AccessRule is one.
type Rule interface {
	Allows(verb, channel, user string, inGroup func(group string) bool) bool
	// AllowsUser is Allows for some channel: whether user may run verb anywhere.
	AllowsUser(verb, user string, inGroup func(group string) bool) bool
}

// Options configure a Bot. API, Store, Triager and Inventory are required.
type Options struct {
	API       SlackAPI
	Store     Store
	Triager   Triager
	Inventory Inventory
	// Access rules: a command runs when one of them allows it; help always runs.
	// No rules means nothing but help.
	Access []Rule
	// UserGroups are the IDs of the user groups the rules name; their members are
	// fetched at start and every GroupRefresh.
	UserGroups   []string
	GroupRefresh time.Duration // default 5 minutes
	// BotUserID is the bot's own user ID (auth.test), so it ignores itself.
	BotUserID string
	// Workers bound the triages that run at once (default 8); Queue bounds those
	// waiting (0 means 64; negative means none wait). A request beyond both is answered "busy", never
	// blocked. Cheap commands (help, history, show, share, buttons) have a pool of
	// their own, so slow triages never hold them up.
	Workers, Queue int
	// MaxThreadMessages bounds a diagnosis thread (ThreadOptions.MaxMessages).
	MaxThreadMessages int
	// DedupTTL is how long a delivery's key is remembered; default 1 hour (Slack
	// retries within minutes).
	DedupTTL time.Duration
	// PostTimeout bounds how long posting one message may wait out Slack's rate
	// limits; default 10 minutes.
	PostTimeout time.Duration
	// ShutdownGrace is how long Run waits for running triages when it stops before
	// cancelling them; they then post what they have. Default 30 seconds.
	ShutdownGrace time.Duration
	// ProgressEvery is the least time between two updates of a thread's parent
	// while its triage runs; default 2 seconds (Slack allows about one post a
	// second per channel). An incident run's parent waits 10 seconds at least.
	ProgressEvery time.Duration
	// Fleet resolves the incident command's tags and whole inventory; nil: the
	// command takes host names only.
	Fleet Fleet
	// Batcher, when set, sweeps the incident command's hosts it groups
	// together (the hosts behind an agent, in its batch requests); Triager
	// triages the others one at a time.
	Batcher Batcher
	// Correlator finds incidents; nil turns the incident command off and the
	// check threads say nothing of other hosts.
	Correlator Correlator
	// Signatures are the recent reports' signatures, which a check's thread
	// compares its own with; nil means Store's when it keeps them.
	Signatures SignatureStore
	// IncidentWindow is how far back a check looks for other hosts with the
	// same cause; default 30 minutes.
	IncidentWindow time.Duration
	// MaxIncidentHosts bounds the hosts of one incident run; default 10,000.
	MaxIncidentHosts int
	Metrics          *Metrics // nil: metrics are kept but not registered anywhere
	Log              *slog.Logger
	Now              func() time.Time
	NewID            func() string
}

// A Bot answers requests from Slack. Transports (HTTPHandler, RunSocketMode) turn
// deliveries into Requests and call Accept; Run does the work.
type Bot struct {
	o       Options
	log     *slog.Logger
	metrics *Metrics

	triages chan job // triages waiting for a worker
	light   chan job // cheap commands and replies waiting for a worker

	accepting atomic.Bool
	started   atomic.Bool
	// up is closed when Run starts accepting requests, down when it stops.
	up, down   chan struct{}
	groups     groupCache
	home       homeViewers
	homeQueued atomic.Bool // a Home refresh is queued
	audits     chan store.AuditEntry
	auditWG    sync.WaitGroup
	refused    auditLimiter // what is stored of refused requests
	// closeMu guards the closing of the queues and the audit channel, so that no
	// send races a close.
	closeMu                    sync.RWMutex
	queuesClosed, auditsClosed bool
	// socketWork bounds the Socket Mode envelopes being handled at once.
	socketWork chan struct{}
	// hard is cancelled postGrace after the shutdown grace is over: posts still
	// waiting (on rate limits, say) then give up, so the process can exit.
	hard       context.Context
	cancelHard context.CancelFunc
	// incidentRunning is set while an incident run is queued or runs.
	incidentRunning atomic.Bool
	places          incidentPlaces
}

// postGrace is how long posts may go on after the shutdown grace, for the
// triages cancelled then to post what they have. An orchestrator's termination
// grace should exceed ShutdownGrace plus postGrace.
const postGrace = 10 * time.Second

// A job is queued work; interrupted runs instead of run when the bot stops before
// the job started, to tell the person who asked.
type job struct {
	req         Request
	run         func(ctx context.Context)
	interrupted func(ctx context.Context)
}

// New checks the options and returns a Bot that accepts requests once Run runs.
func New(o Options) (*Bot, error) {
	var missing []string
	for name, v := range map[string]any{"API": o.API, "Store": o.Store, "Triager": o.Triager, "Inventory": o.Inventory} {
		if v == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bot options lack %v", missing)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.GroupRefresh, 5*time.Minute)
	def(&o.DedupTTL, time.Hour)
	def(&o.PostTimeout, 10*time.Minute)
	def(&o.ShutdownGrace, 30*time.Second)
	def(&o.ProgressEvery, 2*time.Second)
	def(&o.IncidentWindow, defaultIncidentWindow)
	if o.MaxIncidentHosts <= 0 {
		o.MaxIncidentHosts = defaultMaxIncidentHosts
	}
	if o.Signatures == nil {
		o.Signatures, _ = o.Store.(SignatureStore)
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Queue < 0 {
		o.Queue = 0
	} else if o.Queue == 0 {
		o.Queue = 64
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = triage.NewID
	}
	m := o.Metrics
	if m == nil {
		m = NewMetrics(prometheus.NewRegistry()) // kept, not exported
	}
	hard, cancelHard := context.WithCancel(context.Background())
	return &Bot{
		o: o, log: o.Log, metrics: m, hard: hard, cancelHard: cancelHard,
		triages: make(chan job, o.Queue),
		light:   make(chan job, lightQueue),
		audits:  make(chan store.AuditEntry, 1024),

		socketWork: make(chan struct{}, 64),
		up:         make(chan struct{}),
		down:       make(chan struct{}),
		groups:     groupCache{loaded: make(chan struct{})},
	}, nil
}

// The pool for cheap work: help, history, show, share, buttons and replies.
const (
	lightWorkers = 8
	lightQueue   = 256
)

// Accepting reports whether the bot takes requests: Run has started and ctx is
// not done yet.
func (b *Bot) Accepting() bool { return b.accepting.Load() }

// Run starts the workers and accepts requests until ctx is done. Then it stops
// accepting (new requests are told the bot is restarting), tells the people whose
// requests were queued but not started, waits up to ShutdownGrace for running
// triages, cancels those still running (they post their partial reports), and
// returns when all is posted and audited. Run may be called once.
func (b *Bot) Run(ctx context.Context) error {
	if b.started.Swap(true) {
		return errors.New("bot: Run called twice")
	}
	// work outlives ctx by the grace period: triages that run when ctx ends may
	// finish and post.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	defer b.cancelHard()

	b.auditWG.Add(1)
	go b.writeAudits()

	groupsDone := make(chan struct{})
	go func() {
		defer close(groupsDone)
		b.refreshGroups(ctx)
	}()

	var workers sync.WaitGroup
	for range b.o.Workers {
		workers.Go(func() { b.work(work, b.triages, true) })
	}
	var lightWG sync.WaitGroup
	for range lightWorkers {
		lightWG.Go(func() { b.work(work, b.light, false) })
	}
	b.accepting.Store(true)
	close(b.up)
	b.log.InfoContext(ctx, "bot accepting requests", "workers", b.o.Workers, "queue", b.o.Queue)

	<-ctx.Done()
	b.accepting.Store(false)
	close(b.down)
	b.log.Info("bot stopping: no new requests; waiting for running triages", "grace", b.o.ShutdownGrace)
	b.closeMu.Lock()
	b.queuesClosed = true
	close(b.triages)
	close(b.light)
	b.closeMu.Unlock()

	done := make(chan struct{})
	go func() {
		workers.Wait()
		lightWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(b.o.ShutdownGrace):
		b.log.Warn("bot stopping: grace period over; cancelling running triages, which post what they have", "for", postGrace)
		cancelWork()
		t := time.AfterFunc(postGrace, b.cancelHard)
		<-done
		t.Stop()
	}
	<-groupsDone
	b.closeMu.Lock()
	b.auditsClosed = true
	close(b.audits)
	b.closeMu.Unlock()
	b.auditWG.Wait()
	b.log.Info("bot stopped")
	return nil
}

// work runs jobs until the queue is closed. Once the bot stops, triages that
// have not started are not started; cheap jobs still run during the grace
// period. A job that does not run is told it was interrupted (its interrupted
// function, or an audit entry).
func (b *Bot) work(ctx context.Context, q <-chan job, triage bool) {
	for j := range q {
		if triage {
			b.metrics.queued.Dec()
		}
		if (triage && !b.accepting.Load()) || ctx.Err() != nil {
			if j.interrupted != nil {
				b.safely(ctx, j.req, j.interrupted)
			} else if j.req.User != "" {
				b.audit(j.req, describe(j.req), "error", "interrupted: the bot stopped before it could answer")
			}
			continue
		}
		if triage {
			b.metrics.running.Inc()
		}
		b.safely(ctx, j.req, j.run)
		if triage {
			b.metrics.running.Dec()
		}
	}
}

// safely runs f, turning a panic into a logged error and an audit entry: one bad
// request never takes the bot down.
func (b *Bot) safely(ctx context.Context, req Request, f func(context.Context)) {
	defer func() {
		if p := recover(); p != nil {
			log := b.log.With("origin", req.Origin, "user", req.User, "channel", req.Channel)
			f := b.explain(ctx, log, "answer that", "", fmt.Errorf("request handler panicked: %v", p))
			b.audit(req, describe(req), f.result, f.detail)
			if req.User != "" && req.Channel != "" {
				b.tell(ctx, req, Reply{Text: f.text})
			}
		}
	}()
	f(ctx)
}

// enqueue queues a job without blocking; false when the queue is full or the bot
// is stopping.
func (b *Bot) enqueue(q chan job, j job, triage bool) bool {
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if !b.accepting.Load() || b.queuesClosed {
		return false
	}
	select {
	case q <- j:
		if triage {
			b.metrics.queued.Inc()
		}
		return true
	default:
		return false
	}
}

// audit records a command without making the caller wait for the store; entries
// queue for one writer, which Run drains before it returns. When the queue is full
// the entry is written at once, so none is lost. Entries are bounded as the store
// keeps them (store.AuditEntry.Bounded), and refused requests are stored within
// limits (auditlimit.go).
func (b *Bot) audit(req Request, command, result, detail string) {
	e := store.AuditEntry{
		Time: b.o.Now(), User: req.User, Channel: req.Channel, Origin: string(req.Origin),
		Command: command, Result: result, Detail: detail,
	}.Bounded()
	b.metrics.request(req.Origin, result)
	e, keep := b.limitAudit(e)
	if !keep {
		return
	}
	b.closeMu.RLock()
	queued := false
	if !b.auditsClosed { // else Run has returned: write directly
		select {
		case b.audits <- e:
			queued = true
		default:
		}
	}
	b.closeMu.RUnlock()
	if !queued {
		b.writeAudit(e)
	}
}

func (b *Bot) writeAudits() {
	defer b.auditWG.Done()
	for e := range b.audits {
		b.writeAudit(e)
	}
}

func (b *Bot) writeAudit(e store.AuditEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.o.Store.Audit(ctx, e); err != nil {
		b.log.Error("audit entry not stored", "user", e.User, "channel", e.Channel, "command", e.Command, "result", e.Result, "err", err)
	}
}

// describe returns the request as an audit log shows it.
func describe(req Request) string {
	if req.Origin == FromButton {
		return "button " + req.Action + " " + req.Value
	}
	return req.Text
}
