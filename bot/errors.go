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

// explain is the one place where an error becomes words in Slack. what says what
// could not be done, in mrkdwn ("check *sqlhost01*"), and host is the host it was
// for ("" for none). The kinds:
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
	var in *triage.InputError
	switch {
	case errors.Is(err, triage.ErrNotInInventory):
		return failure{text: notInInventory(host, b.o.Inventory.Suggest(host)), result: "rejected", detail: "host not in the inventory"}
	case errors.Is(err, commands.ErrUnknownCommand) || errors.As(err, new(*commands.UsageError)):
		return failure{text: slackrender.Escape(err.Error()) + " Type `/authtriage help` for the commands.", result: "rejected", detail: err.Error()}
	case errors.As(err, &in):
		text := fmt.Sprintf(":x: I could not %s: %s.", what, slackrender.Escape(strings.TrimSuffix(display.Line(in.Error()), ".")))
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
