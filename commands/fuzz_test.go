package commands_test

import (
	"testing"
	"unicode/utf8"

	"github.com/authtriage/authtriage/commands"
)

// FuzzParse checks that Parse never panics, that its errors are sentences of a
// bounded size, and that every command it returns round-trips through String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"check sqlhost01", "check sqlhost01 SALES:50123", `check SQLHOST01\sales`, "check h,1433",
		"<@U0123ABCD> check <http://sqlhost01.corp.example|sqlhost01.corp.example>",
		"history sqlhost01", "show 7kq2m9xd", "share 7kq2m9xd #dba", "share 7kq2m9xd <#C0123ABCD|dba>",
		"share 7kq2m9xd <#C0123ABCD|>", "help", "help check", "incident", "incident prod SQL01 prod", `incident a\b`, "chek x", "`check x`", "```", "",
		"share 7kq2m9xd <#C0123ABCD|ǅ>", "check\u00a0x", "&lt;@U1&gt; check x", "<", "<>", "check <@U1|a b>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := commands.Parse(in)
		if err != nil {
			msg := err.Error()
			if !utf8.ValidString(msg) {
				t.Fatalf("Parse(%q) error is not valid UTF-8: %q", in, msg)
			}
			if len(msg) > 1000 {
				t.Fatalf("Parse(%q) error is %d bytes long", in, len(msg))
			}
			return
		}
		s := c.String()
		again, err := commands.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v; Parse(%q) error: %v", in, c, s, err)
		}
		if again != c {
			t.Fatalf("Parse(%q) = %#v; Parse(%q) = %#v; want the same", in, c, s, again)
		}
		if again.String() != s {
			t.Fatalf("String is not stable: %q then %q", s, again.String())
		}
	})
}
