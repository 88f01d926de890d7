package checks

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/authtriage/authtriage/sources/errorlog"
	"github.com/authtriage/authtriage/triage"
)

// ErrorLog reads SQL Server's ERRORLOG for authentication failures and SPN
// registration: the rollover set of a live instance, copies the user was sent, or
// embedded sample files.
type ErrorLog struct {
	// Files are the logs to read. A path named ERRORLOG stands for its whole rollover
	// set. Empty means there is no source and the check is skipped with NoSource.
	Files []string
	// FS, when set, holds Files (read whole, without rollover); used for embedded samples.
	FS fs.FS
	// Copied says the files were copied off the host or given by the user: the time
	// window ends at their newest entry rather than now, and a file that cannot be read
	// is the user's input error.
	Copied bool
	// NoSource is the reason shown when Files is empty.
	NoSource string
	Since    time.Duration           // window length; 0 means defaultSince (24h)
	Now      func() time.Time        // nil means time.Now
	Progress func(done, total int64) // optional, for long scans
}

// Name returns "errorlog".
func (ErrorLog) Name() string { return "errorlog" }

// Run reads the logs within the window. The result's detail names the files and the
// window, followed by what limits what they show (errorlog.Summary.Notes), and its
// observations hold the log events and, when the window holds 17806, 18452 or 18456
// entries, their trend per hour (errorlog.Summary.Trend). An unreadable file is an
// error, kept with whatever was read before it; so are files that hold no entry at
// all, which prove nothing either way, and that error is never the user's input error
// (the report is printed, its verdict unknown unless a finding explains the incident).
func (c ErrorLog) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if len(c.Files) == 0 {
		return triage.Result{}, triage.SkipLacking(triage.MissingErrorLog, "%s", cmp.Or(c.NoSource, "no ERRORLOG source for "+t.Host))
	}
	opt := errorlog.Options{Since: c.Since, Progress: c.Progress, End: windowEnd(c.Copied, c.Now)}
	sum, err := c.read(ctx, opt)
	res := triage.Result{Obs: triage.Observations{Logs: sum.Events, Server: sum.Server, Trend: sum.Trend}}
	var detail []string
	if len(sum.Files) > 0 {
		detail = append(detail, fmt.Sprintf("%s: %s", baseNames(sum.Files), describeWindow(sum.From, sum.To, cmp.Or(c.Since, defaultSince))))
	}
	res.Detail = strings.Join(append(detail, sum.Notes...), "; ")
	if errors.Is(err, errorlog.ErrEmpty) {
		return res, err
	}
	return res, inputError(err, c.Copied)
}

func (c ErrorLog) read(ctx context.Context, opt errorlog.Options) (errorlog.Summary, error) {
	if c.FS == nil {
		return errorlog.ReadFiles(ctx, c.Files, opt)
	}
	var all errorlog.Summary
	for _, name := range c.Files {
		data, err := fs.ReadFile(c.FS, name)
		if err != nil {
			return all, fmt.Errorf("read %s: %w", name, err)
		}
		sum, err := errorlog.Read(ctx, bytes.NewReader(data), int64(len(data)), name, opt)
		all.Events = append(all.Events, sum.Events...)
		all.Files = append(all.Files, sum.Files...)
		all.Notes = append(all.Notes, sum.Notes...)
		if all.Server == nil {
			all.Server = sum.Server
		}
		all.From, all.To = sum.From, sum.To
		all.Trend = triage.MergeTrends(all.Trend, sum.Trend)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}
