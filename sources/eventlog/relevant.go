package eventlog

import (
	"encoding/hex"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authtriage/authtriage/sources/errorlog"
	"github.com/authtriage/authtriage/triage"
)

// event is one <Event> of an export, as wevtutil, Event Viewer and Get-WinEvent write
// it. Only the fields authtriage reads are decoded.
type event struct {
	System struct {
		Provider struct {
			Name            string `xml:"Name,attr"`
			EventSourceName string `xml:"EventSourceName,attr"`
		} `xml:"Provider"`
		EventID     string `xml:"EventID"` // the Qualifiers attribute is not needed
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		Channel string `xml:"Channel"`
	} `xml:"System"`
	EventData struct {
		Data   []datum `xml:"Data"`
		Binary string  `xml:"Binary"`
	} `xml:"EventData"`
	Message string `xml:"RenderingInfo>Message"` // only in /f:RenderedXml and Event Viewer exports
}

// A datum is one <Data> of <EventData>. Classic events have no Name.
type datum struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

// maxText bounds LogEntry.Text, in bytes.
const maxText = 1000

// family is a group of event providers read the same way.
type family int

const (
	famOther family = iota
	famKerberos
	famKDC
	famNetlogon
	famLsaSrv
	famSQL
)

// providerFamily returns the family of an event provider; names are compared without
// regard to case, and "MSSQL$<INSTANCE>" stands for every named instance.
func providerFamily(p string) family {
	switch l := strings.ToLower(p); l {
	case "microsoft-windows-security-kerberos", "security-kerberos", "kerberos":
		return famKerberos
	case "microsoft-windows-kerberos-key-distribution-center", "kerberos-key-distribution-center", "kdc":
		return famKDC
	case "netlogon", "microsoft-windows-netlogon":
		return famNetlogon
	case "lsasrv", "microsoft-windows-lsasrv":
		return famLsaSrv
	case "mssqlserver":
		return famSQL
	default:
		if strings.HasPrefix(l, "mssql$") && len(l) > len("mssql$") {
			return famSQL
		}
	}
	return famOther
}

// The events read, and where their meaning comes from. What Microsoft does not
// document is said so here and in the findings built from them.
//
//   - Security-Kerberos 3 ("A Kerberos Error Message was received", with the KRB error
//     code and the server name), KDC 11 (duplicate names, "of type
//     DS_SERVICE_PRINCIPAL_NAME") and NETLOGON 5721 (the DC "did not have an account
//     ... needed to set up the session"): "Interactive logon isn't allowed", Microsoft
//     support article of KB 2015518 (its Learn address could not be resolved from the
//     published source; it is cited by title and KB number).
//   - Security-Kerberos 4 (KRB_AP_ERR_MODIFIED: the SPN is on another account than the
//     one the service runs as): "Kerberos client receives KRB_AP_ERR_MODIFIED error",
//     https://learn.microsoft.com/troubleshoot/windows-server/windows-security/kerberos-client-krb-ap-err-modified-error
//   - NETLOGON 5719 (no secure session with a DC), and 5719 with 0xC00000E5 expected on
//     Windows Server 2025 members: "Event ID 5719 (STATUS_INTERNAL_ERROR) occurs when the
//     NetLogon service restarts",
//     https://learn.microsoft.com/troubleshoot/windows-server/windows-security/event-id-5719-when-netlogon-service-restarts
//   - NETLOGON 3210 (a DC refused this computer's authentication): "Broken trust
//     relationship between domain-joined device and its domain",
//     https://learn.microsoft.com/troubleshoot/windows-server/windows-security/broken-trust-relationship-domain-joined-device-its-domain-secure-channel-issues
//   - KDCSVC 201-209 (KB5073381, CVE-2026-20833): only 205 (an insecure
//     DefaultDomainSupportedEncTypes) is explained in Microsoft's text reached; see kdc.
//   - Security-Kerberos 5, 100, 101 and 200, and LsaSrv 40960/40961: no Microsoft page
//     describing them was found; they are read for the Kerberos, SSPI or NTSTATUS code
//     they carry only (see lsaSrv), and the findings built from 100/101 and from
//     LsaSrv events say the event is not documented by Microsoft.
//   - SQL Server's own events carry the ERRORLOG messages (triage's Msg constants
//     cite their pages).
//
// kerberosID reports whether a Kerberos event of this ID is always read; one of any
// other ID is read only when it names an SSPI code of sspiCode.
func kerberosID(id int) bool {
	switch id {
	case 3, 4, 5, 100, 101, 200:
		return true
	}
	return false
}

// sqlID reports whether SQL Server's event of this ID is read.
func sqlID(id int) bool {
	switch id {
	case triage.Msg17806, triage.Msg17830, triage.Msg18452, triage.Msg18456,
		triage.Msg26037, triage.Msg26059, triage.Msg26067, triage.Msg26076,
		triage.Msg7303, triage.Msg7399, triage.Msg7412, triage.Msg7413:
		return true
	}
	return false
}

// classify turns one event into a log entry, and reports whether it is one authtriage
// reads. name is the export's name, for guessing the log when the event does not say.
func classify(ev *event, name string) (triage.LogEntry, bool) {
	provider := strings.TrimSpace(ev.System.Provider.Name)
	if provider == "" {
		provider = strings.TrimSpace(ev.System.Provider.EventSourceName)
	}
	fam := providerFamily(provider)
	if fam == famOther {
		return triage.LogEntry{}, false
	}
	id, ok := eventID(ev.System.EventID)
	if !ok {
		return triage.LogEntry{}, false
	}
	var e triage.LogEntry
	switch fam {
	case famKerberos:
		e, ok = kerberos(ev, id)
	case famKDC:
		e, ok = kdc(ev, id)
	case famNetlogon:
		// 5719: no secure session with a DC; 5721 and 3210: a DC refused this
		// computer's secure channel (see diagnosis/dcevents.go for their sources).
		e, ok = ntStatusEvent(ev, id, 5719, 5721, 3210)
	case famLsaSrv:
		e, ok = lsaSrv(ev, id)
	case famSQL:
		e, ok = sqlServer(ev, id)
	}
	if !ok {
		return triage.LogEntry{}, false
	}
	e.Source, e.Provider, e.ID = triage.SourceEventlog, provider, id
	if e.Text == "" {
		e.Text = eventText(ev)
	}
	switch {
	case fam == famSQL:
		e.Log = "Application"
	case strings.TrimSpace(ev.System.Channel) != "":
		e.Log = strings.TrimSpace(ev.System.Channel)
	default:
		e.Log = guessLog(name)
	}
	return e, true
}

// eventID parses the text of <EventID>. IDs are 16-bit; a number with the qualifiers
// folded in (as .NET's InstanceId has them) is cut to its low 16 bits.
func eventID(s string) (int, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n & 0xFFFF), true
}

// eventTime parses TimeCreated/@SystemTime and returns it in UTC.
func eventTime(ev *event) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(ev.System.TimeCreated.SystemTime))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// guessLog guesses the log of an event without <Channel> from the export's file name,
// and says "System" when the name does not tell.
func guessLog(name string) string {
	base := strings.ToLower(name[strings.LastIndexAny(name, `/\`)+1:])
	if strings.Contains(base, "application") {
		return "Application"
	}
	return "System"
}

func kerberos(ev *event, id int) (triage.LogEntry, bool) {
	e := triage.LogEntry{}
	e.State = -1
	e.Code = sspiCode(texts(ev)...)
	if e.Code == "" && !kerberosID(id) {
		return e, false
	}
	if e.Code == "" {
		e.Code = kerberosCode(ev, id)
	}
	e.SPN = kerberosSPN(ev, id)
	return e, true
}

func kdc(ev *event, id int) (triage.LogEntry, bool) {
	e := triage.LogEntry{}
	e.State = -1
	if id >= 201 && id <= 209 {
		// KDCSVC audit events of KB5073381 (CVE-2026-20833), System log. Only 205 has a
		// meaning in Microsoft's text reachable so far, so the entry keeps the event's
		// own message (its Text) and the MSSQLSvc SPN it names, if any; the
		// rc4-default rule (diagnosis/rc4default.go) claims no more.
		e.SPN = cleanSPN(scanSPN(ev))
		return e, true
	}
	if id != 11 {
		return e, false
	}
	e.SPN = firstSPN(
		func() string { return named(ev, "Name") },
		func() string { return submatch(reDuplicate, ev.Message) },
		func() string { return positional(ev, 0) },
		func() string { return scanSPN(ev) },
	)
	return e, true
}

// ntStatusEvent reads NETLOGON and LsaSrv events: the code is the NTSTATUS their text
// names, else an SSPI code, else the NTSTATUS in their binary data (5719 puts it there).
func ntStatusEvent(ev *event, id int, ids ...int) (triage.LogEntry, bool) {
	e := triage.LogEntry{}
	e.State = -1
	if !slices.Contains(ids, id) {
		return e, false
	}
	for _, s := range texts(ev) {
		if m := reNTStatus.FindString(s); m != "" {
			e.Code = normCode(m)
			return e, true
		}
	}
	if e.Code = secCode(texts(ev)...); e.Code == "" {
		e.Code = binaryStatus(ev.EventData.Binary)
	}
	return e, true
}

// lsaSrv reads LsaSrv 40960 and 40961. No Microsoft page describes them; their texts
// are known from extracts of lsasrv.dll's message table (third-party, for example the
// LsaSrv page of github.com/scheatkode/brain):
//
//	40960 "The Security System detected an authentication error for the server %1.
//	       The failure code from authentication protocol %2 was %3."
//	40961 "The Security System could not establish a secured connection with the
//	       server %1. No authentication protocol was available."
//
// The code is read as ntStatusEvent reads it (%3 of 40960 is a status text ending in
// its NTSTATUS, "... (0xc000005e)"); SPN is the server %1: the Server data, else the
// first insertion string, else the server the message names.
func lsaSrv(ev *event, id int) (triage.LogEntry, bool) {
	e, ok := ntStatusEvent(ev, id, 40960, 40961)
	if !ok {
		return e, false
	}
	e.SPN = firstSPN(
		func() string { return named(ev, "Server") },
		func() string { return positional(ev, 0) },
		func() string { return submatch(reLsaServer, ev.Message) },
	)
	return e, true
}

// sqlServer reads SQL Server's own events in the Application log with
// errorlog.ParseMessage. Without a rendered message it rebuilds the message from the
// insertion strings where their layout is known (see sqlText), and otherwise picks the
// client, code and SPN out of the strings. A rebuilt message becomes the entry's Text.
func sqlServer(ev *event, id int) (triage.LogEntry, bool) {
	if !sqlID(id) {
		return triage.LogEntry{}, false
	}
	text, rebuilt := strings.TrimSpace(ev.Message), false
	if text == "" {
		text, rebuilt = sqlText(id, dataValues(ev))
	}
	e, ok := errorlog.ParseMessage(text)
	if !ok && !rebuilt && linkedID(id) {
		// A message in another language: the strings name the linked server all the same.
		if t, r := sqlText(id, dataValues(ev)); r {
			if e, ok = errorlog.ParseMessage(t); ok {
				text, rebuilt = t, true
			}
		}
	}
	if !ok {
		e = triage.LogEntry{}
		e.State = -1
		if m := reSQLClient.FindStringSubmatch(text); m != nil {
			e.Client = strings.TrimSpace(m[1])
		}
		e.SPN = cleanSPN(reMSSQLSvc.FindString(text))
		for _, v := range dataValues(ev) {
			if c := hexCode(v); c != "" {
				e.Code = c
				break
			}
		}
	}
	e.Text = ""
	if rebuilt {
		e.Text = tidy(text)
	}
	return e, true
}

// sqlText returns the message of an unrendered SQL Server event, and whether it could
// rebuild it: 18456 has the strings (login, " Reason: ...", " [CLIENT: ...]"), 18452
// (" [CLIENT: ...]"), and 17806 is taken to have (code, state, reason, client) when its
// first two strings are a 0x code and a number. The linked-server messages are taken
// to have their parameters in order, as for 18456: 7303 (provider, linked server),
// 7399 (provider, linked server, the provider's text), 7412 (provider, linked
// server, message) and 7413 (linked server, provider). Other events' strings are
// joined with spaces.
func sqlText(id int, data []string) (string, bool) {
	switch {
	case id == triage.Msg7303 && len(data) == 2:
		return `Cannot initialize the data source object of OLE DB provider "` + data[0] + `" for linked server "` + data[1] + `".`, true
	case id == triage.Msg7399 && len(data) >= 2:
		return strings.TrimSpace(`The OLE DB provider "` + data[0] + `" for linked server "` + data[1] + `" reported an error. ` + strings.Join(data[2:], " ")), true
	case id == triage.Msg7412 && len(data) == 3:
		return `OLE DB provider "` + data[0] + `" for linked server "` + data[1] + `" returned message "` + data[2] + `".`, true
	case id == triage.Msg7413 && len(data) == 2:
		return `Could not connect to linked server '` + data[0] + `' (OLE DB Provider '` + data[1] + `'). Enable delegation or use a remote SQL Server login for the current user.`, true
	case id == triage.Msg18456 && len(data) > 0:
		login := strings.ReplaceAll(data[0], "'", "''")
		return strings.TrimSpace("Login failed for user '" + login + "'. " + strings.Join(data[1:], " ")), true
	case id == triage.Msg18452:
		return strings.TrimSpace("Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. " + strings.Join(data, " ")), true
	case id == triage.Msg17806 && len(data) >= 2 && hexCode(data[0]) != "" && isDecimal(data[1]):
		reason := strings.Join(data[2:], " ")
		if !strings.HasPrefix(reason, "Reason:") {
			reason = "Reason: " + reason
		}
		return "SSPI handshake failed with error code " + data[0] + ", state " + data[1] +
			" while establishing a connection with integrated security; the connection has been closed. " + reason, true
	}
	return strings.Join(data, " "), false
}

// linkedID reports whether id is one of the linked-server messages.
func linkedID(id int) bool {
	return id == triage.Msg7303 || id == triage.Msg7399 || id == triage.Msg7412 || id == triage.Msg7413
}

func isDecimal(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

var (
	reNTStatus  = regexp.MustCompile(`(?i)\b0xc[0-9a-f]{7}\b`)
	reErrorCode = regexp.MustCompile(`(?i)\berror code:[ \t]*(0x[0-9a-f]+|-?[0-9]+)\b`)
	reKrbName   = regexp.MustCompile(`\b(?:KDC_ERR|KE?RB_AP_ERR|KE?RB_ERR)_[A-Z0-9_]+`)
	reServer    = regexp.MustCompile(`Server Name:[ \t]*(\S+)`)
	reTarget    = regexp.MustCompile(`Target Name:[ \t]*(\S+)`)
	reTargetWas = regexp.MustCompile(`target name used was (\S+)`)
	reLsaServer = regexp.MustCompile(`(?:authentication error for|secured connection with) the server (\S+)`)
	reSECE      = regexp.MustCompile(`(?i)\b0x8009[0-9a-f]{4}\b`)
	reDuplicate = regexp.MustCompile(`duplicate name is (.+?) \(of type`)
	reMSSQLSvc  = regexp.MustCompile(`(?i)\bMSSQLSvc/[^\s@,;'"\[\]]+`)
	reSQLClient = regexp.MustCompile(`\[CLIENT: ([^\]]*)\]`)
	reSSPI11    = regexp.MustCompile(`(?i)\b0x80090311\b|-[ \t]*2146893039\b`)
	reSSPI04    = regexp.MustCompile(`(?i)\b0x80090304\b|-[ \t]*2146893052\b`)
)

// sspiCode returns 0x80090311 or 0x80090304 when one of texts names it, in hex or as
// the signed decimal Windows also writes ("Error - 2146893039 (0x80090311)").
func sspiCode(texts ...string) string {
	for _, s := range texts {
		switch {
		case reSSPI11.MatchString(s):
			return "0x80090311"
		case reSSPI04.MatchString(s):
			return "0x80090304"
		}
	}
	return ""
}

// secCode returns the SEC_E code (0x8009....) one of texts names: those of sspiCode
// first, in either form, then any other in hex.
func secCode(texts ...string) string {
	if c := sspiCode(texts...); c != "" {
		return c
	}
	for _, s := range texts {
		if m := reSECE.FindString(s); m != "" {
			return normCode(m)
		}
	}
	return ""
}

// kerberosCode returns the Kerberos error code of an event: its ErrorCode data, the
// "Error Code:" of its message, the fourth insertion string of an unnamed event 3 or
// the second of an unnamed 100 or 101, an error name such as KRB_AP_ERR_MODIFIED in its
// data or message (as triage.KerberosErrorNamed reads names), or the error events 4
// and 5 always report.
//
// Microsoft documents no event 100 or 101 of Microsoft-Windows-Security-Kerberos; the
// provider's manifest, as third parties list it (OTRF/OSSEM's ETW data dictionary),
// gives both the fields SPN and ErrorCode, in that order. What the code means is the
// diagnosis's to say, and only as a Kerberos error code.
func kerberosCode(ev *event, id int) string {
	if c := normCode(named(ev, "ErrorCode")); c != "" {
		return c
	}
	if c := normCode(submatch(reErrorCode, ev.Message)); c != "" {
		return c
	}
	var pos int
	switch id {
	case 3:
		pos = 3
	case 100, 101:
		pos = 1
	}
	if pos > 0 {
		if c := normCode(positional(ev, pos)); c != "" {
			return c
		}
	}
	for _, s := range append([]string{named(ev, "ErrorMessage"), ev.Message}, dataValues(ev)...) {
		if name := reKrbName.FindString(s); name != "" {
			if k, ok := triage.KerberosErrorNamed(name); ok {
				return "0x" + strconv.FormatUint(uint64(k.Code), 16)
			}
		}
	}
	switch id {
	case 4:
		return "0x29" // KRB_AP_ERR_MODIFIED
	case 5:
		return "0x21" // KRB_AP_ERR_TKT_NYV
	}
	return ""
}

// kerberosSPN returns the service principal name an event is about: the server or
// target name of 3, the target name of 4, the SPN field of 100 and 101 (see
// kerberosCode). Named data come first, then the message, then the insertion strings
// by position, then any MSSQLSvc SPN in the event.
func kerberosSPN(ev *event, id int) string {
	switch id {
	case 3:
		return firstSPN(
			func() string { return named(ev, "ServerName") },
			func() string { return named(ev, "TargetName") },
			func() string { return submatch(reServer, ev.Message) },
			func() string { return submatch(reTarget, ev.Message) },
			func() string { return positional(ev, 9) },
			func() string { return positional(ev, 10) },
			func() string { return scanSPN(ev) },
		)
	case 4:
		return firstSPN(
			func() string { return named(ev, "TargetName") },
			func() string { return submatch(reTargetWas, ev.Message) },
			func() string { return positional(ev, 2) },
			func() string { return scanSPN(ev) },
		)
	case 100, 101:
		return firstSPN(
			func() string { return named(ev, "SPN") },
			func() string { return named(ev, "ServicePrincipalName") },
			func() string { return named(ev, "TargetName") },
			func() string { return positional(ev, 0) },
			func() string { return scanSPN(ev) },
		)
	}
	return ""
}

// firstSPN returns the first non-empty SPN the finders give, cleaned by cleanSPN.
func firstSPN(finders ...func() string) string {
	for _, f := range finders {
		if s := cleanSPN(f()); s != "" {
			return s
		}
	}
	return ""
}

// cleanSPN trims a name taken from an event: spaces, the full stop of a sentence, and
// the "@REALM" of a Kerberos principal ("MSSQLSvc/h:1433@CORP.EXAMPLE"). "-" means none.
func cleanSPN(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".")
	if i := strings.LastIndexByte(s, '@'); i > 0 && strings.Contains(s[:i], "/") && !strings.Contains(s[i:], "/") {
		s = s[:i]
	}
	if s == "-" {
		return ""
	}
	return s
}

// scanSPN returns the first MSSQLSvc SPN anywhere in the event's message or data.
func scanSPN(ev *event) string {
	for _, s := range texts(ev) {
		if m := reMSSQLSvc.FindString(s); m != "" {
			return m
		}
	}
	return ""
}

// named returns the value of the <Data> whose Name is name, compared without regard
// to case.
func named(ev *event, name string) string {
	for _, d := range ev.EventData.Data {
		if strings.EqualFold(d.Name, name) {
			return strings.TrimSpace(d.Value)
		}
	}
	return ""
}

// positional returns the i-th insertion string of a classic event whose <Data> have no
// names, as the message templates number them (%1 is 0).
func positional(ev *event, i int) string {
	data := ev.EventData.Data
	for _, d := range data {
		if d.Name != "" {
			return ""
		}
	}
	if i >= len(data) {
		return ""
	}
	return strings.TrimSpace(data[i].Value)
}

// texts returns the event's rendered message and its data values.
func texts(ev *event) []string {
	return append([]string{ev.Message}, dataValues(ev)...)
}

// dataValues returns the event's <Data> values, trimmed, without the empty ones.
func dataValues(ev *event) []string {
	var out []string
	for _, d := range ev.EventData.Data {
		if v := strings.TrimSpace(d.Value); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// eventText returns the text of a log entry: the rendered message, else the data values
// joined with "; ", tidied.
func eventText(ev *event) string {
	s := ev.Message
	if strings.TrimSpace(s) == "" {
		s = strings.Join(dataValues(ev), "; ")
	}
	return tidy(s)
}

// tidy makes runs of white space in s one space and cuts s to at most maxText bytes
// (plus "..." when cut), on a character boundary.
func tidy(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// normCode writes an error code as lower-case hex without leading zeros: "0x7", "7"
// and "0x00000007" are "0x7"; a negative decimal is read as the 32-bit code Windows
// logs it for ("-2146893039" is "0x80090311"). It returns "" for anything else.
func normCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var v uint64
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return ""
		}
		v = n
	} else {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < math.MinInt32 || n > math.MaxUint32 {
			return ""
		}
		v = uint64(uint32(n))
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// hexCode returns s as a normalised code when s is nothing but a 0x code.
func hexCode(s string) string {
	if !strings.HasPrefix(strings.ToLower(s), "0x") {
		return ""
	}
	return normCode(s)
}

// binaryStatus reads <Binary> data that hold exactly one NTSTATUS error code, as a
// little-endian 32-bit number ("5E0000C0" is 0xc000005e).
func binaryStatus(s string) string {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 4 {
		return ""
	}
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	if v&0xC0000000 != 0xC0000000 {
		return ""
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

func submatch(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}
