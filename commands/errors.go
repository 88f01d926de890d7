package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The errors of Parse are sentences for the person who typed the command, so unlike
// most Go errors they start with a capital letter and end with a period. They are
// plain text and quote what the user typed: escape them before putting them into
// Slack mrkdwn.

// ErrUnknownCommand is matched (errors.Is) by the error Parse returns when the first
// word is not a command. The error itself is an *UnknownCommandError.
var ErrUnknownCommand = errors.New("unknown command")

// An UnknownCommandError reports a first word that is not a command, or a help topic
// that is not one.
type UnknownCommandError struct {
	Word       string // what was typed, as typed
	Suggestion Verb   // the closest command, or "" when none is close
}

func (e *UnknownCommandError) Error() string {
	var b strings.Builder
	b.WriteString(quote(e.Word))
	b.WriteString(" is not a command")
	if e.Suggestion != "" {
		b.WriteString("; did you mean ")
		b.WriteString(strconv.Quote(string(e.Suggestion)))
		b.WriteString("?")
	} else {
		b.WriteString(".")
	}
	b.WriteString(" The commands are ")
	vs := Verbs()
	for i, v := range vs {
		switch {
		case i == len(vs)-1:
			b.WriteString(" and ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(string(v))
	}
	b.WriteString(".")
	return b.String()
}

// Is makes errors.Is(err, ErrUnknownCommand) true.
func (e *UnknownCommandError) Is(target error) bool { return target == ErrUnknownCommand }

// A UsageError reports a known command with missing, extra or invalid arguments.
type UsageError struct {
	Verb Verb
	// Problem says what is wrong, as a sentence; Error adds how the command is used.
	Problem string
}

func (e *UsageError) Error() string {
	return e.Problem + " Usage: " + usage(e.Verb) + "."
}

func usageErr(v Verb, format string, args ...any) error {
	return &UsageError{Verb: v, Problem: sentence(fmt.Sprintf(format, args...))}
}

// sentence makes s start with a capital letter and end with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

// quote returns what the user typed in double quotes for an error: at most 40
// characters, with control and other invisible characters written as Go escapes
// (a backslash stays a backslash, as in sqlhost01\SALES).
func quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == ' ' || unicode.IsGraphic(r) && r != utf8.RuneError {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	b.WriteByte('"')
	return b.String()
}
