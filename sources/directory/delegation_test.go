package directory

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// A delegationSource is what checks of the second hop need of a directory; Client and
// LDIF both answer it, over the same fixture, with the same semantics.
type delegationSource interface {
	Delegation(ctx context.Context, name, role string) triage.DelegationAccount
}

var (
	_ delegationSource = (*Client)(nil)
	_ delegationSource = (*LDIF)(nil)
)

// delegationFixture is an export of corp.example with the accounts of a delegation
// path: svc_web (protocol transition, allowed to both sqlbe SPN forms), svc_sqlrbcd
// (a security descriptor allowing CORP\svc_webrbcd, CHILD\svc_webrbcd, BUILTIN\Administrators and
// an unknown SID, denying CORP\svc_evil), svc_badsd (a descriptor cut short), bob
// (NOT_DELEGATED), carol (Protected Users through Tier0 Admins, which is in a loop of
// groups), dave (directly, a memberOf spelt differently), erin (through her primary
// group), alice (no such membership). Entries carry tokenGroups for the fake server.
const delegationFixture = "testdata/delegation.ldf"

func TestDelegation(t *testing.T) {
	sid := func(rid string) string { return tDomain + "-" + rid }
	tests := []struct {
		name, role string
		// account is the sAMAccountName and SID (RID) Account must have; "" for none.
		account, rid string
		uac          int
		allowedTo    []string
		allowed      []triage.Principal
		denied       []triage.Principal
		protected    bool
		err          string // in Err from both sources; "" for none
		liveErr      string // in Err from the Client only
	}{
		{name: `CORP\svc_web`, role: "front end", account: "svc_web", rid: "1101",
			uac:       triage.UACNormalAccount | triage.UACTrustedToAuthForDelegation,
			allowedTo: []string{"MSSQLSvc/sqlbe.corp.example:1433", "MSSQLSvc/sqlbe.corp.example"}},
		{name: "svc_sqlrbcd@corp.example", role: "back end", account: "svc_sqlrbcd", rid: "1120",
			uac: triage.UACNormalAccount,
			allowed: []triage.Principal{
				{SID: tWeb, Name: `CORP\svc_webrbcd`},
				{SID: tChildWeb, Name: `CHILD\svc_webrbcd`},
				{SID: tAdmins, Name: `BUILTIN\Administrators`},
				{SID: "S-1-5-21-9-9-9-1000"},
			},
			denied: []triage.Principal{{SID: tEvil, Name: `CORP\svc_evil`}}},
		{name: "svc_badsd", role: "back end", account: "svc_badsd", rid: "1130", uac: triage.UACNormalAccount,
			allowedTo: []string{"MSSQLSvc/sqlbe.corp.example:1433"},
			err:       "msDS-AllowedToActOnBehalfOfOtherIdentity of CN=svc_badsd,CN=Users,DC=corp,DC=example: malformed security descriptor: DACL at offset 20: AclSize 44 runs past the end (10 bytes left)",
			liveErr:   "returned no tokenGroups"},
		{name: "bob", role: "user", account: "bob", rid: "1202", uac: triage.UACNormalAccount | triage.UACNotDelegated},
		{name: "alice", role: "user", account: "alice", rid: "1201", uac: triage.UACNormalAccount},
		{name: "carol", role: "user", account: "carol", rid: "1203", uac: triage.UACNormalAccount, protected: true},
		{name: `corp\DAVE`, role: "user", account: "dave", rid: "1204", uac: triage.UACNormalAccount, protected: true},
		{name: "erin", role: "user", account: "erin", rid: "1205", uac: triage.UACNormalAccount, protected: true},
		{name: "nobody", role: "user"},
		{name: "svc*", role: "user", err: "account name"},
		{name: `OTHER\alice`, role: "user", err: "OTHER"},
	}
	sources := map[string]delegationSource{
		"ldif": loadFixture(t, delegationFixture),
		"ldap": newTestClient(t, newFakeServer(t, delegationFixture)),
	}
	for kind, src := range sources {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				got := src.Delegation(t.Context(), tt.name, tt.role)
				if got.Name != tt.name || got.Role != tt.role {
					t.Errorf("Name, Role = %q, %q; want %q, %q", got.Name, got.Role, tt.name, tt.role)
				}
				switch {
				case tt.account == "" && got.Account != nil:
					t.Errorf("Account = %s; want none", got.Account.DN)
				case tt.account != "" && got.Account == nil:
					t.Fatalf("no Account; Err %q", got.Err)
				case tt.account != "":
					a := got.Account
					if a.SAMAccountName != tt.account || a.SID != sid(tt.rid) || a.UAC != tt.uac {
						t.Errorf("Account = %s %s UAC %#x; want %s %s UAC %#x", a.SAMAccountName, a.SID, a.UAC, tt.account, sid(tt.rid), tt.uac)
					}
				}
				if diff := cmp.Diff(tt.allowedTo, got.AllowedToDelegateTo); diff != "" {
					t.Errorf("AllowedToDelegateTo (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.allowed, got.AllowedToActOnBehalf); diff != "" {
					t.Errorf("AllowedToActOnBehalf (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.denied, got.DeniedToActOnBehalf); diff != "" {
					t.Errorf("DeniedToActOnBehalf (-want +got):\n%s", diff)
				}
				if got.ProtectedUser != tt.protected {
					t.Errorf("ProtectedUser = %v; want %v", got.ProtectedUser, tt.protected)
				}
				var wants []string
				if tt.err != "" {
					wants = append(wants, tt.err)
				}
				if kind == "ldap" && tt.liveErr != "" {
					wants = append(wants, tt.liveErr)
				}
				if len(wants) == 0 && got.Err != "" {
					t.Errorf("Err = %q; want none", got.Err)
				}
				for _, w := range wants {
					if !strings.Contains(got.Err, w) {
						t.Errorf("Err = %q; want it to hold %q", got.Err, w)
					}
				}
			})
		}
	}
}

// TestDelegationSIDFilters: the principals of a descriptor reach the server as
// equality tests of objectSid with every byte escaped.
func TestDelegationSIDFilters(t *testing.T) {
	fake := newFakeServer(t, delegationFixture)
	c := newTestClient(t, fake)
	if got := c.Delegation(t.Context(), "svc_sqlrbcd", "back end"); got.Err != "" || len(got.AllowedToActOnBehalf) != 4 {
		t.Fatalf("Delegation = %+v", got)
	}
	filters, _, _ := fake.stats()
	var sidFilter string
	for _, f := range filters {
		if strings.Contains(strings.ToLower(f), "objectsid") {
			sidFilter = f
		}
	}
	p, err := ldap.CompileFilter(sidFilter)
	if err != nil {
		t.Fatalf("filter %q: %v", sidFilter, err)
	}
	var got []string
	for _, node := range filterNodes(p) {
		switch node.Tag {
		case ldap.FilterOr:
		case ldap.FilterEqualityMatch:
			if !strings.EqualFold(node.Children[0].Data.String(), "objectSid") {
				t.Errorf("filter %q tests %s", sidFilter, node.Children[0].Data.String())
			}
			s, err := decodeSID(node.Children[1].Data.String())
			if err != nil {
				t.Errorf("filter %q: %v", sidFilter, err)
			}
			got = append(got, s)
		default:
			t.Errorf("filter %q has a node of tag %d", sidFilter, node.Tag)
		}
	}
	want := []string{tWeb, tChildWeb, tAdmins, "S-1-5-21-9-9-9-1000", tEvil}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SIDs searched for (-want +got):\n%s", diff)
	}
}

// TestLDIFDelegationMembership: an export that cannot show membership of Protected
// Users says so rather than answering no.
func TestLDIFDelegationMembership(t *testing.T) {
	const alice = `dn: CN=alice,CN=Users,DC=corp,DC=example
objectClass: user
sAMAccountName: alice
objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YosQQAAA==
`
	const pu = `dn: CN=Protected Users,CN=Users,DC=corp,DC=example
objectClass: group
objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoDQIAAA==
`
	tests := []struct {
		name, ldif, err string
		protected       bool
	}{
		{"no Protected Users group", alice, "holds no group with objectSid " + tDomain + "-525", false},
		{"no memberOf or member at all", alice + "\n" + pu, "holds no memberOf or member values", false},
		{"member values only", alice + "\n" + pu + "member: CN=alice,CN=Users,DC=corp,DC=example\n", "", true},
		{"memberOf of another group", alice + "memberOf: CN=Other,CN=Users,DC=corp,DC=example\n\n" + pu, "", false},
		{"no objectSid", strings.Replace(alice, "objectSid", "x", 1) + "\n" + pu, "is not the SID of a domain account", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := LoadLDIF(strings.NewReader(tt.ldif), "x.ldf")
			if err != nil {
				t.Fatal(err)
			}
			got := l.Delegation(t.Context(), "alice", "user")
			if got.Account == nil || got.ProtectedUser != tt.protected || (tt.err == "") != (got.Err == "") || !strings.Contains(got.Err, tt.err) {
				t.Errorf("Delegation = %+v; want ProtectedUser %v, Err holding %q", got, tt.protected, tt.err)
			}
		})
	}
	// A group repeated is an error of the export, as a repeated account is.
	if _, err := LoadLDIF(strings.NewReader(pu+"\n"+pu), "x.ldf"); err == nil || !strings.Contains(err.Error(), "x.ldf:5: dn") {
		t.Errorf("LoadLDIF of a repeated group: %v", err)
	}
}

// FuzzLDIFDelegation: whatever LoadLDIF accepts, Delegation answers for each of its
// accounts without panicking, with the account it names.
func FuzzLDIFDelegation(f *testing.F) {
	data, err := os.ReadFile(delegationFixture)
	if err != nil {
		f.Fatal(err)
	}
	text := string(data)
	for _, from := range []string{"dn: CN=Protected Users", "dn: CN=svc_sqlrbcd", "dn: CN=carol"} {
		if i := strings.Index(text, from); i >= 0 {
			f.Add(firstEntries(text[i:], 3))
		}
	}
	f.Add("dn: CN=a,DC=x\nobjectClass: user\nsAMAccountName: a\nobjectSid: S-1-5-21-1-2-3-1000\nmemberOf: CN=g,DC=x\n" +
		"msDS-AllowedToActOnBehalfOfOtherIdentity:: AQAEgAAAAAAAAAAAAAAAABQAAAAEAAgAAAAAAA==\n\n" +
		"dn: CN=g,DC=x\nobjectClass: group\nobjectSid: S-1-5-21-1-2-3-525\nmember: CN=a,DC=x\nmemberOf: CN=a,DC=x\n")
	f.Fuzz(func(t *testing.T, text string) {
		l, err := LoadLDIF(strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		for _, a := range l.accounts {
			if a.SAMAccountName == "" || !a.user {
				continue
			}
			got := l.Delegation(t.Context(), a.SAMAccountName, "user")
			if got.Account != nil && !got.Account.SameAs(a.Account) && got.Err == "" {
				// Another account of the same name in another domain can answer; it
				// must still be one of the export's.
				if _, ok := l.principals.byDN[normDN(got.Account.DN)]; !ok {
					t.Fatalf("Delegation(%s) answered with %s, not an account of the export", a.SAMAccountName, got.Account.DN)
				}
			}
			if got.ProtectedUser && strings.Contains(got.Err, "membership of Protected Users unknown") {
				t.Fatalf("Delegation(%s) is protected and unknown: %+v", a.SAMAccountName, got)
			}
		}
	})
}
