package triage

import "strings"

// The second hop: a front end (a SQL Server with a linked server, a Reporting Services
// or IIS application pool, a middle-tier service) that must forward its callers'
// identity to a back-end SQL Server, which Kerberos delegation allows.
//
// Sources for the facts below:
//   - "[MS-ADTS] 2.2.16 userAccountControl Bits",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/dd302fd1-0aa7-406b-ad91-2a6b35738557
//     (TD 0x00080000, ND 0x00100000, TA 0x01000000).
//   - "[MS-ADA2] 2.219 Attribute msDS-AllowedToDelegateTo",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-ada2/86261ca1-154c-41fb-8e5f-c6446e77daaa
//   - "[MS-ADA2] 2.218 Attribute msDS-AllowedToActOnBehalfOfOtherIdentity",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-ada2/cea4ac11-a4b2-4f2d-84cc-aebb4a4ad405
//   - "[MS-SFU]: Kerberos Protocol Extensions: Service for User and Constrained
//     Delegation Protocol", https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/3bff5864-8135-400e-bdd9-33b552051d94

// userAccountControl flags of delegation ([MS-ADTS] 2.2.16). UACTrustedForDelegation
// (TD, unconstrained delegation) is defined with the other flags.
const (
	// UACNotDelegated (ND): "the ticket-granting tickets (TGTs) of this account and
	// the service tickets obtained by this account are not marked as forwardable or
	// proxiable": Active Directory Users and Computers calls it "Account is
	// sensitive and cannot be delegated".
	UACNotDelegated = 0x100000
	// UACTrustedToAuthForDelegation (TA): the account "obtains an S4U2self service
	// ticket (as specified in [MS-SFU]) with the forwardable flag set", that is,
	// constrained delegation with protocol transition ("Use any authentication
	// protocol").
	UACTrustedToAuthForDelegation = 0x1000000
)

// ProtectedUsersRID is the relative ID of the Protected Users group, whose members'
// tickets are not forwardable.
// Source: "Protected Users Security Group",
// https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group
const ProtectedUsersRID = 525

// A DelegationPath is one second hop the inventory names or SQL Server showed.
type DelegationPath struct {
	// FrontEnd is the front end as the inventory names it (a host), or "" for a
	// front end known by its account alone (an application pool, a service).
	FrontEnd string `json:"front_end,omitempty"`
	// Account is the account the front end's service runs as, whose delegation
	// settings the KDC applies: DOMAIN\name, name@realm, or HOST$ for a service that
	// runs as its computer.
	Account string `json:"account"`
	// BackEnd is the back-end SQL Server host, as the inventory names it or as the
	// linked server's data source gives it, and Instance the instance there.
	BackEnd  string   `json:"back_end"`
	Instance Instance `json:"instance"`
	// BackEndFQDN is the back end's fully qualified name, whose MSSQLSvc SPNs the path
	// needs (Target.SPNRequirements), and BackEndAccount its service account as the
	// back end's DelegationAccount names it (Target.SPNOwner); "" when not known.
	BackEndFQDN    string `json:"back_end_fqdn,omitempty"`
	BackEndAccount string `json:"back_end_account,omitempty"`
	// Via says how the path is known: "inventory", or "linked server NAME".
	Via string `json:"via"`
	// SelfCredential is true for a linked server whose login mapping forwards the
	// caller's own credentials (sys.linked_logins.uses_self_credential): only then
	// does the path need delegation. Paths from the inventory always do.
	SelfCredential bool `json:"self_credential"`
}

// String returns "FRONT (ACCOUNT) -> BACK[\INSTANCE]".
func (p DelegationPath) String() string {
	front := p.Account
	if p.FrontEnd != "" {
		front = p.FrontEnd + " (" + p.Account + ")"
	}
	back := p.BackEnd
	if in := p.Instance; in.Name != "" && !strings.EqualFold(in.Name, "MSSQLSERVER") {
		back += `\` + in.Name
	}
	return front + " -> " + back
}

// The roles of the accounts a delegation path depends on (DelegationAccount.Role).
const (
	RoleFrontEnd = "front end" // the front end's service account
	RoleBackEnd  = "back end"  // the back end's service account (resource-based delegation)
	RoleUser     = "user"      // a user whose identity travels
)

// DelegationAccount is what the directory says of one account a delegation path
// depends on: a front end's account, the back end's service account, or the user
// whose identity travels.
type DelegationAccount struct {
	// Role is what the account is to the path: "front end", "back end" or "user".
	Role string `json:"role"`
	// Name is the account as the path or the evidence names it.
	Name string `json:"name"`
	// Account is the directory's object; nil when not found (Err says why, or the
	// directory has no such account).
	Account *Account `json:"account,omitempty"`
	// AllowedToDelegateTo is the account's msDS-AllowedToDelegateTo: the SPNs it may
	// present its callers' identity to (constrained delegation).
	AllowedToDelegateTo []string `json:"allowed_to_delegate_to,omitempty"`
	// AllowedToActOnBehalf are the principals that msDS-AllowedToActOnBehalfOfOtherIdentity
	// (a security descriptor) allows to delegate to this account's services
	// (resource-based constrained delegation), from its DACL's access-allowed ACEs.
	AllowedToActOnBehalf []Principal `json:"allowed_to_act_on_behalf,omitempty"`
	// DeniedToActOnBehalf are the principals its access-denied ACEs name.
	DeniedToActOnBehalf []Principal `json:"denied_to_act_on_behalf,omitempty"`
	// ProtectedUser is true for a member, directly or through groups, of Protected
	// Users (RID 525 of the account's domain).
	ProtectedUser bool   `json:"protected_user,omitempty"`
	Err           string `json:"error,omitempty"`
}

// A Principal is a security principal a security descriptor names: its SID, and its
// name when the directory resolved it.
type Principal struct {
	SID  string `json:"sid"`
	Name string `json:"name,omitempty"`
}

// A DelegationProof is the KDC's answer when authtriage asked, as the front end's
// account, for a ticket to itself for a user (S4U2self) and then for a ticket to the
// back end's SPN on that user's behalf (S4U2proxy), as [MS-SFU] describes.
type DelegationProof struct {
	Path DelegationPath `json:"path"`
	User string         `json:"user"` // the user whose identity was asked for, user@REALM
	SPN  string         `json:"spn"`  // the back end's SPN asked for
	// SelfIssued and SelfForwardable describe the S4U2self ticket: issued, and marked
	// forwardable (which constrained delegation needs).
	SelfIssued      bool `json:"self_issued"`
	SelfForwardable bool `json:"self_forwardable"`
	// ProxyIssued is true when the KDC issued the ticket to the back end's SPN: the
	// path works for that user.
	ProxyIssued bool `json:"proxy_issued"`
	// Step is the request the KDC refused ("s4u2self" or "s4u2proxy"), with its
	// Kerberos error code and name; "" when nothing was refused.
	Step      string `json:"step,omitempty"`
	KDCError  int    `json:"kdc_error,omitempty"`
	ErrorName string `json:"error_name,omitempty"`
	// NTStatus is the NTSTATUS the KDC gave with its refusal (a Windows KDC's extended
	// error, [MS-KILE] 2.2.1 KERB-EXT-ERROR), such as "STATUS_NO_MATCH"; "" when it
	// gave none, as Samba's KDC does.
	NTStatus string `json:"ntstatus,omitempty"`
	// Unprovable says why the KDC cannot prove this path (for example resource-based
	// delegation on a KDC that does not implement it); "" otherwise.
	Unprovable string `json:"unprovable,omitempty"`
	// Err is why authtriage could not ask (no credentials for the front end, the KDC
	// unreachable); "" when it asked.
	Err string `json:"error,omitempty"`
}

// A LinkedServer is a linked server SQL Server showed (sys.servers with is_linked)
// and how its login mapping for the caller connects (sys.linked_logins).
type LinkedServer struct {
	Instance   Instance `json:"instance"` // the front end's instance it is defined on
	Name       string   `json:"name"`
	Product    string   `json:"product,omitempty"`
	Provider   string   `json:"provider,omitempty"`
	DataSource string   `json:"data_source,omitempty"`
	// SelfCredential is true when a mapping forwards the caller's own credentials
	// (uses_self_credential = 1), for every login (local_principal_id 0) or some.
	SelfCredential bool `json:"self_credential"`
	// SelfCredentialAll is true when that mapping is the one for every login
	// (local_principal_id 0); SelfCredential without it means some logins' own.
	SelfCredentialAll bool `json:"self_credential_all,omitempty"`
	// Complete is false when the login authtriage used may not see every linked
	// server (sys.servers shows a login only the servers mapped for it unless it has
	// ALTER ANY LINKED SERVER or ALTER ANY LOGIN).
	Complete bool `json:"complete"`
}

// DelegationFacts is what the checks of the second hop saw.
type DelegationFacts struct {
	Paths         []DelegationPath    `json:"paths,omitempty"`
	Accounts      []DelegationAccount `json:"accounts,omitempty"`
	Proofs        []DelegationProof   `json:"proofs,omitempty"`
	LinkedServers []LinkedServer      `json:"linked_servers,omitempty"`
}

// merge appends d's facts.
func (m *DelegationFacts) merge(d DelegationFacts) {
	m.Paths = append(m.Paths, d.Paths...)
	m.Accounts = append(m.Accounts, d.Accounts...)
	m.Proofs = append(m.Proofs, d.Proofs...)
	m.LinkedServers = append(m.LinkedServers, d.LinkedServers...)
}

// Find returns what the directory said of the account name in role: the one read under
// that name, else the one whose directory object name names (Account.Named); nil for
// none.
func (d *DelegationFacts) Find(role, name string) *DelegationAccount {
	if d == nil || name == "" {
		return nil
	}
	for i, a := range d.Accounts {
		if a.Role == role && strings.EqualFold(a.Name, name) {
			return &d.Accounts[i]
		}
	}
	for i, a := range d.Accounts {
		if a.Role == role && a.Account != nil && a.Account.Named(name) {
			return &d.Accounts[i]
		}
	}
	return nil
}
