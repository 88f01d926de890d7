package display

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", `Login failed for user 'CORP\svc_sql'.`, `Login failed for user 'CORP\svc_sql'.`},
		{"lines and tabs stay", "Account Name:\t\tsvc_sql\nAccount Domain:\tCORP", "Account Name:\t\tsvc_sql\nAccount Domain:\tCORP"},
		{"CR LF is LF", "a\r\nb\r\n", "a\nb\n"},
		{"lone CR", "a\rb", `a\rb`},
		{"CR before CR LF", "a\r\r\nb", "a\\r\nb"},
		{"trailing CR", "a\r", `a\r`},
		{"title and clear screen", "svc\x1b]0;pwned\x07\x1b[2J", `svc\x1b]0;pwned\x07\x1b[2J`},
		{"NUL, BS, DEL", "a\x00b\bc\x7f", `a\x00b\x08c\x7f`},
		{"C1 controls", "a\u0085b\u009bc", `a\u0085b\u009bc`},
		{"CSI as C1", "\u009b2J", `\u009b2J`},
		{"bidi override", "svc_\u202eexe.lmth", `svc_\u202eexe.lmth`},
		{"every bidi control",
			"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
			`\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069`},
		{"zero-width characters", "a\u200bb\u200cc\u200dd\u2060e\ufefff", `a\u200bb\u200cc\u200dd\u2060e\ufefff`},
		{"soft hyphen", "svc\u00adsql", `svc\u00adsql`},
		{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"Hangul filler", "svc\u3164", `svc\u3164`},
		{"combining grapheme joiner", "a\u034fb", `a\u034fb`},
		{"variation selector", "a\ufe0f", `a\ufe0f`},
		{"tag characters", "a\U000e0041\U000e007f", `a\U000e0041\U000e007f`},
		{"variation selector supplement", "a\U000e0100", `a\U000e0100`},
		{"invalid UTF-8", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"surrogate half", "a\xed\xa0\x80b", "a\ufffd\ufffd\ufffdb"},
		{"replacement character stays", "a\ufffdb", "a\ufffdb"},
		{"letters of other scripts stay", "сервер 服务器 خادم עברית", "сервер 服务器 خادم עברית"},
		{"emoji stays", "🔴", "🔴"},
		{"no-break space stays", "a\u00a0b", "a\u00a0b"},
		{"backslashes stay", `\x1b \u202e`, `\x1b \u202e`},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("%s: Text(%q) = %q; want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "sqlhost01.corp.example", "sqlhost01.corp.example"},
		{"lines folded", "read ERRORLOG:\n  permission denied\n", "read ERRORLOG: permission denied"},
		{"CR LF folded", "a\r\nb", "a b"},
		{"lone CR escaped", "a\rb", `a\rb`},
		{"tabs folded", "a\t\tb", "a b"},
		{"spaces at the ends", "  a  b ", "a b"},
		{"only white space", " \n\t ", ""},
		{"no-break space folded", "a\u00a0b", "a b"},
		{"NEL escaped, not folded", "a\u0085b", `a\u0085b`},
		{"controls", "svc\x1b]0;pwned\x07\x1b[2J\x00", `svc\x1b]0;pwned\x07\x1b[2J\x00`},
		{"bidi", "\u202eexe.lmth", `\u202eexe.lmth`},
	}
	for _, tt := range tests {
		if got := Line(tt.in); got != tt.want {
			t.Errorf("%s: Line(%q) = %q; want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestCleanInputIsNotCopied holds the promise that clean text costs no allocation.
func TestCleanInputIsNotCopied(t *testing.T) {
	for _, s := range []string{
		"",
		"2026-11-24 09:14:02.31 Logon       Login failed for user 'CORP\\svc_sql'. Reason: Could not find a login matching the name provided. [CLIENT: 10.0.0.5]",
		"Account Name:\t\tsvc_sql\nAccount Domain:\tCORP",
		"сервер 服务器 🔴 a\u00a0b",
	} {
		if n := testing.AllocsPerRun(100, func() { _ = Text(s) }); n != 0 {
			t.Errorf("Text(%q) allocates %v times", s, n)
		}
		one := strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "\t", " ")
		one = strings.Join(strings.Fields(one), " ")
		if n := testing.AllocsPerRun(100, func() { _ = Line(one) }); n != 0 {
			t.Errorf("Line(%q) allocates %v times", one, n)
		}
	}
}

func FuzzDisplay(f *testing.F) {
	for _, s := range []string{
		"", "plain", "a\r\nb\rc\n", "svc\x1b]0;pwned\x07\x1b[2J", "\u202eexe.lmth\u2066",
		"\x00\x7f\u0085\u009b", "\xff\xc3\xed\xa0\x80", "\U000e0041\ufe0f\u200b", " a \t b\u00a0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, line := Text(s), Line(s)
		for _, out := range []struct {
			name, s string
			keep    string
		}{{"Text", text, "\n\t"}, {"Line", line, ""}} {
			if !utf8.ValidString(out.s) {
				t.Fatalf("%s(%q) = %q, not valid UTF-8", out.name, s, out.s)
			}
			for _, r := range out.s {
				if strings.ContainsRune(out.keep, r) {
					continue
				}
				if hidden(r) {
					t.Fatalf("%s(%q) = %q, which holds %U", out.name, s, out.s, r)
				}
			}
		}
		if again := Text(text); again != text {
			t.Fatalf("Text is not idempotent: Text(%q) = %q, Text of that = %q", s, text, again)
		}
		if again := Line(line); again != line {
			t.Fatalf("Line is not idempotent: Line(%q) = %q, Line of that = %q", s, line, again)
		}
		if line != strings.TrimSpace(line) || strings.Contains(line, "  ") {
			t.Fatalf("Line(%q) = %q, white space not folded", s, line)
		}
		if utf8.ValidString(s) && firstUnfit(s) == len(s) && text != s {
			t.Fatalf("Text changed clean text %q to %q", s, text)
		}
	})
}

// hidden is the test's own statement of what must never be shown raw: controls,
// bidirectional controls, other format characters, the line and paragraph
// separators and default-ignorable characters.
func hidden(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}
