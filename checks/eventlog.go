package checks

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/sources/eventlog"
	"github.com/authtriage/authtriage/triage"
)

// EventLog reads Windows event-log exports (wevtutil qe System|Application /f:xml) for
// Kerberos, NETLOGON, LsaSrv, KDC and SQL Server events.
type EventLog struct {
	Files []string // exports to read; with Export, the names of the live logs ("System")
	// Export, when set, reads the live logs named in Files on this host (the agent on
	// Windows: hostlocal.EventLog) instead of files.
	Export   func(ctx context.Context, log string, since time.Duration) ([]byte, error)
	FS       fs.FS         // when set, holds Files; used for embedded samples
	Copied   bool          // as for ErrorLog: window ends at the newest event; errors are input errors
	NoSource string        // the reason shown when Files is empty
	Since    time.Duration // window length; 0 means 24h
	Now      func() time.Time
}

// Name returns "eventlog".
func (EventLog) Name() string { return "eventlog" }

// Run reads each export within the window. A file named twice (or through a link) is
// read once. An export that holds no event proves nothing: the check is an error that
// says so, after the other exports are read; a live log with no event in the window
// (Export) is a pass.
func (c EventLog) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if len(c.Files) == 0 {
		return triage.Result{}, triage.SkipLacking(triage.MissingEventLog, "%s", cmp.Or(c.NoSource, "no event-log source for "+t.Host))
	}
	opt := eventlog.Options{Since: c.Since, End: windowEnd(c.Copied, c.Now)}
	var res triage.Result
	var parts []string
	var read []readFile
	var empty []error
	for _, name := range c.Files {
		sum, same, err := c.read(ctx, name, opt, &read)
		switch {
		case same != "":
			parts = append(parts, fmt.Sprintf("%s: the same file as %s, read once", baseNames([]string{name}), baseNames([]string{same})))
		case errors.Is(err, eventlog.ErrNoEvents):
			parts = append(parts, fmt.Sprintf("%s: no events", baseNames([]string{name})))
			empty = append(empty, err)
			err = nil
		default:
			res.Obs.Logs = append(res.Obs.Logs, sum.Events...)
			parts = append(parts, fmt.Sprintf("%s: %d events, %s", baseNames([]string{name}), sum.Total, describeWindow(sum.From, sum.To, cmp.Or(c.Since, defaultSince))))
		}
		res.Detail = strings.Join(parts, "; ")
		if err != nil {
			return res, inputError(err, c.Copied)
		}
	}
	return res, joinErrs(empty)
}

// joinErrs returns the errors joined with "; " on one line, or nil for none.
func joinErrs(errs []error) error {
	var err error
	for _, e := range errs {
		if err == nil {
			err = e
		} else {
			err = fmt.Errorf("%w; %w", err, e)
		}
	}
	return err
}

// A readFile is an export file already read, to tell the same file under another name.
type readFile struct {
	name string
	info os.FileInfo
}

// read reads one export. For a file already in read (os.SameFile), it reads nothing and
// returns the name it was read under as same; other files are added to read. A live
// log's answer with no event is an empty Summary, not ErrNoEvents.
func (c EventLog) read(ctx context.Context, name string, opt eventlog.Options, read *[]readFile) (sum eventlog.Summary, same string, err error) {
	if c.Export != nil {
		data, err := c.Export(ctx, name, cmp.Or(c.Since, defaultSince))
		if err != nil {
			return eventlog.Summary{}, "", err
		}
		sum, err := eventlog.Read(ctx, bytes.NewReader(data), name, opt)
		if errors.Is(err, eventlog.ErrNoEvents) {
			err = nil
		}
		return sum, "", err
	}
	var f fs.File
	if c.FS == nil {
		f, err = safefile.Open(ctx, name)
		err = wrapErr("read event export", err)
	} else {
		f, err = c.FS.Open(name)
		err = wrapErr("read "+name, err)
	}
	if err != nil {
		return eventlog.Summary{}, "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return eventlog.Summary{}, "", fmt.Errorf("read %s: %w", name, err)
	}
	for _, r := range *read {
		if os.SameFile(r.info, info) {
			return eventlog.Summary{}, r.name, nil
		}
	}
	*read = append(*read, readFile{name, info})
	sum, err = eventlog.Read(ctx, f, name, opt)
	return sum, "", err
}

// wrapErr returns err with what was being done in front, or nil.
func wrapErr(doing string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", doing, err)
}
