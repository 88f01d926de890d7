// Package browser asks SQL Server Browser which instances a host runs and how clients
// reach each: its TCP port, its named pipe, whether it is a failover-cluster instance,
// and its version. It speaks the SQL Server Resolution Protocol ([MC-SQLR]) over UDP
// port 1434: one request, at most one answer.
//
// A Browser that will not answer sends nothing: the protocol has no refusal, and UDP
// 1434 is often blocked on the way. Silence is therefore ambiguous, and is reported as
// ErrNoAnswer with the reasons it may have, never as a fact about the instances.
//
// Source: [MC-SQLR] SQL Server Resolution Protocol.
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/1ea6e25f-bff9-4364-ba21-5dc449a601b7
package browser

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// Defaults of a zero Client.
const (
	// DefaultPort is the UDP port SQL Server Browser listens on ([MC-SQLR] 2.1
	// Transport: "port 1434 of the UDP Protocol").
	DefaultPort = 1434
	// DefaultTimeout bounds the wait for an answer. [MC-SQLR] 3.2.2 Timers: the wait for
	// a CLNT_UCAST_INST answer "SHOULD have a time-out value of 1 second"; a triage
	// allows a slow link twice that.
	// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/eb2f6036-e02b-4df5-9c04-e7bd64ecba15
	DefaultTimeout = 2 * time.Second
)

// A Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// A Client asks SQL Server Browser about a host's instances. Its zero value asks UDP
// port 1434, waits 2 seconds and resolves names with net.DefaultResolver. It is safe
// for concurrent use.
type Client struct {
	Port     int           // 0 means 1434
	Timeout  time.Duration // 0 means 2s; the context's deadline applies too, whichever comes first
	Resolver Resolver      // nil means net.DefaultResolver
}

// ErrNoAnswer is matched (errors.Is) by a *NoAnswerError: SQL Server Browser did not
// answer.
var ErrNoAnswer = errors.New("SQL Server Browser did not answer")

// A NoAnswerError says SQL Server Browser did not answer a request: nothing came back
// before the deadline, or the host said nothing listens on the port.
type NoAnswerError struct {
	Host     string        // as asked
	Addr     string        // the address asked, "192.0.2.10:1434"
	Instance string        // the instance asked about; "" for the list of all
	Wait     time.Duration // how long the answer was waited for
	// Refused is set when the host answered with ICMP port unreachable: nothing
	// listens on the port there. The request goes out of an unconnected socket (see
	// Client.Instances), to which most systems, Linux among them, do not report it:
	// there a refusal is silence.
	Refused bool
	// Ignored lists the addresses that answered but are none of the host's, whose
	// answers were ignored: "192.0.2.99:1434".
	Ignored []string
	cause   error // the context's error when its deadline ended the wait
}

// Error says that the Browser did not answer and why that may be.
func (e *NoAnswerError) Error() string {
	_, port, _ := net.SplitHostPort(e.Addr)
	about := ""
	if e.Instance != "" {
		about = " about instance " + e.Instance
	}
	if e.Refused {
		return fmt.Sprintf("SQL Server Browser on %s (%s) did not answer%s: the host reports that nothing listens on UDP %s, so SQL Server Browser is stopped there or listens elsewhere",
			e.Host, e.Addr, about, port)
	}
	why := fmt.Sprintf("SQL Server Browser may be stopped, or UDP %s blocked on the way", port)
	if e.Instance != "" {
		// [MC-SQLR] 3.1.5.2 Waiting For Request From Client: "if there is no instance
		// for which it can send back endpoint information, the server MUST ignore the
		// request".
		// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/4eea5b65-a848-4deb-99ca-280ebd4e3dc8
		why = fmt.Sprintf("the host may run no instance %s (the Browser does not answer for one it does not know), SQL Server Browser may be stopped, or UDP %s blocked on the way", e.Instance, port)
	}
	if len(e.Ignored) > 0 {
		why += fmt.Sprintf("; %s answered, which %s none of %s's addresses, and %s ignored",
			human.List(e.Ignored), human.Plural(len(e.Ignored), "is", "are"), e.Host, human.Plural(len(e.Ignored), "was", "were"))
	}
	return fmt.Sprintf("SQL Server Browser on %s (%s) did not answer%s within %s: %s", e.Host, e.Addr, about, waited(e.Wait), why)
}

// Is reports whether target is ErrNoAnswer.
func (e *NoAnswerError) Is(target error) bool { return target == ErrNoAnswer }

// Unwrap returns context.DeadlineExceeded when the caller's deadline ended the wait.
func (e *NoAnswerError) Unwrap() error { return e.cause }

// waited words a wait: "2s", "1.5s", "300ms".
func waited(d time.Duration) string {
	if d%time.Second == 0 {
		return human.Span(d)
	}
	return human.Elapsed(d)
}

// Instances asks SQL Server Browser on host for all its instances (CLNT_UCAST_EX) and
// returns them as ParseResponse does. It returns a *NoAnswerError (ErrNoAnswer) when
// nothing answered within the timeout, an error matching ErrMalformed when the answer
// is not well formed, and the context's error when ctx is canceled.
//
// The request goes to the first of host's addresses, and the answer is taken from any
// of them: a host with several addresses (a cluster node, a multi-homed server) may
// answer from another than the one asked. An answer from an address that is none of
// host's is ignored, and named in the *NoAnswerError when no other comes.
func (c Client) Instances(ctx context.Context, host string) ([]triage.InstanceView, error) {
	views, _, err := c.ask(ctx, host, []byte{clntUcastEx}, "", maxExData)
	return views, err
}

// Instance asks SQL Server Browser on host about one instance by name
// (CLNT_UCAST_INST), "MSSQLSERVER" for the default instance. The Browser does not
// answer for an instance it does not know, so an unknown name is a *NoAnswerError as
// silence is; otherwise errors are as Instances returns them, and an answer about
// another instance, or about several, is an error matching ErrMalformed.
func (c Client) Instance(ctx context.Context, host, name string) (triage.InstanceView, error) {
	if err := validInstance(name, maxInstanceRequest); err != nil {
		return triage.InstanceView{}, fmt.Errorf("ask SQL Server Browser on %s: %w", host, err)
	}
	req := make([]byte, 0, len(name)+2)
	req = append(req, clntUcastInst)
	req = append(req, name...)
	req = append(req, 0)
	views, addr, err := c.ask(ctx, host, req, name, maxInstData)
	if err != nil {
		return triage.InstanceView{}, err
	}
	if len(views) != 1 || !strings.EqualFold(views[0].Name, name) {
		names := make([]string, len(views))
		for i, v := range views {
			names[i] = v.Name
		}
		return triage.InstanceView{}, &MalformedError{Host: host, Addr: addr,
			Reason: fmt.Sprintf("asked about instance %s, it answered about %s", name, human.List(names))}
	}
	return views[0], nil
}

// ask sends req to SQL Server Browser on host and parses the one datagram that
// answers it, whose RESP_DATA may hold at most maxData bytes. It returns the address
// asked too.
//
// [MC-SQLR] 3.2.5.4 Waiting Completed: for CLNT_UCAST_EX and CLNT_UCAST_INST the client
// "MUST notify the higher layer of the valid and properly formatted SVR_RESP messages
// or notify the higher layer if it received an invalid message"; the first datagram
// is the answer, well formed or not.
func (c Client) ask(ctx context.Context, host string, req []byte, instance string, maxData int) ([]triage.InstanceView, string, error) {
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	if port < 1 || port > 65535 {
		return nil, "", fmt.Errorf("ask SQL Server Browser on %s: port %d is not from 1 to 65535", host, port)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, "", fmt.Errorf("ask SQL Server Browser on %s: negative timeout %s", host, timeout)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("ask SQL Server Browser on %s: %w", host, err)
	}
	ips, err := c.resolve(ctx, host)
	if err != nil {
		return nil, "", err
	}
	to := netip.AddrPortFrom(ips[0], uint16(port))
	addr := to.String()

	start := time.Now()
	deadline := start.Add(timeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	// Unconnected, so that an answer from another of the host's addresses than the one
	// asked is read: a connected socket receives only from the address it sends to.
	network, local := "udp4", "0.0.0.0:0"
	if ips[0].Is6() {
		network, local = "udp6", "[::]:0"
	}
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, network, local)
	if err != nil {
		return nil, addr, fmt.Errorf("ask SQL Server Browser on %s: %w", host, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, addr, fmt.Errorf("ask SQL Server Browser on %s: %w", host, err)
	}
	// A canceled context ends the wait at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := conn.WriteTo(req, net.UDPAddrFromAddrPort(to)); err != nil {
		return nil, addr, c.readErr(ctx, err, host, addr, instance, start, ctxDeadline, nil)
	}
	buf := make([]byte, maxDatagram+1)
	var ignored []string
	var n int
	for {
		var from net.Addr
		n, from, err = conn.ReadFrom(buf)
		if err != nil {
			return nil, addr, c.readErr(ctx, err, host, addr, instance, start, ctxDeadline, ignored)
		}
		if ua, ok := from.(*net.UDPAddr); ok && hostsAddr(ips, ua.AddrPort().Addr()) {
			break
		}
		if len(ignored) < maxIgnored && !slices.Contains(ignored, from.String()) {
			ignored = append(ignored, from.String())
		}
	}
	if n > maxDatagram {
		return nil, addr, &MalformedError{Host: host, Addr: addr, Reason: fmt.Sprintf("the datagram is larger than %d bytes", maxDatagram)}
	}
	views, err := parseResponse(buf[:n], maxData)
	if me := (*MalformedError)(nil); errors.As(err, &me) {
		return nil, addr, &MalformedError{Host: host, Addr: addr, Reason: me.Reason}
	} else if err != nil {
		return nil, addr, err
	}
	return views, addr, nil
}

// readErr turns the error of a send or a read into what ask returns: the context's
// error when it was canceled, a *NoAnswerError when the deadline passed or the host
// refused, else the error itself.
func (c Client) readErr(ctx context.Context, err error, host, addr, instance string, start time.Time, ctxDeadline bool, ignored []string) error {
	wait := time.Since(start).Round(time.Millisecond)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("ask SQL Server Browser on %s: %w", host, ctx.Err())
	case errors.Is(err, syscall.ECONNREFUSED):
		return &NoAnswerError{Host: host, Addr: addr, Instance: instance, Wait: wait, Refused: true, Ignored: ignored}
	case errors.Is(err, os.ErrDeadlineExceeded), ctx.Err() != nil:
		e := &NoAnswerError{Host: host, Addr: addr, Instance: instance, Wait: c.timeout(), Ignored: ignored}
		if ctxDeadline || ctx.Err() != nil {
			e.Wait, e.cause = wait, context.DeadlineExceeded
		}
		return e
	}
	return fmt.Errorf("ask SQL Server Browser on %s (%s): %w", host, addr, err)
}

// timeout returns the Client's wait.
func (c Client) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// resolve returns the IP addresses of host, the one to ask first: host itself when it
// is an IP address, else the addresses its resolver returns, at most maxAddrs, those
// of the first one's family (the socket asks in one).
func (c Client) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	if err := triage.ValidHostName(host); err != nil {
		return nil, fmt.Errorf("ask SQL Server Browser: %w", err)
	}
	var r Resolver = net.DefaultResolver
	if c.Resolver != nil {
		r = c.Resolver
	}
	addrs, err := r.LookupHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("ask SQL Server Browser on %s: resolve %s: %w", host, host, err)
	}
	var ips []netip.Addr
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if (len(ips) > 0 && ip.Is4() != ips[0].Is4()) || len(ips) == maxAddrs || slices.Contains(ips, ip) {
			continue
		}
		ips = append(ips, ip)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("ask SQL Server Browser on %s: %s resolves to no IP address", host, host)
	}
	return ips, nil
}

// hostsAddr reports whether ip is one of ips, zones aside (a reply's may be named
// otherwise than the resolver's).
func hostsAddr(ips []netip.Addr, ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	return slices.ContainsFunc(ips, func(a netip.Addr) bool { return a.WithZone("") == ip })
}

// Bounds of what ask keeps: the addresses of a host an answer is taken from, and the
// other addresses whose answers were ignored that its error names.
const (
	maxAddrs   = 64
	maxIgnored = 4
)
