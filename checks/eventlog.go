package checks

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"authtriage/eventlog"
	"authtriage/triage"
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

// Run reads each export within the window.
func (c EventLog) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	if len(c.Files) == 0 {
		reason := c.NoSource
		if reason == "" {
			reason = "no event-log export: give --events FILE (made with wevtutil qe System /f:xml)"
		}
		return triage.Result{}, triage.Skip("%s", reason)
	}
	opt := eventlog.Options{Since: c.Since, End: windowEnd(c.Copied, c.Now)}
	var res triage.Result
	var parts []string
	for _, name := range c.Files {
		sum, err := c.read(ctx, name, opt)
		res.Obs.Logs = append(res.Obs.Logs, sum.Events...)
		parts = append(parts, fmt.Sprintf("%s: %d events, %s", baseNames([]string{name}), sum.Total, describeWindow(sum.From, sum.To, orDefault(c.Since))))
		res.Detail = strings.Join(parts, "; ")
		if err != nil {
			return res, inputError(err, c.Copied)
		}
	}
	return res, nil
}

func (c EventLog) read(ctx context.Context, name string, opt eventlog.Options) (eventlog.Summary, error) {
	if c.Export != nil {
		data, err := c.Export(ctx, name, orDefault(c.Since))
		if err != nil {
			return eventlog.Summary{}, err
		}
		return eventlog.Read(ctx, bytes.NewReader(data), name, opt)
	}
	if c.FS == nil {
		return eventlog.ReadFile(ctx, name, opt)
	}
	f, err := c.FS.Open(name)
	if err != nil {
		return eventlog.Summary{}, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	return eventlog.Read(ctx, f, name, opt)
}
