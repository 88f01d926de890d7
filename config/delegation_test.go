package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/triage"
)

func delegationEnv(name string) string {
	return map[string]string{"CHECKER_PASSWORD": "c", "SVC_SSRS_PASSWORD": "s3cret"}[name]
}

func TestLoadDelegation(t *testing.T) {
	cfg, err := Load(t.Context(), "testdata/delegation/good.yaml", delegationEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []Delegation{
		{FrontEnd: "web01", BackEnds: []BackEnd{{Host: "sqlbe"}, {Host: "sqlrpt", Instance: triage.Instance{Port: 1433}}}, Line: 20},
		{Account: `CORP\svc_web`, BackEnds: []BackEnd{{Host: "sqlbe", Instance: triage.Instance{Name: "SALES"}},
			{Host: "sqlbe.corp.example", Instance: triage.Instance{Port: 1433}}},
			Users: []string{`CORP\alice`, "bob@corp.example"}, Keytab: "/etc/authtriage/svc_web.keytab", Line: 22},
		{FrontEnd: "web01", Account: "svc_ssrs@corp.example", BackEnds: []BackEnd{{Host: "sqlbe", Instance: triage.Instance{Name: "MSSQLSERVER"}}},
			Password: "s3cret", Line: 26},
	}
	if diff := cmp.Diff(want, cfg.Delegation, ignoreIndex); diff != "" {
		t.Errorf("delegation (-want +got):\n%s", diff)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate of a loaded Config: %v", err)
	}

	// The front end's account: the entry's, or the front end's on the network.
	for i, want := range []string{"WEB01$", `CORP\svc_web`, "svc_ssrs@corp.example"} {
		if got := cfg.FrontEndAccount(cfg.Delegation[i]); got != want {
			t.Errorf("FrontEndAccount(delegation[%d]) = %q; want %q", i, got, want)
		}
	}
	for i, want := range [][2]string{{"WEB01$", "CORP.EXAMPLE"}, {"svc_web", "CORP.EXAMPLE"}, {"svc_ssrs", "CORP.EXAMPLE"}} {
		if p, r := cfg.FrontEndPrincipal(cfg.Delegation[i]); p != want[0] || r != want[1] {
			t.Errorf("FrontEndPrincipal(delegation[%d]) = %s, %s; want %s", i, p, r, want)
		}
	}

	// A back end is its inventory host narrowed to the instance it names.
	for _, tt := range []struct {
		b    BackEnd
		want []triage.Instance
	}{
		{BackEnd{Host: "sqlbe"}, []triage.Instance{{Port: 1433}, {Name: "SALES", Port: 50123}}},
		{BackEnd{Host: "sqlbe", Instance: triage.Instance{Name: "sales"}}, []triage.Instance{{Name: "SALES", Port: 50123}}},
		{BackEnd{Host: "SQLBE.corp.example", Instance: triage.Instance{Port: 50123}}, []triage.Instance{{Name: "SALES", Port: 50123}}},
		{BackEnd{Host: "sqlbe", Instance: triage.Instance{Name: "MSSQLSERVER"}}, []triage.Instance{{Port: 1433}}},
		{BackEnd{Host: "sqlrpt", Instance: triage.Instance{Port: 1433}}, []triage.Instance{{Port: 1433}}},
	} {
		got, ok := cfg.BackEndTarget(tt.b)
		if !ok || got.FQDN == "" || got.ServiceAccount == "" || !cmp.Equal(got.Instances, tt.want) {
			t.Errorf("BackEndTarget(%s) = %+v, %v; want the inventory's host with instances %v", tt.b, got, ok, tt.want)
		}
	}
	if _, ok := cfg.BackEndTarget(BackEnd{Host: "nosuch"}); ok {
		t.Errorf("BackEndTarget of a host outside the inventory: ok")
	}
}

// TestLoadDelegationBad compares the problems of a bad delegation section with
// testdata/delegation/bad.golden (-update rewrites it).
func TestLoadDelegationBad(t *testing.T) {
	path := "testdata/delegation/bad.yaml"
	_, err := Load(t.Context(), path, nil)
	if err == nil {
		t.Fatal("no problems")
	}
	golden.Check(t, "testdata/delegation/bad.golden", []byte(err.Error()+"\n"))
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("a password shows in the problems:\n%v", err)
	}
}

func TestBackEndString(t *testing.T) {
	for _, s := range []string{"sqlbe", `sqlbe\SALES`, "sqlbe.corp.example:1433", `sqlbe\SALES:50123`} {
		b, err := parseBackEnd(s)
		if err != nil || b.String() != s {
			t.Errorf("parseBackEnd(%q) = %+v, %v; String %q", s, b, err, b.String())
		}
	}
	for _, s := range []string{"", `\SALES`, "sqlbe:", "sqlbe:0", `sqlbe\`, `sqlbe\a(b)`, "sql be", "sqlbe:1433:1"} {
		if b, err := parseBackEnd(s); err == nil {
			t.Errorf("parseBackEnd(%q) = %+v; want an error", s, b)
		}
	}
}

// TestCheckDelegationKeytab: config check reads each front end's keytab and wants a
// key for the front end's principal in its realm.
func TestCheckDelegationKeytab(t *testing.T) {
	dir := t.TempDir()
	writeKeytab := func(name, principal string) string {
		kt := keytab.New()
		if err := kt.AddEntry(principal, "CORP.EXAMPLE", "pw", time.Unix(0, 0), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
			t.Fatal(err)
		}
		b, err := kt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := writeKeytab("web.keytab", "svc_web")
	other := writeKeytab("other.keytab", "svc_other")
	notKeytab := filepath.Join(dir, "not.keytab")
	if err := os.WriteFile(notKeytab, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.yaml")
	src := `kerberos: {realm: CORP.EXAMPLE, principal: authtriage, password: x}
hosts: [{name: sqlbe}]
delegation:
  - {account: 'CORP\svc_web', back_ends: [sqlbe], keytab: ` + good + `}
  - {account: 'CORP\svc_web', back_ends: ['sqlbe:1444'], keytab: ` + other + `}
  - {account: 'CORP\svc_web', back_ends: ['sqlbe:1445'], keytab: ` + notKeytab + `}
  - {account: 'CORP\svc_web', back_ends: ['sqlbe:1446'], keytab: ` + filepath.Join(dir, "absent.keytab") + `}
`
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Check(t.Context(), []string{cfg}, RoleCLI, nil, CheckOptions{})[0]
	var got []string
	for _, p := range r.Problems {
		got = append(got, strings.ReplaceAll(p.String(), dir, "DIR"))
	}
	want := []string{
		`DIR/c.yaml:5: delegation[1].keytab: "DIR/other.keytab" holds no key for svc_web@CORP.EXAMPLE, the front end's account`,
		`DIR/c.yaml:6: delegation[2].keytab: "DIR/not.keytab" is not a keytab: `,
		`DIR/c.yaml:7: delegation[3].keytab: "DIR/absent.keytab": no such file`,
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %s; want %s...", i, got[i], want[i])
		}
	}
}
