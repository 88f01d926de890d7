// Package display makes text that came from evidence fit to show to a person: on a
// terminal, in Slack, in Markdown.
//
// Evidence is written by others. A client picks the login name SQL Server writes to
// its ERRORLOG; an LDIF holds whatever its author put in it; a name in AD or a value
// in a colleague's configuration may hold anything. Shown as it is, such text can
// drive a terminal (ESC sequences set the window title, clear the screen and move the
// cursor; CR and BS overwrite what was written), or read differently from what it is
// (bidirectional controls reorder it, as in "Trojan Source", CVE-2021-42574;
// invisible characters make two different names look the same).
//
// Text and Line replace each such character with a visible escape, so that the
// reader sees that something was there and what it was. They escape:
//
//   - the C0 controls U+0000–U+001F and DEL U+007F, as \x1b, \x00, \x7f, and CR
//     as \r (Text keeps LF and tab, and reads CR LF as LF; Line folds them);
//   - the C1 controls U+0080–U+009F, as \u0085;
//   - the line and paragraph separators U+2028 and U+2029, at which some viewers
//     break lines;
//   - every format character (Unicode general category Cf), among them the
//     bidirectional controls U+061C, U+200E, U+200F, U+202A–U+202E and
//     U+2066–U+2069, the zero-width space, non-joiner and joiner U+200B–U+200D, the
//     word joiner and invisible operators U+2060–U+2064, the soft hyphen U+00AD, the
//     byte order mark U+FEFF and the tag characters U+E0001 and U+E0020–U+E007F (a
//     few Cf characters are visible, such as the Arabic number signs
//     U+0600–U+0605; they are escaped all the same);
//   - every other character Unicode makes default-ignorable, that is invisible
//     unless a font says otherwise (Default_Ignorable_Code_Point, Unicode Standard
//     Annex #44, https://www.unicode.org/reports/tr44/): the Hangul fillers U+115F,
//     U+1160, U+3164 and U+FFA0, the combining grapheme joiner U+034F, U+17B4,
//     U+17B5, U+2065, U+FFF0–U+FFF8 and the unassigned U+E0000–U+E0FFF, and the
//     variation selectors U+180B–U+180F, U+FE00–U+FE0F and U+E0100–U+E01EF, which
//     can hide data after any character.
//
// Characters up to U+FFFF are written \u202e, above it \U000e0041. Each byte that
// is not part of valid UTF-8 becomes U+FFFD.
//
// Everything else is shown as it is, backslashes included (CORP\svc_sql): the
// escapes are for the eye, not an encoding to undo, and text that reads "\x1b"
// cannot be told from an escaped ESC. Look-alike letters (a Cyrillic "а" in a Latin
// name) are not changed. Escaping the zero-width joiner and the variation selectors
// breaks emoji sequences and the joining of a few scripts; in names and log lines,
// seeing that the character is there matters more.
//
// The result is valid UTF-8, and a second pass changes nothing. Neither function
// allocates when there is nothing to change.
//
// JSON for programs (render.JSON) keeps the text as it was read: encoding/json
// escapes the C0 controls and U+2028/U+2029, and a program that shows the rest to
// a person passes it through this package first.
package display

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s fit to show as text of one or more lines: line feeds and tabs stay,
// CR LF becomes LF, and every character the package comment lists is escaped.
func Text(s string) string {
	i := firstUnfit(s)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
				// CR LF: the LF follows.
			case asciiFit(c):
				b.WriteByte(c)
			default:
				writeEscape(&b, rune(c))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case escaped(r):
			writeEscape(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Line returns s fit to show on one line: Text(s) with every run of white space,
// line feeds and tabs included, folded into one space, and none at either end.
func Line(s string) string {
	s = Text(s)
	if !needsFold(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// firstUnfit returns the index of the first byte of s that Text changes, or len(s).
func firstUnfit(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !asciiFit(c) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || escaped(r) {
			return i
		}
		i += n
	}
	return len(s)
}

// asciiFit reports whether Text keeps ASCII byte c as it is.
func asciiFit(c byte) bool {
	return c >= ' ' && c != 0x7f || c == '\n' || c == '\t'
}

// escaped reports whether Text escapes r, for r outside ASCII.
func escaped(r rune) bool {
	switch {
	case r <= 0x9f, r == '\u2028', r == '\u2029':
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

const hexDigits = "0123456789abcdef"

// writeEscape writes r as \r, \x1b, \u202e or \U000e0041.
func writeEscape(b *strings.Builder, r rune) {
	var digits int
	switch {
	case r == '\r':
		b.WriteString(`\r`)
		return
	case r < utf8.RuneSelf:
		b.WriteString(`\x`)
		digits = 2
	case r <= 0xffff:
		b.WriteString(`\u`)
		digits = 4
	default:
		b.WriteString(`\U`)
		digits = 8
	}
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[r>>shift&0xf])
	}
}

// needsFold reports whether Line must fold the white space of s, which Text has
// already cleaned.
func needsFold(s string) bool {
	if s == "" {
		return false
	}
	if first, _ := utf8.DecodeRuneInString(s); unicode.IsSpace(first) {
		return true
	}
	if last, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(last) {
		return true
	}
	prevSpace := false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if space && (r != ' ' || prevSpace) {
			return true
		}
		prevSpace = space
	}
	return false
}
