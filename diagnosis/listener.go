package diagnosis

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// checkInstances is the check that discovers instances, listeners and names, and
// reads SQL Server's own view of its logins (triage.InstanceFacts).
const checkInstances = "instances"

// listenerRule judges each availability-group listener of the target as discovery
// describes it (its replicas and the account each runs as) against the owners of its
// SPN, MSSQLSvc/LISTENER-FQDN:PORT, as the spn check's probes found them:
//   - replicas running as different service accounts are listener.accounts_differ:
//     the SPN can be on one account only, so Kerberos through the listener fails on
//     every replica that does not run as it;
//   - the SPN on no account is listener.spn_missing;
//   - the SPN on another account than the one the replicas share (a replica's
//     computer account, the listener's own computer object, an old service account)
//     is listener.spn_wrong_account.
//
// Source: "Connect to an Always On availability group listener", Listeners and
// Kerberos (SPNs): the SPN is registered on "the service account of the server
// instance that hosts the availability replica", and "For the SPN to work across all
// replicas, the same service account must be used for all instances in the WSFC
// cluster that hosts the availability group"; its one example is the port form
// (setspn -A MSSQLSvc/AG1listener.Adventure-Works.com:1433 corp\svclogin2). No
// Microsoft page documents a listener SPN without the port, and a listener serves TCP
// only ("What is an availability group listener?"), so only the port form is judged.
// https://learn.microsoft.com/sql/database-engine/availability-groups/windows/listeners-client-connectivity-application-failover
//
// A replica running as a virtual account, Network Service or Local System acts on the
// network as its host's computer account (the owner of its SPNs, see spnOwner), which
// no two replicas share. When no replica's account is known, the account SQL Server
// on the triaged host runs as stands for them all in listener.spn_missing, which only
// adds the SPN, and the finding says so. listener.spn_wrong_account removes the SPN
// from an account only when every replica's account is known: otherwise the owner
// judged wrong may be the account all the other replicas run as (the triaged host
// being the odd one out), so the finding is a warning that names the replicas whose
// account was not read, asks for them, and removes nothing.
type listenerRule struct{}

func (listenerRule) Name() string { return "listener" }

func (listenerRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	var out []triage.Finding
	for _, l := range t.Listeners {
		out = append(out, judgeListener(l, t, obs)...)
	}
	return out
}

// A replicaAccount is the account a replica runs as, and the account that acts for it
// on the network (the one that must own the listener's SPN).
type replicaAccount struct {
	replica triage.Replica
	owner   string // DOMAIN\name as setspn takes it
}

// sharedAccount is what the replicas of a listener say about their service account.
type sharedAccount struct {
	accounts []replicaAccount // the replicas whose account is known
	groups   [][]replicaAccount
	// name is the account every replica runs as, as setspn takes it; "" when they run
	// as different accounts or none is known.
	name string
	// fromHost is set when no replica's account is known and name is the account SQL
	// Server on the triaged host runs as.
	fromHost bool
	// unknown are the replicas whose account is not known.
	unknown []string
}

// partly says which replicas' accounts were not read when others were: "" or
// " (what SQLHOST03 runs as was not read)".
func (s sharedAccount) partly() string {
	if len(s.unknown) == 0 || len(s.accounts) == 0 {
		return ""
	}
	return fmt.Sprintf(" (what %s %s as was not read)", human.List(s.unknown), human.Plural(len(s.unknown), "runs", "run"))
}

func sharedAccountOf(l triage.Listener, t triage.Target, obs triage.Observations) sharedAccount {
	domain := dnsDomain(t.FQDN)
	var s sharedAccount
	for _, r := range l.Replicas {
		if r.ServiceAccount == "" {
			s.unknown = append(s.unknown, r.Server)
			continue
		}
		ra := replicaAccount{replica: r, owner: replicaOwner(r, domain)}
		if ra.owner == "" {
			s.unknown = append(s.unknown, r.Server)
			continue
		}
		s.accounts = append(s.accounts, ra)
		placed := false
		for i, g := range s.groups {
			if sameReplicaAccount(g[0].owner, ra.owner) != differentAccounts {
				s.groups[i] = append(s.groups[i], ra)
				placed = true
				break
			}
		}
		if !placed {
			s.groups = append(s.groups, []replicaAccount{ra})
		}
	}
	switch len(s.groups) {
	case 0:
		s.name, s.fromHost = namesFor(t, obs).vars[triage.PHAccount], true
	case 1:
		s.name = s.groups[0][0].owner
	}
	return s
}

// replicaOwner returns the account that acts for replica r on the network, as setspn
// takes it: its service account, or DOMAIN\HOST$ for a virtual account, Network
// Service or Local System, HOST being the replica's server name without the instance;
// "" when that host is not known. "Configure Windows Service Accounts and
// Permissions": "Services that run as virtual accounts access network resources by
// using the credentials of the computer account in the format
// <domain_name>\<computer_name>$"
// (https://learn.microsoft.com/sql/database-engine/configure-windows/configure-windows-service-accounts-and-permissions).
func replicaOwner(r triage.Replica, domain string) string {
	if !triage.IsVirtualAccount(r.ServiceAccount) {
		return r.ServiceAccount
	}
	host, _, _ := strings.Cut(r.Server, `\`)
	if host == "" {
		host, _, _ = strings.Cut(r.FQDN, ".")
	}
	return spnOwner(r.ServiceAccount, triage.Target{Host: host}, domain)
}

// sameReplicaAccount compares two accounts as sys.dm_server_services writes them
// (DOMAIN\name, sometimes name@dns.domain): the same name in the same NetBIOS domain
// is the same account, another name or domain another account; a UPN compared with a
// DOMAIN\name cannot be told apart (its prefix need not be the sAMAccountName).
func sameReplicaAccount(a, b string) sameness {
	if strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) {
		return sameAccount
	}
	na, nb := splitAccount(a), splitAccount(b)
	if na.dns || nb.dns {
		return cannotTell
	}
	if strings.EqualFold(na.name, nb.name) && (na.domain == "" || nb.domain == "" || strings.EqualFold(na.domain, nb.domain)) {
		return sameAccount
	}
	return differentAccounts
}

// listenerProbe returns the spn check's lookup of l's SPN, or nil when it made none.
func listenerProbe(d *triage.DirectoryFacts, l triage.Listener) *triage.SPNProbe {
	if d == nil {
		return nil
	}
	spn := listenerSPN(l)
	for i, p := range d.Probes {
		if p.Kind != triage.ProbeListener {
			continue
		}
		if strings.EqualFold(p.SPN, spn) || (spn == "" && strings.EqualFold(p.For, l.FQDN)) {
			return &d.Probes[i]
		}
	}
	return nil
}

// listenerSPN returns MSSQLSvc/FQDN:PORT of l, or "" when its FQDN or port is not known.
func listenerSPN(l triage.Listener) string {
	if l.FQDN == "" || l.Port == 0 {
		return ""
	}
	return "MSSQLSvc/" + l.FQDN + ":" + strconv.Itoa(l.Port)
}

func judgeListener(l triage.Listener, t triage.Target, obs triage.Observations) []triage.Finding {
	n := namesFor(t, obs)
	shared := sharedAccountOf(l, t, obs)
	probe := listenerProbe(obs.Directory, l)
	spn := listenerSPN(l)
	if probe != nil {
		spn = probe.SPN
	}
	vars := n.with(triage.PHFQDN, l.FQDN, triage.PHSPN, spn, triage.PHAccount, shared.name)
	name := listenerName(l)
	var out []triage.Finding

	if len(shared.groups) > 1 {
		f := triage.NewFinding(triage.ListenerAccountsDiffer, vars)
		var runs []string
		for _, g := range shared.groups {
			var servers []string
			for _, ra := range g {
				servers = append(servers, ra.replica.Server)
			}
			runs = append(runs, fmt.Sprintf("%s on %s", g[0].owner, human.List(servers)))
		}
		f.Summary = fmt.Sprintf("The replicas behind the availability-group listener %s run as %d different service accounts (%s)%s: Kerberos through the listener can work only on the replicas that run as the account owning its SPN",
			name, len(shared.groups), strings.Join(runs, "; "), shared.partly())
		f.Evidence = append(f.Evidence, replicaEvidence(l)...)
		if probe != nil {
			f.Evidence = append(f.Evidence, probeEvidence(*probe))
			if owners := ownerNames(probe.Owners); len(owners) > 0 {
				f.Summary += fmt.Sprintf("; %s is registered on %s", probe.SPN, strings.Join(owners, ", "))
				// The account to standardise on is a choice; the one already holding
				// the SPN and running a replica is the one the command is written for.
				if o := replicaRunningAs(probe.Owners, shared); o != "" {
					f.Remediation = fixWithAccount(f.Remediation, triage.ListenerAccountsDiffer, vars, o)
				}
			} else {
				f.Summary += fmt.Sprintf("; %s is registered on no account", probe.SPN)
			}
		}
		out = append(out, f)
	}

	if probe == nil {
		return out
	}
	switch {
	case len(probe.Owners) == 0:
		f := triage.NewFinding(triage.ListenerSPNMissing, vars)
		f.Evidence = append(f.Evidence, probeEvidence(*probe))
		f.Evidence = append(f.Evidence, ticketEvidence(obs.Directory, probe.SPN)...)
		f.Summary = fmt.Sprintf("%s, the SPN of the availability-group listener %s, is not registered on any account: clients that connect through the listener fall back to NTLM, or fail where NTLM is refused", probe.SPN, name)
		switch {
		case len(shared.groups) > 1:
			f.Summary += ". The replicas run as different accounts (see that finding): register it on the one account they are all to run as"
		case shared.name == "":
			f.Summary += "; the replicas' service account is not known, so give it to have the exact command"
		case shared.fromHost:
			f.Summary += fmt.Sprintf(". It belongs on the account every replica runs as: %s, which SQL Server on %s runs as (the other replicas' accounts were not read)", shared.name, t.ShortName())
			f.Evidence = append(f.Evidence, replicaEvidence(l)...)
		default:
			f.Summary += fmt.Sprintf(". It belongs on %s, the account every replica runs as%s", shared.name, shared.partly())
			f.Evidence = append(f.Evidence, replicaEvidence(l)...)
		}
		f.Summary += ". Microsoft documents only this form, with the port, for a listener"
		out = append(out, f)
	case len(shared.groups) <= 1 && shared.name != "":
		var wrong []triage.Account
		held := false
		for _, o := range probe.Owners {
			switch namedBy(o, shared.name) {
			case differentAccounts:
				wrong = append(wrong, o)
			case sameAccount:
				held = true
			}
		}
		if len(wrong) == 0 {
			return out
		}
		f := triage.NewFinding(triage.ListenerSPNWrongAccount, n.with(triage.PHFQDN, l.FQDN, triage.PHSPN, probe.SPN,
			triage.PHAccount, shared.name, triage.PHWrong, wrong[0].Name()))
		var what []string
		for _, o := range wrong {
			what = append(what, describeOwner(o, l, t))
		}
		if shared.fromHost || len(shared.unknown) > 0 {
			// The account the replicas share is not established: an owner judged wrong
			// may be the account every other replica runs as, and removing the SPN
			// from it would break Kerberos through the listener on all of them.
			unconfirmed(&f, l, probe.SPN, name, what, shared, t)
		} else {
			f.Remediation = nil
			for _, o := range wrong {
				f.Remediation = append(f.Remediation, triage.NewStep(fmt.Sprintf("Remove the SPN from %s (%s)", o.Name(), o.DN),
					setspn("-D", triage.PHSPN, triage.PHWrong), map[string]string{triage.PHSPN: probe.SPN, triage.PHWrong: o.Name()}))
			}
			if !held {
				f.Remediation = append(f.Remediation, triage.NewStep("Register it on the account every replica runs as",
					setspn("-S", triage.PHSPN, triage.PHAccount), map[string]string{triage.PHSPN: probe.SPN, triage.PHAccount: shared.name}))
			}
			f.Summary = fmt.Sprintf("%s, the SPN of the availability-group listener %s, is registered on %s, not on %s, the account the replicas run as",
				probe.SPN, name, human.List(what), shared.name)
			if held {
				f.Summary += fmt.Sprintf(" (%s holds it too: the KDC cannot tell which key to use)", shared.name)
			}
		}
		f.Evidence = append(f.Evidence, probeEvidence(*probe))
		f.Evidence = append(f.Evidence, replicaEvidence(l)...)
		f.Evidence = append(f.Evidence, ticketEvidence(obs.Directory, probe.SPN)...)
		out = append(out, f)
	}
	return out
}

// unconfirmed turns f, a listener.spn_wrong_account judged against an account not
// every replica is known to run as (the triaged host's own, or the one shared by the
// replicas whose account was read), into a warning that asks for the unknown
// replicas' accounts: it removes the SPN from no account, since the owner judged
// wrong may be the account every other replica runs as, the triaged host being the
// odd one out.
func unconfirmed(f *triage.Finding, l triage.Listener, spn, name string, what []string, shared sharedAccount, t triage.Target) {
	f.Severity = triage.Warning
	unknown := shared.unknown
	if len(unknown) == 0 {
		for _, r := range l.Replicas {
			unknown = append(unknown, cmp.Or(r.Server, r.FQDN))
		}
	}
	basis := fmt.Sprintf("%s, the account the replicas whose account was read run as", shared.name)
	if shared.fromHost {
		basis = fmt.Sprintf("%s, the account SQL Server on %s runs as", shared.name, t.ShortName())
	}
	f.Summary = fmt.Sprintf("%s, the SPN of the availability-group listener %s, is registered on %s, not on %s; what %s %s as was not read, so it is not known which account every replica runs as. If the others run as the account that holds the SPN, this replica is the one on another account and the SPN is where they need it: give the replicas' accounts before removing it from any account",
		spn, name, human.List(what), basis, human.List(unknown), human.Plural(len(unknown), "runs", "run"))
	// sys.dm_server_services: "sys.dm_server_services (Transact-SQL)",
	// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-server-services-transact-sql
	f.Remediation = []triage.Step{
		triage.NewStep(fmt.Sprintf("On each replica whose service account was not read (%s), see what SQL Server runs as", human.List(unknown)),
			triage.NewCommand(triage.ShellTSQL, "SELECT servicename, service_account FROM sys.dm_server_services;"), nil),
		{Text: "If every replica runs as one account and another account holds the SPN, remove it from that account (setspn -D) and register it on the replicas' account (setspn -S). If the replicas run as different accounts, make them run as one first (listener.accounts_differ): removing the SPN from the account the other replicas run as breaks Kerberos through the listener on all of them"},
	}
}

// fixWithAccount returns steps with the catalog steps of cause filled with account
// as <ACCOUNT>.
func fixWithAccount(steps []triage.Step, cause triage.CauseID, vars map[string]string, account string) []triage.Step {
	v := make(map[string]string, len(vars)+1)
	for k, x := range vars {
		v[k] = x
	}
	v[triage.PHAccount] = account
	return triage.NewFinding(cause, v).Remediation
}

// replicaRunningAs returns the owner, as setspn takes it, that is the account some
// replica runs as, or "" when none or several owners are.
func replicaRunningAs(owners []triage.Account, s sharedAccount) string {
	found := ""
	for _, o := range owners {
		for _, ra := range s.accounts {
			if namedBy(o, ra.owner) == sameAccount {
				if found != "" && found != ra.owner {
					return ""
				}
				found = ra.owner
			}
		}
	}
	return found
}

// describeOwner names an owner of a listener's SPN for the reader: a replica's
// computer account, the listener's own computer object (the cluster's virtual computer
// object for the listener name, "Configure a listener for an Always On availability
// group", Windows Permissions), or an account.
func describeOwner(o triage.Account, l triage.Listener, t triage.Target) string {
	if strings.EqualFold(o.Class, "computer") || strings.HasSuffix(o.SAMAccountName, "$") {
		host := strings.TrimSuffix(o.SAMAccountName, "$")
		short, _, _ := strings.Cut(firstNonEmptyString(l.FQDN, l.Name), ".")
		if strings.EqualFold(host, short) || strings.EqualFold(host, truncate15(short)) {
			return fmt.Sprintf("%s, the listener's own computer object", o.Name())
		}
		for _, r := range l.Replicas {
			rh, _, _ := strings.Cut(r.Server, `\`)
			if strings.EqualFold(host, rh) || strings.EqualFold(host, truncate15(rh)) {
				return fmt.Sprintf("%s, the computer account of the replica %s", o.Name(), r.Server)
			}
		}
		return fmt.Sprintf("%s, a computer account", o.Name())
	}
	return o.Name()
}

func truncate15(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}

func firstNonEmptyString(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// listenerName names a listener for the reader: its FQDN, with the availability group
// when SQL Server named it.
func listenerName(l triage.Listener) string {
	s := firstNonEmptyString(l.FQDN, l.Name)
	if l.Group != "" {
		s += " (availability group " + l.Group + ")"
	}
	return s
}

func ownerNames(owners []triage.Account) []string {
	var out []string
	for _, o := range owners {
		out = append(out, o.Name())
	}
	return out
}

// probeEvidence is the spn check's lookup of a listener's SPN.
func probeEvidence(p triage.SPNProbe) triage.Evidence {
	text := fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN", p.SPN)
	if len(p.Owners) > 0 {
		var owners []string
		for _, o := range p.Owners {
			owners = append(owners, fmt.Sprintf("%s (%s)", o.Name(), o.DN))
		}
		text = fmt.Sprintf("setspn -Q %s: registered on %s", p.SPN, strings.Join(owners, ", "))
	}
	return triage.Evidence{Check: "spn", Source: triage.SourceDirectory, Text: text}
}

// replicaEvidence says what each replica of l runs as, or why it could not be asked.
func replicaEvidence(l triage.Listener) []triage.Evidence {
	var out []triage.Evidence
	for _, r := range l.Replicas {
		switch {
		case r.ServiceAccount != "":
			out = append(out, triage.Evidence{Check: checkInstances, Source: triage.SourceSQL,
				Text: fmt.Sprintf("replica %s of the listener %s runs as %s (sys.dm_server_services)", r.Server, listenerName(l), r.ServiceAccount)})
		case r.Err != "":
			out = append(out, triage.Evidence{Check: checkInstances, Source: triage.SourceSQL,
				Text: fmt.Sprintf("replica %s of the listener %s could not be asked what it runs as: %s", r.Server, listenerName(l), r.Err)})
		}
	}
	return out
}
