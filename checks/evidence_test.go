package checks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/demo"
	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/internal/safefile/safefiletest"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/sources/eventlog"
	"github.com/authtriage/authtriage/triage"
)

// TestEventLogProvesNothing: an export without events makes the check an error that
// says so, after the other exports are read; a live log's empty answer is a pass.
func TestEventLogProvesNothing(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "application.xml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	system := filepath.Join(dir, "system.xml")
	data, err := demo.Files().(interface{ ReadFile(string) ([]byte, error) }).ReadFile(demo.Events)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(system, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, copied := range []bool{true, false} {
		res, err := EventLog{Files: []string{empty, system}, Copied: copied}.Run(t.Context(), triage.Target{Host: "h"})
		var in *triage.InputError
		if !errors.Is(err, eventlog.ErrNoEvents) || errors.As(err, &in) {
			t.Errorf("copied=%v: error %v; want ErrNoEvents, not an input error", copied, err)
		}
		if (copied && len(res.Obs.Logs) == 0) || !strings.HasPrefix(res.Detail, "application.xml: no events; system.xml: 7 events") {
			t.Errorf("copied=%v: %d log entries, detail %q; want system.xml read after application.xml", copied, len(res.Obs.Logs), res.Detail)
		}
	}

	live := EventLog{Files: []string{"System"}, Export: func(context.Context, string, time.Duration) ([]byte, error) { return nil, nil }}
	res, err := live.Run(t.Context(), triage.Target{Host: "h"})
	if err != nil || !strings.HasPrefix(res.Detail, "System: 0 events") {
		t.Errorf("live log with no event in the window: %q, %v; want a pass", res.Detail, err)
	}
}

// TestEventLogReadsAFileOnce: the same export named twice, or through a link, is read
// once.
func TestEventLogReadsAFileOnce(t *testing.T) {
	dir := t.TempDir()
	system := filepath.Join(dir, "System.xml")
	data, err := demo.Files().(interface{ ReadFile(string) ([]byte, error) }).ReadFile(demo.Events)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(system, data, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "copy.xml")
	if err := os.Symlink(system, link); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	count := func(files ...string) (int, string) {
		res, err := EventLog{Files: files, Copied: true}.Run(t.Context(), triage.Target{Host: "h"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range res.Obs.Logs {
			n += e.Count
		}
		return n, res.Detail
	}
	once, _ := count(system)
	for _, files := range [][]string{{system, system}, {system, link}} {
		n, detail := count(files...)
		if n != once || !strings.Contains(detail, "the same file as System.xml, read once") {
			t.Errorf("%v: %d entries (%q); want %d, read once", files, n, detail, once)
		}
	}
}

// TestEventLogFIFO: a FIFO named as an export is refused at once.
func TestEventLogFIFO(t *testing.T) {
	fifo := safefiletest.FIFO(t)
	for _, copied := range []bool{true, false} {
		_, err := EventLog{Files: []string{fifo}, Copied: copied}.Run(t.Context(), triage.Target{Host: "h"})
		if !errors.Is(err, safefile.ErrNotRegular) {
			t.Errorf("copied=%v: %v; want ErrNotRegular", copied, err)
		}
	}
}

// TestDirectoryChecksOfAnEmptyLDIF: the spn and account checks of an empty export are
// errors, never an SPN without owner or a missing account.
func TestDirectoryChecksOfAnEmptyLDIF(t *testing.T) {
	l, err := directory.LoadLDIF(strings.NewReader(""), "empty.ldf")
	if err != nil {
		t.Fatal(err)
	}
	target := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", ServiceAccount: `CORP\svc_sql01`,
		Instances: []triage.Instance{{Port: 1433}}}
	for _, c := range []triage.Check{SPN{Dir: l}, Account{Dir: l, NotFound: directory.ErrNotFound}} {
		res, err := c.Run(t.Context(), target)
		if err == nil || !strings.Contains(err.Error(), "the LDIF empty.ldf holds no entries") {
			t.Errorf("%s: %v; want an error that the LDIF holds no entries", c.Name(), err)
		}
		if d := res.Obs.Directory; d != nil && (len(d.SPNs) > 0 || d.ServiceAccountMissing != "") {
			t.Errorf("%s: facts %+v from an empty LDIF", c.Name(), d)
		}
	}
}
