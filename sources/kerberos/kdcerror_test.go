package kerberos_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"

	"github.com/authtriage/authtriage/sources/kerberos"
	"github.com/authtriage/authtriage/triage"
)

// Error texts recorded from gokrb5 v8.4.4 against the Samba 4.17 AD DC KDC that
// scripts/testdomain.sh starts (AUTHTRIAGE_TEST_SKEW=1 for the skew), and against
// 127.0.0.1 listeners that refuse or never answer.
const (
	recordedUnknownClient = "[Root cause: KDC_Error] KDC_Error: AS Exchange Error: kerberos error response from KDC: KRB Error: (6) KDC_ERR_C_PRINCIPAL_UNKNOWN Client not found in Kerberos database"
	recordedWrongPassword = "[Root cause: KDC_Error] KDC_Error: AS Exchange Error: kerberos error response from KDC: KRB Error: (24) KDC_ERR_PREAUTH_FAILED Pre-authentication information was invalid"
	recordedRevoked       = "[Root cause: KDC_Error] KDC_Error: AS Exchange Error: kerberos error response from KDC: KRB Error: (18) KDC_ERR_CLIENT_REVOKED Clients credentials have been revoked"
	recordedKeyExpired    = "[Root cause: KDC_Error] KDC_Error: AS Exchange Error: kerberos error response from KDC: KRB Error: (23) KDC_ERR_KEY_EXPIRED Password has expired; change password to reset"
	recordedSkew          = "[Root cause: KDC_Error] KDC_Error: AS Exchange Error: kerberos error response from KDC: KRB Error: (37) KRB_AP_ERR_SKEW Clock skew too great"
	recordedMissingSPN    = "[Root cause: KDC_Error] KDC_Error: TGS Exchange Error: kerberos error response from KDC when requesting for MSSQLSvc/sqlmissing.corp.test:1433: KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in Kerberos database"
	recordedDuplicateSPN  = "[Root cause: KDC_Error] KDC_Error: TGS Exchange Error: kerberos error response from KDC when requesting for MSSQLSvc/sqldup.corp.test:1433: KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in Kerberos database"
	recordedEtype         = "[Root cause: KDC_Error] KDC_Error: TGS Exchange Error: kerberos error response from KDC when requesting for MSSQLSvc/sqlrc4.corp.test:1433: KRB Error: (14) KDC_ERR_ETYPE_NOSUPP KDC has no support for encryption type"
	recordedLockedService = "[Root cause: KDC_Error] KDC_Error: TGS Exchange Error: kerberos error response from KDC when requesting for MSSQLSvc/sqllocked.corp.test:1433: KRB Error: (19) KDC_ERR_SERVICE_REVOKED Credentials for server have been revoked"
	recordedRefused       = "[Root cause: Networking_Error] Networking_Error: AS Exchange Error: failed sending AS_REQ to KDC: communication error with KDC via TCP: error sending to a KDC: error setting dial timeout on connection to 127.0.0.1:39743: dial tcp 127.0.0.1:39743: connect: connection refused"
	recordedSilentTCP     = "[Root cause: Networking_Error] Networking_Error: AS Exchange Error: failed sending AS_REQ to KDC: communication error with KDC via TCP: error sending to a KDC: error sneding to 127.0.0.1:33503: error reading response size header: read tcp 127.0.0.1:57298->127.0.0.1:33503: i/o timeout"
	recordedSilentUDPTCP  = "[Root cause: Networking_Error] Networking_Error: AS Exchange Error: failed sending AS_REQ to KDC: failed to communicate with KDC. Attempts made with UDP (error sending to a KDC: error sneding to 127.0.0.1:33503: sending over UDP failed to 127.0.0.1:33503: read udp 127.0.0.1:46900->127.0.0.1:33503: recvfrom: connection refused) and then TCP (error sending to a KDC: error sneding to 127.0.0.1:33503: error reading response size header: read tcp 127.0.0.1:57308->127.0.0.1:33503: i/o timeout)"
)

func TestParseKDCError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantName string
		wantOK   bool
	}{
		{name: "unknown client", err: errors.New(recordedUnknownClient), wantCode: 6, wantName: "KDC_ERR_C_PRINCIPAL_UNKNOWN", wantOK: true},
		{name: "wrong password", err: errors.New(recordedWrongPassword), wantCode: 24, wantName: "KDC_ERR_PREAUTH_FAILED", wantOK: true},
		{name: "disabled account", err: errors.New(recordedRevoked), wantCode: 18, wantName: "KDC_ERR_CLIENT_REVOKED", wantOK: true},
		{name: "password expired", err: errors.New(recordedKeyExpired), wantCode: 23, wantName: "KDC_ERR_KEY_EXPIRED", wantOK: true},
		{name: "clock skew", err: errors.New(recordedSkew), wantCode: 37, wantName: "KRB_AP_ERR_SKEW", wantOK: true},
		{name: "SPN not registered", err: errors.New(recordedMissingSPN), wantCode: 7, wantName: "KDC_ERR_S_PRINCIPAL_UNKNOWN", wantOK: true},
		{name: "SPN registered twice", err: errors.New(recordedDuplicateSPN), wantCode: 7, wantName: "KDC_ERR_S_PRINCIPAL_UNKNOWN", wantOK: true},
		{name: "no common etype", err: errors.New(recordedEtype), wantCode: 14, wantName: "KDC_ERR_ETYPE_NOSUPP", wantOK: true},
		{name: "locked-out service account", err: errors.New(recordedLockedService), wantCode: 19, wantName: "KDC_ERR_SERVICE_REVOKED", wantOK: true},
		{name: "connection refused", err: errors.New(recordedRefused)},
		{name: "silent KDC over TCP", err: errors.New(recordedSilentTCP)},
		{name: "silent KDC over UDP and TCP", err: errors.New(recordedSilentUDPTCP)},

		{
			name:     "gokrb5 Krberror around a KRBError",
			err:      krberror.Errorf(messages.KRBError{ErrorCode: 23}, krberror.KDCError, "AS Exchange Error: kerberos error response from KDC"),
			wantCode: 23, wantName: "KDC_ERR_KEY_EXPIRED", wantOK: true,
		},
		{
			name:     "KRBError value, wrapped",
			err:      fmt.Errorf("ask KDC: %w", messages.KRBError{ErrorCode: 41}),
			wantCode: 41, wantName: "KRB_AP_ERR_MODIFIED", wantOK: true,
		},
		{
			name:     "KRBError pointer",
			err:      &messages.KRBError{ErrorCode: 68},
			wantCode: 68, wantName: "KDC_ERR_WRONG_REALM", wantOK: true,
		},
		{
			name:     "KDC e-text after the description",
			err:      messages.KRBError{ErrorCode: 12, EText: "account restrictions"},
			wantCode: 12, wantName: "KDC_ERR_POLICY", wantOK: true,
		},
		{
			name:     "code gokrb5 has no name for",
			err:      messages.KRBError{ErrorCode: 93},
			wantCode: 93, wantName: "", wantOK: true,
		},
		{
			name:     "unknown code as text",
			err:      errors.New("TGS Exchange Error: KRB Error: Unknown ErrorCode 93"),
			wantCode: 93, wantName: "", wantOK: true,
		},
		{
			name:     "name from text when the code is not known here",
			err:      errors.New("KRB Error: (90) KDC_ERR_PREAUTH_EXPIRED Pre-authentication expired"),
			wantCode: 90, wantName: "KDC_ERR_PREAUTH_EXPIRED", wantOK: true,
		},
		{
			name:     "login error",
			err:      &kerberos.LoginError{Principal: "a@B", Code: 24, CodeName: "KDC_ERR_PREAUTH_FAILED", Err: errors.New("x")},
			wantCode: 24, wantName: "KDC_ERR_PREAUTH_FAILED", wantOK: true,
		},
		{
			name:     "login error without a code reads its cause",
			err:      fmt.Errorf("check: %w", &kerberos.LoginError{Principal: "a@B", Err: errors.New(recordedUnknownClient)}),
			wantCode: 6, wantName: "KDC_ERR_C_PRINCIPAL_UNKNOWN", wantOK: true,
		},
		{name: "nil", err: nil},
		{name: "digits too many", err: errors.New("KRB Error: (12345678901) KDC_X y")},
		{name: "no name", err: errors.New("KRB Error: (7)")},
		{name: "other text", err: errors.New("Decrypting_Error: integrity checksum incorrect")},
		{name: "client-side skew check is not a KDC error", err: errors.New("[Root cause: KRBMessage_Handling_Error] KRBMessage_Handling_Error: AS Exchange Error: AS_REP is not valid or client password/keytab incorrect < KRBMessage_Handling_Error: clock skew with KDC too large. Greater than 300 seconds")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, name, ok := kerberos.ParseKDCError(tt.err)
			if code != tt.wantCode || name != tt.wantName || ok != tt.wantOK {
				t.Errorf("ParseKDCError(%v) = %d, %q, %v; want %d, %q, %v", tt.err, code, name, ok, tt.wantCode, tt.wantName, tt.wantOK)
			}
		})
	}
}

func TestCodeName(t *testing.T) {
	want := map[int]string{
		6:  "KDC_ERR_C_PRINCIPAL_UNKNOWN",
		7:  "KDC_ERR_S_PRINCIPAL_UNKNOWN",
		8:  "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
		12: "KDC_ERR_POLICY",
		14: "KDC_ERR_ETYPE_NOSUPP",
		18: "KDC_ERR_CLIENT_REVOKED",
		23: "KDC_ERR_KEY_EXPIRED",
		24: "KDC_ERR_PREAUTH_FAILED",
		25: "KDC_ERR_PREAUTH_REQUIRED",
		31: "KRB_AP_ERR_BAD_INTEGRITY",
		32: "KRB_AP_ERR_TKT_EXPIRED",
		37: "KRB_AP_ERR_SKEW",
		41: "KRB_AP_ERR_MODIFIED",
		44: "KRB_AP_ERR_BADKEYVER",
		60: "KRB_ERR_GENERIC",
		68: "KDC_ERR_WRONG_REALM",
		-1: "",
		30: "",
		77: "",
	}
	for code, name := range want {
		if got := kerberos.CodeName(code); got != name {
			t.Errorf("CodeName(%d) = %q; want %q", code, got, name)
		}
	}
}

// TestMeaningsAgreeWithGokrb5: every code triage explains carries the name gokrb5
// gives it, so the table of meanings and the names the KDC's errors carry cannot
// drift apart.
func TestMeaningsAgreeWithGokrb5(t *testing.T) {
	for _, e := range triage.KerberosErrors() {
		if got := kerberos.CodeName(e.Code); got != e.Name {
			t.Errorf("triage explains %#x as %s; gokrb5 names it %q", e.Code, e.Name, got)
		}
	}
}

func TestEtypeName(t *testing.T) {
	for etype, want := range map[int]string{
		17: "aes128-cts-hmac-sha1-96",
		18: "aes256-cts-hmac-sha1-96",
		23: "rc4-hmac",
		99: "etype 99",
	} {
		if got := kerberos.EtypeName(etype); got != want {
			t.Errorf("EtypeName(%d) = %q; want %q", etype, got, want)
		}
	}
}
