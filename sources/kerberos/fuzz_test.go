package kerberos

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/jcmturner/gokrb5/v8/messages"
)

// FuzzParseKDCError checks the text parser on any input: it does not panic, a code it
// finds survives describe (which is what a TicketResult.Err holds) and gokrb5's own
// rendering, and describe's output is one bounded, printable line.
func FuzzParseKDCError(f *testing.F) {
	for _, s := range []string{
		"[Root cause: KDC_Error] KDC_Error: TGS Exchange Error: kerberos error response from KDC when requesting for MSSQLSvc/sqlmissing.corp.test:1433: KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in Kerberos database",
		"[Root cause: KDC_Error] KDC_Error: AS Exchange Error: kerberos error response from KDC: KRB Error: (24) KDC_ERR_PREAUTH_FAILED Pre-authentication information was invalid",
		"KRB Error: Unknown ErrorCode 93",
		"KRB Error: (12) KDC_ERR_POLICY KDC policy rejects request - \x1b[31mrestricted\n",
		"[Root cause: Networking_Error] Networking_Error: AS Exchange Error: failed sending AS_REQ to KDC",
		"KRB Error: (999999999) X",
		"KRB Error: (0",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, name, ok := ParseKDCError(errors.New(s))
		if !ok {
			if code != 0 || name != "" {
				t.Fatalf("ParseKDCError(%q) = %d, %q, false; want zero values with false", s, code, name)
			}
		} else {
			if code < 0 || code > 999_999_999 {
				t.Fatalf("ParseKDCError(%q) code = %d; want 0-999999999", s, code)
			}
			if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' }) {
				t.Fatalf("ParseKDCError(%q) name = %q; want no space or control character", s, name)
			}
			if n := CodeName(code); n != "" && n != name {
				t.Fatalf("ParseKDCError(%q) name = %q; want CodeName(%d) = %q", s, name, code, n)
			}
			// The result's text keeps the code.
			d := describe(errors.New(s))
			if c, n, ok := ParseKDCError(errors.New(d)); !ok || c != code || n != name {
				t.Fatalf("ParseKDCError(describe(%q)) = %d, %q, %v; want %d, %q, true", s, c, n, ok, code, name)
			}
			// gokrb5's rendering of the code reads back.
			if c, _, ok := ParseKDCError(errors.New(messages.KRBError{ErrorCode: int32(code)}.Error())); !ok || c != code {
				t.Fatalf("ParseKDCError of gokrb5's text for %d = %d, %v", code, c, ok)
			}
		}
		d := describe(errors.New(s))
		if strings.ContainsFunc(d, unicode.IsControl) {
			t.Fatalf("describe(%q) = %q; holds a control character", s, d)
		}
		if len(d) > maxErrText+len("…") {
			t.Fatalf("describe(%q) is %d bytes long; want at most %d", s, len(d), maxErrText)
		}
		if utf8.ValidString(s) && !utf8.ValidString(d) {
			t.Fatalf("describe(%q) = %q; not valid UTF-8", s, d)
		}
	})
}
