package directory

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// kdcPort is the Kerberos port the probe checks on each domain controller.
const kdcPort = "88"

// ProbeDCs checks every configured or discovered domain controller, all at once,
// each within the Timeout: whether its KDC accepts a TCP connection on port 88,
// and how long an LDAP connect and bind take. Failures are reported in the probes,
// not as an error; if discovery fails, the one probe says why. A DC whose certificate
// fails verification answered: its probe's Cert says what is wrong with it.
func (c *Client) ProbeDCs(ctx context.Context) []triage.DCProbe {
	eps, err := c.endpoints(ctx, c.dc)
	if err != nil {
		return []triage.DCProbe{{Address: c.dc.srv, Via: "SRV " + c.dc.srv, Err: err.Error()}}
	}
	probes := make([]triage.DCProbe, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Go(func() { probes[i] = c.probe(ctx, ep) })
	}
	wg.Wait()
	return probes
}

// probe checks one domain controller, its KDC and LDAP at the same time.
func (c *Client) probe(ctx context.Context, ep endpoint) triage.DCProbe {
	p := triage.DCProbe{Address: ep.addr(), Via: ep.via}
	var wg sync.WaitGroup
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		d := net.Dialer{Resolver: c.resolver}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ep.host, kdcPort))
		if err != nil {
			p.KDCError = err.Error()
			return
		}
		conn.Close()
	})
	start := time.Now()
	c.stats.probes.Add(1)
	s, err := c.dial(ctx, ep)
	var ce *CertError
	if errors.As(err, &ce) {
		p.Cert = ce.Summary()
	}
	if err != nil {
		p.Err = err.Error()
	} else {
		p.Latency = time.Since(start)
		s.close()
	}
	wg.Wait()
	return p
}
