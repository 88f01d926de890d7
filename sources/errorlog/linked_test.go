package errorlog

import (
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/triage"
)

// TestReadLinkedServer: a front end's failed linked-server queries, as SQL Server logs
// them once an administrator has them logged (none is by default): 7412 carries the
// back end's 18456; 7399 and 7303 follow it. Each is read with its linked server, and the
// 7412 with the login the back end refused; messages of no interest between them are
// not.
func TestReadLinkedServer(t *testing.T) {
	at := func(m, s int) time.Time { return time.Date(2026, 11, 24, 10, m, s, 440_000_000, time.UTC) }
	var l logText
	l.entry(at(0, 0), "Server", banner)
	l.entry(at(0, 0), "Server", "UTC adjustment: -5:00")
	query := func(m, s int, spid, login string) {
		l.entry(at(m, s), spid, "Error: 7412, Severity: 16, State: 1.")
		l.entry(at(m, s), spid, `OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Login failed for user '`+login+`'.".`)
		l.entry(at(m, s), spid, "Error: 7399, Severity: 16, State: 1.")
		l.entry(at(m, s), spid, `The OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" reported an error. Authentication failed.`)
		l.entry(at(m, s), spid, "Error: 7303, Severity: 16, State: 1.")
		l.entry(at(m, s), spid, `Cannot initialize the data source object of OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02".`)
	}
	query(5, 1, "spid71", `NT AUTHORITY\ANONYMOUS LOGON`)
	l.entry(at(6, 0), "spid12s", "Error: 3041, Severity: 16, State: 1.")
	l.entry(at(6, 0), "spid12s", "BACKUP failed to complete the command BACKUP LOG Sales.")
	query(7, 30, "spid88", `NT AUTHORITY\ANONYMOUS LOGON`)
	query(9, 2, "spid71", `CORP\SQLAPP01$`)

	for name, data := range map[string][]byte{"windows": windowsLog(l.String()), "linux": []byte(l.String())} {
		t.Run(name, func(t *testing.T) {
			sum := readBytes(t, data, "ERRORLOG", Options{})
			loc := time.FixedZone("", -5*3600)
			when := func(m, s int) time.Time {
				return time.Date(2026, 11, 24, 10, m, s, 440_000_000, loc)
			}
			anon := `NT AUTHORITY\ANONYMOUS LOGON`
			want := []triage.LogEvent{
				event("ERRORLOG", 7412, 1, 2, when(5, 1), when(7, 30), func(e *triage.LogEvent) {
					e.Linked, e.Login, e.Reason = "SQLHOST02", anon, "Login failed for user '"+anon+"'."
				}),
				event("ERRORLOG", 7399, 1, 3, when(5, 1), when(9, 2), func(e *triage.LogEvent) {
					e.Linked, e.Reason = "SQLHOST02", "Authentication failed."
				}),
				event("ERRORLOG", 7303, 1, 3, when(5, 1), when(9, 2), func(e *triage.LogEvent) { e.Linked = "SQLHOST02" }),
				event("ERRORLOG", 7412, 1, 1, when(9, 2), when(9, 2), func(e *triage.LogEvent) {
					e.Linked, e.Login, e.Reason = "SQLHOST02", `CORP\SQLAPP01$`, `Login failed for user 'CORP\SQLAPP01$'.`
				}),
			}
			opts := []cmp.Option{cmpopts.IgnoreFields(triage.LogEvent{}, "Text"), cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)}
			if diff := cmp.Diff(want, sum.Events, opts...); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if sum.Trend != nil {
				t.Errorf("trend %+v; want none: linked-server messages are not counted", sum.Trend)
			}
		})
	}
}

// TestReadLinked7413: a front end's 7413, which SQL Server logs only when made so,
// read from ERRORLOG with its linked server and counted once for each query; one
// whose name holds a bidi override is kept by its header alone, naming none.
func TestReadLinked7413(t *testing.T) {
	at := func(m, s int) time.Time { return time.Date(2026, 11, 24, 10, m, s, 440_000_000, time.UTC) }
	var l logText
	l.entry(at(0, 0), "Server", banner)
	for _, m := range []int{5, 7} {
		l.entry(at(m, 1), "spid71", "Error: 7413, Severity: 16, State: 1.")
		l.entry(at(m, 1), "spid71", `Could not connect to linked server 'SQLBE\SALES' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`)
	}
	l.entry(at(8, 0), "spid72", "Error: 7413, Severity: 16, State: 1.")
	l.entry(at(8, 0), "spid72", "Could not connect to linked server 'SQL\u202eBE' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.")

	sum := readBytes(t, []byte(l.String()), "ERRORLOG", Options{})
	want := []triage.LogEvent{
		event("ERRORLOG", 7413, 1, 2, at(5, 1), at(7, 1), func(e *triage.LogEvent) { e.Linked = `SQLBE\SALES` }),
		event("ERRORLOG", 7413, 1, 1, at(8, 0), at(8, 0), nil), // the name is refused: no linked server
	}
	opts := []cmp.Option{cmpopts.IgnoreFields(triage.LogEvent{}, "Text"), cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)}
	if diff := cmp.Diff(want, sum.Events, opts...); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// FuzzParseLinked checks what ParseMessage gives of a linked-server message, whatever
// the text: a linked server's name that is a valid name, a carried message without
// control characters and within its bound, and the login it names, if any.
func FuzzParseLinked(f *testing.F) {
	f.Add(`OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.".`)
	f.Add(`OLE DB provider "MSDASQL" for linked server "SQLPROD02" returned message [Microsoft][SQL Server Native Client 11.0][SQL Server]Login failed for user 'CONTOSO\SQLPROD01$'.`)
	f.Add(`The OLE DB provider "MSDASQL" for linked server "SQLPROD02" reported an error. Authentication failed.`)
	f.Add(`Cannot initialize the data source object of OLE DB provider "Microsoft.ACE.OLEDB.12.0" for linked server "(null)".`)
	f.Add("OLE DB provider \"P\" for linked server \"S\" returned message \"Login failed for user 'o''b\u202e'.\r\n\".")
	f.Add(`Could not connect to linked server 'SQLHOST02' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`)
	f.Add("Could not connect to linked server 'S' (OLE DB Provider 'P' (OLE DB Provider 'Q'). Enable delegation or use a remote SQL Server login for the current user.")
	f.Fuzz(func(t *testing.T, text string) {
		e, ok := ParseMessage(text)
		if !ok || (e.ID != triage.Msg7303 && e.ID != triage.Msg7399 && e.ID != triage.Msg7412 && e.ID != triage.Msg7413) {
			return
		}
		if !validName(e.Linked) {
			t.Errorf("linked server %q is no valid name", e.Linked)
		}
		if len(e.Reason) > maxCarried+len("…") {
			t.Errorf("Reason of %d bytes", len(e.Reason))
		}
		for _, r := range e.Reason {
			if r != ' ' && (unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("Reason %q holds %U", e.Reason, r)
			}
		}
		login, named := triage.CarriedLogin(e.Reason)
		if login != e.Login || (!named && e.Login != "") {
			t.Errorf("Login %q; the carried message %q names %q (%v)", e.Login, e.Reason, login, named)
		}
		if (e.ID == triage.Msg7303 || e.ID == triage.Msg7413) && (e.Reason != "" || e.Login != "") {
			t.Errorf("%d with a reason %q or a login %q", e.ID, e.Reason, e.Login)
		}
	})
}
