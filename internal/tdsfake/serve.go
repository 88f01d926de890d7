package tdsfake

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// serve holds the conversation with one client: PRELOGIN, LOGIN7, then requests.
func (s *Server) serve(c net.Conn) {
	if s.cfg.Fault == Silent {
		io.Copy(io.Discard, io.LimitReader(c, maxMessage))
		return
	}
	typ, _, err := readMessage(c, maxMessage)
	if err != nil || typ != pktPrelogin {
		return
	}
	const preLoginSize = 4096 // packet size until the client's LOGIN7 says its own
	switch s.cfg.Fault {
	case GarbagePrelogin:
		writeMessage(c, pktReply, []byte{preVersion, 0xFF, 0xF0, 0x00, 0x06, preTerminator}, preLoginSize)
		return
	case EmptyEncryption:
		writeMessage(c, pktReply, preloginReply(nil), preLoginSize)
		return
	}
	if writeMessage(c, pktReply, preloginReply([]byte{encryptNotSup}), preLoginSize) != nil {
		return
	}

	// A client that wants TLS sends its handshake in PRELOGIN packets here: it gets
	// no answer but the closed connection.
	typ, msg, err := readMessage(c, maxMessage)
	if err != nil || typ != pktLogin7 {
		return
	}
	l, err := parseLogin7(msg)
	if err != nil {
		return
	}
	switch s.cfg.Fault {
	case CloseAfterLogin:
		s.record(l)
		return
	case GarbageLoginReply:
		s.record(l)
		writeMessage(c, pktReply, []byte{tokLoginAck, 0x02, 0x00, 0x01, 0x74}, preLoginSize)
		return
	}
	refusal := s.decide(&l)
	s.record(l)
	size := min(max(int(l.PacketSize), 512), 32767)
	var t tokens
	if refusal != nil {
		t.error(*refusal, s.serverName())
		t.done(doneError, 0, 0)
		writeMessage(c, pktReply, t.b, size)
		return // SQL Server closes the connection after a failed login
	}
	t.loginAck()
	t.done(0, 0, 0)
	if writeMessage(c, pktReply, t.b, size) != nil {
		return
	}

	for {
		typ, msg, err := readMessage(c, maxMessage)
		if err != nil {
			return
		}
		var reply []byte
		switch {
		case s.cfg.Fault == SilentQueries:
			continue
		case typ == pktAttention:
			var t tokens
			t.done(doneAttn, 0, 0)
			reply = t.b
		case typ != pktBatch && typ != pktRPC:
			return
		case s.cfg.Fault == GarbageQueryReply:
			reply = []byte{tokColMetadata, 0x01, 0x00, 0, 0, 0, 0, 0x01, 0x00, 0xE7}
		default:
			reply = s.answer(typ, msg, l)
		}
		if writeMessage(c, pktReply, reply, size) != nil {
			return
		}
	}
}

// decide returns why the login is refused, or nil to accept it. It notes in l what
// the Kerberos acceptor made of the token.
func (s *Server) decide(l *Login) *Error {
	if k := s.cfg.Kerberos; k != nil {
		if !l.IntegratedSecurity || len(l.SSPI) == 0 {
			l.KerberosError = "no SSPI token"
			return UntrustedDomain()
		}
		client, service, err := k.accept(l.SSPI)
		if err != nil {
			l.KerberosError = err.Error()
			return UntrustedDomain()
		}
		l.KerberosClient, l.KerberosService = client, service
	}
	if s.cfg.Login != nil {
		return s.cfg.Login(*l)
	}
	return nil
}

func (s *Server) serverName() string { return cmp.Or(s.cfg.ServerName, "SQL01") }

// The queries the fake knows, normalized: lower case, single spaces, no final ";".
const (
	qAuthScheme     = "select auth_scheme from sys.dm_exec_connections where session_id = @@spid"
	qServiceAccount = "select service_account from sys.dm_server_services where servicename like 'sql server (%'"
	qUTCNow         = "select sysutcdatetime()"
	qClock          = "select sysutcdatetime(), datepart(tzoffset, sysdatetimeoffset())"
)

// reReadErrorLog matches sp_readerrorlog called from T-SQL with a log number given as
// a literal or as the first parameter of sp_executesql.
var reReadErrorLog = regexp.MustCompile(`^exec(?:ute)? (?:(?:master\.)?sys\.)?sp_readerrorlog (\d+|@p1) ?, ?1$`)

// answer returns the reply to a batch or RPC: canned rows, or an ERROR token.
func (s *Server) answer(typ byte, msg []byte, l Login) []byte {
	var req request
	var err error
	if typ == pktBatch {
		req, err = parseBatch(msg)
	} else {
		req, err = parseRPC(msg)
	}
	var t tokens
	if err != nil {
		t.error(Error{Number: 50000, State: 1, Class: 16, Message: "tdsfake: " + err.Error()}, s.serverName())
		t.done(doneError, 0, 0)
		return t.b
	}
	query := req.text
	if req.proc != "" && req.proc != "sp_executesql" {
		query = req.proc
	}
	s.recordQuery(req.String())
	if s.cfg.Deny != nil {
		if e := s.cfg.Deny(query); e != nil {
			t.error(*e, s.serverName())
			t.done(doneError, 0, 0)
			return t.b
		}
	}
	if e := s.rows(&t, req, l); e != nil {
		t = tokens{}
		t.error(*e, s.serverName())
		t.done(doneError, 0, 0)
	}
	return t.b
}

// rows writes the result of a known query to t, or returns the error to send instead.
func (s *Server) rows(t *tokens, req request, l Login) *Error {
	q := strings.TrimSuffix(strings.ToLower(strings.Join(strings.Fields(req.text), " ")), ";")
	one := func(cols []column, vals ...any) *Error {
		t.colMetadata(cols)
		if err := t.row(cols, vals...); err != nil {
			return &Error{Number: 50000, State: 1, Class: 16, Message: "tdsfake: " + err.Error()}
		}
		t.done(doneCount, cmdSelect, 1)
		return nil
	}
	now := time.Now
	if s.cfg.Now != nil {
		now = s.cfg.Now
	}
	switch {
	case isReadErrorLog(req.proc):
		if len(req.ints) == 0 || len(req.ints) > 2 || len(req.ints) == 2 && req.ints[1] != 1 {
			return &Error{Number: 50000, State: 1, Class: 16, Message: "tdsfake: sp_readerrorlog answers only (log number, 1)"}
		}
		return s.errorLog(t, req.ints[0])
	case q == qAuthScheme:
		return one([]column{{name: "auth_scheme", typ: nvarchar, size: 40}}, s.authScheme(l))
	case q == qServiceAccount:
		account := cmp.Or(s.cfg.ServiceAccount, `NT Service\MSSQLSERVER`)
		if s.cfg.ServiceAccountFor != nil {
			account = s.cfg.ServiceAccountFor(l)
		}
		return one([]column{{name: "service_account", typ: nvarchar, size: 256}}, account)
	case q == qUTCNow:
		return one([]column{{typ: datetime2}}, now().UTC())
	case q == qClock:
		return one([]column{{typ: datetime2}, {typ: intN}}, now().UTC(), s.cfg.UTCOffset)
	case q == qLinkedServers:
		return s.linkedServers(t)
	}
	if ok, e := s.inspectAnswer(t, q); ok {
		return e
	}
	if m := reReadErrorLog.FindStringSubmatch(q); m != nil {
		if m[1] == "@p1" {
			if len(req.ints) != 1 {
				return &Error{Number: 137, State: 2, Class: 15, Message: `Must declare the scalar variable "@p1".`}
			}
			return s.errorLog(t, req.ints[0])
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return &Error{Number: 8115, State: 2, Class: 16, Message: "Arithmetic overflow error converting expression to data type int."}
		}
		return s.errorLog(t, n)
	}
	return &Error{Number: 50000, State: 1, Class: 16, Message: fmt.Sprintf("tdsfake: no canned answer for %.80q", req.text)}
}

// String describes req as Server.Queries lists it.
func (req request) String() string {
	var ints []string
	for _, n := range req.ints {
		ints = append(ints, strconv.FormatInt(n, 10))
	}
	switch {
	case req.proc == "" || req.proc == "sp_executesql" && len(ints) == 0:
		return req.text
	case req.proc == "sp_executesql":
		return req.text + " [" + strings.Join(ints, ", ") + "]"
	}
	return strings.TrimSpace(req.proc + " " + strings.Join(ints, ", "))
}

func isReadErrorLog(proc string) bool {
	switch strings.ToLower(proc) {
	case "sp_readerrorlog", "sys.sp_readerrorlog", "master.sys.sp_readerrorlog", "master..sp_readerrorlog":
		return true
	}
	return false
}

func (s *Server) authScheme(l Login) string {
	switch {
	case s.cfg.AuthScheme != "":
		return s.cfg.AuthScheme
	case !l.IntegratedSecurity:
		return "SQL"
	case s.cfg.Kerberos != nil:
		return "KERBEROS"
	}
	return "NTLM"
}

// errorLog writes log n of Config.ErrorLogs as sp_readerrorlog returns it.
func (s *Server) errorLog(t *tokens, n int64) *Error {
	if n < 0 || n >= int64(len(s.cfg.ErrorLogs)) {
		// What xp_readerrorlog says for a missing ERRORLOG.n, as commonly reported;
		// not checked against a real server.
		return &Error{Number: 22004, State: 1, Class: 16,
			Message: "xp_readerrorlog() returned error 2, 'The system cannot find the file specified.'"}
	}
	cols := []column{
		{name: "LogDate", typ: datetime},
		{name: "ProcessInfo", typ: nvarchar, size: 50},
		{name: "Text", typ: nvarchar, size: 4000},
	}
	t.colMetadata(cols)
	rows := s.cfg.ErrorLogs[n]
	for _, r := range rows {
		t.row(cols, r.Date, r.Process, r.Text)
	}
	t.done(doneCount, cmdSelect, uint64(len(rows)))
	return nil
}
