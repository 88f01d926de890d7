package sqlserver_test

import (
	"errors"
	"testing"

	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

// TestRealServerLinkedServers runs the linked-server query on the server
// AUTHTRIAGE_TEST_MSSQL_DSN names, logged in as that DSN says, and checks the shape of
// its answer against what LinkedServers promises. It creates nothing: the query is a
// SELECT, and a server without linked servers answers with none.
func TestRealServerLinkedServers(t *testing.T) {
	c, p, in := realServer(t)
	tg := triage.Target{Host: p.Host, Instances: []triage.Instance{in}}

	got, err := c.LinkedServers(t.Context(), tg, in)
	if errors.Is(err, sqlserver.ErrLinkedServersHidden) {
		t.Logf("LinkedServers: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("LinkedServers: %v", err)
	}
	t.Logf("%d linked servers", len(got))
	for i, ls := range got {
		t.Logf("linked server: %+v", ls)
		if ls.Name == "" || ls.Instance != in {
			t.Errorf("linked server %d = %+v; want a name and instance %v", i, ls, in)
		}
		if ls.SelfCredentialAll && !ls.SelfCredential {
			t.Errorf("linked server %q: SelfCredentialAll without SelfCredential", ls.Name)
		}
		if ls.Complete != got[0].Complete {
			t.Errorf("linked server %q: Complete %v, the first %v; want one answer for the login", ls.Name, ls.Complete, got[0].Complete)
		}
		if b, err := sqlserver.LinkedBackEnd(ls); err != nil {
			t.Logf("linked server %q: %v", ls.Name, err)
		} else {
			t.Logf("linked server %q: back end %+v", ls.Name, b)
		}
	}
}
