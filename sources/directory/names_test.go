package directory

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/triage"
)

func TestParseAccountName(t *testing.T) {
	tests := []struct {
		in   string
		want accountName
		bad  string // in the error, when the name is refused
	}{
		{in: "svc_sql", want: accountName{sam: "svc_sql"}},
		{in: `CORP\svc_sql`, want: accountName{sam: "svc_sql", domain: "CORP"}},
		{in: "svc_sql@corp.example", want: accountName{sam: "svc_sql", domain: "corp.example", dns: true}},
		{in: "svc_sql@corp.example.", want: accountName{sam: "svc_sql", domain: "corp.example", dns: true}},
		{in: "SQL01$", want: accountName{sam: "SQL01$"}},
		{in: `CORP\gmsa_sql$`, want: accountName{sam: "gmsa_sql$", domain: "CORP"}},
		{in: "SQL Service", want: accountName{sam: "SQL Service"}},
		{in: "svc(old)", want: accountName{sam: "svc(old)"}},
		{in: "", bad: "empty"},
		{in: "svc*", bad: "'*'"},
		{in: "svc*)(objectClass=*", bad: "'*'"},
		{in: "svc\x00", bad: "control character"},
		{in: "svc\n", bad: "white space"},
		{in: "svc\u00a0x", bad: "white space"},
		{in: " svc", bad: "leading or trailing"},
		{in: "svc\xfe", bad: "UTF-8"},
		{in: strings.Repeat("a", maxNameLen+1), bad: "longer than"},
		{in: `\svc`, bad: "empty domain"},
		{in: `CORP\`, bad: "no account"},
		{in: `A\B\C`, bad: `'\\'`},
		{in: `CORP.EXAMPLE\svc`, bad: "'.'"},
		{in: "svc@", bad: "empty DNS name"},
		{in: "@corp.example", bad: "no account"},
		{in: "a@b@c", bad: "'@'"},
		{in: "svc@corp..example", bad: "empty or over-long label"},
		{in: "svc@corp/example", bad: "'/'"},
		{in: "svc,x", bad: "','"},
		{in: "svc=x", bad: "'='"},
	}
	for _, tt := range tests {
		got, err := parseAccountName(tt.in)
		if tt.bad != "" {
			var ie *triage.InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("parseAccountName(%q) = %+v, %v; want an input error about %s", tt.in, got, err, tt.bad)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseAccountName(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestFiltersAreSingleAssertions compiles the filters built from hostile input: the
// input is always the literal value of equality assertions, so it can neither add
// clauses nor become a wildcard.
func TestFiltersAreSingleAssertions(t *testing.T) {
	hostile := []string{
		"x)(objectClass=*", "x)(|(a=b)", `x\2a`, `x\`, "x(", "x)", "(&)", "a)(servicePrincipalName=b",
	}
	for _, v := range hostile {
		p, err := ldap.CompileFilter(spnFilter(v))
		if err != nil {
			t.Errorf("spnFilter(%q) = %q does not compile: %v", v, spnFilter(v), err)
			continue
		}
		if p.Tag != ldap.FilterEqualityMatch || p.Children[1].Data.String() != v {
			t.Errorf("spnFilter(%q) = %q is not one equality assertion of the input", v, spnFilter(v))
		}

		p, err = ldap.CompileFilter(spnPrefixFilter(v))
		if err != nil || p.Tag != ldap.FilterSubstrings || len(p.Children[1].Children) != 1 ||
			p.Children[1].Children[0].Tag != ldap.FilterSubstringsInitial || p.Children[1].Children[0].Data.String() != v {
			t.Errorf("spnPrefixFilter(%q) = %q is not one prefix assertion of the input", v, spnPrefixFilter(v))
		}

		for _, n := range []accountName{{sam: v}, {sam: v, domain: "corp.example", dns: true}} {
			f := accountFilter(n)
			p, err := ldap.CompileFilter(f)
			if err != nil || p.Tag != ldap.FilterAnd || len(p.Children) != 2 {
				t.Errorf("accountFilter(%+v) = %q: want (&(objectClass=user)(...))", n, f)
				continue
			}
			var values []string
			for _, node := range filterNodes(p.Children[1]) {
				switch node.Tag {
				case ldap.FilterEqualityMatch:
					values = append(values, node.Children[1].Data.String())
				case ldap.FilterOr:
				default:
					t.Errorf("accountFilter(%+v) = %q has a node of tag %d", n, f, node.Tag)
				}
			}
			if values[0] != v || (n.dns && (len(values) != 2 || values[1] != n.upn())) {
				t.Errorf("accountFilter(%+v) = %q asserts %q", n, f, values)
			}
		}
	}
}

func TestValidateSPN(t *testing.T) {
	good := []string{
		"MSSQLSvc/sql01.corp.example:1433", "MSSQLSvc/sql01.corp.example", "MSSQLSvc/sql01.corp.example:INST01",
		"HOST/sql01", "ldap/dc1.corp.example/corp.example", "MSSQLSvc/x)(y", `MSSQLSvc/a\b`,
	}
	for _, spn := range good {
		if err := validateSPN(spn); err != nil {
			t.Errorf("validateSPN(%q) = %v", spn, err)
		}
	}
	bad := []string{
		"", "*", "MSSQLSvc/*", "MSSQLSvc/sql*.corp.example", "MSSQLSvc", "/sql01", "MSSQLSvc/", "MSSQLSvc//x",
		"MSSQLSvc/sql 01", "MSSQLSvc/sql01\x00", "MSSQLSvc/sql01\r\n", "MSSQLSvc/" + strings.Repeat("a", maxSPNLen),
	}
	for _, spn := range bad {
		var ie *triage.InputError
		if err := validateSPN(spn); !errors.As(err, &ie) {
			t.Errorf("validateSPN(%q) = %v; want an input error", spn, err)
		}
	}
}
