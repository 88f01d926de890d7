package triage_test

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestCatalog: every published cause ID is in the catalog, once, with a severity,
// title, summary, a fix and (but for the agent's own) a Microsoft Learn link.
func TestCatalog(t *testing.T) {
	published := []triage.CauseID{
		"dc.unreachable", "lsa.unresponsive", "spn.missing", "spn.duplicate", "spn.wrong_account",
		"spn.registration_failed", "account.disabled", "account.locked_out", "account.expired",
		"account.password_expired", "kerberos.etype_mismatch", "clock.skew", "kerberos.ticket_failed",
		"keytab.stale", "dns.mismatch", "login.untrusted_domain", "login.failed", "sspi.handshake_failed",
		"agent.unreachable", "account.not_found", "kerberos.ntlm_fallback",
		"login.anonymous", "login.null_user", "login.empty_user", "computer.secure_channel", "sspi.logon_denied",
		"kerberos.rc4_default", "dc.certificate", "instance.port_unknown", "account.mismatch",
		"delegation.second_hop", "delegation.not_trusted", "delegation.spn_not_allowed", "delegation.port_form_missing",
		"delegation.user_sensitive", "delegation.protocol_transition", "delegation.unconstrained_blocked",
		"delegation.ntlm_first_hop", "delegation.backend_spn_missing", "delegation.resource_based",
		"delegation.protection_not_enforced",
		"instance.dynamic_port", "instance.port_mismatch", "spn.stale_port", "cluster.spn_on_node", "name.alias", "name.server_name",
		"listener.spn_missing", "listener.spn_wrong_account", "listener.accounts_differ", "listener.dns_mismatch",
	}
	seen := map[triage.CauseID]bool{}
	for _, c := range triage.Causes() {
		if seen[c.ID] {
			t.Errorf("cause %s is in the catalog twice", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Summary == "" || len(c.Fix) == 0 {
			t.Errorf("cause %s lacks a title, summary or fix: %+v", c.ID, c)
		}
		for _, l := range c.Links {
			if !strings.HasPrefix(l, "https://learn.microsoft.com/") && !strings.HasPrefix(l, "https://support.microsoft.com/") {
				t.Errorf("cause %s links to %s; want Microsoft Learn or Support", c.ID, l)
			}
			if !triage.VerifiedPage(l) {
				t.Errorf("cause %s links to %s, which is not in the list of pages verified to exist", c.ID, l)
			}
		}
		if len(c.Links) == 0 && c.ID != triage.AgentUnreachable {
			t.Errorf("cause %s has no link", c.ID)
		}
	}
	for _, id := range published {
		if !seen[id] {
			t.Errorf("published cause %s is missing from the catalog", id)
		}
	}
}

func TestNewFindingFillsPlaceholders(t *testing.T) {
	f := triage.NewFinding(triage.SPNWrongAccount, map[string]string{
		triage.PHSPN: "MSSQLSvc/sql01.corp.example:1433", triage.PHAccount: `CORP\svc_sql`, triage.PHWrong: `CORP\old_svc`,
	})
	want := []string{`setspn -D MSSQLSvc/sql01.corp.example:1433 CORP\old_svc`, `setspn -S MSSQLSvc/sql01.corp.example:1433 CORP\svc_sql`}
	for i, s := range f.Remediation {
		if s.Command != want[i] {
			t.Errorf("step %d command = %q; want %q", i, s.Command, want[i])
		}
	}
	if f.Summary != `MSSQLSvc/sql01.corp.example:1433 is registered on CORP\old_svc, not on the service account CORP\svc_sql` {
		t.Errorf("summary = %q", f.Summary)
	}
	if f.Severity != triage.Critical {
		t.Errorf("severity = %s; want critical", f.Severity)
	}
	// Unfilled placeholders stay as written for the reader to fill in.
	f = triage.NewFinding(triage.SPNMissing, nil)
	if f.Remediation[0].Command != "setspn -S <SPN> <ACCOUNT>" {
		t.Errorf("unfilled command = %q", f.Remediation[0].Command)
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	rep := triage.Report{ID: "abc", Host: "h", Status: triage.StatusCritical, Duration: 1500 * 1e6,
		Checks: []triage.CheckResult{{Name: "errorlog", Status: triage.CheckFail, Duration: 20 * 1e6}}}
	b, err := rep.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"duration_ms":1500`, `"duration_ms":20`, `"status":"critical"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("JSON %s lacks %s", b, s)
		}
	}
	var back triage.Report
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if back.Duration != rep.Duration || back.Checks[0].Duration != rep.Checks[0].Duration {
		t.Errorf("round trip lost durations: %+v", back)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := triage.NewID()
		if len(id) != 8 || strings.ContainsAny(id, "01lio") {
			t.Fatalf("NewID() = %q; want 8 unambiguous characters", id)
		}
		seen[id] = true
	}
	if len(seen) < 999 {
		t.Errorf("NewID() repeated itself: %d distinct of 1000", len(seen))
	}
}
