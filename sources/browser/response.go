package browser

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authtriage/authtriage/triage"
)

// ErrMalformed is matched (errors.Is) by a *MalformedError: the answer is not a
// well-formed SVR_RESP.
var ErrMalformed = errors.New("malformed SQL Server Browser answer")

// A MalformedError says what is wrong with an answer of SQL Server Browser.
type MalformedError struct {
	Host, Addr string // who answered, when known: "sqlhost01", "192.0.2.10:1434"
	Reason     string // "RESP_SIZE says 200 bytes of RESP_DATA but only 66 follow (truncated)"
}

// Error names who answered, when known, and what is wrong.
func (e *MalformedError) Error() string {
	if e.Host == "" {
		return "malformed SQL Server Browser answer: " + e.Reason
	}
	return fmt.Sprintf("SQL Server Browser on %s (%s) sent a malformed answer: %s", e.Host, e.Addr, e.Reason)
}

// Is reports whether target is ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Message types and limits of the SQL Server Resolution Protocol.
//
// Source: [MC-SQLR] SQL Server Resolution Protocol, 2.2 Message Syntax ("All integer
// fields are represented in little-endian format", text is MBCS and "not
// case-sensitive"), 2.2.2 CLNT_UCAST_EX ("A single byte whose value MUST be 0x03"),
// 2.2.3 CLNT_UCAST_INST (0x04, then INSTANCENAME, "null-terminated ... MUST be no
// greater than 32 bytes in length, not including the null terminator"), 2.2.5
// SVR_RESP (0x05, a 2-byte RESP_SIZE, then RESP_DATA: at most 1,024 bytes answering
// CLNT_UCAST_INST, at most 65,535 answering CLNT_UCAST_EX).
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/1ea6e25f-bff9-4364-ba21-5dc449a601b7
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/ee0e41b0-204f-4a95-b8bd-5783a7c72cb2
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/c97b04b5-d80f-4d3e-9195-83bbfe246639
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/2e1560c9-5097-4023-9f5e-72b9ff1ec3b1
const (
	clntUcastEx   = 0x03
	clntUcastInst = 0x04
	svrResp       = 0x05

	maxInstanceRequest = 32    // INSTANCENAME of CLNT_UCAST_INST, in bytes
	maxInstData        = 1024  // RESP_DATA answering CLNT_UCAST_INST
	maxExData          = 65535 // RESP_DATA answering CLNT_UCAST_EX
	maxRecord          = 1024  // one instance's part of RESP_DATA (2.2.5, Note 3)
	maxServerName      = 255   // SERVERNAME
	maxInstanceName    = 255   // INSTANCENAME of the answer
	maxVersion         = 16    // VERSION_STRING
	maxParameters      = 255   // the parameters of one transport (3.2.5.4, see parseRecord)
	headerSize         = 1 + 2 // SVR_RESP and RESP_SIZE
	maxDatagram        = headerSize + maxExData
)

// ParseResponse parses an SVR_RESP datagram answering CLNT_UCAST_EX (or
// CLNT_UCAST_INST): one view per instance record, in the order sent. Each view has
// Name (InstanceName as sent), BrowserServer (ServerName), Clustered (IsClustered),
// Version, Pipe (the np parameter), TCPEnabled (whether the record lists tcp) and,
// when it does, the port as a PortBrowser claim.
//
// The datagram is evidence from the network: RESP_SIZE must match what follows, every
// record must follow the grammar of [MC-SQLR] 2.2.5 within its limits, names must be
// printable text, instance names must follow SQL Server's rules (triage.ParseInstance)
// and ports must lie from 1 to 65535. Anything else is an error that matches
// ErrMalformed (a *MalformedError) and says what is wrong; nothing is returned from a
// datagram in part.
func ParseResponse(b []byte) ([]triage.InstanceView, error) {
	return parseResponse(b, maxExData)
}

// parseResponse is ParseResponse with RESP_DATA bounded by maxData bytes.
func parseResponse(b []byte, maxData int) ([]triage.InstanceView, error) {
	if len(b) < headerSize {
		return nil, malformed("%d bytes, shorter than the 3-byte SVR_RESP header", len(b))
	}
	if b[0] != svrResp {
		return nil, malformed("the first byte is 0x%02x, not SVR_RESP (0x05)", b[0])
	}
	size := int(binary.LittleEndian.Uint16(b[1:3]))
	data := b[headerSize:]
	switch {
	case len(data) < size:
		return nil, malformed("RESP_SIZE says %d bytes of RESP_DATA but only %d follow (truncated)", size, len(data))
	case len(data) > size:
		return nil, malformed("RESP_SIZE says %d bytes of RESP_DATA but %d follow", size, len(data))
	case size == 0:
		return nil, malformed("RESP_DATA is empty")
	case size > maxData:
		return nil, malformed("RESP_DATA is %d bytes, more than the %d this request allows", size, maxData)
	}
	text := string(data)
	// Every record ends with ";;" (2.2.5: CLNT_UCAST_INST_RESPONSE = ... SEMICOLON
	// SEMICOLON); no field may be empty, so ";;" inside RESP_DATA only ever ends one.
	body, ok := strings.CutSuffix(text, ";;")
	if !ok {
		return nil, malformed("RESP_DATA does not end with \";;\": the last record is incomplete")
	}
	records := strings.Split(body, ";;")
	views := make([]triage.InstanceView, 0, len(records))
	for i, rec := range records {
		if len(rec)+2 > maxRecord {
			return nil, malformed("record %d is %d bytes, more than the %d allowed for one instance", i+1, len(rec)+2, maxRecord)
		}
		v, err := parseRecord(rec)
		if err != nil {
			return nil, malformed("record %d: %v", i+1, err)
		}
		for _, w := range views {
			if strings.EqualFold(w.Name, v.Name) {
				return nil, malformed("record %d: instance %s is listed twice", i+1, v.Name)
			}
		}
		views = append(views, v)
	}
	return views, nil
}

// header returns the keys of a record's four leading pairs, in the order 2.2.5 gives
// them.
func header() [4]string { return [4]string{"ServerName", "InstanceName", "IsClustered", "Version"} }

// headerFields is the number of fields of a record's four leading pairs (header).
const headerFields = 8

// parseRecord parses one instance's record, its closing ";;" removed:
//
//	ServerName;NAME;InstanceName;NAME;IsClustered;Yes|No;Version;VERSION[;np;PIPE][;tcp;PORT]...
//
// The transports (np, tcp, via, rpc, spx, adsp, bv) may come in any order, each at most
// once (2.2.5, Note 1). Only np and tcp are kept; the others are checked and skipped.
// A CLNT_UCAST_INST answer "SHOULD NOT be considered properly formatted" when a
// transport's parameters exceed 255 bytes ([MC-SQLR] 3.2.5.4 Waiting Completed); the
// same bound is applied to every answer.
func parseRecord(rec string) (triage.InstanceView, error) {
	f := strings.Split(rec, ";")
	for i, s := range f {
		if s == "" {
			return triage.InstanceView{}, fmt.Errorf("field %d is empty", i+1)
		}
	}
	if len(f) < headerFields {
		return triage.InstanceView{}, fmt.Errorf("%d fields; a record starts with ServerName;NAME;InstanceName;NAME;IsClustered;Yes|No;Version;VERSION", len(f))
	}
	for i, key := range header() {
		if !strings.EqualFold(f[2*i], key) {
			return triage.InstanceView{}, fmt.Errorf("field %d is %s, not %s", 2*i+1, quote(f[2*i]), key)
		}
	}
	server, name, clustered, version := f[1], f[3], f[5], f[7]

	var v triage.InstanceView
	if len(server) > maxServerName {
		return v, fmt.Errorf("ServerName is %d bytes, more than %d", len(server), maxServerName)
	}
	if err := printable(server); err != nil {
		return v, fmt.Errorf("ServerName %s: %v", quote(server), err)
	}
	if err := validInstance(name, maxInstanceName); err != nil {
		return v, fmt.Errorf("InstanceName: %v", err)
	}
	var isClustered bool
	switch {
	case strings.EqualFold(clustered, "Yes"):
		isClustered = true
	case strings.EqualFold(clustered, "No"):
	default:
		return v, fmt.Errorf("IsClustered is %s, not Yes or No", quote(clustered))
	}
	// VERSION_STRING = 1*[0-9"."], at most 16 bytes.
	if len(version) > maxVersion || strings.Trim(version, "0123456789.") != "" {
		return v, fmt.Errorf("the version %s is not digits and dots of at most %d bytes", quote(version), maxVersion)
	}
	v = triage.InstanceView{Name: name, BrowserServer: server, Clustered: &isClustered, Version: version}

	tcp := false
	seen := map[string]bool{}
	for j := headerFields; j < len(f); {
		token := strings.ToLower(f[j])
		if seen[token] {
			return v, fmt.Errorf("transport %s is listed twice", token)
		}
		seen[token] = true
		j++
		switch token {
		case "np", "tcp", "via", "rpc", "spx", "adsp":
			if j >= len(f) {
				return v, fmt.Errorf("transport %s has no parameters", token)
			}
			param := f[j]
			j++
			if len(param) > maxParameters {
				return v, fmt.Errorf("the parameters of %s are %d bytes, more than %d", token, len(param), maxParameters)
			}
			if err := printable(param); err != nil {
				return v, fmt.Errorf("the parameters of %s, %s: %v", token, quote(param), err)
			}
			switch token {
			case "np":
				v.Pipe = param
			case "tcp":
				port, err := triage.ParsePort(param)
				if err != nil {
					return v, fmt.Errorf("tcp: %v", err)
				}
				tcp = true
				v.Ports = []triage.PortClaim{{Source: triage.PortBrowser, Port: port}}
			}
		case "bv":
			// BV_INFO's two rows in 2.2.5 disagree on how many names follow "bv" (three
			// or five); Banyan VINES names run up to the next transport or the end.
			n := 0
			for ; j < len(f) && !isTransport(f[j]); j++ {
				n += len(f[j]) + 1
				if err := printable(f[j]); err != nil {
					return v, fmt.Errorf("the parameters of bv: %v", err)
				}
			}
			if n == 0 {
				return v, fmt.Errorf("transport bv has no parameters")
			}
			if n-1 > maxParameters {
				return v, fmt.Errorf("the parameters of bv are %d bytes, more than %d", n-1, maxParameters)
			}
		default:
			return v, fmt.Errorf("%s is not a transport of the protocol (np, tcp, via, rpc, spx, adsp, bv)", quote(f[j-1]))
		}
	}
	v.TCPEnabled = &tcp
	return v, nil
}

// isTransport reports whether s names a transport of a record.
func isTransport(s string) bool {
	switch strings.ToLower(s) {
	case "np", "tcp", "via", "rpc", "spx", "adsp", "bv":
		return true
	}
	return false
}

// validInstance checks an instance name against the protocol's bound (max bytes) and
// SQL Server's rules for instance names (triage.ParseInstance).
func validInstance(name string, max int) error {
	if name == "" {
		return fmt.Errorf("empty instance name")
	}
	if len(name) > max {
		return fmt.Errorf("instance name of %d bytes, more than %d", len(name), max)
	}
	if err := printable(name); err != nil {
		return fmt.Errorf("instance name %s: %v", quote(name), err)
	}
	if strings.Contains(name, ":") {
		return fmt.Errorf("instance name %s: ':' is not allowed there", quote(name))
	}
	if _, err := triage.ParseInstance(name); err != nil {
		return err
	}
	return nil
}

// printable reports whether s is UTF-8 text of printable characters: no control
// characters, no format characters such as bidirectional overrides. SQL Server Browser
// sends text in the server's code page; anything that is not UTF-8 is refused rather
// than guessed at.
func printable(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not UTF-8 text")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("it holds the unprintable character %U", r)
		}
	}
	return nil
}

// quote returns s quoted for an error message, escaped, cut to 40 bytes.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// malformed returns a *MalformedError with the reason format and args say.
func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}
