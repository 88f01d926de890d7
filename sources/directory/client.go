package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// A Client reads Active Directory over LDAP: accounts and domain facts from a domain
// controller, SPNs forest-wide from a global catalog. It is safe for concurrent use.
//
// A Client is meant to live as long as the process: it keeps bound connections for
// reuse (a few per kind of server, each for at most maxIdle), the server that answered
// last, and the servers SRV discovery found (for srvLifetime, or until every one of
// them fails), so that steady use repeats neither the discovery nor the bind.
//
// Each call takes a connection of its own (reusing an idle one when there is one),
// so a call whose context ends can close its connection without disturbing others:
// a domain controller that stops answering never holds a caller past its context
// or the configured Timeout. Servers are tried in order; one that fails is skipped
// for the next, and the one that answered is tried first next time.
type Client struct {
	cfg      Config
	log      *slog.Logger
	tls      *tls.Config
	resolver *net.Resolver
	timeout  time.Duration
	dc, gc   *pool
	now      func() time.Time // the clock of idle and discovery lifetimes; tests replace it
	stats    counters

	mu      sync.Mutex
	closed  bool
	naming  naming
	netbios map[string]string // DNS domain -> NetBIOS name; nil until read
}

// Stats counts what a Client did on the network since it was made.
type Stats struct {
	Dials   int64 // connections opened for queries, bound or not
	Binds   int64 // successful binds of those connections
	Probes  int64 // domain controllers probed (ProbeDCs): each probe dials and binds, by design
	Lookups int64 // SRV lookups made to discover servers
}

// counters are the Client's Stats, updated as it works.
type counters struct{ dials, binds, probes, lookups atomic.Int64 }

// Stats returns what the Client did on the network so far. It is safe to call at any
// time, also concurrently with other calls.
func (c *Client) Stats() Stats {
	return Stats{Dials: c.stats.dials.Load(), Binds: c.stats.binds.Load(), Probes: c.stats.probes.Load(), Lookups: c.stats.lookups.Load()}
}

// naming holds what the rootDSE says about the domain, once read.
type naming struct {
	base   string // domain naming context
	config string // configuration naming context
}

// New returns a Client for cfg. It validates cfg and reads CAFile (under ctx) but
// does not connect; servers are found and dialled when first needed. A nil log
// discards.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Client, error) {
	dcs, gcs, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("directory configuration: %w", err)
	}
	tc, err := tlsConfig(ctx, cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("directory configuration: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		cfg:      cfg,
		log:      log,
		tls:      tc,
		resolver: cfg.Resolver,
		timeout:  cfg.Timeout,
		naming:   naming{base: cfg.BaseDN},
		now:      time.Now,
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	c.dc = &pool{what: "domain controller", configured: dcs}
	c.gc = &pool{what: "global catalog", configured: gcs}
	if len(dcs) == 0 {
		c.dc.srv = "_ldap._tcp.dc._msdcs." + cfg.Domain
	}
	if len(gcs) == 0 {
		if len(dcs) > 0 {
			for _, dc := range dcs {
				c.gc.configured = append(c.gc.configured, gcOf(dc))
			}
		} else {
			c.gc.srv = "_gc._tcp." + cfg.Domain
			c.gc.fallback = c.dc // the domain controllers' global catalog ports
		}
	}
	return c, nil
}

// Close closes idle connections. Calls after Close fail; calls in progress finish.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.dc.drain()
	c.gc.drain()
	return nil
}

var errClosed = errors.New("directory client is closed")

// A pool is the servers of one kind (domain controllers or global catalogs), the
// one that answered last, the servers discovered and when, and up to maxIdleConns
// idle connections.
type pool struct {
	what       string     // "domain controller", "global catalog"
	configured []endpoint // from Config, or derived from it
	srv        string     // SRV name to discover servers by when configured is empty
	fallback   *pool      // when discovery finds nothing: these servers' GC ports

	mu           sync.Mutex
	discovered   []endpoint
	discoveredAt time.Time
	preferred    string     // url of the server that answered last
	idle         []*session // the most recently used last
	closed       bool
}

// maxIdle is how long an idle connection is kept for reuse. Active Directory closes
// a connection idle for longer than its LDAP policy's MaxConnIdleTime, 900 seconds by
// default ("View and set LDAP policy in Active Directory by using Ntdsutil.exe",
// https://learn.microsoft.com/troubleshoot/windows-server/active-directory/view-set-ldap-policy-using-ntdsutil);
// a connection the server closed sooner is replaced when a request on it fails.
const maxIdle = 4 * time.Minute

// maxIdleConns is how many idle connections a pool keeps: about as many as one
// triage's checks use at once, so that the next triage binds none.
const maxIdleConns = 4

// srvLifetime is how long servers found through SRV records are used before they are
// looked up again (the Go resolver does not give the records' TTL); discovery is
// repeated sooner when every server found fails.
const srvLifetime = 15 * time.Minute

// take returns the most recently used idle connection that is still fresh, closing
// those that are not.
func (p *pool) take(now time.Time) *session {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		s := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if now.Sub(s.idleSince) <= maxIdle && !s.conn.IsClosing() {
			return s
		}
		s.close()
	}
}

// put keeps s for reuse; when the pool is full or closed, it closes the oldest
// idle connection or s.
func (p *pool) put(s *session, now time.Time) {
	s.idleSince = now
	var old *session
	p.mu.Lock()
	switch {
	case p.closed:
		old = s
	case len(p.idle) == maxIdleConns:
		old = p.idle[0]
		p.idle = append(p.idle[1:], s)
	default:
		p.idle = append(p.idle, s)
	}
	p.mu.Unlock()
	if old != nil {
		old.close()
	}
}

// drain closes the idle connections and makes put close any returned later.
func (p *pool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, s := range idle {
		s.close()
	}
}

// A session is one bound connection to one server, used by one call at a time.
type session struct {
	conn      *ldap.Conn
	raw       net.Conn // the TCP connection under conn; closing it ends everything on it
	ep        endpoint
	idleSince time.Time
	failed    bool // a request failed other than with a result from the server
}

func (s *session) close() { s.conn.Close() }

// note records whether err, from a request on s, leaves s unusable: anything but a
// result the server sent (a timeout, a broken connection) does. It returns err.
func (s *session) note(err error) error {
	var le *ldap.Error
	if err != nil && (!errors.As(err, &le) || le.ResultCode >= ldap.ErrorNetwork) {
		s.failed = true
	}
	return err
}

// broken reports whether s is unusable.
func (s *session) broken() bool { return s.failed || s.conn.IsClosing() }

// do runs op on a bound connection from p: the idle one, else a new one from the
// first server that answers. An idle connection that turns out to be dead is
// replaced once. The connection is closed if ctx ends during op.
func (c *Client) do(ctx context.Context, p *pool, op func(*session) error) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := p.take(c.now())
	reused := s != nil
	if s == nil {
		var err error
		if s, err = c.connect(ctx, p); err != nil {
			return err
		}
	}
	err := c.run(ctx, s, op)
	if err != nil && reused && ctx.Err() == nil && s.broken() {
		c.log.DebugContext(ctx, "ldap idle connection failed, reconnecting", "ldap.url", s.ep.url, "err", err)
		s.close()
		if s, err = c.connect(ctx, p); err != nil {
			return err
		}
		err = c.run(ctx, s, op)
	}
	if ctx.Err() != nil || s.broken() {
		s.close()
	} else {
		p.put(s, c.now())
	}
	return err
}

// run runs op on s, closing the connection if ctx ends first. The error is then
// the context's, naming the server.
func (c *Client) run(ctx context.Context, s *session, op func(*session) error) error {
	stop := context.AfterFunc(ctx, func() { s.raw.Close() })
	err := op(s)
	if !stop() {
		s.close()
		return fmt.Errorf("%s: %w", s.ep.url, context.Cause(ctx))
	}
	return err
}

// A connectError lists every server tried and why each failed.
type connectError struct {
	what  string
	tries []error
}

func (e *connectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connect to a %s: ", e.what)
	for i, err := range e.tries {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *connectError) Unwrap() []error { return e.tries }

// connect returns a bound connection to the first server of p that answers,
// starting with the one that answered last. A refused bind (bad credentials) is
// not retried elsewhere: every DC would refuse it, and each attempt counts towards
// the account's lockout.
func (c *Client) connect(ctx context.Context, p *pool) (*session, error) {
	eps, err := c.endpoints(ctx, p)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	preferred := p.preferred
	p.mu.Unlock()
	for i, ep := range eps {
		if ep.url == preferred {
			eps = append(append([]endpoint{ep}, eps[:i]...), eps[i+1:]...)
			break
		}
	}
	var tries []error
	for _, ep := range eps {
		c.stats.dials.Add(1)
		s, err := c.dial(ctx, ep)
		if err == nil {
			c.stats.binds.Add(1)
			p.mu.Lock()
			p.preferred = ep.url
			p.mu.Unlock()
			return s, nil
		}
		c.log.WarnContext(ctx, "ldap server did not answer", "ldap.url", ep.url, "ldap.via", ep.via, "err", err)
		tries = append(tries, err)
		if ctx.Err() != nil || ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			break
		}
	}
	if ctx.Err() == nil && p.srv != "" {
		p.mu.Lock()
		p.discovered = nil // every server failed: discover afresh next time
		p.mu.Unlock()
	}
	return nil, &connectError{what: p.what, tries: tries}
}

// endpoints returns the servers of p, discovering them through DNS if the
// configuration names none; servers discovered less than srvLifetime ago are
// reused.
func (c *Client) endpoints(ctx context.Context, p *pool) ([]endpoint, error) {
	if len(p.configured) > 0 {
		return p.configured, nil
	}
	now := c.now()
	p.mu.Lock()
	eps := p.discovered
	if now.Sub(p.discoveredAt) > srvLifetime {
		eps = nil
	}
	p.mu.Unlock()
	if len(eps) > 0 {
		return eps, nil
	}
	eps, err := c.discover(ctx, p.srv)
	if err != nil && p.fallback != nil {
		dcs, ferr := c.endpoints(ctx, p.fallback)
		if ferr != nil {
			return nil, fmt.Errorf("find a %s: %w", p.what, errors.Join(err, ferr))
		}
		c.log.DebugContext(ctx, "ldap no SRV records, using the domain controllers", "dns.srv", p.srv, "err", err)
		eps = nil
		for _, dc := range dcs {
			eps = append(eps, gcOf(dc))
		}
	} else if err != nil {
		return nil, fmt.Errorf("find a %s: %w", p.what, err)
	}
	p.mu.Lock()
	p.discovered, p.discoveredAt = eps, now
	p.mu.Unlock()
	return eps, nil
}

// discover looks up the servers an SRV record names, in the order of its priority
// and weight. They are reached with StartTLS on the port the record gives.
func (c *Client) discover(ctx context.Context, name string) ([]endpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.stats.lookups.Add(1)
	_, srvs, err := c.resolver.LookupSRV(ctx, "", "", name)
	if err != nil {
		return nil, fmt.Errorf("look up SRV %s: %w", name, err)
	}
	var eps []endpoint
	for _, srv := range srvs {
		host := strings.TrimSuffix(srv.Target, ".")
		if host == "" {
			continue // "." means: no such service here
		}
		ep := endpoint{host: host, port: fmt.Sprint(srv.Port), via: "SRV " + name}
		ep.url = "ldap://" + ep.addr()
		eps = append(eps, ep)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("look up SRV %s: no servers", name)
	}
	c.log.DebugContext(ctx, "ldap servers discovered", "dns.srv", name, "count", len(eps))
	return eps, nil
}

// dial connects to ep, secures the connection (TLS or StartTLS) and binds, all
// within the Timeout and ctx. Errors name the server and never hold the password; a
// certificate that fails verification is a *CertError saying what is wrong with it.
func (c *Client) dial(ctx context.Context, ep endpoint) (*session, error) {
	start := time.Now()
	cctx, cancel := context.WithTimeoutCause(ctx, c.timeout,
		fmt.Errorf("no answer within %v: %w", c.timeout, context.DeadlineExceeded))
	defer cancel()
	d := net.Dialer{Resolver: c.resolver}
	raw, err := d.DialContext(cctx, "tcp", ep.addr())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ep.url, err)
	}
	// Until the bind is done, the connect deadline or ctx closes the connection.
	stop := context.AfterFunc(cctx, func() { raw.Close() })
	s, err := c.secure(cctx, raw, ep)
	if isCertFailure(err) {
		// The server answered; say what is wrong with its certificate (CertError).
		err = c.certError(cctx, ep, err)
	}
	if err == nil {
		err = c.bind(s)
	}
	if !stop() {
		if s != nil {
			s.close()
		}
		raw.Close()
		return nil, fmt.Errorf("%s: connect: %w", ep.url, context.Cause(cctx))
	}
	if err != nil {
		if s != nil {
			s.close()
		}
		raw.Close()
		return nil, fmt.Errorf("%s: %w", ep.url, err)
	}
	c.log.DebugContext(ctx, "ldap connected", "ldap.url", ep.url, "took", time.Since(start))
	return s, nil
}

// secure starts LDAP over raw: TLS first for ldaps, else StartTLS unless
// InsecureNoTLS.
func (c *Client) secure(ctx context.Context, raw net.Conn, ep endpoint) (*session, error) {
	tc := c.tls.Clone()
	tc.ServerName = ep.host
	var nc net.Conn = raw
	if ep.tls {
		t := tls.Client(raw, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = t
	}
	conn := ldap.NewConn(nc, ep.tls)
	conn.Start()
	conn.SetTimeout(c.timeout)
	s := &session{conn: conn, raw: raw, ep: ep}
	if !ep.tls && !c.cfg.InsecureNoTLS {
		if err := conn.StartTLS(tc); err != nil {
			return s, fmt.Errorf("StartTLS: %w", err)
		}
	}
	return s, nil
}

// bind authenticates s with the configured credentials.
func (c *Client) bind(s *session) error {
	if err := s.conn.Bind(c.cfg.BindDN, c.cfg.Password); err != nil {
		return fmt.Errorf("bind as %s: %w", c.cfg.BindDN, err)
	}
	return nil
}
