package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// An UnknownHostError says that a host is not in the inventory of a planner that
// triages inventory hosts only (the bot's, the scheduler's, the agent's). It wraps
// triage.ErrNotInInventory.
type UnknownHostError struct {
	Host        string
	Suggestions []string // inventory names close to Host, closest first
}

func (e *UnknownHostError) Error() string {
	return e.Host + " is not in the inventory" + didYouMean(e.Suggestions)
}

func (e *UnknownHostError) Unwrap() error { return triage.ErrNotInInventory }

// A NothingToCheckError says that no source of evidence is known for a host: no
// ERRORLOG, no event-log export, no directory and no agent. For returns it wrapped in
// a *triage.InputError: the request has to name a source.
type NothingToCheckError struct {
	Host string
	// Inventory says there is an inventory (a configuration); InInventory that Host
	// is in it.
	Inventory, InInventory bool
	Suggestions            []string // inventory names close to Host when it is not in the inventory
}

func (e *NothingToCheckError) Error() string {
	msg := "nothing to check for " + e.Host + ": no ERRORLOG, event-log or directory source"
	switch {
	case e.InInventory:
		msg += " in the inventory, and no agent serves it"
	case e.Inventory:
		msg += ", and it is not in the inventory" + didYouMean(e.Suggestions)
	}
	return msg
}

// A WindowTooLongError says that a triage asked an agent for more of its logs than an
// agent reads. For returns it wrapped in a *triage.InputError.
type WindowTooLongError struct {
	Since, Max time.Duration
}

func (e *WindowTooLongError) Error() string {
	return fmt.Sprintf("a window of %s is longer than the %s an agent reads", human.Span(e.Since), human.Span(e.Max))
}

// didYouMean returns " (did you mean a or b?)", or "" for no names.
func didYouMean(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(names, " or ") + "?)"
}

// inputError marks err as the request's fault.
func inputError(err error) error { return &triage.InputError{Err: err} }
