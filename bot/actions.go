package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/commands"
)

// The select a Share click offers: its action ID, and its block ID's prefix (the
// rest is the report ID).
const (
	ActionShareTo = "share_to"
	shareBlock    = "share:"
)

// actionVerb is the command whose access rule a button needs.
func actionVerb(action string) (commands.Verb, bool) {
	switch action {
	case ActionRerun:
		return commands.VerbCheck, true
	case ActionShare, ActionShareTo:
		return commands.VerbShare, true
	case ActionRawEvidence, ActionFixScript, ActionExport:
		return commands.VerbShow, true
	}
	return "", false
}

// acceptAction is Accept for a click on a button or select. The value names a
// report; it is checked like a typed ID.
func (b *Bot) acceptAction(req Request) Reply {
	verb, ok := actionVerb(req.Action)
	id := req.Value
	if req.Action == ActionShareTo {
		id = strings.TrimPrefix(req.Block, shareBlock)
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
	if req.Action == ActionShareTo {
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
	case ActionRerun:
		run = func(ctx context.Context) { b.rerun(ctx, req, id) }
	case ActionShare:
		b.audit(req, cmd, "ok", "")
		return shareChooser(id)
	case ActionShareTo:
		run = func(ctx context.Context) { b.share(ctx, req, id, req.Value) }
	case ActionRawEvidence:
		run = func(ctx context.Context) { b.rawEvidence(ctx, req, id) }
	case ActionFixScript:
		run = func(ctx context.Context) { b.fixScript(ctx, req, id) }
	case ActionExport:
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

// shareChooser asks which channel to share report id to.
func shareChooser(id string) Reply {
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, plain("Pick a channel"), ActionShareTo)
	sel.Filter = &slack.SelectBlockElementFilter{Include: []string{"public", "private"}, ExcludeBotUsers: true}
	return Reply{
		Text: "Share report " + id + " to which channel?",
		Blocks: []slack.Block{
			section(fmt.Sprintf("Share report `%s` to which channel? The channel gets a short card that links to this thread.", id)),
			slack.NewActionBlock(shareBlock+id, sel),
		},
	}
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
		b.audit(req, describe(req), "rejected", "host no longer in the inventory")
		b.tell(ctx, req, unknownHost(rec.Report.Host, nil))
		return
	}
	cmd := commands.Command{Verb: commands.VerbCheck, Host: host}
	if reply := b.queueCheck(req, cmd, host, cmd.Instance, req.Channel, ""); !reply.empty() {
		b.tell(ctx, req, reply) // busy
	}
}
