package kerberos

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "KDC refusal keeps the KRB error",
			err:  errors.New("[Root cause: KDC_Error] KDC_Error: TGS Exchange Error: kerberos error response from KDC when requesting for MSSQLSvc/sqlmissing.corp.test:1433: KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in Kerberos database"),
			want: "KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in Kerberos database",
		},
		{
			name: "network failure loses the root-cause prefix",
			err:  errors.New("[Root cause: Networking_Error] Networking_Error: AS Exchange Error: failed sending AS_REQ to KDC: communication error with KDC via TCP: error sending to a KDC: error setting dial timeout on connection to 127.0.0.1:39743: dial tcp 127.0.0.1:39743: connect: connection refused"),
			want: "AS Exchange Error: failed sending AS_REQ to KDC: communication error with KDC via TCP: error sending to a KDC: error setting dial timeout on connection to 127.0.0.1:39743: dial tcp 127.0.0.1:39743: connect: connection refused",
		},
		{
			name: "KDC e-text with control characters",
			err:  errors.New("KRB Error: (12) KDC_ERR_POLICY KDC policy rejects request - \x1b[2J\nlogon\u009bhours\r"),
			want: "KRB Error: (12) KDC_ERR_POLICY KDC policy rejects request -  [2J logon hours",
		},
		{
			name: "timeout",
			err:  &timeoutError{after: 1500 * time.Millisecond},
			want: "no answer from the KDC within 1.5s",
		},
		{
			name: "long text is cut",
			err:  errors.New(strings.Repeat("é", 600)),
			want: strings.Repeat("é", 512) + "…",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(tt.err); got != tt.want {
				t.Errorf("describe(%q) = %q; want %q", tt.err, got, tt.want)
			}
		})
	}
}
