package sqlserver

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/sources/errorlog"
	"github.com/authtriage/authtriage/triage"
)

// LogName is LogEvent.Log of the entries ErrorLog reads.
const LogName = "sp_readerrorlog"

const (
	// qClock reads the server's clock and zone, to place the window in LogDate's
	// local time.
	qClock = "SELECT SYSUTCDATETIME(), DATEPART(TZOFFSET, SYSDATETIMEOFFSET())"
	// procReadErrorLog is called as a procedure with two integers, the log number
	// and 1 (SQL Server's log, not the Agent's): EXEC sp_readerrorlog n, 1.
	procReadErrorLog = "sp_readerrorlog"

	// maxLogs bounds the logs read: the current one and the 99 archives SQL Server
	// keeps at most.
	maxLogs = 100
	// startupSpan bounds a start-up: SPN messages written this long after a log's
	// start-up banner describe the running process and are kept whatever the window.
	startupSpan = 15 * time.Minute
)

// ErrorLog reads the SQL Server error log of instance in on t through sp_readerrorlog,
// for a host whose ERRORLOG file the agent cannot read. It returns the entries of
// interest (errorlog.ParseMessage) written within since before the server's clock (0
// means 24 hours), grouped as errorlog.ReadFiles groups them, with Source errorlog and
// Log "sp_readerrorlog", in the order of their first entry. It reads the current log,
// then older ones while they may hold entries of the window; the SPN messages of a
// start-up at the top of a log read are kept even when older than the window.
//
// It also returns the trend of the window's 17806, 18452 and 18456 entries, counted
// as errorlog.Summary.Trend counts them for a window that ends at the server's clock:
// each entry once (a header with its message is one entry), per UTC hour over the
// hours of triage.NewTrend(clock-since, clock); nil when those hours hold none.
//
// LogDate is the server's local time; it is placed with the server's current UTC
// offset, so entries from before a daylight-saving change are an hour off. An error
// names the step; a login refused by the server wraps its error (see Logins). An error
// reading a log comes with the events and trend of the rows read before it.
func (c *Checker) ErrorLog(ctx context.Context, t triage.Target, in triage.Instance, since time.Duration) (events []triage.LogEvent, trend *triage.Trend, err error) {
	if since < 0 {
		return nil, nil, fmt.Errorf("negative time window %s", since)
	}
	since = cmp.Or(since, 24*time.Hour)
	host := cmp.Or(t.FQDN, t.Host)
	d := &dialer{}
	defer func() {
		if r := recover(); r != nil {
			events, trend, err = nil, nil, fmt.Errorf("sp_readerrorlog on %s: the SQL Server driver failed: %v", address(host, in, d.dialled()), r)
		}
	}()
	s, err := c.open(ctx, host, in, d)
	if err != nil {
		return nil, nil, fmt.Errorf("log in to %s: %w", address(host, in, d.dialled()), err)
	}
	defer s.close()
	where := address(host, in, d.dialled())

	var now time.Time
	var offset int64
	if err := s.queryRow(ctx, qClock, &now, &offset); err != nil {
		return nil, nil, fmt.Errorf("read the clock of %s: %w", where, err)
	}
	if offset < -14*60 || offset > 14*60 {
		return nil, nil, fmt.Errorf("%s reports a UTC offset of %d minutes", where, offset)
	}
	zone := time.FixedZone("", int(offset)*60)
	lr := newLogReader(now.Add(-since), now)
	for n := range maxLogs {
		first, err := s.readLog(ctx, n, zone, lr)
		if err != nil {
			if n > 0 && isServerError(err) {
				// xp_readerrorlog refuses a log number past the last archive.
				c.log.DebugContext(ctx, "no older error log", "host", host, "log", n, "err", err)
				break
			}
			return lr.events(), lr.counts(), fmt.Errorf("sp_readerrorlog %d on %s: %w", n, where, err)
		}
		if !first.IsZero() && !first.After(lr.from) {
			break // this log starts before the window: older ones end before it
		}
	}
	return lr.events(), lr.counts(), nil
}

// readLog feeds log n to lr and returns the time of its first row, zero if it has none.
func (s *session) readLog(ctx context.Context, n int, zone *time.Location, lr *logReader) (time.Time, error) {
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	s.d.bound(qctx)
	rows, err := s.conn.QueryContext(qctx, procReadErrorLog, int32(n), int32(1))
	if err != nil {
		return time.Time{}, err
	}
	defer rows.Close()
	var first time.Time
	lr.startLog()
	for rows.Next() {
		var date sql.NullTime
		var proc, text sql.NullString
		if err := rows.Scan(&date, &proc, &text); err != nil {
			return first, err
		}
		if !date.Valid {
			continue
		}
		// LogDate is a datetime in the server's zone; the driver reads it as UTC.
		at := date.Time
		at = time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), at.Second(), at.Nanosecond(), zone)
		if first.IsZero() {
			first = at
		}
		lr.add(logRow{date: at, proc: proc.String, text: text.String})
	}
	lr.endLog()
	return first, rows.Err()
}

// A logRow is one row of sp_readerrorlog: LogDate, ProcessInfo, Text.
type logRow struct {
	date time.Time
	proc string
	text string
}

// lookaround is how many rows after an "Error: N, Severity: S, State: T." row its
// message may come, other threads' rows in between, as errorlog's file reader allows.
const lookaround = 8

// A logReader turns sp_readerrorlog rows into log entries as errorlog's file reader
// turns lines: a header row ("Error: 18456, Severity: 14, State: 8.") is paired with
// the message row of the same time and process that follows it, which gives the
// message the header's state; a header whose message is not recognised counts alone,
// and a message without its header counts only if it is an SPN message; an 18452
// takes the code of the 17806 written with it. Each entry of the window is
// also counted in the trend, as errorlog's file reader counts it.
type logReader struct {
	from    time.Time
	g       triage.LogGrouper
	trend   *triage.Trend // the hours of the window's last day
	counted int           // entries counted in trend
	// oldest holds the oldest entry of each group: logs are read newest first, and a
	// group's Text is that of its first entry in time.
	oldest map[groupKey]triage.LogEntry

	// Per log:
	rows    int
	upTo    time.Time // SPN messages up to this time belong to the log's start-up; zero if none
	pending []header  // headers waiting for their message, oldest first
	sspi    triage.LogEntry
	startup bool // a start-up was seen in a newer log
}

type header struct {
	row   logRow
	num   int
	state int
	left  int // rows after which the header counts alone
}

// newLogReader returns a reader for the window from from to end.
func newLogReader(from, end time.Time) *logReader {
	return &logReader{from: from, trend: triage.NewTrend(from, end)}
}

func (r *logReader) startLog() {
	r.rows, r.upTo, r.pending, r.sspi = 0, time.Time{}, nil, triage.LogEntry{}
}

// endLog counts the headers still waiting for a message.
func (r *logReader) endLog() {
	for _, h := range r.pending {
		r.headerAlone(h)
	}
	r.pending = nil
}

// add reads one row.
func (r *logReader) add(row logRow) {
	r.rows++
	text := strings.TrimSpace(row.text)
	if r.rows == 1 && strings.HasPrefix(text, "Microsoft SQL Server ") && !r.startup {
		r.startup, r.upTo = true, row.date.Add(startupSpan)
	}
	if num, _, state, ok := errorlog.ParseHeader(text); ok {
		r.age()
		if errorlog.Interesting(num) {
			r.pending = append(r.pending, header{row: row, num: num, state: state, left: lookaround})
		}
		return
	}
	e, ok := errorlog.ParseMessage(text)
	if i := slices.IndexFunc(r.pending, func(h header) bool { return h.row.date.Equal(row.date) && h.row.proc == row.proc }); i >= 0 {
		h := r.pending[i]
		r.pending = slices.Delete(r.pending, i, i+1)
		if ok && errorlog.SameMessage(e.ID, h.num) {
			e.State = h.state
			r.entry(e, row)
			r.age()
			return
		}
		r.headerAlone(h)
	}
	if ok && errorlog.IsSPNMessage(e.ID) {
		// Only SPN messages count without their header: errorlog's file reader finds
		// the others through their header, so that a failure whose message strays from
		// its header counts once, alone, as there.
		r.entry(e, row)
	}
	r.age()
}

// age counts a row against the pending headers; those that waited long enough count
// alone.
func (r *logReader) age() {
	keep := r.pending[:0]
	for _, h := range r.pending {
		if h.left--; h.left <= 0 {
			r.headerAlone(h)
			continue
		}
		keep = append(keep, h)
	}
	r.pending = keep
}

// headerAlone counts a header without its message.
func (r *logReader) headerAlone(h header) {
	var e triage.LogEntry
	e.ID, e.State, e.Text = h.num, h.state, strings.TrimSpace(h.row.text)
	r.entry(e, h.row)
}

// entry counts e, written at row's time, if it is in the window or a start-up's SPN
// message, and counts it in the trend if it is in the window.
func (r *logReader) entry(e triage.LogEntry, row logRow) {
	e.Source, e.Log, e.Time = triage.SourceErrorlog, LogName, row.date
	switch e.ID {
	case triage.Msg17806:
		r.sspi = e
	case triage.Msg18452:
		if r.sspi.ID != 0 && e.Time.Equal(r.sspi.Time) && e.Client == r.sspi.Client {
			e.Code = r.sspi.Code
		}
	}
	inWindow := !e.Time.Before(r.from)
	if inWindow && r.trend.Add(e.ID, e.Time) { // Add drops other errors, and entries after the end
		r.counted++
	}
	if inWindow || errorlog.IsSPNMessage(e.ID) && !r.upTo.IsZero() && !e.Time.After(r.upTo) {
		r.g.Add(e)
		k := keyOf(e.LogEvent)
		if old, ok := r.oldest[k]; !ok || e.Time.Before(old.Time) {
			if r.oldest == nil {
				r.oldest = make(map[groupKey]triage.LogEntry)
			}
			r.oldest[k] = e
		}
	}
}

// counts returns the trend, nil if it counted no entry.
func (r *logReader) counts() *triage.Trend {
	if r.counted == 0 {
		return nil
	}
	return r.trend
}

// events returns the groups in the order of their first entry, each with the text of
// its first entry.
func (r *logReader) events() []triage.LogEvent {
	events := r.g.Events()
	for i, ev := range events {
		if old, ok := r.oldest[keyOf(ev)]; ok {
			events[i].Text = old.Text
		}
	}
	slices.SortStableFunc(events, func(a, b triage.LogEvent) int { return a.First.Compare(b.First) })
	return events
}

// groupKey holds the fields triage.LogGrouper groups entries by.
type groupKey struct {
	source                   triage.Source
	log, provider            string
	id, state                int
	code, login, spn, reason string
	linked                   string
}

func keyOf(e triage.LogEvent) groupKey {
	return groupKey{e.Source, e.Log, e.Provider, e.ID, e.State, e.Code, e.Login, e.SPN, e.Reason, e.Linked}
}
