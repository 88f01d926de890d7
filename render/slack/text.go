package slackrender

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/slack-go/slack"
)

// ThreadText returns the thread as plain text, roughly as Slack shows it, for
// `authtriage demo` to print: the parent, then each reply indented under it; emoji
// as Unicode, bold and code marks dropped, links as their URL, code blocks indented,
// buttons in brackets, and Slack's escapes undone.
func ThreadText(msgs []Message) string {
	var b strings.Builder
	for i, m := range msgs {
		prefix := ""
		if i > 0 {
			fmt.Fprintf(&b, "\n  ── reply %d of %d ──\n", i, len(msgs)-1)
			prefix = "  │ "
		}
		for _, line := range strings.Split(strings.TrimRight(messageText(m), "\n"), "\n") {
			b.WriteString(strings.TrimRight(prefix+line, " ") + "\n")
		}
	}
	return b.String()
}

func messageText(m Message) string {
	var b strings.Builder
	for _, blk := range m.Blocks {
		switch blk := blk.(type) {
		case *slack.HeaderBlock:
			if blk.Text != nil {
				b.WriteString(textOf(blk.Text) + "\n")
			}
		case *slack.SectionBlock:
			if blk.Text != nil {
				b.WriteString(textOf(blk.Text) + "\n")
			}
			for _, f := range blk.Fields {
				b.WriteString(textOf(f) + "\n")
			}
		case *slack.ContextBlock:
			var parts []string
			for _, e := range blk.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					parts = append(parts, textOf(t))
				}
			}
			b.WriteString(strings.Join(parts, " · ") + "\n")
		case *slack.ActionBlock:
			var parts []string
			if blk.Elements != nil {
				for _, e := range blk.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.Text != nil {
						parts = append(parts, "[ "+btn.Text.Text+" ]")
					}
				}
			}
			b.WriteString(strings.Join(parts, " ") + "\n")
		case *slack.DividerBlock:
			b.WriteString("────────\n")
		}
	}
	return b.String()
}

func textOf(t *slack.TextBlockObject) string {
	if t.Type == slack.PlainTextType {
		return emojify(t.Text)
	}
	return mrkdwnToText(t.Text)
}

var (
	linkRe   = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)
	boldRe   = regexp.MustCompile(`(^|[\s(])\*([^*\n]+)\*`)
	italicRe = regexp.MustCompile(`(^|[\s(])_([^_\n]+)_($|[\s).,:;!?])`)
	codeRe   = regexp.MustCompile("`([^`\n]+)`")
	emojiRe  = regexp.MustCompile(`:([a-z0-9_+-]+):`)
)

// mrkdwnToText renders mrkdwn as Slack shows it, roughly.
func mrkdwnToText(s string) string {
	parts := strings.Split(s, "```")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 { // inside a code block
			p = strings.Trim(p, "\n")
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
				b.WriteString("\n")
			}
			b.WriteString("    " + strings.ReplaceAll(Unescape(p), "\n", "\n    "))
			continue
		}
		p = linkRe.ReplaceAllStringFunc(p, func(m string) string {
			sub := linkRe.FindStringSubmatch(m)
			if sub[2] != "" {
				return sub[2] + " (" + sub[1] + ")"
			}
			return sub[1]
		})
		p = boldRe.ReplaceAllString(p, "$1$2")
		p = italicRe.ReplaceAllString(p, "$1$2$3")
		p = codeRe.ReplaceAllString(p, "$1")
		b.WriteString(Unescape(emojify(p)))
	}
	return strings.Trim(b.String(), "\n")
}

var emoji = map[string]string{
	"red_circle":             "🔴",
	"large_orange_circle":    "🟠",
	"large_green_circle":     "🟢",
	"large_purple_circle":    "🟣",
	"large_blue_circle":      "🔵",
	"white_circle":           "⚪",
	"hourglass_flowing_sand": "⏳",
	"white_check_mark":       "✅",
	"warning":                "⚠️",
	"x":                      "❌",
	"exclamation":            "❗",
	"heavy_minus_sign":       "➖",
	"grey_question":          "❔",
	"page_facing_up":         "📄",
}

func emojify(s string) string {
	return emojiRe.ReplaceAllStringFunc(s, func(m string) string {
		if e, ok := emoji[m[1:len(m)-1]]; ok {
			return e
		}
		return m
	})
}
