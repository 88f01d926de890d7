package triage_test

import (
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestAccountNamed: the forms Windows writes an account in name the directory object,
// ignoring case; another domain or another name does not.
func TestAccountNamed(t *testing.T) {
	a := triage.Account{SAMAccountName: "svc_web", Domain: "corp.example", NetBIOSDomain: "CORP", UPN: "web@corp.example"}
	for name, want := range map[string]bool{
		`CORP\svc_web`: true, `corp\SVC_WEB`: true, `.\svc_web`: true, "svc_web": true,
		"svc_web@corp.example": true, "svc_web@corp.example.": true, "WEB@corp.example": true,
		`OTHER\svc_web`: false, "svc_web@other.example": false, "svc_webx": false, `CORP\svc_we`: false,
	} {
		if got := a.Named(name); got != want {
			t.Errorf("Named(%q) = %v, want %v", name, got, want)
		}
	}
	noNetBIOS := triage.Account{SAMAccountName: "svc_web", Domain: "corp.example"}
	if !noNetBIOS.Named(`CORP\svc_web`) {
		t.Error("without a NetBIOS domain, the DNS domain's first label should name it")
	}
}

// TestDelegationFactsFind: an account is found in its role by the name it was read
// under, else by its directory object's names; never in another role.
func TestDelegationFactsFind(t *testing.T) {
	web := triage.Account{SAMAccountName: "svc_web", Domain: "corp.example", NetBIOSDomain: "CORP"}
	d := &triage.DelegationFacts{Accounts: []triage.DelegationAccount{
		{Role: triage.RoleFrontEnd, Name: "svc_web@CORP.EXAMPLE", Account: &web},
		{Role: triage.RoleUser, Name: `CORP\alice`},
	}}
	for _, tc := range []struct {
		role, name string
		found      bool
	}{
		{triage.RoleFrontEnd, "SVC_WEB@corp.example", true},
		{triage.RoleFrontEnd, `CORP\svc_web`, true},
		{triage.RoleBackEnd, `CORP\svc_web`, false},
		{triage.RoleUser, `corp\ALICE`, true},
		{triage.RoleUser, "", false},
	} {
		if got := d.Find(tc.role, tc.name); (got != nil) != tc.found {
			t.Errorf("Find(%q, %q) = %v, want found %v", tc.role, tc.name, got, tc.found)
		}
	}
	var none *triage.DelegationFacts
	if none.Find(triage.RoleUser, "x") != nil {
		t.Error("Find on nil facts found something")
	}
}
