package sqlserver

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// The ring buffers read, as sys.dm_os_ring_buffers names them.
const (
	bufferSecurity     = "RING_BUFFER_SECURITY_ERROR"
	bufferConnectivity = "RING_BUFFER_CONNECTIVITY"
)

// Bounds of the ring-buffer records read from one instance.
const (
	maxRingRecords = 2000      // TOP of qRingBuffers
	maxRecordChars = 16000     // longer records are sent as NULL and skipped
	maxRecordBytes = 64 << 10  // a record's text as Go reads it, UTF-8
	maxRecordDepth = 32        // element nesting
	maxRecordToks  = 20000     // XML tokens
	maxField       = 256       // bytes kept of one element's text
	maxAge         = 3650 * 24 // hours: an older record's time is not believed
)

// qRingBuffers reads the newest security and connectivity ring-buffer records, with
// the server's tick count and clock to date them.
//
// Sources:
//   - "sys.dm_os_ring_buffers (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-os-ring-buffers-transact-sql:
//     ring_buffer_type nvarchar(60); timestamp bigint "The time when a ring buffer record
//     was added, in milliseconds since the computer started"; record nvarchar(max),
//     "Not supported unless described in the official Microsoft product documentation,
//     or used as directed by Microsoft for diagnostic and troubleshooting purposes";
//     permissions VIEW SERVER STATE up to SQL Server 2019, VIEW SERVER PERFORMANCE
//     STATE from SQL Server 2022.
//   - "sys.dm_os_sys_info (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-os-sys-info-transact-sql:
//     ms_ticks bigint "Specifies the number of milliseconds since the computer started".
//     Both count from the same start, so a record was added ms_ticks - timestamp
//     milliseconds before the query ran: SYSUTCDATETIME() of the same query, on the
//     server's own clock, minus that.
//
// Records longer than maxRecordChars come as NULL, so one query's answer stays bounded.
const qRingBuffers = `SELECT TOP (2000) r.ring_buffer_type, r.[timestamp], i.ms_ticks, SYSUTCDATETIME() AS now_utc,
	CASE WHEN LEN(r.record) <= 16000 THEN r.record END AS record
FROM sys.dm_os_ring_buffers AS r
CROSS JOIN sys.dm_os_sys_info AS i
WHERE r.ring_buffer_type IN (N'RING_BUFFER_SECURITY_ERROR', N'RING_BUFFER_CONNECTIVITY')
ORDER BY r.[timestamp] DESC`

// readRingBuffers reads qRingBuffers into r.Failures, grouped, and notes the records
// it could not read.
func readRingBuffers(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	var recs []ringRecord
	bad := 0
	err := s.query(ctx, qRingBuffers, func(rows *sql.Rows) error {
		var typ, text sql.NullString
		var stamp, ticks sql.NullInt64
		var now sql.NullTime
		if err := rows.Scan(&typ, &stamp, &ticks, &now, &text); err != nil {
			return err
		}
		if len(recs)+bad >= maxRingRecords {
			return nil
		}
		rec, err := parseRecord(typ.String, text.String)
		switch {
		case err != nil || !text.Valid || !stamp.Valid || !ticks.Valid || !now.Valid:
			bad++
			return nil
		case !rec.failure():
			return nil
		}
		rec.Time = recordTime(now.Time, ticks.Int64, stamp.Int64)
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return err
	}
	r.Failures = groupRecords(in.String(), recs)
	if bad > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d ring-buffer %s on %s could not be read (not XML, too long, or without a time).",
			bad, plural(bad, "record", "records"), in.String()))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// recordTime returns when a record stamped stamp was added, given the tick count ticks
// read at now (both in milliseconds since the computer started).
func recordTime(now time.Time, ticks, stamp int64) time.Time {
	ago := ticks - stamp
	if ago < 0 || ago > int64(maxAge)*int64(time.Hour/time.Millisecond) {
		ago = 0
	}
	return now.UTC().Add(-time.Duration(ago) * time.Millisecond)
}

// A ringRecord is what one ring-buffer record says, before grouping.
type ringRecord struct {
	Buffer string // RING_BUFFER_SECURITY_ERROR or RING_BUFFER_CONNECTIVITY
	// RecordType is a connectivity record's kind: "Error", "LoginTimers",
	// "ConnectionClose".
	RecordType string
	API        string // a security record's APIName
	CallingAPI string // a security record's CallingAPIName
	// Code is a security record's ErrorCode, or a connectivity record's OSError when not
	// 0, as lower-case hex.
	Code   string
	Number int // a connectivity record's SniConsumerError: the SQL Server error number
	State  int // a connectivity record's State
	// SSPIMillis is a connectivity record's LoginTimers/SspiProcessingInMilliseconds.
	SSPIMillis int
	Client     string // a connectivity record's RemoteHost
	// Conn is a connectivity record's SniConnectionId, "" when it is absent or zero.
	Conn string
	Time time.Time
}

// failure reports whether the record tells of a failure: every security record, and
// the connectivity records of kind Error and LoginTimers. ConnectionClose records tell
// of sessions the server closed, as a KILL does, which are not login failures.
func (r ringRecord) failure() bool {
	switch r.Buffer {
	case bufferSecurity:
		return true
	case bufferConnectivity:
		return r.RecordType == "Error" || r.RecordType == "LoginTimers"
	}
	return false
}

// The elements parseRecord reads, by local name, wherever they are in the record.
//
// Sources for the connectivity record:
//   - "Connectivity troubleshooting in SQL Server 2008 with the Connectivity Ring
//     Buffer", SQL Server Protocols team,
//     https://learn.microsoft.com/archive/blogs/sql_protocols/connectivity-troubleshooting-in-sql-server-2008-with-the-connectivity-ring-buffer:
//     the buffer "captures a record for each server-initiated connection closure,
//     including each kill of a session or Login Failed event"; a record is
//     <Record id type="RING_BUFFER_CONNECTIVITY" time><ConnectivityTraceRecord> with
//     <RecordType>ConnectionClose</RecordType>, <RecordSource>, <Spid>, <SniConnectionId>,
//     <RemoteHost>, <RemotePort> and more.
//   - "Collect the Connectivity Ring Buffer", Microsoft CSS,
//     https://github.com/microsoft/CSS_SQL_Networking_Tools/wiki/Collect-the-Connectivity-Ring-Buffer:
//     reads /Record/ConnectivityTraceRecord/RecordType, SniConsumerError (as the error
//     number, joined to sys.messages), State, Spid, RemoteHost, RemotePort, and filters
//     RecordType = 'Error'.
//   - "Intermittent or periodic authentication issues in SQL Server",
//     https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/intermittent-periodic-authentication:
//     "Many events include login timers that tell you where time is spent ... Time
//     spent on ... Security Support Provider Interface (SSPI) APIs indicates potential
//     issues with the Windows security subsystem."
//
// Microsoft documents neither the name of the SSPI login timer
// (LoginTimers/SspiProcessingInMilliseconds) nor OSError; they are the names records
// carry, read where present and zero where not.
//
// For the security record, "MSSQLSERVER_33081",
// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-33081-database-engine-error,
// says the ring buffer holds the name of the failing API and the Windows error code it
// returned, and queries ring_buffer_type = 'RING_BUFFER_SECURITY_ERROR'. Microsoft does
// not document the element names (ErrorCode, APIName, CallingAPIName, under Error);
// they are read by name at any depth, so that another nesting still reads.
func recordField(name string) bool {
	switch name {
	case "RecordType", "SniConsumerError", "State", "RemoteHost", "OSError", "SspiProcessingInMilliseconds", "SniConnectionId",
		"ErrorCode", "APIName", "CallingAPIName":
		return true
	}
	return false
}

// errNotRecord is returned for text whose root element is not Record.
var errNotRecord = errors.New("the root element is not Record")

// parseRecord reads a ring-buffer record of buffer. It reads at most maxRecordBytes of
// XML, maxRecordToks tokens and maxRecordDepth levels, keeps at most maxField bytes of
// each element it reads (the first of each name), and never expands an entity beyond
// XML's own five. It returns an error for text that is not one well-formed Record
// element within those bounds.
func parseRecord(buffer, text string) (ringRecord, error) {
	rec := ringRecord{Buffer: buffer}
	if len(text) > maxRecordBytes {
		return rec, fmt.Errorf("record of %d bytes: more than %d", len(text), maxRecordBytes)
	}
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = true
	d.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("record in charset %.40q", charset)
	}
	fields := map[string]string{}
	var capture string // the element whose text is being read, "" for none
	var buf bytes.Buffer
	depth, captureDepth, toks := 0, 0, 0
	rootDone := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rec, err
		}
		if toks++; toks > maxRecordToks {
			return rec, fmt.Errorf("more than %d XML tokens", maxRecordToks)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return rec, errors.New("content after the Record element")
			}
			if depth == 0 && t.Name.Local != "Record" {
				return rec, errNotRecord
			}
			if depth++; depth > maxRecordDepth {
				return rec, fmt.Errorf("elements nested deeper than %d", maxRecordDepth)
			}
			if capture == "" && recordField(t.Name.Local) {
				if _, seen := fields[t.Name.Local]; !seen {
					capture, captureDepth = t.Name.Local, depth
					buf.Reset()
				}
			}
		case xml.EndElement:
			if capture != "" && depth == captureDepth {
				fields[capture] = strings.TrimSpace(strings.ToValidUTF8(buf.String(), ""))
				capture = ""
			}
			if depth--; depth == 0 {
				rootDone = true
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return rec, errors.New("text outside the Record element")
			}
			if capture != "" && depth == captureDepth && buf.Len() < maxField {
				buf.Write(t[:min(len(t), maxField-buf.Len())])
			}
		case xml.Directive:
			return rec, errors.New("a directive (DOCTYPE) in the record")
		}
	}
	if !rootDone {
		return rec, errors.New("no Record element")
	}
	rec.RecordType = fields["RecordType"]
	rec.API = fields["APIName"]
	rec.CallingAPI = fields["CallingAPIName"]
	rec.Client = fields["RemoteHost"]
	switch buffer {
	case bufferSecurity:
		rec.Code = hexCode(fields["ErrorCode"])
	case bufferConnectivity:
		rec.Number = number(fields["SniConsumerError"])
		rec.State = number(fields["State"])
		rec.SSPIMillis = max(number(fields["SspiProcessingInMilliseconds"]), 0)
		rec.Code = hexCode(fields["OSError"])
		if id := fields["SniConnectionId"]; strings.Trim(id, "0-") != "" {
			rec.Conn = strings.ToUpper(id)
		}
	}
	return rec, nil
}

// number reads a decimal integer of at most 32 bits; anything else is 0.
func number(s string) int {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0
	}
	return int(n)
}

// hexCode returns an error code written as hex ("0x8C5", "0x8009030C") or as a decimal
// number (negative for an HRESULT) as lower-case hex of 32 bits: "0x8c5",
// "0x8009030c". It returns "" for 0 and for what is not such a number.
func hexCode(s string) string {
	var v uint32
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return ""
		}
		v = uint32(n)
	} else {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < -1<<31 || n > 1<<32-1 {
			return ""
		}
		v = uint32(n)
	}
	if v == 0 {
		return ""
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

// groupRecords groups records that mean the same thing (same buffer, API, calling
// API, code, number and state) into events of instance, the latest first: Count, First
// and Last, the distinct clients sorted (at most triage.MaxClients) and the largest
// SSPI time. Connectivity records of one connection (the same SniConnectionId) that
// mean the same thing, as an Error and a LoginTimers record of one failed login may,
// count once.
func groupRecords(instance string, recs []ringRecord) []triage.RingBufferEvent {
	type key struct {
		buffer, api, calling, code string
		number, state              int
	}
	var order []key
	events := map[key]*triage.RingBufferEvent{}
	clients := map[key]map[string]bool{}
	type connKey struct {
		key
		conn string
	}
	seen := map[connKey]bool{}
	for _, r := range recs {
		k := key{r.Buffer, r.API, r.CallingAPI, r.Code, r.Number, r.State}
		ev := events[k]
		if ev == nil {
			ev = &triage.RingBufferEvent{
				Instance: instance, Buffer: r.Buffer, API: r.API, CallingAPI: r.CallingAPI,
				Code: r.Code, Number: r.Number, State: r.State, First: r.Time, Last: r.Time,
			}
			events[k], clients[k] = ev, map[string]bool{}
			order = append(order, k)
		}
		if r.Conn == "" || !seen[connKey{k, r.Conn}] {
			ev.Count++
		}
		if r.Conn != "" {
			seen[connKey{k, r.Conn}] = true
		}
		if r.Time.Before(ev.First) {
			ev.First = r.Time
		}
		if r.Time.After(ev.Last) {
			ev.Last = r.Time
		}
		ev.SSPIMillis = max(ev.SSPIMillis, r.SSPIMillis)
		if r.Client != "" {
			clients[k][r.Client] = true
		}
	}
	out := make([]triage.RingBufferEvent, 0, len(order))
	for _, k := range order {
		ev := events[k]
		for c := range clients[k] {
			ev.Clients = append(ev.Clients, c)
		}
		slices.Sort(ev.Clients)
		if len(ev.Clients) > triage.MaxClients {
			ev.Clients = ev.Clients[:triage.MaxClients]
		}
		out = append(out, *ev)
	}
	slices.SortStableFunc(out, func(a, b triage.RingBufferEvent) int {
		return cmp.Or(b.Last.Compare(a.Last), cmp.Compare(a.Buffer, b.Buffer), cmp.Compare(a.API, b.API),
			cmp.Compare(a.Code, b.Code), cmp.Compare(a.Number, b.Number), cmp.Compare(a.State, b.State))
	})
	if len(out) == 0 {
		return nil
	}
	return out
}
