package errorlog

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// SQL Server message numbers that authtriage reads. Their texts are Microsoft's:
// 17806 and 17830 in "Database engine events and errors (16000 to 17999)",
// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-16000-to-17999;
// 18452 and 18456 on their own pages, "MSSQLSERVER_18452"
// (https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18452-database-engine-error)
// and "MSSQLSERVER_18456"
// (https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error);
// 26037, 26059, 26067 and 26076 in "Database engine events and errors (26000 to
// 27999)", https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-26000-to-27999.
const (
	MsgSSPIHandshake      = 17806 // SSPI handshake failed with error code 0x...
	MsgLoginTimers        = 17830 // network error during login, with per-phase times
	MsgUntrustedDomain    = 18452 // login is from an untrusted domain
	MsgLoginFailed        = 18456 // login failed for user '...'
	MsgSPNNotRegistered   = 26037 // could not register the SPN (no SPN text)
	MsgSPNRegistered      = 26059 // successfully registered the SPN [ ... ]
	MsgSPNRegisterFailed  = 26067 // could not register the SPN [ ... ]
	MsgSPNAttemptRegister = 26076 // is attempting to register an SPN
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

// ParseMessage recognises the text of one of the messages above, as ERRORLOG and the
// Application event log write it, in the wordings of SQL Server 2005 to 2022 on Windows
// and Linux. It returns the entry with ID, Code, State (-1 when the text does not say),
// Login, SPN, Reason, Client, Millis and Text filled in as they apply; Source, Log
// and Time are the caller's. ok is false for any other message.
func ParseMessage(text string) (e triage.LogEntry, ok bool) {
	text = strings.TrimSpace(text)
	e.State = -1
	e.Text = text
	switch {
	case strings.Contains(text, "SSPI handshake failed"):
		m := reSSPI.FindStringSubmatch(text)
		if m == nil {
			return e, false
		}
		e.ID, e.Code = MsgSSPIHandshake, normCode(m[1])
		if m[2] != "" {
			e.State = atoi(m[2])
		}
		e.Reason = reason(text)
	case strings.HasPrefix(text, "Login failed") && strings.Contains(text, "untrusted domain"):
		e.ID = MsgUntrustedDomain
	case strings.HasPrefix(text, "Login failed for user"):
		m := reLogin.FindStringSubmatch(text)
		if m == nil {
			return e, false
		}
		e.ID, e.Login = MsgLoginFailed, strings.ReplaceAll(m[1], "''", "'")
		e.Reason = reason(text)
	case strings.HasPrefix(text, "Network error code") && strings.Contains(text, "Time spent during login"):
		e.ID = MsgLoginTimers
		if m := reNetErr.FindStringSubmatch(text); m != nil {
			e.Code = normCode(m[1])
		}
		if m := reSSPITime.FindStringSubmatch(text); m != nil {
			e.Millis = atoi(m[1])
		}
	case strings.Contains(text, "Service Principal Name (SPN)"):
		switch {
		case strings.Contains(text, "successfully registered"):
			e.ID = MsgSPNRegistered
		case strings.Contains(text, "could not register"):
			e.ID = MsgSPNNotRegistered
			if strings.Contains(text, "(SPN) [") {
				e.ID = MsgSPNRegisterFailed
			}
		case strings.Contains(text, "attempting to register"):
			e.ID = MsgSPNAttemptRegister
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
