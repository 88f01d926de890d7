package kerberos

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
)

// maxReplySize bounds a KDC's reply read over TCP: a service ticket with a large PAC is
// tens of kilobytes.
const maxReplySize = 1 << 20

// A dialError says that a KDC could not be reached at all, so another KDC may be asked
// the same request.
type dialError struct {
	addr string
	err  error
}

func (e *dialError) Error() string { return fmt.Sprintf("connect to the KDC at %s: %v", e.addr, e.err) }
func (e *dialError) Unwrap() error { return e.err }

// kdcExchange sends the request req to the KDCs in turn over TCP until one takes the
// connection, and returns that KDC's reply. Once a KDC has the request its reply, or the
// failure to read one, is the answer: the request is not sent again, as a KDC may hold an
// authenticator seen twice for a replay. It returns when ctx is done, with ctx.Err().
func kdcExchange(ctx context.Context, kdcs []string, req []byte) ([]byte, error) {
	if len(kdcs) == 0 {
		return nil, errors.New("no KDC to ask")
	}
	var errs []error
	for _, addr := range kdcs {
		rep, err := exchangeTCP(ctx, addr, req)
		if err == nil {
			return rep, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ask the KDC at %s: %w", addr, ctx.Err())
		}
		var de *dialError
		if !errors.As(err, &de) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// exchangeTCP sends req to the KDC at addr and reads its reply, each framed as "RFC 4120"
// section 7.2.2 requires over TCP (https://www.rfc-editor.org/rfc/rfc4120#section-7.2.2):
// "preceded by the length of the request as 4 octets in network byte order. The high bit
// of the length is reserved for future expansion and MUST currently be set to zero". The
// connection's deadline is ctx's, and ctx being done ends a read or write at once.
func exchangeTCP(ctx context.Context, addr string, req []byte) ([]byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &dialError{addr, err}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return nil, fmt.Errorf("KDC at %s: %w", addr, err)
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(req)), uint32(len(req)))
	if _, err := conn.Write(append(msg, req...)); err != nil {
		return nil, fmt.Errorf("send to the KDC at %s: %w", addr, err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("read the reply of the KDC at %s: %w", addr, err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	switch {
	case n&0x80000000 != 0:
		return nil, fmt.Errorf("the KDC at %s set the reserved high bit of the reply's length", addr)
	case n == 0:
		return nil, fmt.Errorf("the KDC at %s sent an empty reply", addr)
	case n > maxReplySize:
		return nil, fmt.Errorf("the KDC at %s announced a reply of %d bytes; at most %d are read", addr, n, maxReplySize)
	}
	rep := make([]byte, n)
	if _, err := io.ReadFull(conn, rep); err != nil {
		return nil, fmt.Errorf("read the reply of the KDC at %s: %w", addr, err)
	}
	return rep, nil
}

// kdcList returns the KDCs of realm as host:port: the ones given (already checked), else
// those the krb5.conf c lists for the realm, else, when c allows DNS lookups, the targets
// of the SRV records _kerberos._tcp.REALM ("RFC 4120" section 7.2.3.2,
// https://www.rfc-editor.org/rfc/rfc4120#section-7.2.3.2), looked up under ctx.
func kdcList(ctx context.Context, given []string, c *config.Config, realm string) ([]string, error) {
	if len(given) > 0 {
		return given, nil
	}
	var out []string
	for _, r := range c.Realms {
		if r.Realm != realm {
			continue
		}
		for _, k := range r.KDC {
			addr, err := kdcAddr(strings.TrimSpace(k))
			if err != nil {
				return nil, err
			}
			out = append(out, addr)
		}
	}
	if len(out) > 0 || !c.LibDefaults.DNSLookupKDC {
		if len(out) == 0 {
			return nil, fmt.Errorf("no KDC for realm %s", realm)
		}
		return out, nil
	}
	_, srvs, err := net.DefaultResolver.LookupSRV(ctx, "kerberos", "tcp", realm)
	if err != nil {
		return nil, fmt.Errorf("find the KDCs of %s in DNS: %w", realm, err)
	}
	for _, s := range srvs {
		out = append(out, net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port))))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("DNS has no KDC for %s", realm)
	}
	return out, nil
}
