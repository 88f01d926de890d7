package directory_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

// TestLDIFThatProvesNothing checks that an export without anything about what is asked
// says so, where a directory would answer that nothing is there.
func TestLDIFThatProvesNothing(t *testing.T) {
	corp, err := os.ReadFile("testdata/corp.ldf")
	if err != nil {
		t.Fatal(err)
	}
	const (
		noEntries  = "the LDIF x.ldf holds no entries, so it shows nothing about the directory"
		noAccounts = "the LDIF x.ldf holds no accounts (objects of class user), so it shows nothing about them"
		noSPNs     = "the LDIF x.ldf holds no servicePrincipalName values (was it exported without them?), so it shows nothing about SPNs"
		otherSPN   = "MSSQLSvc/sqlhost01.other.example:1433"
		notOther   = "the LDIF x.ldf holds nothing about the domain other.example (its accounts are of corp.example)"
	)
	accountNoSPN := "dn: CN=svc_sql01,OU=Service Accounts,DC=corp,DC=example\nobjectClass: user\nsAMAccountName: svc_sql01\nuserAccountControl: 512\n"
	tests := []struct {
		name, ldif string
		spn        string // looked up with FindSPN
		spnErr     string // "" when FindSPN answers
		account    string
		accountErr string // "" when Account answers (found or ErrNotFound)
		computer   string
		scanErr    string
	}{
		{name: "empty", ldif: "", spn: "MSSQLSvc/sqlhost01.corp.example:1433", spnErr: noEntries,
			account: `CORP\svc_sql01`, accountErr: noEntries, computer: "sqlhost01.corp.example", scanErr: noEntries},
		{name: "only a version line, comments and the root DSE", ldif: "version: 1\n# nothing\n\ndn:\nnamingContexts: DC=corp,DC=example\n",
			spn: "MSSQLSvc/sqlhost01.corp.example:1433", spnErr: noEntries, account: "svc_sql01@corp.example", accountErr: noEntries, scanErr: noEntries},
		{name: "entries, no account", ldif: "dn: OU=Servers,DC=corp,DC=example\nobjectClass: organizationalUnit\n",
			spn: "MSSQLSvc/sqlhost01.corp.example:1433", spnErr: noAccounts, account: "svc_sql01", accountErr: noAccounts, scanErr: noAccounts},
		{name: "accounts exported without SPNs", ldif: accountNoSPN,
			spn: "MSSQLSvc/sqlhost01.corp.example:1433", spnErr: noSPNs, account: "svc_sql01", scanErr: noSPNs},
		{name: "another domain", ldif: string(corp), spn: otherSPN, spnErr: notOther,
			account: "svc_sql01@other.example", accountErr: notOther, computer: "sqlhost01.other.example"},
		{name: "the host's domain: an SPN without owner is evidence", ldif: string(corp), spn: "MSSQLSvc/nosuchhost.corp.example:1433",
			account: "svc_nosuch@corp.example"},
		{name: "a child domain of the export's", ldif: string(corp), spn: "MSSQLSvc/sql.emea.corp.example:1433"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := directory.LoadLDIF(strings.NewReader(tt.ldif), "x.ldf")
			if err != nil {
				t.Fatalf("LoadLDIF: %v", err)
			}
			ctx := t.Context()
			so, err := l.FindSPN(ctx, tt.spn)
			wantErr(t, "FindSPN", err, tt.spnErr)
			if tt.spnErr == "" && len(so.Owners) != 0 {
				t.Errorf("FindSPN(%q) = %v; want no owner", tt.spn, so.Owners)
			}
			if tt.account != "" {
				_, err := l.Account(ctx, tt.account)
				if tt.accountErr == "" && errors.Is(err, directory.ErrNotFound) {
					err = nil
				}
				wantErr(t, "Account", err, tt.accountErr)
			}
			if tt.computer != "" {
				_, err := l.ComputerByDNSName(ctx, tt.computer)
				wantErr(t, "ComputerByDNSName", err, orDefault(tt.accountErr, tt.spnErr))
			}
			_, err = l.ScanDuplicateSPNs(ctx, "MSSQLSvc/", func(triage.SPNOwners) error { return nil })
			wantErr(t, "ScanDuplicateSPNs", err, tt.scanErr)
		})
	}
}

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s error = %v; want one with %q", what, err, want)
	case want != "" && errors.Is(err, directory.ErrNotFound):
		t.Errorf("%s error = %v; it proves nothing, so it must not be ErrNotFound", what, err)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
