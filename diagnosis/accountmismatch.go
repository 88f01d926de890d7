package diagnosis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// accountMismatchRule reports a service account, given by the inventory or
// --service-account, that is not the account SQL Server says it runs as (its ERRORLOG
// at start-up: "The service account is 'CORP\svc_sql01'.", else sys.dm_server_services
// through the sql check). SQL Server knows what it runs as: the SPN findings and the
// commands of every finding then use the account it reports, and a configured account
// the directory does not have is reported here, as a likely typo, rather than as
// account.not_found. Names are compared as Windows writes them (DOMAIN\name and
// name@dns.domain, ignoring case), through the directory objects read when there are
// some, and a service running as a virtual account, LocalSystem or NetworkService is
// the computer account on the network; when the evidence cannot tell two names apart,
// nothing is reported.
type accountMismatchRule struct{}

func (accountMismatchRule) Name() string { return "account-mismatch" }

func (accountMismatchRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	r := runAsOf(t, obs)
	if !r.differ {
		return nil
	}
	n := namesFor(t, obs)
	f := triage.NewFinding(triage.AccountMismatch, n.with(triage.PHAccount, r.reported, triage.PHWrong, r.configured))
	f.Evidence = append(f.Evidence, r.evidence)
	d := obs.Directory
	switch {
	case d != nil && d.ServiceAccountMissing != "":
		f.Evidence = append(f.Evidence, triage.Evidence{Check: "account", Source: triage.SourceDirectory,
			Text: fmt.Sprintf("no account named %s in the directory", d.ServiceAccountMissing)})
		f.Summary += fmt.Sprintf("; the directory has no account %s (a typo?), so the state of %s was not read: correct the service account and triage again",
			r.configured, r.reported)
	case d != nil && d.ServiceAccount != nil:
		f.Evidence = append(f.Evidence, triage.Evidence{Check: "account", Source: triage.SourceDirectory,
			Text: fmt.Sprintf("the account check read %s (%s), the configured account", d.ServiceAccount.Name(), d.ServiceAccount.DN)})
		f.Summary += fmt.Sprintf("; the account check read %s, not SQL Server's account: correct the service account and triage again to read the state of %s",
			d.ServiceAccount.Name(), r.reported)
	}
	if d != nil && len(d.SPNs) > 0 {
		f.Summary += fmt.Sprintf("; the SPNs' owners are compared with %s", r.reported)
	}
	return []triage.Finding{f}
}

// runAs is what the evidence says about the account SQL Server runs as.
type runAs struct {
	configured string          // the inventory's service_account or --service-account; "" when not given
	reported   string          // what SQL Server says it runs as; "" when it was not read
	evidence   triage.Evidence // where reported comes from
	// differ is set when configured and reported are different accounts, as far as the
	// evidence tells; the reported one is then the one to use.
	differ bool
	// object is the directory object of the account SQL Server runs as (the computer
	// account for a virtual account), when a check read it: the account check's for the
	// configured account when it is SQL Server's, else an owner of a required SPN
	// that the reported name names. nil when not known.
	object *triage.Account
}

// name returns the account SQL Server runs as, as best known: the reported one when
// it differs from the configured one or nothing is configured.
func (r runAs) name() string {
	if r.differ || r.configured == "" {
		return r.reported
	}
	return r.configured
}

// runAsOf compares the configured service account with the one SQL Server reports: the
// ERRORLOG's start-up message first, as the account the running instance started as,
// else the service_account of sys.dm_server_services when every instance logged in to
// reports the same one.
func runAsOf(t triage.Target, obs triage.Observations) runAs {
	r := runAs{configured: t.ServiceAccount}
	if s := obs.Server; s != nil && s.ServiceAccount != "" {
		r.reported = s.ServiceAccount
		at := ""
		if !s.StartedAt.IsZero() {
			at = " at the start-up of " + s.StartedAt.Format("2006-01-02 15:04:05 -07:00")
		}
		r.evidence = triage.Evidence{Check: s.Check, Source: triage.SourceErrorlog, Time: s.StartedAt,
			Text: fmt.Sprintf("ERRORLOG%s: The service account is '%s'.", at, s.ServiceAccount)}
	} else if a, addr := sqlServiceAccount(obs.SQL); a != "" {
		r.reported = a
		r.evidence = triage.Evidence{Check: "sql", Source: triage.SourceSQL,
			Text: fmt.Sprintf("sys.dm_server_services on %s: service_account %s", addr, a)}
	} else if a, in := discoveredServiceAccount(t, obs.Instances); a != "" {
		r.reported = a
		r.evidence = triage.Evidence{Check: "instances", Source: triage.SourceSQL,
			Text: fmt.Sprintf("sys.dm_server_services on %s: service_account %s", in, a)}
	}
	d := obs.Directory
	if r.reported != "" && r.configured != "" {
		r.differ = compareAccounts(r.configured, r.reported, t, d) == differentAccounts
	}
	if d == nil {
		return r
	}
	if !r.differ && d.ServiceAccount != nil {
		r.object = d.ServiceAccount
	} else if r.reported != "" {
		r.object = knownAccount(r.reported, t, d)
	}
	return r
}

// sqlServiceAccount returns the service account the instances logged in to report, and
// the address of the first, when they all report the same; "" otherwise.
func sqlServiceAccount(logins []triage.SQLLogin) (account, addr string) {
	for _, l := range logins {
		switch {
		case l.ServiceAccount == "":
		case account == "":
			account, addr = l.ServiceAccount, l.Address
		case !strings.EqualFold(account, l.ServiceAccount):
			return "", ""
		}
	}
	return account, addr
}

// discoveredServiceAccount returns the service account the target's instances said
// they run as when discovery asked them (InstanceView.ServiceAccount), and the first
// of them, when they all say the same; "" otherwise.
func discoveredServiceAccount(t triage.Target, f *triage.InstanceFacts) (account, instance string) {
	if f == nil {
		return "", ""
	}
	for _, v := range f.Instances {
		asked := len(t.Instances) == 0 || slices.ContainsFunc(t.Instances, func(in triage.Instance) bool {
			return in.IsDefault() == v.IsDefault() && (in.IsDefault() || strings.EqualFold(in.Name, v.Name))
		})
		switch {
		case v.ServiceAccount == "" || !asked:
		case account == "":
			account, instance = v.ServiceAccount, v.Name
		case !strings.EqualFold(account, v.ServiceAccount):
			return "", ""
		}
	}
	return account, instance
}

// sameness is the answer to "are these two names the same account?".
type sameness int

const (
	cannotTell sameness = iota
	sameAccount
	differentAccounts
)

// compareAccounts tells whether two account names, as Windows and SQL Server write
// them, are the same account: both running as the computer account on the network
// (virtual accounts, LocalSystem, NetworkService, HOST$); the same directory object
// among those the checks read (by SID or DN); else by name, ignoring case, with
// DOMAIN\name and name@dns.domain the same when a directory object pairs the NetBIOS
// and DNS names of the domain. A name the directory has no account for is another
// account than one it has.
func compareAccounts(a, b string, t triage.Target, d *triage.DirectoryFacts) sameness {
	ca, cb := isComputer(a, t), isComputer(b, t)
	switch {
	case ca && cb:
		return sameAccount
	case ca != cb:
		return differentAccounts
	}
	if d != nil && d.ServiceAccountMissing != "" {
		missing := func(n string) bool { return strings.EqualFold(n, d.ServiceAccountMissing) }
		if missing(a) != missing(b) {
			return differentAccounts
		}
	}
	oa, ob := knownAccount(a, t, d), knownAccount(b, t, d)
	switch {
	case oa != nil && ob != nil:
		if oa.SameAs(*ob) {
			return sameAccount
		}
		return differentAccounts
	case oa != nil:
		return namedBy(*oa, b)
	case ob != nil:
		return namedBy(*ob, a)
	}
	na, nb := splitAccount(a), splitAccount(b)
	switch {
	case na.domain == "" || nb.domain == "":
		if strings.EqualFold(na.name, nb.name) {
			return sameAccount
		}
		if na.dns || nb.dns { // a UPN's prefix need not be the sAMAccountName
			return cannotTell
		}
		return differentAccounts
	case na.dns == nb.dns:
		if strings.EqualFold(na.name, nb.name) && strings.EqualFold(na.domain, nb.domain) {
			return sameAccount
		}
		if na.dns {
			return cannotTell // user@corp.example may be a UPN with another prefix
		}
		return differentAccounts
	}
	// DOMAIN\name against name@dns.domain: the same only when the names match and a
	// directory object says the NetBIOS name belongs to that DNS domain.
	if !strings.EqualFold(na.name, nb.name) {
		return cannotTell
	}
	netbios, dns := na.domain, nb.domain
	if na.dns {
		netbios, dns = nb.domain, na.domain
	}
	switch known := netbiosOf(dns, d); {
	case known == "":
		return cannotTell
	case strings.EqualFold(known, netbios):
		return sameAccount
	}
	return differentAccounts
}

// namedBy tells whether name names the directory object a.
func namedBy(a triage.Account, name string) sameness {
	if a.Named(name) {
		return sameAccount
	}
	if n := splitAccount(name); n.dns && n.domain != "" && a.UPN == "" {
		return cannotTell // the UPN was not read: name may be it
	}
	return differentAccounts
}

// knownAccount returns the directory object name names among those the checks read
// (the account check's and the owners of the required SPNs), the computer account for a
// virtual account, or nil when none or several different ones match.
func knownAccount(name string, t triage.Target, d *triage.DirectoryFacts) *triage.Account {
	if d == nil {
		return nil
	}
	var found *triage.Account
	consider := func(a *triage.Account) bool {
		ok := a.Named(name) || (isComputer(name, t) && strings.EqualFold(a.SAMAccountName, t.ComputerAccount()))
		if !ok {
			return true
		}
		if found != nil && !found.SameAs(*a) {
			found = nil
			return false
		}
		found = a
		return true
	}
	if d.ServiceAccount != nil && !consider(d.ServiceAccount) {
		return nil
	}
	for i := range d.SPNs {
		for j := range d.SPNs[i].Owners {
			if !consider(&d.SPNs[i].Owners[j]) {
				return nil
			}
		}
	}
	return found
}

// netbiosOf returns the NetBIOS name of DNS domain dns as a directory object read by
// the checks gives it, or "".
func netbiosOf(dns string, d *triage.DirectoryFacts) string {
	if d == nil {
		return ""
	}
	var accts []triage.Account
	if d.ServiceAccount != nil {
		accts = append(accts, *d.ServiceAccount)
	}
	for _, so := range d.SPNs {
		accts = append(accts, so.Owners...)
	}
	for _, a := range accts {
		if a.NetBIOSDomain != "" && strings.EqualFold(a.Domain, dns) {
			return a.NetBIOSDomain
		}
	}
	return ""
}

// isComputer reports whether a service running as account is the target's computer
// account on the network: a virtual account, LocalSystem or NetworkService, or HOST$
// itself.
func isComputer(account string, t triage.Target) bool {
	if triage.IsVirtualAccount(account) {
		return true
	}
	n := splitAccount(account)
	return t.ShortName() != "" && strings.EqualFold(n.name, t.ComputerAccount())
}

// accountParts is an account name split as Windows writes it.
type accountParts struct {
	name   string // sAMAccountName, or a UPN's prefix
	domain string // "" for a bare name
	dns    bool   // domain is a DNS name (name@dns.domain); else NetBIOS (DOMAIN\name)
}

func splitAccount(s string) accountParts {
	s = strings.TrimSpace(s)
	if d, n, ok := strings.Cut(s, `\`); ok {
		if d == "." {
			d = ""
		}
		return accountParts{name: n, domain: d}
	}
	if n, d, ok := strings.Cut(s, "@"); ok {
		return accountParts{name: n, domain: strings.TrimSuffix(d, "."), dns: true}
	}
	return accountParts{name: s}
}
