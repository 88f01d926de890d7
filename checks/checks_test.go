package checks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"authtriage/demo"
	"authtriage/triage"
)

func TestSkipsWithoutSource(t *testing.T) {
	tests := []struct {
		name  string
		check triage.Check
		want  string
	}{
		{"errorlog default reason", ErrorLog{}, "give --errorlog FILE"},
		{"errorlog given reason", ErrorLog{NoSource: "the inventory names no errorlog"}, "the inventory names no errorlog"},
		{"eventlog default reason", EventLog{}, "give --events FILE"},
	}
	for _, tt := range tests {
		_, err := tt.check.Run(t.Context(), triage.Target{Host: "h"})
		reason, ok := triage.IsSkip(err)
		if !ok || !strings.Contains(reason, tt.want) {
			t.Errorf("%s: Run error = %v; want a skip saying %q", tt.name, err, tt.want)
		}
	}
}

// TestLiveWindowEndsNow: files read as a live source are windowed back from now, so an
// old log has nothing in the window; copied files are windowed from their newest entry.
func TestLiveWindowEndsNow(t *testing.T) {
	now := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
	live := ErrorLog{FS: demo.Files(), Files: []string{demo.ErrorLog}, Now: now}
	res, err := live.Run(t.Context(), triage.Target{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Obs.Logs {
		if e.ID == 17806 {
			t.Errorf("live read of a 2026 log in 2030 found 17806 in the window: %+v", e)
		}
	}
	copied := live
	copied.Copied = true
	res, err = copied.Run(t.Context(), triage.Target{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range res.Obs.Logs {
		if e.ID == 17806 {
			n += e.Count
		}
	}
	if n == 0 {
		t.Errorf("copied read found no 17806; want the incident in the window")
	}
	if res.Obs.Server == nil || res.Obs.Server.ServiceAccount != `CORP\svc_sql01` {
		t.Errorf("server info = %+v; want the service account from the start-up", res.Obs.Server)
	}
}

// TestUserFileErrorsAreInputErrors: a bad file the user named is their input error; the
// same file from a live source is an ordinary check error.
func TestUserFileErrorsAreInputErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("not a log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var in *triage.InputError
	for _, copied := range []bool{true, false} {
		checks := []triage.Check{ErrorLog{Files: []string{path}, Copied: copied}, EventLog{Files: []string{path}, Copied: copied}}
		for _, c := range checks {
			_, err := c.Run(t.Context(), triage.Target{Host: "h"})
			if err == nil {
				t.Fatalf("%s read %s without error", c.Name(), path)
			}
			if got := errors.As(err, &in); got != copied {
				t.Errorf("%s copied=%v: InputError = %v; want %v (%v)", c.Name(), copied, got, copied, err)
			}
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		24 * time.Hour: "24h", 48 * time.Hour: "2d", 7 * 24 * time.Hour: "7d",
		time.Hour: "1h", 90 * time.Minute: "90m", 1500 * time.Millisecond: "1.5s",
	}
	for d, want := range tests {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q; want %q", d, got, want)
		}
	}
}
