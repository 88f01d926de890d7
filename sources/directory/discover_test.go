package directory

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A fakeDNS answers SRV queries from a table, A queries for any name with
// 127.0.0.1, and everything else with NXDOMAIN.
type fakeDNS struct {
	addr string
	srv  map[string][]net.SRV // lower-case name without the final dot
}

func newFakeDNS(t *testing.T, srv map[string][]net.SRV) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDNS{addr: pc.LocalAddr().String(), srv: srv}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := d.answer(buf[:n]); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	})
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return d
}

// resolver returns a Go resolver that asks d.
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", d.addr)
	}}
}

// answer builds the response to one query (RFC 1035 section 4).
func (d *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	qend := i + 5
	name := strings.ToLower(strings.Join(labels, "."))

	var answers [][]byte
	rcode := uint16(0)
	switch {
	case qtype == 33 && d.srv[name] != nil:
		for _, s := range d.srv[name] {
			rdata := binary.BigEndian.AppendUint16(nil, s.Priority)
			rdata = binary.BigEndian.AppendUint16(rdata, s.Weight)
			rdata = binary.BigEndian.AppendUint16(rdata, s.Port)
			rdata = appendName(rdata, s.Target)
			answers = append(answers, rr(33, rdata))
		}
	case qtype == 1 && strings.HasSuffix(name, ".example"):
		answers = append(answers, rr(1, []byte{127, 0, 0, 1}))
	case qtype == 28 && strings.HasSuffix(name, ".example"):
		// a name with no IPv6 address: NOERROR, no answer
	default:
		rcode = 3 // NXDOMAIN
	}
	resp := append([]byte(nil), q[:2]...)
	resp = binary.BigEndian.AppendUint16(resp, 0x8000|0x0400|binary.BigEndian.Uint16(q[2:])&0x0100|0x0080|rcode)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = append(resp, 0, 0, 0, 0)
	resp = append(resp, q[12:qend]...)
	for _, a := range answers {
		resp = append(resp, a...)
	}
	return resp
}

// rr is a resource record for the question's name (a pointer to offset 12).
func rr(typ uint16, rdata []byte) []byte {
	b := []byte{0xC0, 12}
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint32(b, 60)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

func appendName(b []byte, name string) []byte {
	for l := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// TestDiscovery finds the domain controllers and global catalogs through SRV
// records, tries them in the records' order, and reports how each was found.
func TestDiscovery(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	_, portText, _ := net.SplitHostPort(fake.ln.Addr().String())
	port, _ := strconv.Atoi(portText)
	dead := refusingURL(t)
	_, deadPortText, _ := net.SplitHostPort(strings.TrimPrefix(dead, "ldap://"))
	deadPort, _ := strconv.Atoi(deadPortText)
	dns := newFakeDNS(t, map[string][]net.SRV{
		"_ldap._tcp.dc._msdcs.corp.example": {
			{Target: "dc2.corp.example.", Port: uint16(deadPort), Priority: 0},
			{Target: "dc1.corp.example.", Port: uint16(port), Priority: 10},
		},
		"_gc._tcp.corp.example": {{Target: "dc1.corp.example.", Port: uint16(port)}},
	})
	c := newTestClient(t, fake, func(cfg *Config) {
		cfg.URLs, cfg.GCURLs = nil, nil
		cfg.Domain = "corp.example"
		cfg.Resolver = dns.resolver()
		cfg.Timeout = 2 * time.Second
	})
	if _, err := c.Account(t.Context(), "svc_sqlok"); err != nil {
		t.Errorf("Account through discovered DCs: %v", err)
	}
	if got, err := c.FindSPN(t.Context(), "MSSQLSvc/sqlok.corp.example:1433"); err != nil || len(got.Owners) != 1 {
		t.Errorf("FindSPN through a discovered GC = %v, %v", ids(got.Owners), err)
	}
	probes := c.ProbeDCs(t.Context())
	via := "SRV _ldap._tcp.dc._msdcs.corp.example"
	if len(probes) != 2 || probes[0].Address != "dc2.corp.example:"+deadPortText || probes[0].Err == "" || probes[0].Via != via ||
		probes[1].Address != "dc1.corp.example:"+portText || probes[1].Err != "" || probes[1].Via != via {
		t.Errorf("ProbeDCs = %+v", probes)
	}

	// Without _gc records, the discovered DCs' global catalog port (3268) is used.
	noGC := newFakeDNS(t, map[string][]net.SRV{
		"_ldap._tcp.dc._msdcs.corp.example": {{Target: "dc1.corp.example.", Port: uint16(port)}},
	})
	c2 := newTestClient(t, fake, func(cfg *Config) {
		cfg.URLs, cfg.GCURLs = nil, nil
		cfg.Domain = "corp.example"
		cfg.Resolver = noGC.resolver()
		cfg.Timeout = time.Second
	})
	_, err := c2.FindSPN(t.Context(), "MSSQLSvc/sqlok.corp.example:1433")
	if err == nil || !strings.Contains(err.Error(), "ldap://dc1.corp.example:3268") {
		t.Errorf("FindSPN without _gc records = %v; want it to try ldap://dc1.corp.example:3268", err)
	}

	// A domain without records is an error that names the record.
	c3 := newTestClient(t, fake, func(cfg *Config) {
		cfg.URLs, cfg.GCURLs = nil, nil
		cfg.Domain = "other.example"
		cfg.Resolver = dns.resolver()
	})
	if _, err := c3.Account(t.Context(), "svc_sqlok"); err == nil || !strings.Contains(err.Error(), "_ldap._tcp.dc._msdcs.other.example") {
		t.Errorf("Account in a domain without SRV records = %v", err)
	}
	if p := c3.ProbeDCs(t.Context()); len(p) != 1 || p[0].Err == "" || p[0].Via != "SRV _ldap._tcp.dc._msdcs.other.example" {
		t.Errorf("ProbeDCs in a domain without SRV records = %+v", p)
	}
}
