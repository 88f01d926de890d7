package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/commands"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/triage"
)

// A Reply is an ephemeral answer to the person who asked: only they see it.
type Reply struct {
	Text   string // mrkdwn
	Blocks []slack.Block
}

func (r Reply) empty() bool { return r.Text == "" && len(r.Blocks) == 0 }

// replyOf is the Reply that shows m.
func replyOf(m slackrender.Message) Reply { return Reply{Text: m.Text, Blocks: m.Blocks} }

// Accept takes a request and returns at once, before any check runs: it parses
// the command, checks who may run it, drops repeated deliveries, and queues the
// work. It never blocks on Slack or on a triage; its only I/O is the store's
// de-duplication claim.
//
// The Reply is what to acknowledge a slash command with (Slack shows it to the
// user at once). Other origins cannot carry a reply in their acknowledgement, so
// for them Accept posts its answer itself, in the background, and returns the
// zero Reply.
func (b *Bot) Accept(ctx context.Context, req Request) Reply {
	reply := b.accept(ctx, req)
	if req.Origin == FromSlash || reply.empty() {
		return reply
	}
	if !b.enqueue(b.light, job{req: req, run: func(ctx context.Context) { b.tell(ctx, req, reply) }}, false) {
		b.log.Warn("reply dropped: the bot is stopping or overloaded", "user", req.User, "channel", req.Channel)
	}
	return Reply{}
}

func (b *Bot) accept(ctx context.Context, req Request) Reply {
	if !b.accepting.Load() {
		b.audit(req, describe(req), "busy", "the bot is stopping")
		return Reply{Text: ":hourglass: authtriage is restarting. Try again in a minute."}
	}
	if req.User == "" || req.Channel == "" {
		b.log.Warn("request without user or channel ignored", "origin", req.Origin)
		return Reply{}
	}
	if req.Key != "" {
		// Bounded: Slack waits 3 seconds for the acknowledgement, and a
		// duplicate answer is better than none.
		cctx, cancel := context.WithTimeout(ctx, claimTimeout)
		first, err := b.o.Store.Claim(cctx, "slack:"+req.Key, b.o.DedupTTL)
		cancel()
		switch {
		case err != nil:
			// Better to answer twice than not at all.
			b.log.Error("de-duplication claim failed; handling the request anyway", "key", req.Key, "err", err)
		case !first:
			b.metrics.deduplicated.Inc()
			b.metrics.request(req.Origin, "duplicate")
			b.log.Info("repeated delivery dropped", "key", req.Key, "origin", req.Origin)
			return Reply{}
		}
	}
	if req.Origin == FromButton {
		return b.acceptAction(req)
	}

	if len(req.Text) > maxCommandText {
		// Not parsed: no command is this long, and parsing a megabyte costs.
		b.audit(req, req.Text, "rejected", fmt.Sprintf("%d bytes long, over the %d a command may have", len(req.Text), maxCommandText))
		return Reply{Text: fmt.Sprintf("That is %d bytes long; no command is longer than %d. Type `/authtriage help` for the commands.", len(req.Text), maxCommandText)}
	}
	cmd, err := commands.Parse(commandText(req.Text))
	if err != nil {
		f := b.explain(ctx, b.log, "read the command", "", err)
		b.audit(req, req.Text, f.result, f.detail)
		return Reply{Text: f.text}
	}
	if !b.allowed(cmd.Verb, req) {
		b.audit(req, cmd.String(), "denied", "no access rule allows it")
		return denial(cmd.Verb)
	}
	switch cmd.Verb {
	case commands.VerbHelp:
		b.audit(req, cmd.String(), "ok", "")
		return Reply{Text: "```" + slackrender.EscapeCode(commands.HelpAllowed(string(cmd.Topic), func(v commands.Verb) bool { return b.allowed(v, req) })) + "```"}
	case commands.VerbCheck, commands.VerbHistory:
		host, ok := b.o.Inventory.Lookup(cmd.Host)
		if !ok {
			f := b.explain(ctx, b.log, string(cmd.Verb), cmd.Host, fmt.Errorf("%s: %w", cmd.Host, triage.ErrNotInInventory))
			b.audit(req, cmd.String(), f.result, f.detail)
			return Reply{Text: f.text}
		}
		if cmd.Verb == commands.VerbHistory {
			return b.queueLight(req, cmd, func(ctx context.Context) { b.history(ctx, req, host) })
		}
		return b.queueCheck(req, cmd, host, cmd.Instance, req.Channel, req.ThreadTS)
	case commands.VerbIncident:
		hosts, refusal, ok := b.resolveScope(cmd)
		if !ok {
			b.audit(req, cmd.String(), "rejected", "scope not in the inventory or too large")
			return refusal
		}
		return b.queueIncident(req, cmd, hosts)
	case commands.VerbShow:
		return b.queueLight(req, cmd, func(ctx context.Context) { b.show(ctx, req, cmd.ReportID) })
	case commands.VerbShare:
		if cmd.Channel.ID == "" {
			b.audit(req, cmd.String(), "rejected", "channel given by name")
			return Reply{Text: fmt.Sprintf("I need the channel picked from Slack's list (type `#` and choose %s from the suggestions), so that I get its ID; a typed name can be any channel.", slackrender.Escape("#"+cmd.Channel.Name))}
		}
		if !b.allowed(commands.VerbShare, Request{User: req.User, Channel: cmd.Channel.ID}) {
			b.audit(req, cmd.String(), "denied", "no access rule allows sharing to "+cmd.Channel.ID)
			return shareDenied(cmd.Channel.ID)
		}
		return b.queueLight(req, cmd, func(ctx context.Context) { b.share(ctx, req, cmd.ReportID, cmd.Channel.ID) })
	}
	return Reply{Text: "I do not know how to do that yet."}
}

// queueCheck queues a triage of host; its thread goes to channel, under threadTS
// when that is set.
func (b *Bot) queueCheck(req Request, cmd commands.Command, host string, inst triage.Instance, channel, threadTS string) Reply {
	j := job{
		req: req,
		run: func(ctx context.Context) { b.check(ctx, req, cmd, host, inst, channel, threadTS) },
		interrupted: func(ctx context.Context) {
			b.audit(req, cmd.String(), "error", "interrupted: the bot stopped before the triage started")
			b.tell(ctx, req, Reply{Text: fmt.Sprintf(":warning: authtriage restarted before it could check *%s*. Please run the command again.", slackrender.Escape(host))})
		},
	}
	if !b.enqueue(b.triages, j, true) {
		b.audit(req, cmd.String(), "busy", "triage queue full")
		return Reply{Text: fmt.Sprintf(":hourglass: I am busy with %d triages. Try again in a minute.", b.o.Workers+b.o.Queue)}
	}
	if req.Origin != FromSlash {
		return Reply{} // the thread's first message appears at once and says so
	}
	return Reply{Text: fmt.Sprintf(":mag: Checking *%s*… the diagnosis will appear in a thread here.", slackrender.Escape(host))}
}

// queueLight queues a cheap command; its answer is posted by run.
func (b *Bot) queueLight(req Request, cmd commands.Command, run func(context.Context)) Reply {
	if !b.enqueue(b.light, job{req: req, run: run}, false) {
		b.audit(req, cmd.String(), "busy", "queue full")
		return Reply{Text: ":hourglass: I am busy. Try again in a minute."}
	}
	return Reply{}
}

// maxCommandText is the longest request text the bot parses. Commands are a
// verb and a few names (a host name is at most 253 bytes); a longer text is
// refused unparsed.
const maxCommandText = 4096

// claimTimeout bounds the de-duplication claim on the acknowledgement path.
const claimTimeout = time.Second

// shareDenied says a report may not be shared to channel.
func shareDenied(channel string) Reply {
	return Reply{Text: fmt.Sprintf(":no_entry: You may not share reports to <#%s>: no access rule allows `share` there.", channel)}
}

func denial(v commands.Verb) Reply {
	return Reply{Text: fmt.Sprintf(":no_entry: You may not run `%s` here. Who may run which command in which channel is set in authtriage's configuration (`access:`); ask its owners to add you, your user group or this channel.", v)}
}

// errorText is what a user is told of an error of Slack's API: Slack's error
// code, or what kind of failure it was. Never the error's own text, which may
// hold URLs (a response URL lets anyone post to the user).
func errorText(err error) string {
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	var rl *slack.RateLimitedError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return se.Err
	case errors.As(err, &rl):
		return "Slack kept rate-limiting the bot"
	case errors.As(err, &sc):
		return fmt.Sprintf("Slack answered HTTP %d", sc.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "Slack did not answer in time"
	}
	return "the bot could not reach Slack"
}

// errorLabel is errorText as a metric label: Slack's error code, or one of a few
// kinds, so the label's values stay few.
func errorLabel(err error) string {
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	var rl *slack.RateLimitedError
	switch {
	case errors.As(err, &se) && len(se.Err) <= 40:
		return se.Err
	case errors.As(err, &rl):
		return "ratelimited"
	case errors.As(err, &sc):
		return fmt.Sprintf("http_%d", sc.Code)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return "timeout"
	}
	return "transport"
}
