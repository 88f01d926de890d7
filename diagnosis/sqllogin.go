package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// sqlLoginRule reads the checker's own integrated-authentication logins to the
// instances: a login refused as from an untrusted domain (18452) or as failed (18456),
// and a successful remote login that used NTLM, which means no Kerberos ticket could be
// had for the instance's SPN; remote clients on NTLM in SQL Server's own view of its
// connections (sqlview.go) are evidence of the same finding. When the directory
// checks explain the SPN, their findings carry the cause and this rule only adds the
// login as evidence to none of its own.
type sqlLoginRule struct{}

func (sqlLoginRule) Name() string { return "sql-login" }

func (sqlLoginRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	n := namesFor(t, obs)
	var out []triage.Finding
	connections := ntlmConnectionEvidence(t, obs) // SQL Server's view, on the first NTLM finding
	for _, l := range obs.SQL {
		ev := triage.Evidence{Check: "sql", Source: triage.SourceSQL}
		switch {
		case l.OK && strings.EqualFold(l.AuthScheme, "NTLM"):
			if spnProblem(obs) {
				continue // the SPN findings say why
			}
			f := triage.NewFinding(triage.KerberosNTLMFallback, n.vars)
			ev.Text = fmt.Sprintf("login to %s (%s) succeeded with auth_scheme NTLM", l.Instance, l.Address)
			f.Evidence = append([]triage.Evidence{ev}, connections...)
			connections = nil
			out = append(out, f)
		case !l.OK && l.Number == triage.Msg18452:
			if spnProblem(obs) || serviceAccountUnusable(obs) {
				// A ticket for a misregistered SPN does not validate, and a service
				// account that is disabled, locked out, expired or whose password
				// expired cannot be relied on to: those findings say why.
				continue
			}
			f := triage.NewFinding(triage.LoginUntrustedDomain, n.vars)
			ev.Text = fmt.Sprintf("login to %s (%s) refused: %d state %d: %s", l.Instance, l.Address, l.Number, l.State, l.Message)
			f.Evidence = []triage.Evidence{ev}
			f.Summary = fmt.Sprintf("SQL Server on %s refused the checker's Windows login as from an untrusted domain (18452); its ERRORLOG has the 17806 with the reason", t.Host)
			out = append(out, f)
		case !l.OK && l.Number == triage.Msg18456:
			if id, ok := anonymousCause(refusedLogin(l.Message), l.State); ok {
				// The checker's own Windows identity did not reach SQL Server: the
				// same causes as the 18456 entries for such logins in the ERRORLOG.
				f := triage.NewFinding(id, n.vars)
				ev.Text = fmt.Sprintf("login to %s (%s) refused: %d: %s", l.Instance, l.Address, l.Number, l.Message)
				f.Evidence = []triage.Evidence{ev}
				out = append(out, f)
				continue
			}
			f := triage.NewFinding(triage.LoginFailed, n.vars)
			ev.Text = fmt.Sprintf("login to %s (%s) refused: %d: %s (the client is always told state 1; the server's log has the real state)", l.Instance, l.Address, l.Number, l.Message)
			f.Evidence = []triage.Evidence{ev}
			f.Summary = fmt.Sprintf("SQL Server on %s authenticated the checker but refused its login (18456): grant the checker's account a login, or read the real state in the ERRORLOG", t.Host)
			out = append(out, f)
		}
	}
	return out
}

// serviceAccountUnusable reports whether the directory shows the service account
// disabled, locked out, expired or with an expired password (accountRule's findings).
func serviceAccountUnusable(obs triage.Observations) bool {
	d := obs.Directory
	return d != nil && d.ServiceAccount != nil && unusable(*d.ServiceAccount, d.MaxPwdAge, readAt(d))
}

// spnProblem reports whether the directory shows a required SPN missing, duplicated or
// on another account.
func spnProblem(obs triage.Observations) bool {
	d := obs.Directory
	if d == nil {
		return false
	}
	for _, so := range d.SPNs {
		if len(so.Owners) != 1 || (d.ServiceAccount != nil && !so.Owners[0].SameAs(*d.ServiceAccount)) {
			return true
		}
	}
	return false
}

// refusedLogin returns the login name in an 18456 message, "Login failed for user
// 'NAME'.", or "-" when the message names none (so that an unparsable message is
// never read as the empty login).
func refusedLogin(msg string) string {
	_, rest, ok := strings.Cut(msg, "for user '")
	if !ok {
		return "-"
	}
	name, _, ok := strings.Cut(rest, "'.")
	if !ok {
		return "-"
	}
	return name
}
