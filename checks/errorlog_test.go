package checks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestErrorLogProvesNothing: an ERRORLOG that holds nothing, or that is not a log or
// not a file, makes the check an error with the reason, never a pass, so the report's
// verdict is unknown. An empty file is never the user's input error: the report is
// printed, saying the file holds nothing.
func TestErrorLogProvesNothing(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink(os.DevNull, zero); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		detail     string // substring of the check's detail
		input      bool   // an input error when the user gave the file
	}{
		{"0 bytes", write("empty", nil), "empty holds nothing: 0 bytes", false},
		{"blank lines", write("blank", []byte("\r\n  \r\n")), "blank holds nothing: only blank lines", false},
		{"not a log", write("notes.txt", []byte("these are not the logs\n")), "not a SQL Server error log", true},
		{"a device", zero, "is not a regular file (a device)", true},
	}
	for _, tt := range tests {
		for _, copied := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				runner := triage.Runner{Checks: []triage.Check{ErrorLog{Files: []string{tt.path}, Copied: copied}}}
				rep := runner.Run(t.Context(), triage.Target{Host: "sqlhost01"})
				if rep.Status != triage.StatusUnknown {
					t.Errorf("copied=%v: report status %s; want unknown", copied, rep.Status)
				}
				c := rep.Checks[0]
				if c.Status != triage.CheckError || !strings.Contains(c.Detail, tt.detail) {
					t.Errorf("copied=%v: check %s %q; want error saying %q", copied, c.Status, c.Detail, tt.detail)
				}
				var in *triage.InputError
				if got, want := errors.As(c.Err, &in), copied && tt.input; got != want {
					t.Errorf("copied=%v: input error = %v; want %v", copied, got, want)
				}
			})
		}
	}
}

// The reader's notes follow the files and window in the detail of a check that passes.
func TestErrorLogNotes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ERRORLOG")
	log := "2025-06-01 09:00:00.00 Server      Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)\n" +
		"2025-06-01 09:00:00.00 Server      UTC adjustment: soon\n" +
		"2025-06-01 09:10:00.00 Logon       Login failed for user 'sa'. Reason: Password did not"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ERRORLOG.1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ErrorLog{Files: []string{path}, Copied: true}.Run(t.Context(), triage.Target{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ERRORLOG, ERRORLOG.1: 2025-05-31 09:10 +00:00 to 2025-06-01 09:10 +00:00 (24h window); ",
		`ERRORLOG: the line "UTC adjustment: soon" does not give the server's UTC offset; its times are read as UTC`,
		"ERRORLOG ends in the middle of a line",
		filepath.Join(dir, "ERRORLOG.1") + " holds nothing: 0 bytes",
	} {
		if !strings.Contains(res.Detail, want) {
			t.Errorf("Detail = %q; want it to contain %q", res.Detail, want)
		}
	}
}
