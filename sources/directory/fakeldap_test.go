package directory

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// A fakeServer is an LDAP server on a real TCP socket that answers, from a fixed set
// of entries, the operations a Client sends: simple bind, StartTLS, search (with the
// paged-results control and AD-style range retrieval), abandon and unbind. Every
// search is visible at once under base "" (as on a global catalog).
type fakeServer struct {
	t        *testing.T
	ln       net.Listener
	url      string
	bindDN   string
	password string
	// maxValRange, when > 0, makes the server return multi-valued attributes in
	// ranges of this many values, as AD does with MaxValRange.
	maxValRange int
	// stall, when set, is asked before each search is answered (numbered from 1);
	// true leaves it unanswered.
	stall func(search int) bool

	entries []*ldifRecord
	rootDSE attrs
	tls     *tls.Config // server side; nil: no TLS
	ldaps   bool

	mu       sync.Mutex
	conns    []net.Conn
	filters  []string // every search filter, as received
	binds    int
	searches int
}

type fakeOption func(*fakeServer)

// withTLS makes the server speak TLS from the first byte (ldaps) or after StartTLS.
func withTLS(cert tls.Certificate, ldaps bool) fakeOption {
	return func(s *fakeServer) {
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.ldaps = ldaps
	}
}

// newFakeServer starts a server holding the entries of the LDIF file at path
// (testdata/...), reached with bindDN and password.
func newFakeServer(t *testing.T, path string, opts ...fakeOption) *fakeServer {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return newFakeServerLDIF(t, f, opts...)
}

func newFakeServerLDIF(t *testing.T, r io.Reader, opts ...fakeOption) *fakeServer {
	t.Helper()
	s := &fakeServer{t: t, bindDN: "CN=reader,CN=Users,DC=corp,DC=example", password: "Rd!pass-s3cret"}
	for _, o := range opts {
		o(s)
	}
	lr := newLDIFReader(r, "fake")
	for {
		rec, err := lr.next()
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			break
		}
		s.entries = append(s.entries, rec)
	}
	base := "DC=corp,DC=example"
	if len(s.entries) > 0 {
		base = s.entries[0].dn
	}
	s.rootDSE = attrs{
		"defaultnamingcontext":       {base},
		"configurationnamingcontext": {"CN=Configuration," + base},
		"dnshostname":                {"dc1.corp.example"},
		"currenttime":                {time.Now().UTC().Format("20060102150405.0Z")},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	scheme := "ldap"
	if s.ldaps {
		scheme = "ldaps"
	}
	s.url = scheme + "://" + ln.Addr().String()
	var wg sync.WaitGroup
	wg.Go(s.serve)
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *fakeServer) serve() {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		wg.Go(func() { s.handle(c) })
	}
}

// stats returns the filters searched for and the binds and searches so far.
func (s *fakeServer) stats() (filters []string, binds, searches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.filters), s.binds, s.searches
}

func (s *fakeServer) handle(c net.Conn) {
	defer c.Close()
	if s.ldaps {
		tc := tls.Server(c, s.tls)
		if err := tc.Handshake(); err != nil {
			return
		}
		c = tc
	}
	for {
		p, err := ber.ReadPacket(c)
		if err != nil {
			return
		}
		if len(p.Children) < 2 {
			return
		}
		id, _ := p.Children[0].Value.(int64)
		op := p.Children[1]
		var controls []ldap.Control
		if len(p.Children) > 2 {
			for _, cp := range p.Children[2].Children {
				if ctl, err := ldap.DecodeControl(cp); err == nil {
					controls = append(controls, ctl)
				}
			}
		}
		switch op.Tag {
		case ldap.ApplicationBindRequest:
			code, diag := ldap.LDAPResultSuccess, ""
			name, pass := op.Children[1].Data.String(), op.Children[2].Data.String()
			if name != s.bindDN || pass != s.password {
				code, diag = ldap.LDAPResultInvalidCredentials, "80090308: LdapErr: DSID-0C090439, comment: AcceptSecurityContext error, data 52e, v4563"
			}
			s.mu.Lock()
			s.binds++
			s.mu.Unlock()
			s.write(c, envelope(id, result(ldap.ApplicationBindResponse, code, diag)))
		case ldap.ApplicationExtendedRequest:
			if s.tls == nil || s.ldaps {
				s.write(c, envelope(id, result(ldap.ApplicationExtendedResponse, ldap.LDAPResultProtocolError, "unsupported")))
				continue
			}
			s.write(c, envelope(id, result(ldap.ApplicationExtendedResponse, ldap.LDAPResultSuccess, "")))
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
		case ldap.ApplicationSearchRequest:
			s.search(c, id, op, controls)
		case ldap.ApplicationUnbindRequest:
			return
		case ldap.ApplicationAbandonRequest:
		default:
			s.write(c, envelope(id, result(ldap.ApplicationExtendedResponse, ldap.LDAPResultProtocolError, "unsupported operation")))
		}
	}
}

func (s *fakeServer) write(c net.Conn, p *ber.Packet) {
	c.Write(p.Bytes())
}

// search answers a search request.
func (s *fakeServer) search(c net.Conn, id int64, op *ber.Packet, controls []ldap.Control) {
	base := op.Children[0].Data.String()
	scope, _ := op.Children[1].Value.(int64)
	sizeLimit, _ := op.Children[3].Value.(int64)
	filter := op.Children[6]
	var want []string
	for _, a := range op.Children[7].Children {
		want = append(want, a.Data.String())
	}
	text, _ := ldap.DecompileFilter(filter)
	s.mu.Lock()
	s.searches++
	n := s.searches
	s.filters = append(s.filters, text)
	s.mu.Unlock()
	if s.stall != nil && s.stall(n) {
		return
	}

	var matches []*ldifRecord
	if base == "" && scope == ldap.ScopeBaseObject {
		matches = []*ldifRecord{{dn: "", attrs: s.rootDSE}}
	} else {
		for _, e := range s.entries {
			if inScope(e.dn, base, int(scope)) && matchFilter(filter, e.attrs) {
				matches = append(matches, e)
			}
		}
		if len(matches) == 0 && !s.exists(base) {
			s.write(c, envelope(id, result(ldap.ApplicationSearchResultDone, ldap.LDAPResultNoSuchObject, "0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT)")))
			return
		}
	}

	var paging *ldap.ControlPaging
	for _, ctl := range controls {
		if p, ok := ctl.(*ldap.ControlPaging); ok {
			paging = p
		}
	}
	var respControls []ldap.Control
	if paging != nil {
		start := 0
		if len(paging.Cookie) > 0 {
			start, _ = strconv.Atoi(string(paging.Cookie))
		}
		end := min(start+int(paging.PagingSize), len(matches))
		if paging.PagingSize == 0 {
			end = start // abandon
		}
		start = min(start, end)
		next := ldap.NewControlPaging(0)
		if end < len(matches) && paging.PagingSize > 0 {
			next.SetCookie([]byte(strconv.Itoa(end)))
		}
		matches = matches[start:end]
		respControls = append(respControls, next)
	}
	code := ldap.LDAPResultSuccess
	if sizeLimit > 0 && len(matches) > int(sizeLimit) {
		matches, code = matches[:sizeLimit], ldap.LDAPResultSizeLimitExceeded
	}
	for _, e := range matches {
		s.write(c, envelope(id, s.entry(e, want)))
	}
	s.write(c, envelope(id, result(ldap.ApplicationSearchResultDone, code, ""), respControls...))
}

func (s *fakeServer) exists(dn string) bool {
	for _, e := range s.entries {
		if strings.EqualFold(e.dn, dn) {
			return true
		}
	}
	return dn == ""
}

// entry encodes a search result entry with the attributes asked for ("*" or none:
// all), in ranges when maxValRange is set.
func (s *fakeServer) entry(e *ldifRecord, want []string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.dn, "dn"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
	add := func(name string, values []string) {
		a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attribute")
		a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, "type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "values")
		for _, v := range values {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "value"))
		}
		a.AppendChild(set)
		list.AppendChild(a)
	}
	all := len(want) == 0 || slices.Contains(want, "*")
	var names []string
	for k := range e.attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		values := e.attrs[k]
		requested, lo := all, 0
		for _, w := range want {
			name, l, _, ranged := parseRange(w)
			if strings.EqualFold(name, k) {
				requested = true
				if ranged {
					lo = l
				}
			}
		}
		if !requested {
			continue
		}
		if s.maxValRange > 0 && (len(values) > s.maxValRange || lo > 0) {
			lo = min(lo, len(values))
			hi := min(lo+s.maxValRange, len(values))
			end := strconv.Itoa(hi - 1)
			if hi == len(values) {
				end = "*"
			}
			add(k+";range="+strconv.Itoa(lo)+"-"+end, values[lo:hi])
			continue
		}
		add(k, values)
	}
	op.AppendChild(list)
	return op
}

func envelope(id int64, op *ber.Packet, controls ...ldap.Control) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, c := range controls {
			cs.AppendChild(c.Encode())
		}
		p.AppendChild(cs)
	}
	return p
}

func result(app ber.Tag, code int, diag string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, app, nil, "result")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	return op
}

// inScope reports whether dn is within scope of base.
func inScope(dn, base string, scope int) bool {
	dn, base = strings.ToLower(dn), strings.ToLower(base)
	switch scope {
	case ldap.ScopeBaseObject:
		return dn == base
	case ldap.ScopeSingleLevel:
		_, parent, _ := strings.Cut(dn, ",")
		return parent == base
	default:
		return base == "" || dn == base || strings.HasSuffix(dn, ","+base)
	}
}

// matchFilter evaluates a compiled filter against attributes, comparing values
// case-insensitively as AD does for the string attributes searched here.
func matchFilter(f *ber.Packet, a attrs) bool {
	switch f.Tag {
	case ldap.FilterAnd:
		for _, c := range f.Children {
			if !matchFilter(c, a) {
				return false
			}
		}
		return true
	case ldap.FilterOr:
		for _, c := range f.Children {
			if matchFilter(c, a) {
				return true
			}
		}
		return false
	case ldap.FilterNot:
		return !matchFilter(f.Children[0], a)
	case ldap.FilterEqualityMatch:
		name, value := strings.ToLower(f.Children[0].Data.String()), f.Children[1].Data.String()
		return slices.ContainsFunc(a[name], func(v string) bool { return strings.EqualFold(v, value) })
	case ldap.FilterPresent:
		name := strings.ToLower(f.Data.String())
		return name == "objectclass" || len(a[name]) > 0
	case ldap.FilterSubstrings:
		name := strings.ToLower(f.Children[0].Data.String())
		return slices.ContainsFunc(a[name], func(v string) bool { return matchSubstrings(f.Children[1].Children, strings.ToLower(v)) })
	}
	return false
}

func matchSubstrings(parts []*ber.Packet, v string) bool {
	for _, p := range parts {
		s := strings.ToLower(p.Data.String())
		switch p.Tag {
		case ldap.FilterSubstringsInitial:
			if !strings.HasPrefix(v, s) {
				return false
			}
			v = v[len(s):]
		case ldap.FilterSubstringsAny:
			i := strings.Index(v, s)
			if i < 0 {
				return false
			}
			v = v[i+len(s):]
		case ldap.FilterSubstringsFinal:
			if !strings.HasSuffix(v, s) {
				return false
			}
		}
	}
	return true
}

// testCert returns a server certificate for 127.0.0.1 and the path of a PEM file
// holding the CA that signed it.
func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "dc1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(caFile, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}
