package commands

import "strings"

// The help texts are plain text that reads the same in Slack mrkdwn: they contain
// none of & < > * _ ~ and no backquote. TestHelpIsMrkdwnSafe keeps them so.

type helpEntry struct {
	usage   string
	brief   string // one line for the overview
	details string
	example []string
}

func helpFor(v Verb) helpEntry {
	switch v {
	case VerbCheck:
		return helpEntry{
			usage: "check HOST [INSTANCE]",
			brief: "triage Windows-authentication failures on a SQL Server host now",
			details: "Reads the host's SQL Server error log and Windows event logs, the service principal names " +
				"and service account in Active Directory, Kerberos tickets, clocks and DNS, and answers with what " +
				"is wrong, the evidence, the commands that fix it and where to read more. " +
				"HOST is a name from the inventory or a DNS name. INSTANCE is NAME, NAME:PORT or :PORT; " +
				"without it every instance the inventory lists is checked. " +
				"HOST\\INSTANCE and HOST,PORT work too.",
			example: []string{"check sqlhost01", "check sqlhost01 SALES", "check sqlhost01.corp.example :1433"},
		}
	case VerbIncident:
		return helpEntry{
			usage: "incident [TAG|HOST...]",
			brief: "triage many hosts now and name what their failures share",
			details: "Checks the hosts named and those with the tags named (every host of the inventory when none is named), " +
				"a few at a time, and answers with one thread: the incidents found, worst first (one cause on several hosts, " +
				"what the hosts share, such as the same domain controller or service account, and its fix once), then the hosts " +
				"no incident explains, then how many are healthy. Names are host names and tags as the inventory has them; " +
				"at most 50.",
			example: []string{"incident prod", "incident sqlhost01 sqlhost02 sqlhost03", "incident"},
		}
	case VerbHistory:
		return helpEntry{
			usage:   "history HOST",
			brief:   "list the latest reports for a host",
			details: "Lists the latest reports for HOST with their time, verdict and report ID, newest first.",
			example: []string{"history sqlhost01"},
		}
	case VerbShow:
		return helpEntry{
			usage:   "show ID",
			brief:   "show a stored report again",
			details: "Shows the report with this ID again. The ID is 8 letters and digits, at the bottom of every message of a report.",
			example: []string{"show 7kq2m9xd"},
		}
	case VerbShare:
		return helpEntry{
			usage:   "share ID #channel",
			brief:   "post a stored report to another channel",
			details: "Posts the report with this ID to the channel, with a link back to where it was made.",
			example: []string{"share 7kq2m9xd #dba"},
		}
	case VerbHelp:
		return helpEntry{
			usage:   "help [COMMAND]",
			brief:   "list the commands, or explain one",
			details: "Without a command, lists them all; with one, explains it.",
			example: []string{"help", "help check"},
		}
	}
	return helpEntry{}
}

func usage(v Verb) string { return helpFor(v).usage }

// Help returns help for a person: for verb "" an overview of every command, for a
// command its usage, what it does and examples. An unknown verb gets the overview.
// The text is plain, with lines separated by "\n", and reads the same as Slack
// mrkdwn (no & < > * _ ~ or backquote), so it can be posted as is.
func Help(verb string) string { return HelpAllowed(verb, nil) }

// HelpAllowed is Help for a person who may run only the commands allowed reports
// true for (nil allows all): the overview lists only those, and says so when some
// are hidden. help itself is always listed.
func HelpAllowed(verb string, allowed func(Verb) bool) string {
	v := Verb(strings.ToLower(strings.TrimSpace(verb)))
	var b strings.Builder
	if v.known() {
		e := helpFor(v)
		b.WriteString(e.usage + "\n")
		b.WriteString(e.details + "\n")
		b.WriteString("Examples:\n")
		for _, ex := range e.example {
			b.WriteString("    " + ex + "\n")
		}
		return b.String()
	}
	b.WriteString("I triage failed Windows logins to SQL Server. Commands:\n")
	hidden := 0
	for _, v := range Verbs() {
		if allowed != nil && v != VerbHelp && !allowed(v) {
			hidden++
			continue
		}
		e := helpFor(v)
		b.WriteString(e.usage + " - " + e.brief + "\n")
	}
	if hidden > 0 {
		b.WriteString("(Commands you may not run here are not listed.)\n")
	}
	b.WriteString("Say help COMMAND for more, as in: help check\n")
	return b.String()
}
