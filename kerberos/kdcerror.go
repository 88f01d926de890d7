package kerberos

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode"

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
// "KDC_ERR_S_PRINCIPAL_UNKNOWN" for 7, or "" for a code it does not know. Microsoft's
// event 4768/4769 documentation spells 14 KDC_ERR_ETYPE_NOTSUPP; this is the RFC's
// KDC_ERR_ETYPE_NOSUPP, as gokrb5 and MIT spell it.
func CodeName(code int) string {
	switch code {
	case 0:
		return "KDC_ERR_NONE"
	case 1:
		return "KDC_ERR_NAME_EXP"
	case 2:
		return "KDC_ERR_SERVICE_EXP"
	case 3:
		return "KDC_ERR_BAD_PVNO"
	case 4:
		return "KDC_ERR_C_OLD_MAST_KVNO"
	case 5:
		return "KDC_ERR_S_OLD_MAST_KVNO"
	case 6:
		return "KDC_ERR_C_PRINCIPAL_UNKNOWN"
	case 7:
		return "KDC_ERR_S_PRINCIPAL_UNKNOWN"
	case 8:
		return "KDC_ERR_PRINCIPAL_NOT_UNIQUE"
	case 9:
		return "KDC_ERR_NULL_KEY"
	case 10:
		return "KDC_ERR_CANNOT_POSTDATE"
	case 11:
		return "KDC_ERR_NEVER_VALID"
	case 12:
		return "KDC_ERR_POLICY"
	case 13:
		return "KDC_ERR_BADOPTION"
	case 14:
		return "KDC_ERR_ETYPE_NOSUPP"
	case 15:
		return "KDC_ERR_SUMTYPE_NOSUPP"
	case 16:
		return "KDC_ERR_PADATA_TYPE_NOSUPP"
	case 17:
		return "KDC_ERR_TRTYPE_NOSUPP"
	case 18:
		return "KDC_ERR_CLIENT_REVOKED"
	case 19:
		return "KDC_ERR_SERVICE_REVOKED"
	case 20:
		return "KDC_ERR_TGT_REVOKED"
	case 21:
		return "KDC_ERR_CLIENT_NOTYET"
	case 22:
		return "KDC_ERR_SERVICE_NOTYET"
	case 23:
		return "KDC_ERR_KEY_EXPIRED"
	case 24:
		return "KDC_ERR_PREAUTH_FAILED"
	case 25:
		return "KDC_ERR_PREAUTH_REQUIRED"
	case 26:
		return "KDC_ERR_SERVER_NOMATCH"
	case 27:
		return "KDC_ERR_MUST_USE_USER2USER"
	case 28:
		return "KDC_ERR_PATH_NOT_ACCEPTED"
	case 29:
		return "KDC_ERR_SVC_UNAVAILABLE"
	case 31:
		return "KRB_AP_ERR_BAD_INTEGRITY"
	case 32:
		return "KRB_AP_ERR_TKT_EXPIRED"
	case 33:
		return "KRB_AP_ERR_TKT_NYV"
	case 34:
		return "KRB_AP_ERR_REPEAT"
	case 35:
		return "KRB_AP_ERR_NOT_US"
	case 36:
		return "KRB_AP_ERR_BADMATCH"
	case 37:
		return "KRB_AP_ERR_SKEW"
	case 38:
		return "KRB_AP_ERR_BADADDR"
	case 39:
		return "KRB_AP_ERR_BADVERSION"
	case 40:
		return "KRB_AP_ERR_MSG_TYPE"
	case 41:
		return "KRB_AP_ERR_MODIFIED"
	case 42:
		return "KRB_AP_ERR_BADORDER"
	case 44:
		return "KRB_AP_ERR_BADKEYVER"
	case 45:
		return "KRB_AP_ERR_NOKEY"
	case 46:
		return "KRB_AP_ERR_MUT_FAIL"
	case 47:
		return "KRB_AP_ERR_BADDIRECTION"
	case 48:
		return "KRB_AP_ERR_METHOD"
	case 49:
		return "KRB_AP_ERR_BADSEQ"
	case 50:
		return "KRB_AP_ERR_INAPP_CKSUM"
	case 51:
		return "KRB_AP_PATH_NOT_ACCEPTED"
	case 52:
		return "KRB_ERR_RESPONSE_TOO_BIG"
	case 60:
		return "KRB_ERR_GENERIC"
	case 61:
		return "KRB_ERR_FIELD_TOOLONG"
	case 62:
		return "KDC_ERROR_CLIENT_NOT_TRUSTED"
	case 63:
		return "KDC_ERROR_KDC_NOT_TRUSTED"
	case 64:
		return "KDC_ERROR_INVALID_SIG"
	case 65:
		return "KDC_ERR_KEY_TOO_WEAK"
	case 66:
		return "KDC_ERR_CERTIFICATE_MISMATCH"
	case 67:
		return "KRB_AP_ERR_NO_TGT"
	case 68:
		return "KDC_ERR_WRONG_REALM"
	case 69:
		return "KRB_AP_ERR_USER_TO_USER_REQUIRED"
	case 70:
		return "KDC_ERR_CANT_VERIFY_CERTIFICATE"
	case 71:
		return "KDC_ERR_INVALID_CERTIFICATE"
	case 72:
		return "KDC_ERR_REVOKED_CERTIFICATE"
	case 73:
		return "KDC_ERR_REVOCATION_STATUS_UNKNOWN"
	case 74:
		return "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE"
	case 75:
		return "KDC_ERR_CLIENT_NAME_MISMATCH"
	case 76:
		return "KDC_ERR_KDC_NAME_MISMATCH"
	}
	return ""
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
