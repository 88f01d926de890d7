package errorlog

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authtriage/authtriage/triage"
)

var (
	reSSPI     = regexp.MustCompile(`SSPI handshake failed with error code (0x[0-9A-Fa-f]+)(?:, state (\d+))?`)
	reReason   = regexp.MustCompile(`Reason: (.*?)\s*(?:\[CLIENT: [^\]]*\]\s*)?$`)
	reClient   = regexp.MustCompile(`\[CLIENT: ([^\]]*)\]`)
	reLogin    = regexp.MustCompile(`^Login failed for user '((?:[^']|'')*)'`)
	reNetErr   = regexp.MustCompile(`Network error code (0x[0-9A-Fa-f]+)`)
	reSSPITime = regexp.MustCompile(`negotiating SSPI (\d+) ms`)
	reSPN      = regexp.MustCompile(`\(SPN\) \[ ([^\]]*?) \]`)
	reRetCode  = regexp.MustCompile(`Windows return code: (0x[0-9A-Fa-f]+), state: (\d+)`)
	reHeader   = regexp.MustCompile(`^Error: (\d+), Severity: (\d+), State: (\d+)\.?\s*$`)
)

// ParseHeader parses the "Error: N, Severity: S, State: T." line SQL Server writes
// before a message.
func ParseHeader(text string) (number, severity, state int, ok bool) {
	m := reHeader.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return 0, 0, 0, false
	}
	number, err1 := strconv.Atoi(m[1])
	severity, err2 := strconv.Atoi(m[2])
	state, err3 := strconv.Atoi(m[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return number, severity, state, true
}

// ParseMessage recognises the text of one of the messages triage names (Msg17806 and
// the others), as ERRORLOG and the Application event log write it, in the wordings of
// SQL Server 2005 to 2022 on Windows and Linux. It returns the entry with ID, Code, State (-1 when the text does not say),
// Login, SPN, Reason, Linked, Client, Millis and Text filled in as they apply; Source,
// Log and Time are the caller's. ok is false for any other message. The linked-server
// messages are read as parseLinked says.
func ParseMessage(text string) (e triage.LogEntry, ok bool) {
	text = strings.TrimSpace(text)
	e.State = -1
	e.Text = text
	switch {
	case strings.HasPrefix(text, prefix7303), strings.HasPrefix(text, prefix7399), strings.HasPrefix(text, prefix7412),
		strings.HasPrefix(text, prefix7413):
		return parseLinked(e, text)
	case strings.Contains(text, "SSPI handshake failed"):
		m := reSSPI.FindStringSubmatch(text)
		if m == nil {
			return e, false
		}
		e.ID, e.Code = triage.Msg17806, normCode(m[1])
		if m[2] != "" {
			e.State = atoi(m[2])
		}
		e.Reason = reason(text)
	case strings.HasPrefix(text, "Login failed") && strings.Contains(text, "untrusted domain"):
		e.ID = triage.Msg18452
	case strings.HasPrefix(text, "Login failed for user"):
		m := reLogin.FindStringSubmatch(text)
		if m == nil {
			return e, false
		}
		e.ID, e.Login = triage.Msg18456, strings.ReplaceAll(m[1], "''", "'")
		e.Reason = reason(text)
	case strings.HasPrefix(text, "Network error code") && strings.Contains(text, "Time spent during login"):
		e.ID = triage.Msg17830
		if m := reNetErr.FindStringSubmatch(text); m != nil {
			e.Code = normCode(m[1])
		}
		if m := reSSPITime.FindStringSubmatch(text); m != nil {
			e.Millis = atoi(m[1])
		}
	case strings.Contains(text, "Service Principal Name (SPN)"):
		switch {
		case strings.Contains(text, "successfully registered"):
			e.ID = triage.Msg26059
		case strings.Contains(text, "could not register"):
			e.ID = triage.Msg26037
			if strings.Contains(text, "(SPN) [") {
				e.ID = triage.Msg26067
			}
		case strings.Contains(text, "attempting to register"):
			e.ID = triage.Msg26076
		default:
			return e, false
		}
		if m := reSPN.FindStringSubmatch(text); m != nil {
			e.SPN = m[1]
		}
		if m := reRetCode.FindStringSubmatch(text); m != nil {
			e.Code, e.State = normCode(m[1]), atoi(m[2])
		}
	default:
		return e, false
	}
	if m := reClient.FindStringSubmatch(text); m != nil {
		e.Client = strings.TrimSpace(m[1])
	}
	return e, true
}

// The linked-server messages, as "Database Engine events and errors (7000 to 7999)"
// writes them (see triage.Msg7303): the provider's and the linked server's names are
// each in double quotes, except in 7413, which names the linked server first and
// puts both names in single quotes (triage.Msg7413).
const (
	prefix7303 = `Cannot initialize the data source object of OLE DB provider "`
	prefix7399 = `The OLE DB provider "`
	prefix7412 = `OLE DB provider "`
	forLinked  = `" for linked server "`
	end7399    = `" reported an error.`
	mid7412    = `" returned message `
	prefix7413 = `Could not connect to linked server '`
	mid7413    = `' (OLE DB Provider '`
	end7413    = `'). Enable delegation or use a remote SQL Server login for the current user.`
)

// Bounds on what a linked-server message gives: names are at most 128 characters
// ("sp_addlinkedserver (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-addlinkedserver-transact-sql:
// the linked server's name is sysname, nvarchar(128), the provider's nvarchar(128); a
// login is sysname too), and the provider's message is cut.
const (
	maxName    = 128 // characters of a linked server's, provider's or login's name
	maxCarried = 512 // bytes of the provider's message kept as Reason
)

// parseLinked reads 7303, 7399, 7412 and 7413 into e: Linked is the linked server's
// name, Reason the message the provider carried (7399's text after "reported an
// error.", 7412's message, quoted or not; 7303 and 7413 carry none), tidied and cut to
// maxCarried bytes, and Login the login it says failed (triage.CarriedLogin). A name that is empty, longer than
// maxName characters or holds control or format characters (a newline, a bidi
// override) makes the message one it does not know; so does a failed login that is
// not such a name, except that it may be empty.
func parseLinked(e triage.LogEntry, text string) (triage.LogEntry, bool) {
	var provider, rest, msg string
	var ok bool
	switch {
	case strings.HasPrefix(text, prefix7303):
		e.ID = triage.Msg7303
		provider, rest, ok = strings.Cut(text[len(prefix7303):], forLinked)
		if ok {
			e.Linked, ok = strings.CutSuffix(strings.TrimSuffix(rest, "."), `"`)
		}
	case strings.HasPrefix(text, prefix7399):
		e.ID = triage.Msg7399
		provider, rest, ok = strings.Cut(text[len(prefix7399):], forLinked)
		if ok {
			e.Linked, msg, ok = strings.Cut(rest, end7399)
		}
	case strings.HasPrefix(text, prefix7412):
		e.ID = triage.Msg7412
		provider, rest, ok = strings.Cut(text[len(prefix7412):], forLinked)
		if ok {
			e.Linked, msg, ok = strings.Cut(rest, mid7412)
			if q, quoted := strings.CutPrefix(msg, `"`); quoted {
				msg = strings.TrimSuffix(strings.TrimSuffix(q, "."), `"`)
			}
		}
	case strings.HasPrefix(text, prefix7413):
		e.ID = triage.Msg7413
		e.Linked, rest, ok = strings.Cut(text[len(prefix7413):], mid7413)
		if ok {
			provider, ok = strings.CutSuffix(rest, end7413)
		}
	}
	if !ok || !validName(provider) || !validName(e.Linked) {
		return e, false
	}
	if login, named := triage.CarriedLogin(msg); named && login != "" && !validName(login) {
		return e, false
	}
	e.Reason = carried(msg)
	e.Login, _ = triage.CarriedLogin(e.Reason)
	return e, true
}

// validName reports whether s can be a name SQL Server writes in a message: not
// empty, at most maxName characters of valid UTF-8, no control or format characters.
func validName(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxName {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// carried tidies the message a provider carried: runs of white space (line ends
// among them) become one space, other control and format characters U+FFFD, and it
// is cut to maxCarried bytes on a character boundary, with "…" when cut.
func carried(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxCarried {
		return s
	}
	cut := maxCarried
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// reason returns the text after "Reason: " without the client suffix.
func reason(text string) string {
	if m := reReason.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// normCode writes a hex code in lower case without leading zeros: 0x8009030C -> 0x8009030c.
func normCode(s string) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 64)
	if err != nil {
		return strings.ToLower(s)
	}
	return "0x" + strconv.FormatUint(v, 16)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
