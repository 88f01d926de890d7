package directory

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// FuzzLoadLDIF: LoadLDIF never panics; a syntax error names a line of the input;
// whatever loads answers every query without panicking, and every SPN it holds is
// found by FindSPN.
func FuzzLoadLDIF(f *testing.F) {
	for _, path := range []string{corpFixture, "testdata/samba-ldapsearch.ldif"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		// Whole fixtures are slow to mutate; their first entries make better seeds.
		f.Add(firstEntries(string(data), 3))
	}
	f.Add("version: 1\n\ndn: CN=a,DC=x\nchangetype: add\nobjectClass: user\nsAMAccountName: a\n" +
		"servicePrincipalName: A/b\n\ndn: CN=b,DC=x\nobjectClass: computer\nobjectClass: user\n" +
		"servicePrincipalName:: QS9i\ndNSHostName: b.x\n")
	f.Add("dn: DC=x\nobjectClass: domainDNS\nmaxPwdAge: -36288000000000\n\ndn: CN=X,CN=Partitions,CN=Configuration,DC=x\n" +
		"objectClass: crossRef\nnCName: DC=x\nnETBIOSName: XX\n")
	f.Add("\xff\xfed\x00n\x00:\x00 \x00C\x00N\x00=\x00a\x00\n\x00")
	f.Add("dn: CN=a\n folded\n# c\n  more\nx:: =\n")
	f.Fuzz(checkLDIF)
}

var lineRE = regexp.MustCompile(`^fuzz:(\d+): `)

// checkLDIF is the body of FuzzLoadLDIF.
func checkLDIF(t *testing.T, text string) {
	{
		l, err := LoadLDIF(strings.NewReader(text), "fuzz")
		if err != nil {
			var ie *triage.InputError
			if !errors.As(err, &ie) {
				return // I/O errors (odd UTF-16) carry no line
			}
			m := lineRE.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error without a line: %v", err)
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 || n > strings.Count(text, "\n")+1 {
				t.Fatalf("error names line %d of a %d-line input: %v", n, strings.Count(text, "\n")+1, err)
			}
			return
		}
		ctx := t.Context()
		for _, a := range l.accounts {
			for _, spn := range a.SPNs {
				if validateSPN(spn) != nil {
					continue
				}
				got, err := l.FindSPN(ctx, spn)
				if err != nil || !containsAccount(got.Owners, a.Account) {
					t.Fatalf("FindSPN(%q) = %v, %v; want it to find %s", spn, got.Owners, err, a.DN)
				}
			}
			if a.SAMAccountName != "" {
				l.Account(ctx, a.SAMAccountName)
			}
			if a.DNSHostName != "" {
				l.ComputerByDNSName(ctx, a.DNSHostName)
			}
		}
		l.MaxPwdAge(ctx)
		dups := 0
		if _, err := l.ScanDuplicateSPNs(ctx, "", func(o triage.SPNOwners) error {
			if len(o.Owners) < 2 {
				t.Fatalf("duplicate %q with %d owners", o.SPN, len(o.Owners))
			}
			dups++
			return nil
		}); err != nil && len(l.bySPN) > 0 {
			t.Fatal(err)
		}
	}
}

func containsAccount(list []triage.Account, a triage.Account) bool {
	for _, b := range list {
		if b.SameAs(a) {
			return true
		}
	}
	return false
}

// firstEntries returns the first n entries of an LDIF text.
func firstEntries(text string, n int) string {
	parts := strings.SplitAfterN(strings.ReplaceAll(text, "\r\n", "\n"), "\n\ndn:", n+1)
	if len(parts) <= n {
		return text
	}
	return strings.TrimSuffix(strings.Join(parts[:n], ""), "dn:")
}
