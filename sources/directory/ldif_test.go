package directory_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

// ldifEntry is a minimal account entry, as ldapsearch -LLL writes it.
const ldifEntry = `dn: CN=svc_sql,CN=Users,DC=corp,DC=example
objectClass: top
objectClass: user
sAMAccountName: svc_sql
objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==
userAccountControl: 66048
servicePrincipalName: MSSQLSvc/sql01.corp.example:1433
`

func load(t *testing.T, text string) (*directory.LDIF, error) {
	t.Helper()
	return directory.LoadLDIF(strings.NewReader(text), "x.ldf")
}

func TestLoadLDIFSyntax(t *testing.T) {
	tests := []struct {
		name string
		text string
		spn  string // an SPN the entry must hold after loading
	}{
		{"ldapsearch -LLL", ldifEntry, "MSSQLSvc/sql01.corp.example:1433"},
		{"ldifde: blank first line, changetype add, CRLF",
			"\r\n" + strings.ReplaceAll(strings.Replace(ldifEntry, "objectClass: top", "changetype: add\nobjectClass: top", 1), "\n", "\r\n"),
			"MSSQLSvc/sql01.corp.example:1433"},
		{"version line and comments",
			"version: 1\n# exported\n" + strings.Replace(ldifEntry, "objectClass: user\n", "objectClass: user\n# a comment\n#  folded\n  comment\n", 1),
			"MSSQLSvc/sql01.corp.example:1433"},
		{"folded value", strings.Replace(ldifEntry, "servicePrincipalName: MSSQLSvc/sql01.corp.example:1433",
			"servicePrincipalName: MSSQLSvc/sql01.co\n rp.example:1433", 1), "MSSQLSvc/sql01.corp.example:1433"},
		{"folded DN", strings.Replace(ldifEntry, "dn: CN=svc_sql,CN=Users,DC=corp,DC=example", "dn: CN=svc_sql,CN=Users,DC=co\n rp,DC=example", 1),
			"MSSQLSvc/sql01.corp.example:1433"},
		{"base64 value", strings.Replace(ldifEntry, "servicePrincipalName: MSSQLSvc/sql01.corp.example:1433",
			"servicePrincipalName:: TVNTUUxTdmMvc3FsMDEuY29ycC5leGFtcGxlOjE0MzM=", 1), "MSSQLSvc/sql01.corp.example:1433"},
		{"folded base64", strings.Replace(ldifEntry, "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==",
			"objectSid:: AQUAAAAAAAUVAAAA3PTc\n O4M9K0aCi6YoUQQAAA==", 1), "MSSQLSvc/sql01.corp.example:1433"},
		{"attribute options", strings.Replace(ldifEntry, "servicePrincipalName:", "servicePrincipalName;range=0-*:", 1),
			"MSSQLSvc/sql01.corp.example:1433"},
		{"no trailing newline", strings.TrimSuffix(ldifEntry, "\n"), "MSSQLSvc/sql01.corp.example:1433"},
		{"UTF-8 byte order mark", "\uFEFF" + ldifEntry, "MSSQLSvc/sql01.corp.example:1433"},
		{"UTF-16LE (ldifde -u)", utf16le(ldifEntry), "MSSQLSvc/sql01.corp.example:1433"},
		{"UTF-16BE with a byte order mark", utf16be(ldifEntry), "MSSQLSvc/sql01.corp.example:1433"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := load(t, tt.text)
			if err != nil {
				t.Fatalf("LoadLDIF: %v", err)
			}
			got, err := l.FindSPN(t.Context(), tt.spn)
			if err != nil || len(got.Owners) != 1 {
				t.Fatalf("FindSPN(%s) = %+v, %v; want the entry", tt.spn, got, err)
			}
			a := got.Owners[0]
			if a.DN != "CN=svc_sql,CN=Users,DC=corp,DC=example" || a.SID != "S-1-5-21-1004336348-1177238915-682003330-1105" ||
				a.Domain != "corp.example" || a.UAC != 66048 {
				t.Errorf("entry = %+v", a)
			}
		})
	}
}

// utf16le encodes s as ldifde -u writes: UTF-16LE with a byte order mark.
func utf16le(s string) string { return utf16WithBOM(s, binary.LittleEndian) }

// utf16be encodes s as UTF-16BE with a byte order mark.
func utf16be(s string) string { return utf16WithBOM(s, binary.BigEndian) }

func utf16WithBOM(s string, order binary.ByteOrder) string {
	var b bytes.Buffer
	binary.Write(&b, order, uint16(0xFEFF))
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&b, order, u)
	}
	return b.String()
}

func TestLoadLDIFErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // the error starts with "x.ldf:" and holds this
	}{
		{"no colon", ldifEntry + "\ndn: CN=b,DC=corp,DC=example\nnonsense\n", "x.ldf:10: no ':'"},
		{"entry without dn", "objectClass: user\n", "x.ldf:1: entry starts with \"objectclass\", want dn:"},
		{"continuation first", " folded\n", "x.ldf:1: continuation line"},
		{"continuation after blank line", ldifEntry + "\n folded\n", "x.ldf:9: continuation line"},
		{"bad base64", strings.Replace(ldifEntry, "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==", "AQU*", 1), "x.ldf:5: objectSid: bad base64"},
		{"modify record", "dn: CN=a,DC=corp,DC=example\nchangetype: modify\nreplace: description\ndescription: x\n-\n",
			"x.ldf:2: changetype \"modify\""},
		{"delete record", "dn: CN=a,DC=corp,DC=example\nchangetype: delete\n", "x.ldf:2: changetype \"delete\""},
		{"URL value", "dn: CN=a,DC=corp,DC=example\njpegPhoto:< file:///etc/passwd\n", "x.ldf:2: jpegPhoto: values read from a URL"},
		{"second dn", "dn: CN=a,DC=corp,DC=example\ndn: CN=b,DC=corp,DC=example\n", "x.ldf:2: second dn:"},
		{"bad attribute name", "dn: CN=a,DC=corp,DC=example\nbad name: x\n", "x.ldf:2: \"bad name\" is not an attribute name"},
		{"NUL in a plain value", "dn: CN=a,DC=corp,DC=example\ndescription: a\x00b\n", "x.ldf:2: description: NUL"},
		{"bad version", "version: 2\n" + ldifEntry, "x.ldf:1: LDIF version \"2\""},
		{"repeated dn", ldifEntry + "\n" + ldifEntry, "x.ldf:9: dn \"CN=svc_sql,CN=Users,DC=corp,DC=example\" repeats the entry of line 1"},
		{"malformed SID", strings.Replace(ldifEntry, "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==", "objectSid:: AQUA", 1),
			"x.ldf:1: decode objectSid"},
		{"malformed userAccountControl", strings.Replace(ldifEntry, "userAccountControl: 66048", "userAccountControl: lots", 1),
			"x.ldf:1: decode userAccountControl"},
		{"malformed DN", strings.Replace(ldifEntry, "dn: CN=svc_sql,CN=Users,DC=corp,DC=example", "dn: CN=svc_sql,=,", 1),
			"x.ldf:1: decode distinguishedName"},
		{"line too long", "dn: CN=a,DC=corp,DC=example\ndescription: " + strings.Repeat("x", 1<<20) + "\n", "x.ldf:2: line longer than"},
		{"folded line too long", "dn: CN=a,DC=corp,DC=example\ndescription: x\n" + strings.Repeat(" "+strings.Repeat("y", 1000)+"\n", 1100),
			"x.ldf:2: folded line longer than"},
		{"odd UTF-16", utf16le(ldifEntry) + "x", "UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadLDIF = %v; want an error with %q", err, tt.want)
			}
			var ie *triage.InputError
			if !strings.Contains(tt.want, "UTF-16") && !errors.As(err, &ie) {
				t.Errorf("LoadLDIF error %T is not a *triage.InputError", err)
			}
		})
	}
}

// TestLoadLDIFKeeps: groups, containers and other objects without SPNs are not
// accounts; an object of another class that holds an SPN is found by FindSPN.
func TestLoadLDIFKeeps(t *testing.T) {
	text := ldifEntry + `
dn: CN=SQL Admins,CN=Users,DC=corp,DC=example
objectClass: top
objectClass: group
sAMAccountName: SQL Admins

dn: CN=sql-scp,CN=SQLOK,OU=SQL,DC=corp,DC=example
objectClass: top
objectClass: serviceConnectionPoint
servicePrincipalName: MSSQLSvc/sql01.corp.example:1433
`
	l, err := load(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Account(t.Context(), "SQL Admins"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Account(a group) = %v; want ErrNotFound", err)
	}
	got, err := l.FindSPN(t.Context(), "MSSQLSvc/sql01.corp.example:1433")
	if err != nil || len(got.Owners) != 2 {
		t.Errorf("FindSPN = %+v, %v; want the account and the service connection point", got.Owners, err)
	}
	if _, err := l.MaxPwdAge(t.Context()); err == nil || !strings.Contains(err.Error(), "x.ldf has no domain object") {
		t.Errorf("MaxPwdAge without a domain object = %v", err)
	}
}

// TestSambaExport reads a real ldapsearch -LLL export of the test domain and finds
// each scenario in it, offline.
func TestSambaExport(t *testing.T) {
	f, err := os.Open("testdata/samba-ldapsearch.ldif")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := directory.LoadLDIF(f, "samba-ldapsearch.ldif")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	account := func(name string) triage.Account {
		t.Helper()
		a, err := l.Account(ctx, name)
		if err != nil {
			t.Fatalf("Account(%s): %v", name, err)
		}
		return a
	}
	if a := account(`CORP\svc_sqlok`); a.EncTypes != triage.EtypeAESAll || a.NetBIOSDomain != "CORP" || a.KVNO < 1 || len(a.SPNs) != 2 {
		t.Errorf("svc_sqlok = %+v", a)
	}
	if a := account(`CORP\svc_sqldisabled`); a.UAC&triage.UACAccountDisable == 0 {
		t.Errorf("svc_sqldisabled is not disabled: %+v", a)
	}
	if a := account(`CORP\svc_sqlexpired`); a.AccountExpires.IsZero() || a.AccountExpires.After(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("svc_sqlexpired accountExpires = %v", a.AccountExpires)
	}
	if a := account(`CORP\svc_sqlpwdexpired`); !a.PwdMustChange {
		t.Errorf("svc_sqlpwdexpired: PwdMustChange = false")
	}
	if a := account(`CORP\svc_sqlrc4`); a.EncTypes != triage.EtypeRC4 {
		t.Errorf("svc_sqlrc4 EncTypes = %d", a.EncTypes)
	}
	if a := account(`CORP\svc_sqllocked`); a.LockoutTime.IsZero() || a.UAC&triage.UACLockout == 0 {
		t.Errorf("svc_sqllocked is not locked out: %+v", a)
	}
	if a := account("SQLOK$"); a.Class != "computer" || a.DNSHostName != "sqlok.corp.test" {
		t.Errorf("SQLOK$ = %+v", a)
	}
	dup, err := l.FindSPN(ctx, "MSSQLSvc/sqldup.corp.test:1433")
	if err != nil || len(dup.Owners) != 2 || !dup.Owners[0].SameAs(account("svc_sqldup")) || !dup.Owners[1].SameAs(account("svc_sqldup_old")) {
		t.Errorf("FindSPN(sqldup) = %+v, %v", dup.Owners, err)
	}
	var found []string
	if _, err := l.ScanDuplicateSPNs(ctx, "", func(o triage.SPNOwners) error {
		found = append(found, o.SPN)
		return nil
	}); err != nil || len(found) != 1 || found[0] != "MSSQLSvc/sqldup.corp.test:1433" {
		t.Errorf("ScanDuplicateSPNs = %v, %v; want the sqldup SPN", found, err)
	}
	if age, err := l.MaxPwdAge(ctx); err != nil || age != 42*24*time.Hour {
		t.Errorf("MaxPwdAge = %v, %v", age, err)
	}
}
