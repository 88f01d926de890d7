package sqlserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// TestRealServerInspect runs Inspect on the server AUTHTRIAGE_TEST_MSSQL_DSN names,
// logged in as that DSN says, and checks the shape of its answer against what Inspect
// promises: the fake's column layouts are checked against the real ones there. It
// changes nothing: every query is a SELECT.
func TestRealServerInspect(t *testing.T) {
	c, p, in := realServer(t)

	got, err := c.Inspect(t.Context(), p.Host, in)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	t.Logf("view: %+v", got.View)
	for _, n := range got.Notes {
		t.Logf("note: %s", n)
	}
	for _, n := range got.Notes {
		// A refused query is a note; a query the server could not run is a bug of ours.
		if strings.Contains(n, "error 102") || strings.Contains(n, "error 207") || strings.Contains(n, "error 245") {
			t.Errorf("a query does not run on this server: %s", n)
		}
	}
	v := got.View
	if v.Name == "" || v.Version == "" || v.ServerName == "" || v.Clustered == nil {
		t.Errorf("View = %+v; want the server's name, version, @@SERVERNAME and clustered flag", v)
	}
	if p.Instance == "" && !v.IsDefault() {
		t.Errorf("View.Name = %q; want the default instance the DSN names", v.Name)
	}
	for _, pc := range v.Ports {
		if pc.Port < 0 || pc.Port > 65535 || pc.Source != triage.PortListening && pc.Source != triage.PortServerRegistry {
			t.Errorf("port claim %+v", pc)
		}
	}
	if p.Port != 0 && !strings.Contains(strings.Join(got.Notes, " "), "sys.dm_tcp_listener_states") {
		if port, src := v.Port(); port != int(p.Port) || src != triage.PortListening {
			t.Logf("listening port %d (%s); the DSN names %d (a container maps ports)", port, src, p.Port)
		}
	}
	for _, l := range got.Listeners {
		t.Logf("listener: %+v", l)
		if l.Name == "" || l.Source != "sql" {
			t.Errorf("listener %+v: want a name and source sql", l)
		}
	}
	for _, g := range got.Connections {
		t.Logf("connections: %+v", g)
		if g.Count < 1 || g.AuthScheme == "" || g.Instance != in.String() {
			t.Errorf("connection group %+v", g)
		}
	}
	for _, f := range got.Failures {
		t.Logf("ring buffer: %+v", f)
		if f.Count < 1 || f.First.After(f.Last) || f.Last.After(time.Now().Add(time.Hour)) || len(f.Clients) > triage.MaxClients {
			t.Errorf("ring-buffer event %+v", f)
		}
	}
}
