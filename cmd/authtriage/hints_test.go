package main

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestFlagHints: every kind of missing source a check reports has the flag that gives
// it; with --ldif given, the directory hint asks for what it did not give.
func TestFlagHints(t *testing.T) {
	for _, tc := range []struct {
		m    triage.Missing
		o    checkOptions
		want string
	}{
		{triage.MissingErrorLog, checkOptions{}, "--errorlog FILE"},
		{triage.MissingEventLog, checkOptions{}, "--events FILE"},
		{triage.MissingDirectory, checkOptions{}, "--ldif FILE"},
		{triage.MissingDirectory, checkOptions{ldif: "x.ldf"}, "--config with a directory section"},
		{triage.MissingKerberos, checkOptions{}, "--config with a kerberos section"},
		{triage.MissingFQDN, checkOptions{}, "--fqdn NAME"},
		{triage.MissingServiceAccount, checkOptions{}, "--service-account ACCOUNT"},
	} {
		got := flagHint(tc.m, tc.o)
		if !strings.Contains(got, tc.want) {
			t.Errorf("flagHint(%s) = %q, want it to name %q", tc.m, got, tc.want)
		}
		if tc.o.ldif != "" && strings.Contains(got, "--ldif") {
			t.Errorf("flagHint(%s) with --ldif given = %q asks for --ldif again", tc.m, got)
		}
	}
	if got := flagHint("", checkOptions{}); got != "" {
		t.Errorf("flagHint of nothing missing = %q", got)
	}
}
