package eventlog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/sources/eventlog"
	"github.com/authtriage/authtriage/triage"
)

// kdcsvc returns an event of the Kerberos Key Distribution Center in a domain
// controller's System log, as wevtutil qe System /f:xml (no message) or /f:RenderedXml
// writes it. KB5073381's audit events 201-209 are written by this provider
// (EventSourceName Kdcsvc). Their data fields are not documented in what could be read
// of KB5073381, so the data here is unnamed and the messages only begin as the
// published message stems do: the reader must rely on neither.
func kdcsvc(id int, ts, message string, data ...string) string {
	var d, render strings.Builder
	for _, v := range data {
		fmt.Fprintf(&d, "<Data>%s</Data>", xmlText(v))
	}
	if message != "" {
		fmt.Fprintf(&render, "<RenderingInfo Culture='en-US'><Message>%s</Message><Level>Warning</Level></RenderingInfo>", xmlText(message))
	}
	return fmt.Sprintf("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"+
		"<Provider Name='Microsoft-Windows-Kerberos-Key-Distribution-Center' Guid='{3fd9da1a-5a54-46c5-9a26-9bd7c0685056}' EventSourceName='Kdcsvc'/>"+
		"<EventID Qualifiers='0'>%d</EventID><Level>3</Level><TimeCreated SystemTime='%s'/><Channel>System</Channel>"+
		"<Computer>dc1.corp.example</Computer></System><EventData>%s</EventData>%s</Event>", id, ts, d.String(), render.String())
}

// TestReadKDCSVCAuditEvents: KB5073381's KDCSVC audit events 201-209 are read from the
// System log with their own text and the MSSQLSvc SPN they name; other KDC event IDs
// around them are not.
func TestReadKDCSVCAuditEvents(t *testing.T) {
	in := strings.Join([]string{
		kdcsvc(201, "2026-05-14T09:00:00Z", "The Key Distribution Center (KDC) detected RC4 usage that will be unsupported ... Service: "+spn+"@CORP.EXAMPLE Account: svc_sql01",
			"svc_sql01", spn),
		kdcsvc(201, "2026-05-14T09:05:00Z", "", "svc_sql01", spn),
		kdcsvc(205, "2026-05-14T09:10:00Z", "", "0x27"),
		kdcsvc(200, "2026-05-14T09:11:00Z", "", "x"),
		kdcsvc(210, "2026-05-14T09:12:00Z", "", "y"),
	}, "\n")
	s, err := eventlog.Read(t.Context(), strings.NewReader(in), "system-dc.xml", eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []triage.LogEvent{
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.SPN = "System", "Microsoft-Windows-Kerberos-Key-Distribution-Center", 201, spn
			e.Text = "The Key Distribution Center (KDC) detected RC4 usage that will be unsupported ... Service: " + spn + "@CORP.EXAMPLE Account: svc_sql01"
			e.Count, e.First, e.Last = 2, at("2026-05-14T09:00:00Z"), at("2026-05-14T09:05:00Z")
		}),
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Text = "System", "Microsoft-Windows-Kerberos-Key-Distribution-Center", 205, "0x27"
			e.Count, e.First, e.Last = 1, at("2026-05-14T09:10:00Z"), at("2026-05-14T09:10:00Z")
		}),
	}
	if diff := cmp.Diff(want, s.Events); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}
