package slackrender

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/authtriage/authtriage/internal/display"
)

// Text from a report (host names, log messages, logins, commands) is user-controlled
// as far as Slack is concerned: a log line can hold "<!channel>" or "<http://evil|ok>".
// Slack reads &, < and > as control characters in mrkdwn and wants them escaped as
// &amp; &lt; &gt; (https://docs.slack.dev/messaging/formatting-message-text,
// "Escaping text"), also inside code blocks, where Slack shows them as written.
// Everything from the report goes through Escape; only our own markup is written raw.
// Text objects are also marked verbatim (see mrkdwn), so that Slack does not turn
// "@here" or "#general" in report text into a mention or a channel link.

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape escapes report text for Slack mrkdwn outside code blocks. Besides &, < and >
// it separates backquotes with a zero-width space: Slack has no escape for them, and
// three in a row in a log line would open a code block that swallows the rest of the
// message (our own fences included).
func Escape(s string) string {
	s = mrkdwnEscaper.Replace(s)
	if strings.Contains(s, "``") {
		s = strings.ReplaceAll(s, "``", "`\u200b`")
		s = strings.ReplaceAll(s, "``", "`\u200b`") // for runs of odd length
	}
	return s
}

// Unescape undoes Slack's escapes &amp; &lt; &gt; in mrkdwn: what Escape and
// EscapeCode write, and what Slack writes into the text people type.
func Unescape(s string) string { return unescaper.Replace(s) }

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// EscapeCode escapes a command for a ``` code block, where backquotes are safe (see
// codeSafe) and must stay as they are.
func EscapeCode(s string) string { return mrkdwnEscaper.Replace(s) }

// oneLine returns report text on one line, fit to show: display.Line, which
// escapes control, bidirectional and invisible characters and folds white space.
func oneLine(s string) string { return display.Line(s) }

// A budget bounds a piece of text, once escaped and once encoded as JSON: units are
// UTF-16 code units (Slack's characters, see textLen), bytes are bytes of
// encoding/json output (see messageSize).
type budget struct{ units, bytes int }

// escCost returns what rune r of report text costs once escaped for mrkdwn and
// encoded as JSON.
func escCost(r rune) budget {
	switch r {
	case '&': // &amp; -> \u0026amp;
		return budget{5, 10}
	case '<', '>': // &lt; -> \u0026lt;
		return budget{4, 9}
	case '`': // and perhaps a zero-width space
		return budget{2, 4}
	}
	return budget{utf16.RuneLen(r), jsonRuneLen(r)}
}

// jsonRuneLen returns the bytes encoding/json writes for r inside a string.
func jsonRuneLen(r rune) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	}
	return utf8.RuneLen(r)
}

// measure returns the cost of text that is already mrkdwn (no further escaping).
func measure(s string) budget {
	var b budget
	for _, r := range s {
		b.units += utf16.RuneLen(r)
		b.bytes += jsonRuneLen(r)
	}
	return b
}

// measureRaw returns the cost of report text once escaped.
func measureRaw(s string) budget {
	var b budget
	for _, r := range s {
		c := escCost(r)
		b.units += c.units
		b.bytes += c.bytes
	}
	return b
}

func (b budget) fits(c budget) bool { return c.units <= b.units && c.bytes <= b.bytes }

func (b budget) minus(c budget) budget { return budget{b.units - c.units, b.bytes - c.bytes} }

// fitPrefix returns the length in bytes of the longest prefix of report text s whose
// escaped form fits in b.
func fitPrefix(s string, b budget) int {
	var used budget
	for i, r := range s {
		c := escCost(r)
		if used.units+c.units > b.units || used.bytes+c.bytes > b.bytes {
			return i
		}
		used.units += c.units
		used.bytes += c.bytes
	}
	return len(s)
}

const ellipsis = "…"

// clip returns report text s shortened so that, escaped, it fits in b, ending in
// "…" when it was shortened at all, and whether it was. It cuts at a space when one
// is near the end.
func clip(s string, b budget) (string, bool) {
	if b.fits(measureRaw(s)) {
		return s, false
	}
	n := fitPrefix(s, b.minus(measure(ellipsis)))
	if i := strings.LastIndexByte(s[:n], ' '); i > n*4/5 {
		n = i
	}
	return strings.TrimRight(s[:n], " ") + ellipsis, true
}

// codeSafe reports whether command s can be shown in a ``` code block as is: Slack
// has no escape for backquotes, so three in a row, or one at either end, would end
// the block early or merge into its fence.
func codeSafe(s string) bool {
	return !strings.Contains(s, "```") && !strings.HasPrefix(s, "`") && !strings.HasSuffix(s, "`")
}

// linkable reports whether u can be written as a Slack link <u>: an http(s) URL
// with none of the characters that end or split a link.
func linkable(u string) bool {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return false
	}
	if textLen(u) > MaxURL {
		return false
	}
	for _, r := range u {
		if r <= ' ' || r == '<' || r == '>' || r == '|' || r == '&' || r == 0x7f || r > 0x7e {
			return false
		}
	}
	return true
}

// codeSpan writes s as `s` when it is a plain token (IDs, cause IDs, check names),
// else escaped as is.
func codeSpan(s string) string {
	if s == "" {
		return s
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return Escape(s)
		}
	}
	return "`" + s + "`"
}
