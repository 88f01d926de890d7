package errorlog

import (
	"regexp"
	"strconv"
	"strings"

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
