package bot

import "github.com/authtriage/authtriage/triage"

// addInventoryHints adds to each check skipped for want of something the bot's
// configuration can give what to add there: the checks say what is missing, the bot
// says where its operators give it.
func addInventoryHints(rep *triage.Report) {
	for i, c := range rep.Checks {
		if h := inventoryHint(c.Missing); h != "" {
			rep.Checks[i].Detail += "; " + h
		}
	}
}

// inventoryHint says what in the bot's configuration gives what a check missed, "" for
// nothing it can give.
func inventoryHint(m triage.Missing) string {
	switch m {
	case triage.MissingErrorLog:
		return "add errorlog: PATH (or agent: NAME) to the host's inventory entry"
	case triage.MissingEventLog:
		return "add events: [FILE] (or agent: NAME) to the host's inventory entry"
	case triage.MissingDirectory:
		return "add a directory section to the bot's configuration"
	case triage.MissingKerberos:
		return "add a kerberos section to the bot's configuration"
	case triage.MissingFQDN:
		return "add fqdn: NAME to the host's inventory entry"
	case triage.MissingServiceAccount:
		return "add service_account: ACCOUNT to the host's inventory entry"
	}
	return ""
}
