package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"

	"github.com/authtriage/authtriage/commands"
	"github.com/authtriage/authtriage/internal/display"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/triage"
)

// A failure is what becomes of an error at the bot's edge: what the person who
// asked is told, and what the audit log keeps.
type failure struct {
	text   string // mrkdwn for the person who asked; a sentence or more
	result string // the audit result: rejected (not found, bad input) or error (internal)
	detail string // the audit detail
}

// errKind is what the bot's edge makes of an error.
type errKind int

const (
	internal   errKind = iota // anything else: its text never reaches Slack
	notFound                  // a host not in the inventory (triage.ErrNotInInventory)
	badInput                  // *triage.InputError: its text is written for the person who asked
	badCommand                // a command that does not parse (commands' errors)
)

// kindOf is the one classification of errors at the bot's edge, for requests
// (explain) and fleet runs (Explain) alike. For bad input it returns the
// *triage.InputError, whose text is the one to show: what wraps it is not.
func kindOf(err error) (errKind, *triage.InputError) {
	var in *triage.InputError
	switch {
	case errors.Is(err, triage.ErrNotInInventory):
		return notFound, nil
	case errors.Is(err, commands.ErrUnknownCommand) || errors.As(err, new(*commands.UsageError)):
		return badCommand, nil
	case errors.As(err, &in):
		return badInput, in
	}
	return internal, nil
}

// explain is the one place where an error of a request becomes words in Slack
// (Explain is its counterpart for fleet runs). what says what could not be
// done, in mrkdwn ("check *sqlhost01*"), and host is the host it was for (""
// for none). The kinds (kindOf):
//
//   - not found, a host not in the inventory (triage.ErrNotInInventory): the host
//     is not probed; the person gets inventory names close to it, and what adding
//     it takes;
//   - bad input (*triage.InputError, or a command that does not parse): the
//     error's own text, which is written for the person who asked, and for a host
//     where its inventory entry is;
//   - anything else is internal: the person gets a short reference, which the log
//     line of the error carries too. Its text, which may name files, URLs and
//     accounts, never reaches Slack.
func (b *Bot) explain(ctx context.Context, log *slog.Logger, what, host string, err error) failure {
	switch kind, in := kindOf(err); kind {
	case notFound:
		return failure{text: notInInventory(host, b.o.Inventory.Suggest(host)), result: "rejected", detail: "host not in the inventory"}
	case badCommand:
		return failure{text: slackrender.Escape(err.Error()) + " Type `/authtriage help` for the commands.", result: "rejected", detail: err.Error()}
	case badInput:
		text := fmt.Sprintf(":x: I could not %s: %s.", what, slackrender.Escape(inputText(in)))
		if host != "" {
			text += fmt.Sprintf(" What authtriage reads for *%s* is set in its entry under `hosts:` in authtriage's configuration.", slackrender.Escape(host))
		}
		return failure{text: text, result: "rejected", detail: err.Error()}
	}
	ref := newRef()
	log.ErrorContext(ctx, "internal error", "what", what, "ref", ref, "err", err)
	return failure{
		text:   fmt.Sprintf(":x: I could not %s because of an internal error (reference `%s`, in the bot's log).", what, ref),
		result: "error", detail: "internal error " + ref + ": " + err.Error(),
	}
}

// Explain words an error of a fleet run for its summary and for the run the
// store keeps, by the kinds explain knows (kindOf), as a phrase of plain text
// (the renderer escapes it):
//
//   - not found: "not in authtriage's inventory";
//   - bad input: the *triage.InputError's own text, and where the host's
//     entry is ("no ERRORLOG source for sqlhost01 (see its entry under
//     hosts: in authtriage's configuration)");
//   - anything else: "an internal error (reference 3f9a1c in the bot's log)",
//     and ref is that reference. Explain does not log: the Scheduler logs err
//     in full with ref.
//
// A reference names one occurrence, as a request's does: two runs that fail
// the same way get different ones, which the runs' comparison ignores
// (schedule.Diff compares whether a host was triaged, not why it was not).
// It implements schedule.Notifier.
func (b *Bot) Explain(err error) (text, ref string) {
	switch kind, in := kindOf(err); kind {
	case notFound:
		return "not in authtriage's inventory", ""
	case badInput:
		return inputText(in) + " (see its entry under hosts: in authtriage's configuration)", ""
	}
	ref = newRef()
	return "an internal error (reference " + ref + " in the bot's log)", ref
}

// inputText is an input error's text as one line, without its final period.
func inputText(in *triage.InputError) string {
	return strings.TrimSuffix(display.Line(in.Error()), ".")
}

// newRef returns a reference for an internal error: short enough to read out, and
// in the log line of the error.
func newRef() string { return fmt.Sprintf("%06x", rand.Uint32()>>8) }

// notInInventory says that host is not in the inventory, so it is not probed,
// names the suggestions, and what adding it takes.
func notInInventory(host string, suggestions []string) string {
	text := fmt.Sprintf("*%s* is not in authtriage's inventory, so I will not probe it.", slackrender.Escape(host))
	if len(suggestions) > 0 {
		quoted := make([]string, len(suggestions))
		for i, s := range suggestions {
			quoted[i] = "*" + slackrender.Escape(s) + "*"
		}
		text += " Did you mean " + strings.Join(quoted, " or ") + "?"
	}
	return text + " Hosts are added under `hosts:` in authtriage's configuration, with their `fqdn` and the `agent` that serves them."
}
