package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

var errNotFound = errors.New("not found")

// fakeDir is a directory with a fixed set of accounts and SPNs.
type fakeDir struct {
	accounts map[string]triage.Account
	spns     map[string][]triage.Account
	err      error
}

func (d fakeDir) FindSPN(_ context.Context, spn string) (triage.SPNOwners, error) {
	return triage.SPNOwners{SPN: spn, Owners: d.spns[spn]}, d.err
}

func (d fakeDir) Account(_ context.Context, name string) (triage.Account, error) {
	if d.err != nil {
		return triage.Account{}, d.err
	}
	a, ok := d.accounts[name]
	if !ok {
		return a, errNotFound
	}
	return a, nil
}

func (d fakeDir) MaxPwdAge(context.Context) (time.Duration, error) { return 42 * 24 * time.Hour, d.err }

func TestSPNAndAccountChecks(t *testing.T) {
	svc := triage.Account{DN: "CN=svc,DC=corp,DC=example", SID: "S-1-5-21-1", SAMAccountName: "svc", NetBIOSDomain: "CORP"}
	host := triage.Account{DN: "CN=SQL01,DC=corp,DC=example", SID: "S-1-5-21-2", SAMAccountName: "SQL01$", NetBIOSDomain: "CORP"}
	dir := fakeDir{
		accounts: map[string]triage.Account{`CORP\svc`: svc, "SQL01$": host},
		spns:     map[string][]triage.Account{"MSSQLSvc/sql01.corp.example:1433": {svc}},
	}
	target := triage.Target{Host: "sql01", FQDN: "sql01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc`}

	res, err := SPN{Dir: dir}.Run(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Obs.Directory
	if len(d.SPNs) != 2 || len(d.SPNs[0].Owners) != 1 || len(d.SPNs[1].Owners) != 0 {
		t.Errorf("SPNs = %+v; want the port SPN on svc and the port-less one on nobody", d.SPNs)
	}

	res, err = Account{Dir: dir, NotFound: errNotFound}.Run(t.Context(), target)
	if err != nil || res.Obs.Directory.ServiceAccount == nil || res.Obs.Directory.MaxPwdAge != 42*24*time.Hour {
		t.Errorf("account = %+v, %v; want svc with the domain's maxPwdAge", res.Obs.Directory, err)
	}

	virtual := target
	virtual.ServiceAccount = `NT SERVICE\MSSQLSERVER`
	res, err = Account{Dir: dir, NotFound: errNotFound}.Run(t.Context(), virtual)
	if err != nil || res.Obs.Directory.ServiceAccount == nil || res.Obs.Directory.ServiceAccount.SAMAccountName != "SQL01$" {
		t.Errorf("virtual account = %+v, %v; want the computer account SQL01$", res.Obs.Directory, err)
	}

	missing := target
	missing.ServiceAccount = `CORP\gone`
	res, err = Account{Dir: dir, NotFound: errNotFound}.Run(t.Context(), missing)
	if err != nil || res.Obs.Directory.ServiceAccountMissing != `CORP\gone` {
		t.Errorf("missing account = %+v, %v; want it recorded as missing, no error", res.Obs.Directory, err)
	}

	broken := fakeDir{err: errors.New("ldaps://dc1: connection refused")}
	if _, err := (SPN{Dir: broken}).Run(t.Context(), target); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("SPN on a broken directory: err = %v; want the reason", err)
	}
	if _, err := (Account{Dir: broken, NotFound: errNotFound}).Run(t.Context(), target); err == nil {
		t.Errorf("Account on a broken directory: no error")
	}
}

func TestDirectoryChecksSkip(t *testing.T) {
	noFQDN := triage.Target{Host: "sql01", ServiceAccount: `CORP\svc`}
	noAccount := triage.Target{Host: "sql01", FQDN: "sql01.corp.example"}
	tests := []struct {
		name   string
		check  triage.Check
		target triage.Target
		want   string
	}{
		{"spn without directory", SPN{}, noAccount, "no directory"},
		{"spn without FQDN", SPN{Dir: fakeDir{}}, noFQDN, "FQDN is not known"},
		{"account without account", Account{Dir: fakeDir{}}, noAccount, "service account is not known"},
		{"kerberos without settings", Kerberos{}, noAccount, "no Kerberos settings"},
		{"clock without directory", Clock{NoSource: "offline"}, noAccount, "offline"},
		{"dc without directory", DC{}, noAccount, "no directory"},
		{"dns without FQDN", DNS{Resolver: fakeResolver{}}, noFQDN, "FQDN is not known"},
	}
	for _, tt := range tests {
		_, err := tt.check.Run(t.Context(), tt.target)
		if reason, ok := triage.IsSkip(err); !ok || !strings.Contains(reason, tt.want) {
			t.Errorf("%s: err = %v; want a skip saying %q", tt.name, err, tt.want)
		}
	}
}

type fakeResolver struct {
	hosts map[string][]string
	addrs map[string][]string
}

func (r fakeResolver) LookupHost(_ context.Context, h string) ([]string, error) {
	return r.hosts[h], nil
}
func (r fakeResolver) LookupAddr(_ context.Context, a string) ([]string, error) {
	return r.addrs[a], nil
}

func TestDNSCheck(t *testing.T) {
	r := fakeResolver{
		hosts: map[string][]string{"sql01.corp.example": {"192.0.2.10"}},
		addrs: map[string][]string{"192.0.2.10": {"oldsql.corp.example."}},
	}
	res, err := DNS{Resolver: r}.Run(t.Context(), triage.Target{Host: "sql01", FQDN: "sql01.corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Obs.Directory.DNS
	if f.FQDN != "sql01.corp.example" || f.ReverseFor["192.0.2.10"][0] != "oldsql.corp.example." {
		t.Errorf("DNS facts = %+v", f)
	}
}

type fakeTicketer struct {
	results []triage.TicketResult
	err     error
}

func (f fakeTicketer) Tickets(context.Context, []string) ([]triage.TicketResult, error) {
	return f.results, f.err
}

type kdcError int

func (e kdcError) Error() string { return fmt.Sprintf("KRB Error: (%d)", int(e)) }
func (e kdcError) KDCCode() int  { return int(e) }

// TestKerberosCheck: a clock-skew refusal of the checker's own logon is a fact for the
// clock rule; any other logon failure is the check's error.
func TestKerberosCheck(t *testing.T) {
	target := triage.Target{Host: "sql01", FQDN: "sql01.corp.example"}
	res, err := Kerberos{KDC: fakeTicketer{err: kdcError(37)}}.Run(t.Context(), target)
	if err != nil || len(res.Obs.Directory.Tickets) != 1 || res.Obs.Directory.Tickets[0].Code != 37 {
		t.Errorf("skew: %+v, %v; want a ticket fact with code 37 and no error", res.Obs.Directory, err)
	}
	if _, err := (Kerberos{KDC: fakeTicketer{err: kdcError(24)}}).Run(t.Context(), target); err == nil {
		t.Errorf("wrong checker password: no error")
	}
	res, err = Kerberos{KDC: fakeTicketer{results: []triage.TicketResult{{SPN: "a", OK: true}, {SPN: "b", Code: 7}}}}.Run(t.Context(), target)
	if err != nil || res.Detail != "1 of 2 service tickets issued" {
		t.Errorf("tickets: %q, %v", res.Detail, err)
	}
}
