package checks

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// sqlLogger logs in to SQL Server with Windows authentication.
type sqlLogger interface {
	Logins(ctx context.Context, t triage.Target) []triage.SQLLogin
}

// SQL logs in to each of the target's instances with integrated authentication, as a
// client would, and records how: refused (18452, 18456 ...), or accepted with NTLM or
// Kerberos, with the service account and the server's clock.
type SQL struct {
	Server   sqlLogger // nil: skipped with NoSource
	NoSource string
}

// Name returns "sql".
func (SQL) Name() string { return "sql" }

// Run logs in to every instance.
func (c SQL) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.Server == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingKerberos, "%s", cmp.Or(c.NoSource, "no Kerberos settings for the checker's SQL Server logins"))
	}
	if t.FQDN == "" {
		return triage.Result{}, triage.SkipLacking(triage.MissingFQDN, "the host's FQDN is not known")
	}
	logins := c.Server.Logins(ctx, t)
	var parts, unreached []string
	for _, l := range logins {
		switch {
		case l.OK:
			parts = append(parts, fmt.Sprintf("%s: %s", l.Instance, l.AuthScheme))
		case l.Number != 0:
			parts = append(parts, fmt.Sprintf("%s: error %d", l.Instance, l.Number))
		case l.Connected:
			parts = append(parts, fmt.Sprintf("%s: %s", l.Instance, l.Err))
		default:
			unreached = append(unreached, fmt.Sprintf("%s (%s): %s", l.Instance, l.Address, l.Err))
		}
	}
	res := triage.Result{Detail: strings.Join(parts, "; "), Obs: triage.Observations{SQL: logins}}
	if len(unreached) > 0 {
		// A login that never reached the server proves nothing about authentication:
		// the check could not do its job for that instance, so it is an error, and the
		// logins that did answer are kept.
		return res, fmt.Errorf("could not reach SQL Server: %s", strings.Join(unreached, "; "))
	}
	return res, nil
}

// sqlErrorLog reads the error log through sp_readerrorlog: the events of the window
// and their trend per hour (nil when it holds no 17806, 18452 or 18456 entry), and,
// with an error, what it read before it.
type sqlErrorLog interface {
	ErrorLog(ctx context.Context, t triage.Target, in triage.Instance, since time.Duration) ([]triage.LogEvent, *triage.Trend, error)
}

// SQLErrorLog reads ERRORLOG through sp_readerrorlog, for hosts whose file the agent
// cannot read (inventory errorlog: sql). It stands in for the errorlog check.
type SQLErrorLog struct {
	Server sqlErrorLog
	Since  time.Duration
}

// Name returns "errorlog".
func (SQLErrorLog) Name() string { return "errorlog" }

// Run reads the first instance's log within the window. As the errorlog check's, its
// observations hold the log events and, when the window holds 17806, 18452 or 18456
// entries, their trend per hour. An error is kept with whatever was read before it.
func (c SQLErrorLog) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.Server == nil {
		return triage.Result{}, triage.Skip("reading the error log through sp_readerrorlog needs the agent")
	}
	in := triage.Instance{Port: 1433}
	if len(t.Instances) > 0 {
		in = t.Instances[0]
	}
	events, trend, err := c.Server.ErrorLog(ctx, t, in, cmp.Or(c.Since, defaultSince))
	res := triage.Result{Detail: fmt.Sprintf("sp_readerrorlog on %s, last %s", in, human.Span(cmp.Or(c.Since, defaultSince))),
		Obs: triage.Observations{Logs: events, Trend: trend}}
	if err != nil {
		return res, fmt.Errorf("sp_readerrorlog on %s: %w", in, err)
	}
	return res, nil
}
