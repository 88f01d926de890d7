// Package tdsfake is a FAKE SQL Server for tests: a small TDS listener that speaks just
// enough of the protocol for go-mssqldb to log in and run authtriage's fixed queries.
//
// It is not SQL Server and parses no T-SQL. It answers PRELOGIN without encryption
// (clients must use encrypt=disable), reads LOGIN7 with its SSPI token, accepts the
// login with LOGINACK or refuses it with an ERROR token as Config says, and answers the
// queries authtriage sends with canned rows. Its Kerberos variant validates the SSPI
// token with gokrb5's SPNEGO acceptor and the service's keytab, as SQL Server's
// AcceptSecurityContext would, and refuses a token that does not validate with 18452.
// Config.Fault makes it misbehave at one step, for tests of clients that must not hang
// or panic.
//
// Every connection has a deadline and every message read a size cap, so a test that
// forgets a client cannot hang on the fake; Start closes the fake when the test ends.
package tdsfake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// An Error is an ERROR token: a SQL Server error as a client receives it.
type Error struct {
	Number  int32
	State   uint8
	Class   uint8 // severity
	Message string
}

// LoginFailed returns the 18456 a client receives for a failed login: always state 1,
// whatever the reason the server wrote to its error log.
func LoginFailed(user string) *Error {
	return &Error{Number: 18456, State: 1, Class: 14, Message: "Login failed for user '" + user + "'."}
}

// UntrustedDomain returns the 18452 a client receives when the server could not
// validate its Windows credentials (AcceptSecurityContext failed).
func UntrustedDomain() *Error {
	return &Error{Number: 18452, State: 1, Class: 14,
		Message: "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication."}
}

// A Login is what the fake read from a client's LOGIN7 message, and what its Kerberos
// acceptor made of the SSPI token.
type Login struct {
	TDSVersion uint32
	PacketSize uint32
	// IntegratedSecurity is the fIntSecurity flag: the client logs in with the SSPI
	// token rather than UserName and a password.
	IntegratedSecurity bool
	HostName           string // the client's workstation name
	UserName           string // SQL authentication only
	AppName            string
	ServerName         string // the server name the client asked for, host or host\instance
	Library            string // client interface name, "go-mssqldb"
	Language           string
	Database           string
	SSPI               []byte

	// KerberosClient is the client principal of a token the Kerberos acceptor validated,
	// "authtriage_ro@CORP.TEST"; KerberosError why a token did not validate.
	KerberosClient string
	KerberosError  string
	// KerberosService is the keytab principal whose keys validated the ticket
	// (Kerberos.Principal or one of Kerberos.Others).
	KerberosService string
}

// A LogRow is one row of sp_readerrorlog.
type LogRow struct {
	// Date is LogDate, a datetime in the server's local time: only its wall clock is
	// sent, whatever its location.
	Date    time.Time
	Process string // ProcessInfo: "Server", "Logon", "spid57s"
	Text    string
}

// A Fault makes the fake misbehave at one step of the conversation.
type Fault int

const (
	NoFault           Fault = iota
	Silent                  // accept the TCP connection, read, never answer
	GarbagePrelogin         // answer PRELOGIN with an option table that points past its end
	EmptyEncryption         // answer PRELOGIN with a zero-length ENCRYPTION option
	CloseAfterLogin         // read LOGIN7, then close the connection without a word
	GarbageLoginReply       // answer LOGIN7 with a truncated LOGINACK token
	SilentQueries           // log the client in, then never answer a query or an attention
	GarbageQueryReply       // log the client in, then answer queries with a truncated COLMETADATA
)

// Config says how the fake answers. The zero value accepts every login and answers the
// queries with the defaults below.
type Config struct {
	// Addr is where to listen; empty means 127.0.0.1 on a free port. Tests inside the
	// test domain's network namespace may take 127.0.0.1:1433, where clients look.
	Addr string
	// Kerberos, if set, validates the SSPI token of each login as SQL Server does: a
	// login without a token, or whose token does not validate, is refused with 18452.
	Kerberos *Kerberos
	// Login, if set, decides each login that passed the Kerberos check: nil accepts,
	// an Error refuses the login with it.
	Login func(Login) *Error
	// Deny, if set, is asked before each query is answered; an Error is sent instead
	// of the rows, as SQL Server does for a missing permission ("VIEW SERVER STATE
	// permission was denied", 300). query is a batch's text as received, or the name
	// of the procedure an RPC calls ("sp_readerrorlog"), without its parameters.
	Deny func(query string) *Error

	AuthScheme     string // auth_scheme of the connection; "" means KERBEROS with Kerberos set, else NTLM
	ServiceAccount string // service_account of the engine; "" means NT Service\MSSQLSERVER
	// ServiceAccountFor, if set, answers service_account for each login instead: a fake
	// standing in for the SQL Servers of several service accounts.
	ServiceAccountFor func(Login) string
	Now               func() time.Time // SYSUTCDATETIME(); nil means time.Now
	UTCOffset         int              // the server's zone in minutes east of UTC, DATEPART(TZOFFSET, SYSDATETIMEOFFSET())
	// ErrorLogs answer sp_readerrorlog: ErrorLogs[n] is log n (0 the current one).
	// A log number beyond them gets the error xp_readerrorlog gives for a missing file.
	ErrorLogs  [][]LogRow
	ServerName string // in ERROR tokens; "" means SQL01
	// LinkedServers answers the linked-server query of sqlserver.Checker.LinkedServers.
	LinkedServers LinkedServers
	// Inspect answers the queries of sqlserver.Checker.Inspect; nil answers as the
	// zero Inspect does.
	Inspect *Inspect

	Fault Fault
}

// Limits that keep a test from hanging on the fake or feeding it unbounded input.
const (
	connLifetime = 30 * time.Second // a connection is closed this long after it was accepted
	maxMessage   = 256 << 10        // largest client message read
)

// A Server is a running fake.
type Server struct {
	cfg Config
	ln  net.Listener

	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	accepted int           // connections taken, ever
	changed  chan struct{} // closed and replaced when a connection is taken
	logins   []Login
	queries  []string
	closed   bool
}

// Start starts a fake on cfg.Addr (127.0.0.1 on a free port when empty) and closes it
// when the test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("tdsfake: listen: %v", err)
	}
	s := &Server{cfg: cfg, ln: ln, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Addr returns the address the fake listens on, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port returns the port the fake listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Logins returns the logins the fake has read, in order.
func (s *Server) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Login(nil), s.logins...)
}

// Queries returns the requests the fake has read after logins, in order: a batch's
// text, or a procedure call as "name 0, 1" with its integer arguments.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// WaitConns waits until the fake has taken n connections since it started:
// each is served, and Close closes it, from the moment it is taken. It
// returns ctx's error when ctx is done first.
func (s *Server) WaitConns(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, changed := s.accepted, s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("tdsfake: %d of %d connections taken: %w", got, n, ctx.Err())
		}
	}
}

// Close stops the fake: it closes the listener and every connection, and waits for
// their goroutines to end. It may be called more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.accepted++
		close(s.changed)
		s.changed = make(chan struct{})
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			c.SetDeadline(time.Now().Add(connLifetime))
			s.serve(c)
		}()
	}
}

func (s *Server) recordQuery(q string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
}

func (s *Server) record(l Login) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins = append(s.logins, l)
}
