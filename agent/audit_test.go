package agent_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/demo"
	"github.com/authtriage/authtriage/triage"
)

// TestAuditAgreesWithTheReport: the agent's audit line names the host as the client's
// report does, each check with the status the report shows it with (warn and fail
// from the findings, not only pass as the stream carries), the report's verdict and
// its causes.
func TestAuditAgreesWithTheReport(t *testing.T) {
	p := newPKI(t, "bot")
	withSQLDown := func() []triage.Check {
		return append(demoChecks(t), returns("sql", triage.Result{}, errors.New("could not reach SQL Server: connection refused")))
	}
	a := startAgent(t, p, withSQLDown, func(c *agent.ServerConfig) {
		c.Hosts = map[string]triage.Target{"sqlhost01": demo.Target()}
		c.Rules = diagnosis.Rules()
	})
	c := newClient(t, p, a.url, "bot", 30*time.Second)
	var names []string
	for _, ch := range withSQLDown() {
		names = append(names, ch.Name())
	}
	r := triage.Runner{Checks: c.Checks("sqlhost01", 24*time.Hour, names), Rules: diagnosis.Rules(), Deadline: 30 * time.Second}
	rep := r.Run(t.Context(), demo.Target())

	rec := waitRequests(t, a.log, 1)[0]
	t.Logf("audit: %v", rec)
	if rec["host"] != rep.Host {
		t.Errorf("audit host %v; the report's is %q", rec["host"], rep.Host)
	}
	if rec["verdict"] != string(rep.Status) {
		t.Errorf("audit verdict %v; the report's status is %s", rec["verdict"], rep.Status)
	}
	var want, causes []string
	for _, cr := range rep.Checks {
		want = append(want, cr.Name+"="+string(cr.Status))
	}
	for _, f := range rep.Findings {
		causes = append(causes, string(f.Cause))
	}
	got := strings.Split(rec["checks"].(string), ",")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("audit checks %v; the report shows %v", got, want)
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, "=fail") || strings.HasSuffix(s, "=warn") }) {
		t.Errorf("audit checks %v: no check is judged by the findings; the comparison would prove little", got)
	}
	gotCauses := strings.Split(rec["findings"].(string), ",")
	slices.Sort(gotCauses)
	slices.Sort(causes)
	if !slices.Equal(gotCauses, causes) {
		t.Errorf("audit findings %v; the report has %v", gotCauses, causes)
	}
}

// TestAuditWithoutRules: an agent without rules records the statuses the stream
// carried, and no verdict.
func TestAuditWithoutRules(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, nil)
	post(t, a, "bot", "sqlhost01")
	rec := waitRequests(t, a.log, 1)[0]
	if rec["checks"] != "errorlog=pass" {
		t.Errorf("audit checks %v; want errorlog=pass", rec["checks"])
	}
	if _, ok := rec["verdict"]; ok {
		t.Errorf("audit %v has a verdict without rules", rec)
	}
}
