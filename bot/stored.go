package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// load returns the stored report id, or tells the user it is not there.
func (b *Bot) load(ctx context.Context, req Request, id string) (store.Record, bool) {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	rec, err := b.o.Store.Report(sctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		b.audit(req, describe(req), "rejected", "no report "+id)
		b.tell(ctx, req, Reply{Text: fmt.Sprintf("There is no report `%s`. Reports are kept for a limited time; `history HOST` lists a host's recent ones.", id)})
		return rec, false
	case err != nil:
		f := b.explain(ctx, b.log, fmt.Sprintf("read report `%s` from my store", id), "", err)
		b.audit(req, describe(req), f.result, f.detail)
		b.tell(ctx, req, Reply{Text: f.text + " Try again shortly."})
		return rec, false
	}
	return rec, true
}

// show posts a stored report again, as a new thread in the channel where it was
// asked for.
func (b *Bot) show(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	if ts, err := b.postThread(ctx, rec.Report, req.Channel, "", req.ThreadTS, b.log.With("report", id)); ts == "" {
		b.audit(req, describe(req), "error", "could not post: "+errorText(err))
		b.tell(ctx, req, cannotPost(req.Channel, err))
		return
	} else if err != nil {
		b.tell(ctx, req, Reply{Text: fmt.Sprintf(":warning: Part of report `%s` could not be posted (%s).", id, slackrender.Escape(errorText(err)))})
	}
	b.audit(req, "show "+id, "ok", id)
}

// share posts a compact card of a stored report to channel, with a link to the
// report's thread.
func (b *Bot) share(ctx context.Context, req Request, id, channel string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	link := ""
	if rec.Channel != "" && rec.ThreadTS != "" {
		pctx, cancel := b.postCtx(ctx)
		err := b.call(pctx, "chat.getPermalink", func(ctx context.Context) error {
			var err error
			link, err = b.o.API.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: rec.Channel, Ts: rec.ThreadTS})
			return err
		})
		cancel()
		if err != nil {
			b.log.Warn("permalink not found; sharing without it", "report", id, "err", err)
		}
	}
	if _, err := b.post(ctx, channel, "", slackrender.ShareCard(rec.Report, req.User, link)); err != nil {
		b.audit(req, "share "+id+" <#"+channel+">", "error", errorText(err))
		b.tell(ctx, req, cannotPost(channel, err))
		return
	}
	b.audit(req, "share "+id+" <#"+channel+">", "ok", id)
	b.tell(ctx, req, Reply{Text: fmt.Sprintf(":white_check_mark: Shared report `%s` to <#%s>.", id, channel)})
}

// history tells the user a host's recent reports and since when its current
// causes have been seen.
func (b *Bot) history(ctx context.Context, req Request, host string) {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	entries, err := b.o.Store.History(sctx, host, 10)
	if err != nil {
		f := b.explain(ctx, b.log, "read the history of *"+slackrender.Escape(host)+"* from my store", "", err)
		b.audit(req, "history "+host, f.result, f.detail)
		b.tell(ctx, req, Reply{Text: f.text + " Try again shortly."})
		return
	}
	since := map[triage.CauseID]time.Time{}
	if len(entries) > 0 {
		for _, c := range entries[0].Causes {
			if t, ok, err := b.o.Store.Since(sctx, host, c); err == nil && ok {
				since[c] = t
			}
		}
	}
	b.audit(req, "history "+host, "ok", "")
	b.tell(ctx, req, replyOf(slackrender.History(host, entries, since, b.o.Now())))
}

// rawEvidence tells the user every evidence item of a stored report, as recorded
// (slackrender.RawEvidence).
func (b *Bot) rawEvidence(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	b.audit(req, describe(req), "ok", id)
	b.tell(ctx, req, replyOf(slackrender.RawEvidence(rec.Report, id)))
}

// fixScript tells the user the report's remediation commands as one PowerShell
// script, the commands of other shells in labelled sections after it
// (slackrender.FixScript).
func (b *Bot) fixScript(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	b.audit(req, describe(req), "ok", id)
	b.tell(ctx, req, replyOf(slackrender.FixScript(rec.Report, id)))
}

// export attaches the whole report as a Markdown file, for a ticket, to the
// report's thread (or, for a report that has none, where it was asked for).
func (b *Bot) export(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	channel, thread := rec.Channel, rec.ThreadTS
	if channel == "" {
		channel, thread = req.Channel, req.ThreadTS
	}
	if err := b.upload(ctx, channel, thread, rec.Report); err != nil {
		b.audit(req, describe(req), "error", errorText(err))
		b.tell(ctx, req, cannotPost(channel, err))
		return
	}
	b.audit(req, describe(req), "ok", id)
}
