package testdomain

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The second hop. scripts/testdomain.sh seeds a front end per delegation fault: a user
// account running a web application, with the SPN HTTP/<name without svc_>.<domain> and
// an exported keytab, that must present its callers' identity to a back-end SQL Server
// (constrained delegation). Sources for what the KDC does with these settings:
//   - "[MS-SFU] 3.2.5.1.2 KDC Replies with Service Ticket" (the S4U2self ticket is
//     forwardable when the service has TrustedToAuthenticationForDelegation, not when
//     it only has msDS-AllowedToDelegateTo, and should not be for a DelegationNotAllowed
//     user), https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/ad98268b-f75b-42c3-b09b-959282770642
//   - "[MS-SFU] 3.2.5.2.1 Using ServicesAllowedToSendForwardedTicketsTo" (the back
//     end's SPN must be in msDS-AllowedToDelegateTo and the evidence ticket forwardable,
//     else KRB-ERR-BADOPTION), https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/6d76bf10-3c48-4e14-9992-df1bd456455e

// Front ends, the keys of Delegation.FrontEnds (sAMAccountNames).
const (
	// FrontEndWeb has protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION) and both of
	// BackEndSQL's SPNs in msDS-AllowedToDelegateTo: the working path.
	FrontEndWeb = "svc_web"
	// FrontEndNoPT has both SPNs but no protocol transition.
	FrontEndNoPT = "svc_webnopt"
	// FrontEndNoPort has protocol transition and only the port-less SPN,
	// MSSQLSvc/sqlbe.corp.test: the form with the port, which TCP clients ask for, is missing.
	FrontEndNoPort = "svc_webnoport"
	// FrontEndNone has no delegation at all.
	FrontEndNone = "svc_webnone"
	// FrontEndRBCD has no constrained delegation of its own; BackEndRBCD's
	// msDS-AllowedToActOnBehalfOfOtherIdentity names it (resource-based delegation).
	FrontEndRBCD = "svc_webrbcd"
)

// Back ends, the keys of Delegation.BackEnds (host names).
const (
	BackEndSQL  = "sqlbe"   // svc_sqlbe, MSSQLSvc/sqlbe.corp.test:1433 and MSSQLSvc/sqlbe.corp.test
	BackEndRBCD = "sqlrbcd" // svc_sqlrbcd, MSSQLSvc/sqlrbcd.corp.test:1433 only
)

// Users whose identity travels, the keys of Delegation.Users (sAMAccountNames).
const (
	UserAlice = "alice" // an ordinary user
	UserBob   = "bob"   // NOT_DELEGATED: "Account is sensitive and cannot be delegated"
	UserCarol = "carol" // a member of Protected Users
)

// KDCErrBadOption is KDC_ERR_BADOPTION (RFC 4120 section 7.5.9), the answer to every
// refused S4U2proxy request here: Samba's Heimdal KDC sends no NTSTATUS with it.
const KDCErrBadOption = 13

// Environment variables of the second hop (see scripts/testdomain.sh). Each front end's
// password is EnvPasswordStart + its upper-cased name, as for every account, and so are
// the users' and the back ends' service accounts'.
const (
	EnvDelegationFrontEnds = "AUTHTRIAGE_TEST_DELEGATION_FRONT_ENDS" // svc_web,svc_webnopt,...
	EnvDelegationBackEnds  = "AUTHTRIAGE_TEST_DELEGATION_BACK_ENDS"  // sqlbe,sqlrbcd
	EnvDelegationUsers     = "AUTHTRIAGE_TEST_DELEGATION_USERS"      // alice,bob,carol
	EnvKeytabStart         = "AUTHTRIAGE_TEST_KEYTAB_"               // + upper-cased front end: its keytab
)

// Delegation is the second hop's part of the domain. Its maps are empty when the domain
// was seeded without it (an older testdomain.sh).
type Delegation struct {
	FrontEnds map[string]FrontEnd // by sAMAccountName: FrontEndWeb, ...
	BackEnds  map[string]BackEnd  // by host: BackEndSQL, BackEndRBCD
	Users     map[string]User     // by sAMAccountName: UserAlice, ...
	// Proofs are the KDC's answers to S4U requests by the front ends, as
	// delegation_test.go checks them with MIT's kvno.
	Proofs []Proof
}

// FrontEnd is an account a front end's service runs as, with what the directory holds
// of its delegation.
type FrontEnd struct {
	Account  string // sAMAccountName: svc_web
	FQDN     string // web.corp.test (resolves to the DC's address inside the namespace)
	SPN      string // HTTP/web.corp.test, its only SPN
	Keytab   string // its keys (kvno 1: aes256, aes128, rc4); the principal is Account@Realm
	Password string
	Scenario string // one line for test names and messages
	// ProtocolTransition is userAccountControl's TRUSTED_TO_AUTH_FOR_DELEGATION
	// ("Use any authentication protocol"). No front end has TRUSTED_FOR_DELEGATION.
	ProtocolTransition bool
	// AllowedToDelegateTo is msDS-AllowedToDelegateTo as seeded.
	AllowedToDelegateTo []string
	// ResourceBased are the back ends (hosts) whose service account's
	// msDS-AllowedToActOnBehalfOfOtherIdentity allows this account.
	ResourceBased []string
}

// Principal is Account@realm.
func (f FrontEnd) Principal(realm string) string { return f.Account + "@" + realm }

// BackEnd is a back-end SQL Server host the front ends must reach.
type BackEnd struct {
	Name           string // sqlbe
	FQDN           string // sqlbe.corp.test; the host has a computer account SQLBE$
	ServiceAccount string // svc_sqlbe
	Password       string
	// SPNs are the service account's SPNs, the port form first.
	SPNs []string
	// AllowedToActOnBehalf are the accounts (sAMAccountNames) its service account's
	// msDS-AllowedToActOnBehalfOfOtherIdentity allows: resource-based delegation.
	AllowedToActOnBehalf []string
}

// SPN is the port form, MSSQLSvc/FQDN:1433.
func (b BackEnd) SPN() string { return b.SPNs[0] }

// User is a user whose identity a front end presents to a back end.
type User struct {
	Name     string // sAMAccountName: alice (UPN alice@corp.test, principal alice@CORP.TEST)
	Password string
	// NotDelegated is userAccountControl's NOT_DELEGATED.
	NotDelegated bool
	// ProtectedUser is membership of Protected Users (a direct member).
	ProtectedUser bool
}

// A Proof is one delegation request and this KDC's answer: as FrontEnd, with a
// forwardable TGT from its keytab (kinit -f), a ticket to itself for User (S4U2self),
// then one to SPN on the user's behalf (S4U2proxy), as `kvno -U User -P SPN` asks.
type Proof struct {
	FrontEnd, User, SPN string
	// PlainTGT: the front end's TGT was asked for without the forwardable option (kinit
	// without -f). The KDC then issues no forwardable S4U2self ticket either.
	PlainTGT bool
	// SelfForwardable: the S4U2self ticket, which the KDC issues in every case here, is
	// forwardable.
	SelfForwardable bool
	// Proxy is the KDC's answer to the S4U2proxy request: KDCOK (a ticket to SPN for
	// User) or KDCErrBadOption.
	Proxy int
	// Why is the reason, with the one Samba's KDC logs (in samba.log at log level 3).
	Why string
	// Windows is how a Windows KDC's answer differs, "" when it is the same.
	Windows string
}

// Name is "FRONT as USER to SPN" for test names.
func (p Proof) Name() string {
	n := p.FrontEnd + " as " + p.User + " to " + p.SPN
	if p.PlainTGT {
		n += " (TGT not forwardable)"
	}
	return n
}

// Samba logs these reasons with each refused S4U2proxy request.
const (
	reasonNotForwardable = `Samba: "Missing forwardable flag on ticket for constrained delegation"`
	reasonNotAllowed     = `Samba: "Constrained delegation not allowed"`
)

// frontEnds as scripts/testdomain.sh seeds them; the SPNs' host is dns-domain relative.
var frontEnds = []struct {
	account, host, text string
	pt                  bool
	allowed             []string // MSSQLSvc/ + these + "." + DNS domain
	rbcd                []string
}{
	{FrontEndWeb, "web", "protocol transition, allowed to both sqlbe SPNs: the working path",
		true, []string{"sqlbe:1433", "sqlbe"}, nil},
	{FrontEndNoPT, "webnopt", "allowed to both sqlbe SPNs, no protocol transition",
		false, []string{"sqlbe:1433", "sqlbe"}, nil},
	{FrontEndNoPort, "webnoport", "protocol transition, allowed to MSSQLSvc/sqlbe only (no port form)",
		true, []string{"sqlbe"}, nil},
	{FrontEndNone, "webnone", "no delegation", false, nil, nil},
	{FrontEndRBCD, "webrbcd", "no constrained delegation; allowed by sqlrbcd's resource-based delegation",
		false, nil, []string{BackEndRBCD}},
}

var backEnds = []struct {
	name, account string
	portless      bool // also MSSQLSvc/FQDN
	rbcd          []string
}{
	{BackEndSQL, "svc_sqlbe", true, nil},
	{BackEndRBCD, "svc_sqlrbcd", false, []string{FrontEndRBCD}},
}

var users = []struct {
	name                    string
	notDelegated, protected bool
}{
	{UserAlice, false, false},
	{UserBob, true, false},
	{UserCarol, false, true},
}

// proofs as the Samba 4.17 KDC (Heimdal) answers them; spn is "sqlbe:1433" for
// MSSQLSvc/sqlbe.<domain>:1433.
var proofs = []struct {
	front, user, spn string
	plainTGT         bool
	self             bool
	proxy            int
	why, windows     string
}{
	{FrontEndWeb, UserAlice, "sqlbe:1433", false, true, KDCOK, "the working path", ""},
	{FrontEndWeb, UserAlice, "sqlbe", false, true, KDCOK, "the working path, port-less SPN", ""},
	{FrontEndWeb, UserAlice, "sqlbe:1433", true, false, KDCErrBadOption,
		"the front end's own TGT is not forwardable, so neither is the S4U2self ticket; " + reasonNotForwardable, ""},
	{FrontEndWeb, UserBob, "sqlbe:1433", false, false, KDCErrBadOption,
		"bob is NOT_DELEGATED: his S4U2self ticket is not forwardable; " + reasonNotForwardable, ""},
	// "[MS-KILE] 3.3.5.1 Request Flag Ticket-issuing Behavior": the KDC does not set
	// FORWARDABLE for a member of Protected Users when domainControllerFunctionality is
	// 6 (2012 R2) or more, https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/f5993d64-a280-4555-9fcc-922fb934fc27
	{FrontEndWeb, UserCarol, "sqlbe:1433", false, true, KDCOK,
		"carol's S4U2self ticket is forwardable: the domain is at functional level 2008 R2, below the level at which Protected Users makes tickets not forwardable",
		"a Windows DC at functional level 2012 R2 or later does not make carol's tickets forwardable and refuses, as for bob"},
	{FrontEndNoPT, UserAlice, "sqlbe:1433", false, false, KDCErrBadOption,
		"without protocol transition the S4U2self ticket is not forwardable; " + reasonNotForwardable, ""},
	{FrontEndNoPT, UserAlice, "sqlbe", false, false, KDCErrBadOption,
		"without protocol transition the S4U2self ticket is not forwardable; " + reasonNotForwardable, ""},
	{FrontEndNoPort, UserAlice, "sqlbe:1433", false, true, KDCErrBadOption,
		"MSSQLSvc/sqlbe.corp.test:1433 is not in msDS-AllowedToDelegateTo; " + reasonNotAllowed, ""},
	{FrontEndNoPort, UserAlice, "sqlbe", false, true, KDCOK, "the port-less SPN is allowed", ""},
	{FrontEndNone, UserAlice, "sqlbe:1433", false, false, KDCErrBadOption,
		"no delegation: the S4U2self ticket is not forwardable; " + reasonNotForwardable, ""},
	// "Kerberos Constrained Delegation Overview": "The KDC always allows protocol
	// transition when performing resource-based constrained delegation as though the
	// bit were set", https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview
	{FrontEndRBCD, UserAlice, "sqlrbcd:1433", false, false, KDCErrBadOption,
		"Samba 4.17's Heimdal KDC checks msDS-AllowedToDelegateTo only, never resource-based delegation, " +
			"and refuses a ticket that is not forwardable first; " + reasonNotForwardable,
		"a Windows KDC (2012 or later) checks sqlrbcd's msDS-AllowedToActOnBehalfOfOtherIdentity, which allows svc_webrbcd, and issues the ticket"},
	{FrontEndWeb, UserAlice, "sqlrbcd:1433", false, true, KDCErrBadOption,
		"svc_web may delegate to sqlbe only, and sqlrbcd's resource-based delegation does not name it; " + reasonNotAllowed, ""},
}

// readDelegation fills d.Delegation from getenv when the domain lists the second hop's
// accounts, appending what is missing or malformed to problems.
func readDelegation(d *Domain, getenv func(string) string, problems *[]string) {
	d.Delegation = Delegation{
		FrontEnds: make(map[string]FrontEnd),
		BackEnds:  make(map[string]BackEnd),
		Users:     make(map[string]User),
	}
	lists := map[string]string{
		EnvDelegationFrontEnds: getenv(EnvDelegationFrontEnds),
		EnvDelegationBackEnds:  getenv(EnvDelegationBackEnds),
		EnvDelegationUsers:     getenv(EnvDelegationUsers),
	}
	if lists[EnvDelegationFrontEnds]+lists[EnvDelegationBackEnds]+lists[EnvDelegationUsers] == "" {
		return // seeded without the second hop
	}
	want := map[string][]string{EnvDelegationFrontEnds: nil, EnvDelegationBackEnds: nil, EnvDelegationUsers: nil}
	for _, f := range frontEnds {
		want[EnvDelegationFrontEnds] = append(want[EnvDelegationFrontEnds], f.account)
	}
	for _, b := range backEnds {
		want[EnvDelegationBackEnds] = append(want[EnvDelegationBackEnds], b.name)
	}
	for _, u := range users {
		want[EnvDelegationUsers] = append(want[EnvDelegationUsers], u.name)
	}
	for _, key := range []string{EnvDelegationFrontEnds, EnvDelegationBackEnds, EnvDelegationUsers} {
		have := strings.Split(lists[key], ",")
		for _, name := range want[key] {
			if !slices.Contains(have, name) {
				*problems = append(*problems, fmt.Sprintf("%s lacks %s: the domain was seeded by another version of testdomain.sh", key, name))
			}
		}
	}
	password := func(account string) string {
		if pw, ok := d.Passwords[account]; ok {
			return pw
		}
		key := EnvPasswordStart + strings.ToUpper(account)
		pw := getenv(key)
		if pw == "" {
			*problems = append(*problems, key+" is empty")
		}
		d.Passwords[account] = pw
		return pw
	}
	mssql := func(hostPort string) string {
		host, port, _ := strings.Cut(hostPort, ":")
		spn := "MSSQLSvc/" + host + "." + d.DNSDomain
		if port != "" {
			spn += ":" + port
		}
		return spn
	}
	for _, f := range frontEnds {
		key := EnvKeytabStart + strings.ToUpper(f.account)
		keytab := getenv(key)
		if keytab == "" {
			*problems = append(*problems, key+" is empty")
		}
		fqdn := f.host + "." + d.DNSDomain
		fe := FrontEnd{
			Account: f.account, FQDN: fqdn, SPN: "HTTP/" + fqdn, Keytab: keytab,
			Password: password(f.account), Scenario: f.text, ProtocolTransition: f.pt,
			ResourceBased: slices.Clone(f.rbcd),
		}
		for _, a := range f.allowed {
			fe.AllowedToDelegateTo = append(fe.AllowedToDelegateTo, mssql(a))
		}
		d.Delegation.FrontEnds[f.account] = fe
	}
	for _, b := range backEnds {
		spns := []string{mssql(b.name + ":1433")}
		if b.portless {
			spns = append(spns, mssql(b.name))
		}
		d.Delegation.BackEnds[b.name] = BackEnd{
			Name: b.name, FQDN: b.name + "." + d.DNSDomain, ServiceAccount: b.account,
			Password: password(b.account), SPNs: spns, AllowedToActOnBehalf: slices.Clone(b.rbcd),
		}
	}
	for _, u := range users {
		d.Delegation.Users[u.name] = User{
			Name: u.name, Password: password(u.name), NotDelegated: u.notDelegated, ProtectedUser: u.protected,
		}
	}
	for _, p := range proofs {
		d.Delegation.Proofs = append(d.Delegation.Proofs, Proof{
			FrontEnd: p.front, User: p.user, SPN: mssql(p.spn), PlainTGT: p.plainTGT,
			SelfForwardable: p.self, Proxy: p.proxy, Why: p.why, Windows: p.windows,
		})
	}
}

// FrontEnd returns the named front end, failing the test for an unknown name or a domain
// seeded without the second hop.
func (d Domain) FrontEnd(t testing.TB, account string) FrontEnd {
	t.Helper()
	f, ok := d.Delegation.FrontEnds[account]
	if !ok {
		t.Fatalf("test domain has no delegation front end %q: it was seeded by an older scripts/testdomain.sh, or the name is wrong", account)
	}
	return f
}

// BackEnd returns the named back end, failing the test as FrontEnd does.
func (d Domain) BackEnd(t testing.TB, name string) BackEnd {
	t.Helper()
	b, ok := d.Delegation.BackEnds[name]
	if !ok {
		t.Fatalf("test domain has no delegation back end %q: it was seeded by an older scripts/testdomain.sh, or the name is wrong", name)
	}
	return b
}

// User returns the named delegation user, failing the test as FrontEnd does.
func (d Domain) User(t testing.TB, name string) User {
	t.Helper()
	u, ok := d.Delegation.Users[name]
	if !ok {
		t.Fatalf("test domain has no delegation user %q: it was seeded by an older scripts/testdomain.sh, or the name is wrong", name)
	}
	return u
}
