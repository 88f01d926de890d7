package diagnosis

import (
	"fmt"
	"sort"
	"strings"

	"authtriage/errorlog"
	"authtriage/triage"
)

// loginFailedRule reports 18456: authentication reached SQL Server, which refused the
// login. Each state is explained (the client is always told state 1), with the
// logins, reasons and clients concerned. It is a warning: an authorization problem,
// not a Kerberos one.
type loginFailedRule struct{}

func (loginFailedRule) Name() string { return "login-failed" }

func (loginFailedRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	events := sqlEvents(obs, errorlog.MsgLoginFailed)
	if len(events) == 0 {
		return nil
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Count > events[j].Count })
	f := triage.NewFinding(triage.LoginFailed, namesFor(t, obs).vars)
	total := 0
	states := map[int]bool{}
	var steps []triage.Step
	for _, e := range events {
		total += e.Count
		text := fmt.Sprintf("18456 Login failed for user '%s', state %d: %s", e.Login, e.State, loginState(e.State))
		if e.Reason != "" {
			text += ". SQL Server's reason: " + e.Reason
		}
		f.Evidence = append(f.Evidence, e.Evidence(text))
		if !states[e.State] {
			states[e.State] = true
			if s, ok := loginStateFix(e.State, e.Login); ok {
				steps = append(steps, s)
			}
		}
	}
	if len(steps) > 0 {
		f.Remediation = steps
	}
	f.Summary = fmt.Sprintf("SQL Server on %s refused %s (18456): %s", t.Host, plural(total, "login"), topStates(events))
	return []triage.Finding{f}
}

// topStates summarises the most frequent states: "state 8, the password is wrong (12);
// state 38, ... (3)".
func topStates(events []triage.LogEvent) string {
	counts := map[int]int{}
	var order []int
	for _, e := range events {
		if _, ok := counts[e.State]; !ok {
			order = append(order, e.State)
		}
		counts[e.State] += e.Count
	}
	sort.SliceStable(order, func(i, j int) bool { return counts[order[i]] > counts[order[j]] })
	var parts []string
	for i, s := range order {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more states", len(order)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("state %d, %s (%d)", s, loginState(s), counts[s]))
	}
	return strings.Join(parts, "; ")
}

// loginStateFix returns the step that fixes an 18456 state, with the login filled in:
// in the text as it is, in the T-SQL command as a delimited identifier
// (triage.ShellTSQL), or no command when the name cannot be written safely.
func loginStateFix(state int, login string) (triage.Step, bool) {
	vars := map[string]string{triage.PHLogin: login}
	tsql := func(text, stmt string, args ...triage.Arg) triage.Step {
		return triage.NewStep(text, triage.NewCommand(triage.ShellTSQL, stmt, args...), vars)
	}
	name := triage.Slot(triage.PHLogin)
	switch state {
	case 2, 5:
		return tsql(fmt.Sprintf("Create a login for %s, or correct the login name the application uses", login),
			"CREATE LOGIN", name, triage.Lit("FROM WINDOWS;")), true
	case 6:
		return triage.Step{Text: fmt.Sprintf("%s is a Windows login: connect with Integrated Security (Trusted_Connection=yes) instead of a user name and password", login)}, true
	case 7:
		return tsql(fmt.Sprintf("Enable the login %s if it should be used, and correct the password", login),
			"ALTER LOGIN", name, triage.Lit("ENABLE;")), true
	case 8, 9:
		return triage.Step{Text: fmt.Sprintf("Correct the password the application uses for %s, or reset it (ALTER LOGIN ... WITH PASSWORD)", login)}, true
	case 11, 12:
		return tsql(fmt.Sprintf("Give %s access: a login of its own or for one of its groups, with CONNECT SQL; local administrators must run the client elevated", login),
			"GRANT CONNECT SQL TO", triage.Suffixed(triage.PHLogin, ";")), true
	case 18:
		return triage.Step{Text: fmt.Sprintf("Change the password of %s (MUST_CHANGE is set)", login)}, true
	case 38, 46, 40, 126:
		return tsql(fmt.Sprintf("Make the database %s uses available, or change its default database or the connection string's database", login),
			"ALTER LOGIN", name, triage.Lit("WITH DEFAULT_DATABASE = [master];")), true
	case 58:
		return triage.Step{Text: "Switch the server to mixed-mode authentication, or have the application use Windows authentication"}, true
	}
	return triage.Step{}, false
}
