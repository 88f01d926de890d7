package kerberos

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// krbErrorText matches the text gokrb5 gives a KRB-ERROR from the KDC
// (messages.KRBError.Error): "KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not
// found in Kerberos database", or "KRB Error: Unknown ErrorCode 99" for a code gokrb5
// has no name for. gokrb5 flattens the KRBError into the text of a krberror.Krberror,
// so the text is all a caller gets.
var krbErrorText = regexp.MustCompile(`KRB Error: (?:\((\d{1,9})\) ([A-Z][A-Z0-9_]{0,63})|Unknown ErrorCode (\d{1,9}))`)

// ParseKDCError returns the KRB-ERROR code and name in err when err, or an error it
// wraps, is the KDC's refusal as gokrb5 reports it: a messages.KRBError value, or any
// error whose text holds "KRB Error: (code) NAME", which is what gokrb5's
// krberror.Krberror, a *LoginError and a TicketResult.Err carry. The name is
// CodeName(code) when that is known and the name in the text otherwise; it is "" for a
// code neither knows. ok is false for nil and for errors that are not a KDC's answer,
// such as a refused connection or a timeout.
func ParseKDCError(err error) (code int, name string, ok bool) {
	if err == nil {
		return 0, "", false
	}
	var le *LoginError
	if errors.As(err, &le) && le.Code != 0 {
		return le.Code, le.CodeName, true
	}
	var ke messages.KRBError
	if errors.As(err, &ke) {
		return int(ke.ErrorCode), nameFor(int(ke.ErrorCode), ""), true
	}
	var kp *messages.KRBError
	if errors.As(err, &kp) && kp != nil {
		return int(kp.ErrorCode), nameFor(int(kp.ErrorCode), ""), true
	}
	var kr krberror.Krberror
	if errors.As(err, &kr) {
		if code, name, _, ok := parseKRBText(kr.Error()); ok {
			return code, name, true
		}
	}
	code, name, _, ok = parseKRBText(err.Error())
	return code, name, ok
}

// parseKRBText finds the first "KRB Error: (code) NAME" in s. detail is the text after
// the name: gokrb5's description of the code and the KDC's e-text, if it sent one.
func parseKRBText(s string) (code int, name, detail string, ok bool) {
	m := krbErrorText.FindStringSubmatchIndex(s)
	if m == nil {
		return 0, "", "", false
	}
	digits, textName := "", ""
	if m[2] >= 0 {
		digits, textName = s[m[2]:m[3]], s[m[4]:m[5]]
	} else {
		digits = s[m[6]:m[7]]
	}
	code, err := strconv.Atoi(digits)
	if err != nil {
		return 0, "", "", false
	}
	return code, nameFor(code, textName), strings.TrimSpace(s[m[1]:]), true
}

// nameFor prefers this package's name for code over the one found in a text.
func nameFor(code int, fromText string) string {
	if n := CodeName(code); n != "" {
		return n
	}
	return fromText
}

// CodeName returns the RFC 4120 name of a KRB-ERROR code, such as
// "KDC_ERR_S_PRINCIPAL_UNKNOWN" for 7, or "" for a code it does not know. The names
// are gokrb5's (iana/errorcode), which spells 14 KDC_ERR_ETYPE_NOSUPP as RFC 4120 and
// MIT do; Microsoft's event 4768/4769 documentation spells it KDC_ERR_ETYPE_NOTSUPP.
// What a code means is triage.KerberosErrorFor's.
func CodeName(code int) string {
	if code < 0 || code > math.MaxInt32 {
		return ""
	}
	text := errorcode.Lookup(int32(code)) // "(7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found ..."
	rest, ok := strings.CutPrefix(text, fmt.Sprintf("(%d) ", code))
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, " ")
	return name
}

// maxErrText bounds the error text kept in a TicketResult: a KDC's e-text is as long
// as the KDC likes.
const maxErrText = 1024

// describe returns err as one line for a report. For a KDC's refusal it is the KRB-ERROR
// part of gokrb5's text ("KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in
// Kerberos database"), which ParseKDCError reads back; for anything else it is gokrb5's
// text without its "[Root cause: X] X: " prefix. Control characters, which a KDC's e-text
// may hold, become spaces.
func describe(err error) string {
	s := err.Error()
	if m := krbErrorText.FindStringIndex(s); m != nil {
		s = s[m[0]:]
	} else if rest, ok := strings.CutPrefix(s, "[Root cause: "); ok {
		// "[Root cause: Networking_Error] Networking_Error: TGS Exchange Error: ..."
		if cause, after, found := strings.Cut(rest, "] "); found {
			s = strings.TrimPrefix(after, cause+": ")
		}
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > maxErrText {
		s = strings.ToValidUTF8(s[:maxErrText], "") + "…"
	}
	return s
}
