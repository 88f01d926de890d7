package checks

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

func TestHostChecks(t *testing.T) {
	target := triage.Target{Host: "h"}
	res, err := LSA{Probe: func(context.Context) triage.LSAProbe { return triage.LSAProbe{Err: "no answer within 5s"} }}.Run(t.Context(), target)
	if err != nil || res.Obs.Host.LSA.Err == "" || !strings.Contains(res.Detail, "no answer") {
		t.Errorf("LSA = %+v, %v", res, err)
	}
	if _, err := (LSA{}).Run(t.Context(), target); err == nil {
		t.Errorf("LSA without a probe did not skip")
	}

	read := func(_ context.Context, path string) (triage.KeytabFacts, error) {
		if path == "/bad" {
			return triage.KeytabFacts{}, errors.New("/bad is not a keytab")
		}
		return triage.KeytabFacts{Path: path, Entries: []triage.KeytabEntry{{KVNO: 2}}}, nil
	}
	res, err = Keytab{Path: "/var/opt/mssql/secrets/mssql.keytab", Read: read}.Run(t.Context(), target)
	if err != nil || len(res.Obs.Host.Keytab.Entries) != 1 {
		t.Errorf("Keytab = %+v, %v", res, err)
	}
	if _, err := (Keytab{Path: "/bad", Read: read}).Run(t.Context(), target); err == nil {
		t.Errorf("Keytab of a bad file: no error")
	}
}

// TestEventLogExport: the agent reads live logs through Export, with the same parser.
func TestEventLogExport(t *testing.T) {
	data, err := os.ReadFile("../internal/demo/sqlhost01/System.xml")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	export := func(_ context.Context, log string, since time.Duration) ([]byte, error) {
		asked = append(asked, log)
		return data, nil
	}
	res, err := EventLog{Files: []string{"System"}, Export: export, Copied: true}.Run(t.Context(), triage.Target{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "System" || len(res.Obs.Logs) == 0 {
		t.Errorf("asked %v, got %d event groups", asked, len(res.Obs.Logs))
	}
}
