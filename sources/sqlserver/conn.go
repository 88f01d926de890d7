package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/authtriage/authtriage/triage"
)

// A session is one logged-in connection.
type session struct {
	db      *sql.DB
	conn    *sql.Conn
	d       *dialer
	timeout time.Duration
}

// open logs in to instance in on host through d. The login is bounded by ctx and the
// checker's timeout, at the socket too: go-mssqldb reads PRELOGIN without looking at
// the context.
func (c *Checker) open(ctx context.Context, host string, in triage.Instance, d *dialer) (*session, error) {
	connector, err := mssql.NewConnector(c.dsn(host, in))
	if err != nil {
		return nil, err // the DSN is ours: this is a bug, and its text holds no secret
	}
	connector.Dialer = d
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	lctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	d.bound(lctx)
	conn, err := db.Conn(lctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &session{db: db, conn: conn, d: d, timeout: c.timeout}, nil
}

// logIn opens a session to in on host for one reading of the instance, the login
// bounded by the checker's timeout; its error says where it was logging in to.
func (c *Checker) logIn(ctx context.Context, host string, in triage.Instance, d *dialer) (*session, error) {
	lctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	s, err := c.open(lctx, host, in, d)
	if err != nil {
		return nil, fmt.Errorf("log in to %s: %w", address(host, in, d.dialled()), timedOut(lctx, err, c.timeout))
	}
	return s, nil
}

// close closes the connection; the server sees the session end.
func (s *session) close() {
	s.conn.Close()
	s.db.Close()
}

// queryRow runs a fixed query that returns one row and scans it into dest, bounded by
// ctx and the timeout.
func (s *session) queryRow(ctx context.Context, query string, dest ...any) error {
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	s.d.bound(qctx)
	return s.conn.QueryRowContext(qctx, query).Scan(dest...)
}

// dsn returns the connection string for instance in on host. It holds the password
// when there is one: never log it.
func (c *Checker) dsn(host string, in triage.Instance) string {
	u := &url.URL{Scheme: "sqlserver"}
	switch {
	case in.Port != 0:
		u.Host = net.JoinHostPort(host, strconv.Itoa(in.Port))
	case !in.IsDefault():
		u.Host, u.Path = host, "/"+in.Name // the port from SQL Browser
	default:
		u.Host = net.JoinHostPort(host, "1433")
	}
	q := url.Values{}
	q.Set("database", "master")
	q.Set("app name", "authtriage")
	q.Set("encrypt", c.encrypt)
	q.Set("TrustServerCertificate", strconv.FormatBool(c.trust))
	q.Set("disableretry", "true")
	if c.spn != nil {
		if spn := c.spn(host, in); spn != "" {
			q.Set("ServerSPN", spn)
		}
	}
	var user, password string
	for k, v := range c.auth {
		switch k {
		case "user id":
			user = v
		case "password":
			password = v
		default:
			q.Set(k, v)
		}
	}
	switch {
	case password != "":
		u.User = url.UserPassword(user, password)
	case user != "":
		u.User = url.User(user)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// A dialer dials the connections of one login and holds each to a deadline that bound
// moves: go-mssqldb sets per-read deadlines of its own (connection timeout) and reads
// the PRELOGIN answer without a context, so the context alone would not stop a server
// that never answers.
type dialer struct {
	mu    sync.Mutex
	limit time.Time
	conns []*boundedConn
	addr  string // the last TCP address dialled
}

// DialContext implements mssql.Dialer.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.HasPrefix(network, "tcp") {
		d.addr = addr
	}
	if err != nil {
		return nil, err
	}
	bc := &boundedConn{Conn: conn, d: d}
	conn.SetDeadline(d.limit)
	d.conns = append(d.conns, bc)
	return bc, nil
}

// connected reports whether any TCP connection was made.
func (d *dialer) connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns) > 0
}

// bound holds every connection, and those dialled later, to ctx's deadline.
func (d *dialer) bound(ctx context.Context) {
	deadline, _ := ctx.Deadline()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.limit = deadline
	for _, c := range d.conns {
		c.Conn.SetDeadline(deadline)
	}
}

// dialled returns the last TCP address dialled, "" if none.
func (d *dialer) dialled() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addr
}

// clamp returns t, or the limit when t is later or zero (no deadline).
func (d *dialer) clamp(t time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.limit.IsZero() && (t.IsZero() || t.After(d.limit)) {
		return d.limit
	}
	return t
}

// A boundedConn never takes a deadline later than its dialer's limit.
type boundedConn struct {
	net.Conn
	d *dialer
}

func (c *boundedConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.d.clamp(t)) }
func (c *boundedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.d.clamp(t))
}
func (c *boundedConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.d.clamp(t))
}
