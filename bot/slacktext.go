package bot

import (
	"strings"

	slackrender "github.com/authtriage/authtriage/render/slack"
)

// commandText returns the command in the text of a Slack message or slash command
// as package commands reads it, with Slack's markup decoded
// (https://docs.slack.dev/messaging/formatting-message-text):
//
//   - a mention before the command is dropped: "@authtriage check sqlhost01"
//     arrives as "<@U0123ABCD> check sqlhost01";
//   - a link Slack made of something the person typed reads as what they typed:
//     <http://sqlhost01.corp.example|sqlhost01.corp.example> (Slack links whatever
//     looks like a domain) and <mailto:a@corp.example|a@corp.example>; a link
//     without a label reads as its target without the scheme;
//   - Slack's escapes &amp; &lt; &gt; are undone (slackrender.Unescape).
//
// Other references, such as a channel picked from Slack's list
// (<#C0123ABCD|dba>), are kept as they are: commands.Parse reads them.
func commandText(s string) string {
	var b strings.Builder
	leading := true // only white space so far
	for {
		i := strings.IndexByte(s, '<')
		j := strings.IndexByte(s[max(i, 0):], '>')
		if i < 0 || j < 0 {
			b.WriteString(slackrender.Unescape(s))
			return b.String()
		}
		before, ref := s[:i], s[i+1:i+j]
		s = s[i+j+1:]
		b.WriteString(slackrender.Unescape(before))
		leading = leading && strings.TrimSpace(before) == ""
		switch {
		case leading && strings.HasPrefix(ref, "@"):
			b.WriteByte(' ')
		case isLink(ref):
			b.WriteString(linkText(ref))
		default:
			b.WriteString("<" + ref + ">")
		}
		leading = false
	}
}

// linkSchemes are the schemes of the links Slack makes of typed text.
var linkSchemes = []string{"http://", "https://", "mailto:"}

func isLink(ref string) bool { return scheme(ref) != "" }

// scheme returns the link scheme ref starts with, in any case, or "".
func scheme(ref string) string {
	for _, s := range linkSchemes {
		if len(ref) >= len(s) && strings.EqualFold(ref[:len(s)], s) {
			return s
		}
	}
	return ""
}

// linkText returns what a person typed that Slack made the link ref of: its label,
// or its target without the scheme and a trailing slash.
func linkText(ref string) string {
	target, label, _ := strings.Cut(ref, "|")
	if label != "" {
		return slackrender.Unescape(label)
	}
	return strings.TrimSuffix(slackrender.Unescape(target[len(scheme(target)):]), "/")
}
