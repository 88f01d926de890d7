// Package eventlog reads Windows event-log exports (wevtutil XML) and keeps the events
// that explain SQL Server Windows-authentication failures.
package eventlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/triage"
)

// Options choose the time window of a read.
type Options struct {
	Since time.Duration // window length; 0 means 24h
	End   time.Time     // window end; zero means the newest event in the file
}

// Summary is what a read found. From and To are in UTC; both are zero when Options.End
// is zero and no event in the input has a time.
type Summary struct {
	Events   []triage.LogEvent // relevant events in the window, grouped with triage.LogGrouper
	From, To time.Time         // the window used
	Total    int               // events read (relevant or not)
}

const (
	// maxEventSize bounds one <Event>, and the text between two events.
	maxEventSize = 1 << 20
	// slack covers what encoding/xml has read ahead when an event starts, so that an
	// event of maxEventSize bytes always fits.
	slack = 8 << 10
	// maxBuffered bounds the relevant entries held while the window's end is not known.
	maxBuffered = 1 << 18
)

// exportHint tells the user how to make an export this package reads.
const exportHint = `export the log as XML with: wevtutil qe System /f:xml > system.xml ` +
	`(or /f:RenderedXml to keep the message texts; use Application for SQL Server's events)`

// ErrNoEvents is matched (errors.Is) by the error of Read for an input that holds no
// event at all: it is no evidence of what happened in any window.
var ErrNoEvents = errors.New("the export holds no events")

// ReadFile reads the event export at path; see Read. It opens path with safefile.Open
// under ctx: a path that is not a regular file (a FIFO, a device) is refused at once,
// and an open the file system does not answer gives up when ctx is done.
func ReadFile(ctx context.Context, path string, opt Options) (Summary, error) {
	f, err := safefile.Open(ctx, path)
	if err != nil {
		return Summary{}, fmt.Errorf("read event export: %w", err)
	}
	defer f.Close()
	return Read(ctx, f, path, opt)
}

// Read reads an export of a Windows event log: the output of `wevtutil qe System /f:xml`
// or `/f:RenderedXml` (<Event> elements with no root element), or the same wrapped in an
// <Events> root as Event Viewer and Get-WinEvent pipelines write it, in UTF-8 or UTF-16
// (with or without a byte-order mark). name names the input in errors, and its file
// name is the guess for the log of events that do not say ("application" in it means
// Application, anything else System).
//
// An input without any <Event> (empty, only white space, or an <Events> root with no
// event in it) proves nothing: Read returns an empty Summary and an error matching
// ErrNoEvents that says so. A caller that asked a live log for a window, where an
// empty answer means that nothing happened, tests for it with errors.Is.
//
// Read keeps the events authtriage reads (Kerberos client, KDC, NETLOGON, LsaSrv and
// SQL Server's own authentication events) whose TimeCreated falls in the window
// [To-Since, To], both ends included, and returns them grouped with triage.LogGrouper,
// the groups in the order their first entry appears in the input. Total counts every
// event read. Events without a readable TimeCreated are counted but never kept. With a
// zero End the window ends at the newest event in the input, of any provider.
//
// Each kept event is a triage.LogEntry with Source SourceEventlog; Log its <Channel>
// ("Application" for SQL Server's events); Provider and ID from <System>; Time in UTC;
// Text the rendered message, else the message SQL Server would have written (18456,
// 18452, 17806), else the data values joined with "; ", its white space made single
// spaces and cut to about 1000 bytes; Code as lower-case hex; State -1 unless the
// message says; SPN, Login, Reason, Client and Millis as the kind of event gives them.
//
// Read refuses binary .evtx files and input that is not an event export, with an error
// that says how to export the log. It reads one event at a time and refuses an event
// larger than 1 MiB. With a zero End it holds the relevant events that may still fall
// in the window until the input ends, and stops with an error past 262,144 of them.
// When the export is truncated or malformed part way, when it stops, or when ctx is
// done, Read returns the Summary of the events before the problem together with an
// error that says where it stopped. Errors start with name.
func Read(ctx context.Context, r io.Reader, name string, opt Options) (Summary, error) {
	since := opt.Since
	if since <= 0 {
		since = 24 * time.Hour
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(8)
	if err != nil && err != io.EOF {
		return Summary{}, fmt.Errorf("%s: read: %w", name, err)
	}
	if binaryLog(head) {
		base := name[strings.LastIndexAny(name, `/\`)+1:]
		if base == "" {
			base = "FILE.evtx"
		}
		return Summary{}, fmt.Errorf("%s: this is a binary event log (.evtx), not an XML export; %s; "+
			"or convert this file with: wevtutil qe %s /lf:true /f:RenderedXml > %s.xml",
			name, exportHint, base, strings.TrimSuffix(base, ".evtx"))
	}
	src := newTextReader(br, head)
	src.allow(maxEventSize + slack)
	d := xml.NewDecoder(src)
	// The text is UTF-8 by now, whatever the declaration says (Event Viewer writes
	// encoding="UTF-16").
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }

	c := newCollector(name, since, opt.End)
	err = scan(ctx, d, src, c)
	if err == nil && c.total == 0 {
		err = fmt.Errorf("%s: %w, so it shows nothing about any time; %s", name, ErrNoEvents, exportHint)
	}
	return c.summary(), err
}

// scan reads the export token by token and hands each <Event> to c.
func scan(ctx context.Context, d *xml.Decoder, src *textReader, c *collector) error {
	inRoot := false // inside an <Events> root
	for {
		line, _ := d.InputPos() // where the next token starts
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.betweenErr(err, inRoot)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "Event":
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("%s: stopped after event %d: %w", c.name, c.total, err)
				}
				line, _ = d.InputPos()
				var ev event
				if err := d.DecodeElement(&ev, &t); err != nil {
					return c.eventErr(err, line)
				}
				src.allow(maxEventSize + slack)
				if err := c.add(&ev); err != nil {
					return err
				}
			case t.Name.Local == "Events" && !inRoot:
				inRoot = true
			case c.total == 0 && !inRoot:
				return c.notExport(fmt.Sprintf("it starts with <%s>, not <Event> or <Events>", t.Name.Local))
			default: // an element exports do not have: skip it
				if err := d.Skip(); err != nil {
					return c.betweenErr(err, inRoot)
				}
			}
		case xml.EndElement:
			inRoot = false
		case xml.CharData:
			text := bytes.TrimLeft(t, " \t\r\n")
			if len(text) == 0 {
				continue
			}
			if c.total == 0 {
				return c.notExport("it starts with text, not <Event> or <Events>")
			}
			line += bytes.Count(t[:len(t)-len(text)], []byte("\n"))
			return fmt.Errorf("%s: unexpected text after event %d (line %d)", c.name, c.total, line)
		}
	}
}

// notExport is the error for input that is not an event export.
func (c *collector) notExport(why string) error {
	return fmt.Errorf("%s: not a Windows event export (%s); %s", c.name, why, exportHint)
}

// eventErr describes err, met while decoding the event that starts on line.
func (c *collector) eventErr(err error, line int) error {
	n := c.total + 1
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("%s: event %d (line %d) is larger than 1 MiB; events read before it: %d", c.name, n, line, c.total)
	case truncated(err):
		return fmt.Errorf("%s: the export is truncated in event %d (line %d); events read before it: %d", c.name, n, line, c.total)
	case errors.As(err, &se):
		return fmt.Errorf("%s: event %d (line %d) is not well-formed XML: %s at line %d; events read before it: %d", c.name, n, line, se.Msg, se.Line, c.total)
	}
	return fmt.Errorf("%s: read event %d (line %d): %w", c.name, n, line, err)
}

// betweenErr describes err, met outside any event.
func (c *collector) betweenErr(err error, inRoot bool) error {
	var se *xml.SyntaxError
	switch {
	case c.total == 0 && errors.Is(err, errTooLarge):
		return c.notExport("no <Event> in its first MiB")
	case c.total == 0 && errors.As(err, &se) && !(inRoot && truncated(err)):
		return c.notExport(fmt.Sprintf("line %d: %s", se.Line, se.Msg))
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("%s: more than 1 MiB that is not an event after event %d", c.name, c.total)
	case truncated(err) && c.total == 0:
		return fmt.Errorf("%s: the export is truncated before its first event", c.name)
	case truncated(err):
		return fmt.Errorf("%s: the export is truncated after event %d (no closing </Events>)", c.name, c.total)
	case errors.As(err, &se):
		return fmt.Errorf("%s: not well-formed XML after event %d: %s at line %d", c.name, c.total, se.Msg, se.Line)
	}
	return fmt.Errorf("%s: read after event %d: %w", c.name, c.total, err)
}

// truncated reports whether err says the XML ended in the middle of an element.
func truncated(err error) bool {
	var se *xml.SyntaxError
	return errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &se) && se.Msg == "unexpected EOF")
}
