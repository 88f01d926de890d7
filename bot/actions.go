package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/commands"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/triage"
)

// actionVerb is the command whose access rule a button needs.
func actionVerb(action string) (commands.Verb, bool) {
	switch action {
	case slackrender.ActionRerun:
		return commands.VerbCheck, true
	case slackrender.ActionShare, slackrender.ActionShareTo:
		return commands.VerbShare, true
	case slackrender.ActionRawEvidence, slackrender.ActionFixScript, slackrender.ActionExport:
		return commands.VerbShow, true
	}
	return "", false
}

// acceptAction is Accept for a click on a button or select. The value names a
// report; it is checked like a typed ID.
func (b *Bot) acceptAction(req Request) Reply {
	verb, ok := actionVerb(req.Action)
	id := req.Value
	if req.Action == slackrender.ActionShareTo {
		id = strings.TrimPrefix(req.Block, slackrender.ShareBlockPrefix)
	}
	cmd := describe(req)
	if !ok || !validID(id) {
		b.audit(req, cmd, "rejected", "unknown action or report ID")
		return Reply{}
	}
	if !b.allowed(verb, req) {
		b.audit(req, cmd, "denied", "no access rule allows "+string(verb))
		return denial(verb)
	}
	if req.Action == slackrender.ActionShareTo {
		if !channelID(req.Value) {
			b.audit(req, cmd, "rejected", "not a channel ID")
			return Reply{Text: "Pick a channel to share to."}
		}
		if !b.allowed(commands.VerbShare, Request{User: req.User, Channel: req.Value}) {
			b.audit(req, cmd, "denied", "no access rule allows sharing to "+req.Value)
			return shareDenied(req.Value)
		}
	}
	var run func(context.Context)
	switch req.Action {
	case slackrender.ActionRerun:
		run = func(ctx context.Context) { b.rerun(ctx, req, id) }
	case slackrender.ActionShare:
		b.audit(req, cmd, "ok", "")
		return replyOf(slackrender.ShareChooser(id))
	case slackrender.ActionShareTo:
		run = func(ctx context.Context) { b.share(ctx, req, id, req.Value) }
	case slackrender.ActionRawEvidence:
		run = func(ctx context.Context) { b.rawEvidence(ctx, req, id) }
	case slackrender.ActionFixScript:
		run = func(ctx context.Context) { b.fixScript(ctx, req, id) }
	case slackrender.ActionExport:
		run = func(ctx context.Context) { b.export(ctx, req, id) }
	}
	if !b.enqueue(b.light, job{req: req, run: run}, false) {
		b.audit(req, cmd, "busy", "queue full")
		return Reply{Text: ":hourglass: I am busy. Try again in a minute."}
	}
	return Reply{}
}

// validID reports whether s looks like a report ID (commands.Parse's rule).
func validID(s string) bool {
	c, err := commands.Parse("show " + s)
	return err == nil && c.ReportID == s
}

// channelID reports whether s looks like a public or private channel's ID.
func channelID(s string) bool {
	if len(s) < 7 || len(s) > 32 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// rerun triages the host of a stored report again, in a new thread in the channel
// where the button was clicked.
func (b *Bot) rerun(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	host, ok := b.o.Inventory.Lookup(rec.Report.Host)
	if !ok {
		f := b.explain(ctx, b.log, "check", rec.Report.Host, fmt.Errorf("%s: %w", rec.Report.Host, triage.ErrNotInInventory))
		b.audit(req, describe(req), f.result, f.detail)
		b.tell(ctx, req, Reply{Text: f.text})
		return
	}
	cmd := commands.Command{Verb: commands.VerbCheck, Host: host}
	if reply := b.queueCheck(req, cmd, host, cmd.Instance, req.Channel, ""); !reply.empty() {
		b.tell(ctx, req, reply) // busy
	}
}
