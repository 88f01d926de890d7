package diagnosis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// loginFailedRule reports 18456: authentication reached SQL Server, which refused the
// login. Each state is explained (the client is always told state 1), with the
// logins, reasons and clients concerned. It is a warning: an authorization problem,
// not a Kerberos one. Logins that are no user (ANONYMOUS LOGON, '(null)', an empty
// name) are anonymousRule's: their fix is never a login.
type loginFailedRule struct{}

func (loginFailedRule) Name() string { return "login-failed" }

func (loginFailedRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	var events []triage.LogEvent
	for _, e := range sqlEvents(obs, triage.Msg18456) {
		if _, ok := anonymousCause(e.Login, e.State); !ok {
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		return nil
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Count > events[j].Count })
	f := triage.NewFinding(triage.LoginFailed, namesFor(t, obs).vars)
	total := 0
	states := map[int]bool{}
	authMode := ""
	if obs.Server != nil {
		authMode = obs.Server.AuthMode
	}
	var steps []triage.Step
	for _, e := range events {
		total += e.Count
		f.Evidence = append(f.Evidence, e.Evidence(loginFailedText(e)))
		if !states[e.State] {
			states[e.State] = true
			if s, ok := loginStateFix(e, authMode); ok {
				steps = append(steps, s)
			}
		}
	}
	if len(steps) > 0 {
		f.Remediation = steps
	}
	f.Summary = fmt.Sprintf("SQL Server on %s refused %s (18456): %s", t.Host, human.Count(total, "login", "logins"), topStates(events))
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
		switch {
		case s < 0:
			parts = append(parts, fmt.Sprintf("state not logged (%d)", counts[s]))
			continue
		case !triage.LoginStateFor(s).Documented:
			parts = append(parts, fmt.Sprintf("state %d, which Microsoft does not describe (%d)", s, counts[s]))
			continue
		}
		parts = append(parts, fmt.Sprintf("state %d, %s (%d)", s, loginState(s), counts[s]))
	}
	return strings.Join(parts, "; ")
}

// loginStateFix returns the step that fixes the 18456 state of e, with its login
// filled in: in the text as it is, in a T-SQL command as a delimited identifier
// (triage.ShellTSQL), or no command when the name cannot be written safely. authMode
// is the server's authentication mode as its start-up logged it ("MIXED",
// "WINDOWS-ONLY"), or "" when not known. A state Microsoft does not describe gets no
// step.
//
// The states and their meanings are those of "MSSQLSERVER_18456", section "Additional
// error information", and its fixes those of its "User action" section,
// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error.
//
// No step grants access to, creates or enables a login for, a principal that stands
// for anyone or for many users (sharedPrincipal), nor enables sa: the step says why
// and what to do instead.
func loginStateFix(e triage.LogEvent, authMode string) (triage.Step, bool) {
	login := e.Login
	vars := map[string]string{triage.PHLogin: login}
	tsql := func(text, stmt string, args ...triage.Arg) triage.Step {
		return triage.NewStep(text, triage.NewCommand(triage.ShellTSQL, stmt, args...), vars)
	}
	prose := func(format string, args ...any) (triage.Step, bool) {
		return triage.Step{Text: fmt.Sprintf(format, args...)}, true
	}
	name := triage.Slot(triage.PHLogin)
	shared := sharedPrincipal(login)
	switch e.State {
	case 2, 5:
		// "User ID isn't valid", for SQL Server and Windows logins alike; the page's fix
		// for a login that does not exist: "Create the login, or grant it through a group".
		switch {
		case shared:
			return prose("%s stands for anyone or for many users: create no login for it. Find the application that connects as %s (the clients are listed with the evidence). Have it connect with an identity of its own", login, login)
		case windowsLogin(login):
			return tsql(fmt.Sprintf("No login matches the Windows account %s: if it should have access, create a login for it (or for one of its groups; EXEC xp_logininfo shows whether SQL Server can resolve it); otherwise correct the login name the application uses", login),
				"CREATE LOGIN", name, triage.Lit("FROM WINDOWS;")), true
		}
		return prose("No login matches %s: correct the login name the application uses. If %s is meant to be a SQL Server login, create it with CREATE LOGIN ... WITH PASSWORD and a password of your own choosing, or have the application use Windows authentication", login, login)
	case 6:
		return prose("%s is a Windows login: connect with Integrated Security (Trusted_Connection=yes) instead of a user name and password", login)
	case 7:
		switch {
		case shared:
			return prose("The login %s is disabled: leave it disabled, since %s stands for anyone or for many users. Have the application connect with an identity of its own", login, login)
		case strings.EqualFold(strings.TrimSpace(login), "sa"):
			// "the sa login is initially disabled. This causes the state 7 error".
			return prose("The sa login is disabled, as SQL Server leaves it after a switch from Windows authentication to mixed mode: have the application connect with a login of its own rather than sa")
		}
		return tsql(fmt.Sprintf("Enable the login %s if it should be used, and correct the password", login),
			"ALTER LOGIN", name, triage.Lit("ENABLE;")), true
	case 8, 9:
		return prose("Correct the password the application uses for %s, or reset it (ALTER LOGIN ... WITH PASSWORD)", login)
	case 11, 12:
		if shared {
			return prose("%s stands for anyone or for many users: give it no access to SQL Server. Find the application or user that connects as %s (the clients are listed with the evidence). Have it connect with an identity of its own", login, login)
		}
		return tsql(fmt.Sprintf("Give %s access: a login of its own or for one of its groups, with CONNECT SQL and no DENY on it or its groups; a member of the local Administrators group must run the client elevated (Run as administrator)", login),
			"GRANT CONNECT SQL TO", triage.Suffixed(triage.PHLogin, ";")), true
	case 18:
		return prose("Change the password of %s (MUST_CHANGE is set)", login)
	case 38, 46, 126:
		// "Couldn't find database requested by user" (38, 46), "Database requested by
		// user doesn't exist" (126). The page's reasons tell the explicit database of a
		// connection string from the login's default database.
		if strings.Contains(e.Reason, "explicitly specified database") {
			return prose("Correct the database name in the connection string of %s, or bring that database online", login)
		}
		if shared {
			return prose("Make the database %s asks for available, or correct the connection string's database", login)
		}
		return tsql(fmt.Sprintf("Make the database %s uses available, or change its default database or name another database in the connection string", login),
			"ALTER LOGIN", name, triage.Lit("WITH DEFAULT_DATABASE = [master];")), true
	case 58:
		// "When SQL Server is set to use Windows Authentication only, and a client
		// attempts to log in using SQL authentication. Another cause is when SIDs don't
		// match." In mixed mode, the page's "More rare possible cause": an ODBC
		// connection that does not ask for a trusted connection.
		windows := "have the application use Windows authentication (Integrated Security=SSPI or Trusted_Connection=yes), or, if SQL Server logins are meant to be used, switch the server to SQL Server and Windows Authentication mode (Server Properties, Security) and restart it"
		sids := fmt.Sprintf("the SID of the login %s may not match (Microsoft's other cause for state 58)", login)
		switch strings.ToUpper(authMode) {
		case "WINDOWS-ONLY":
			return prose("The server accepts Windows authentication only: %s", windows)
		case "MIXED":
			return prose("The server accepts SQL Server logins, so %s; an ODBC connection that does not ask for a trusted connection is also refused this way (include TRUSTED_CONNECTION = TRUE in its connection string)", sids)
		}
		return prose("If the server accepts Windows authentication only, %s. Otherwise %s", windows, sids)
	case 122, 123, 124:
		return prose("The client sent an empty user name or password: correct the connection string, or use Windows authentication")
	}
	return triage.Step{}, false
}

// windowsLogin reports whether login names a Windows account or group that CREATE
// LOGIN ... FROM WINDOWS can take and that may be given a login of its own:
// DOMAIN\name, where DOMAIN is not a built-in authority (NT AUTHORITY, NT SERVICE,
// BUILTIN, the local ".") and name is no principal that stands for many users.
func windowsLogin(login string) bool {
	domain, name, ok := strings.Cut(strings.TrimSpace(login), `\`)
	if !ok || strings.TrimSpace(domain) == "" || strings.TrimSpace(name) == "" || strings.Contains(name, `\`) {
		return false
	}
	if isBuiltinDomain(strings.TrimSpace(domain)) || strings.EqualFold(strings.TrimSpace(domain), "BUILTIN") {
		return false
	}
	return !sharedPrincipal(login)
}

// sharedNames are the principals, by their name part, that stand for anyone or for
// many users, or for no user at all: no fix may give them access, create or enable a
// login for them or add them to a role.
var sharedNames = []string{
	"ANONYMOUS LOGON", "(null)", "Guest", "Guests", "Everyone", "Authenticated Users", "Users",
	"Domain Users", "Domain Guests", "Domain Computers", "public", "NETWORK", "INTERACTIVE",
}

// sharedPrincipal reports whether login is one of sharedNames, under any domain or
// none, or empty. Names are compared without case and surrounding spaces, as SQL
// Server compares them with a case-insensitive collation and ignores trailing spaces.
func sharedPrincipal(login string) bool {
	name := principalName(login)
	if name == "" {
		return true
	}
	for _, s := range sharedNames {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}
