package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/authtriage/authtriage/commands"
	"github.com/authtriage/authtriage/internal/display"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// check runs one triage and answers with its thread in channel (under threadTS
// when that is set): first a parent message that says the check runs and is
// updated as checks finish, then, when the report is in, the parent shows the
// verdict and buttons, each finding follows as a reply, and a report too long for
// the thread is attached as a Markdown file. The report is stored before it is
// posted, so a post that fails loses nothing.
func (b *Bot) check(ctx context.Context, req Request, cmd commands.Command, host string, inst triage.Instance, channel, threadTS string) {
	id := b.freshID(ctx, host)
	log := b.log.With("report", id, "host", host, "user", req.User, "channel", channel)
	started := b.o.Now()

	parentTS, err := b.post(ctx, channel, threadTS, slackrender.Progress(id, host, started, 0, 0))
	if err != nil {
		b.audit(req, cmd.String(), "error", "could not post: "+errorText(err))
		b.tell(ctx, req, cannotPost(channel, err))
		return
	}
	replyTS := threadTS
	if replyTS == "" {
		replyTS = parentTS
	}

	prog := newProgress(b.o.ProgressEvery, func(done, total int) {
		if err := b.update(ctx, channel, parentTS, slackrender.Progress(id, host, started, done, total)); err != nil {
			log.Warn("progress not shown", "err", err)
		}
	})
	rep, err := b.o.Triager.Triage(ctx, TriageRequest{ID: id, Host: host, Instance: inst, Progress: prog.report})
	prog.stop()
	if err != nil {
		f := b.explain(ctx, log, "check *"+slackrender.Escape(host)+"*", host, err)
		b.audit(req, cmd.String(), f.result, f.detail)
		if err := b.update(ctx, channel, parentTS, slackrender.Notice("Could not check "+slackrender.Escape(host), f.text)); err != nil {
			log.Error("failure not shown", "err", err)
		}
		return
	}
	rep.ID = id // the Triager was asked for this ID; the thread shows no other
	addInventoryHints(&rep)
	b.metrics.triaged(rep)

	saveCtx, cancel := b.postCtx(ctx)
	defer cancel()
	rec := store.Record{Report: rep, Channel: channel, ThreadTS: parentTS, RequestedBy: req.User}
	if err := b.o.Store.SaveReport(saveCtx, rec); err != nil {
		log.Error("report not stored; it is posted but show, share and history will not find it", "err", err)
	}
	b.audit(req, cmd.String(), "ok", id) // before posting, which may outlast a shutdown
	if _, err := b.postThread(ctx, rep, channel, parentTS, replyTS, log); err != nil {
		b.audit(req, cmd.String(), "error", "report "+id+" not fully posted: "+errorText(err))
		b.tell(ctx, req, Reply{Text: fmt.Sprintf(":warning: Part of report `%s` could not be posted (%s). It is stored: `show %s` posts it again.", id, slackrender.Escape(errorText(err)), id)})
	}
	b.refreshHome(ctx)
}

// freshID returns the ID of host's next report, reserved in the store, which
// gives no other report that ID (IDs are short and random, so two triages of
// any replicas could draw the same). It asks for one drawn with NewID; when the
// store cannot reserve one, it goes on with that one unreserved.
func (b *Bot) freshID(ctx context.Context, host string) string {
	want := b.o.NewID()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	id, err := b.o.Store.ReserveReportID(sctx, want, host)
	if err != nil {
		b.log.Warn("report ID not reserved; going on with one unreserved", "host", host, "report", want, "err", err)
		return want
	}
	return id
}

// postThread shows a finished report: it replaces the message parentTS (or posts
// a new parent when parentTS is "") and posts the rest of the thread under
// replyTS (the parent's ts when ""). It returns the parent's ts ("" when it could
// not be posted) and the first error of any part that was not shown, after
// trying every part.
func (b *Bot) postThread(ctx context.Context, rep triage.Report, channel, parentTS, replyTS string, log *slog.Logger) (string, error) {
	msgs, err := slackrender.Thread(rep, slackrender.ThreadOptions{Buttons: true, MaxMessages: b.o.MaxThreadMessages,
		FrontEnds: b.frontEnds(ctx, rep, log), Incidents: b.incidentsOf(ctx, rep, log)})
	if err != nil {
		f := b.explain(ctx, log, "show report "+rep.ID+" in Slack", "", err)
		msgs = []slackrender.Message{slackrender.Notice("Report "+rep.ID,
			f.text+fmt.Sprintf(" It is stored: ask for it with `show %s` after a fix, or use the CLI.", rep.ID))}
	}
	var first error
	failed := func(what string, err error, args ...any) {
		log.Error(what, append(args, "err", err)...)
		if first == nil {
			first = err
		}
	}
	if parentTS == "" {
		ts, err := b.post(ctx, channel, replyTS, msgs[0])
		if err != nil {
			failed("report not posted", err)
			return "", first
		}
		parentTS = ts
	} else if err := b.update(ctx, channel, parentTS, msgs[0]); err != nil {
		failed("verdict not shown on the thread's parent", err)
	}
	if replyTS == "" {
		replyTS = parentTS
	}
	for i, m := range msgs[1:] {
		if _, err := b.post(ctx, channel, replyTS, m); err != nil {
			failed("thread reply not posted", err, "reply", i+1, "of", len(msgs)-1)
		}
	}
	if last := msgs[len(msgs)-1]; last.Truncated {
		if err := b.upload(ctx, channel, replyTS, rep); err != nil {
			failed("full report not attached", err)
		}
	}
	return parentTS, first
}

// upload attaches the whole report as Markdown to the thread.
func (b *Bot) upload(ctx context.Context, channel, threadTS string, rep triage.Report) error {
	return b.uploadFile(ctx, channel, threadTS, slackrender.MarkdownFileName(rep.ID),
		"authtriage report "+rep.ID+" ("+display.Line(rep.Host)+")", slackrender.Markdown(rep))
}

// cannotPost tells the user why a message did not appear in channel.
func cannotPost(channel string, err error) Reply {
	code := errorText(err)
	text := fmt.Sprintf(":x: I could not post in <#%s> (%s).", channel, slackrender.Escape(code))
	if code == "not_in_channel" || code == "channel_not_found" {
		text += " Invite me there first: `/invite @authtriage`."
	}
	return Reply{Text: text}
}

// progress throttles updates of a thread's parent to one per interval, always
// showing the latest count. Updates are shown one at a time, in order: while one
// is being shown (waiting out a rate limit, say), the next waits for it, so an
// older count never lands after a newer one. After stop returns, no update runs
// or will run, so a late progress update can never overwrite the verdict.
type progress struct {
	every   time.Duration
	show    func(done, total int)
	pending sync.WaitGroup // an update scheduled or being shown
	mu      sync.Mutex     // guards the fields below
	last    time.Time      // when the last update was shown
	latest  [2]int         // the latest count reported
	shown   [2]int         // the count shown last
	timer   *time.Timer    // an update due or being shown; nil when none
	closed  bool
}

func newProgress(every time.Duration, show func(done, total int)) *progress {
	return &progress{every: every, show: show}
}

func (p *progress) report(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || done >= total { // the verdict replaces the parent anyway
		return
	}
	p.latest = [2]int{max(done, p.latest[0]), total}
	if p.timer != nil {
		return // an update is due or being shown; the latest count follows it
	}
	p.scheduleLocked()
}

// scheduleLocked schedules the next update, every after the last one shown;
// p.mu must be held.
func (p *progress) scheduleLocked() {
	p.pending.Add(1)
	p.timer = time.AfterFunc(max(0, p.every-time.Since(p.last)), p.fire)
}

// fire shows the latest count and, when a newer one came in meanwhile,
// schedules the next update.
func (p *progress) fire() {
	defer p.pending.Done()
	p.mu.Lock()
	if p.closed {
		p.timer = nil
		p.mu.Unlock()
		return
	}
	c := p.latest
	p.mu.Unlock()
	p.show(c[0], c[1])
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer, p.last, p.shown = nil, time.Now(), c
	if !p.closed && p.latest != p.shown {
		p.scheduleLocked()
	}
}

// stop ends updates and waits for one being shown.
func (p *progress) stop() {
	p.mu.Lock()
	p.closed = true
	if p.timer != nil && p.timer.Stop() {
		p.timer = nil
		p.pending.Done() // it will never fire
	}
	p.mu.Unlock()
	p.pending.Wait()
}
