package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/internal/certtext"
)

// A CertError reports that a server answered but its TLS certificate failed
// verification: the connection was refused by the checker, not by the network.
// Problems says what is wrong, each in words a DBA can act on; Err is the TLS error.
type CertError struct {
	Host     string   // the name the server was reached by, as verified
	Problems []string // "signed by an authority the checker does not trust (issuer CN=Corp CA)", ...
	Err      error
}

func (e *CertError) Error() string {
	return "its certificate failed verification: " + e.Summary()
}

func (e *CertError) Unwrap() error { return e.Err }

// Summary returns the problems as one line.
func (e *CertError) Summary() string { return strings.Join(e.Problems, "; ") }

// Requirements for a domain controller's LDAPS certificate, from "Enable LDAP over SSL
// with a third-party certification authority": "The Enhanced Key Usage extension
// includes the Server Authentication (1.3.6.1.5.5.7.3.1) object identifier"; "The
// Active Directory fully qualified domain name of the domain controller ... must appear
// in one of the following places: The Common Name (CN) in the Subject field. DNS entry
// in the Subject Alternative Name extension."; "issued by a CA that the domain
// controller and the LDAPS clients trust".
// https://learn.microsoft.com/troubleshoot/windows-server/active-directory/enable-ldap-over-ssl-3rd-certification-authority
//
// Go accepts the name in the subject alternative name only: "The deprecated, legacy
// behavior of treating the CommonName field as a hostname when no Subject Alternative
// Names are present is now disabled by default" (Go 1.15 release notes, crypto/x509,
// https://go.dev/doc/go1.15). So a certificate made as Microsoft's page allows, with
// the FQDN in the subject CN alone, serves Windows clients and fails here.

// certProblems says what is wrong with the certificate chain a server presented when
// reached as host, judged at now against roots (nil: the system's): its dates, its
// names, and whether it chains to a trusted authority for server authentication. Each
// is judged on its own, so every problem is named at once. It returns nil when it finds
// none (verification failed for a reason it does not know).
func certProblems(certs []*x509.Certificate, roots *x509.CertPool, host string, now time.Time, caFile string) []string {
	if len(certs) == 0 {
		return []string{"the server presented no certificate"}
	}
	leaf := certs[0]
	var out []string
	if v := certtext.Validity(leaf, now); v != "" {
		out = append(out, v)
	}
	if err := leaf.VerifyHostname(host); err != nil {
		out = append(out, nameProblem(leaf, host))
	}
	// The chain, judged at a time the leaf is valid so that its dates are not counted
	// twice; the CA certificates' own dates still count.
	at := now
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	} else if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := leaf.Verify(opts)
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
	case errors.As(err, &unknown):
		trusted := "the system's trusted authorities"
		if caFile != "" {
			trusted = "the directory's CA file " + caFile
		}
		out = append(out, fmt.Sprintf("signed by an authority the checker does not trust (issuer %s; not in %s)", certtext.Clean(leaf.Issuer.String()), trusted))
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		out = append(out, "not issued for "+certtext.Usage(x509.ExtKeyUsageServerAuth))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		out = append(out, "a CA certificate of its chain is expired or not yet valid: "+certtext.Clean(err.Error()))
	default:
		out = append(out, certtext.Clean(err.Error()))
	}
	return out
}

// nameProblem says why leaf does not name host.
func nameProblem(leaf *x509.Certificate, host string) string {
	cn := certtext.Clean(leaf.Subject.CommonName)
	names := certtext.Names(leaf)
	if names == "" && cn != "" {
		if strings.EqualFold(strings.TrimSuffix(cn, "."), host) {
			return fmt.Sprintf("names %s only in its subject CN: Windows accepts that, but Go (since 1.15) needs the name as a DNS name in the Subject Alternative Name", cn)
		}
		return fmt.Sprintf("names %s only in its subject CN, not %s, the name the checker reached it by (and Go, since 1.15, needs the name in the Subject Alternative Name)", cn, host)
	}
	return fmt.Sprintf("is for %s, not %s, the name the checker reached it by", names, host)
}

// isCertFailure reports whether err from a TLS handshake or StartTLS says the server's
// certificate failed verification. go-ldap's StartTLS keeps only the handshake error's
// text, so the text of tls.CertificateVerificationError is matched as well.
func isCertFailure(err error) bool {
	var cve *tls.CertificateVerificationError
	return errors.As(err, &cve) || (err != nil && strings.Contains(err.Error(), "tls: failed to verify certificate"))
}

// errInspected ends an inspection handshake once the certificates are seen.
var errInspected = errors.New("certificate inspected")

// certError explains a certificate that failed verification on ep: from the
// certificates err carries (ldaps), else from those ep presents to a second handshake
// that only records them and never completes (StartTLS, whose error keeps no
// certificate). It returns err itself when the certificates cannot be had or show no
// problem.
func (c *Client) certError(ctx context.Context, ep endpoint, err error) error {
	var certs []*x509.Certificate
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		certs = cve.UnverifiedCertificates
	} else if certs = c.inspect(ctx, ep); certs == nil {
		return err
	}
	problems := certProblems(certs, c.tls.RootCAs, ep.host, time.Now(), c.cfg.CAFile)
	if len(problems) == 0 {
		return err
	}
	return &CertError{Host: ep.host, Problems: problems, Err: err}
}

// inspect connects to ep again and returns the certificates it presents in the TLS
// handshake (after StartTLS on ldap://), or nil. Verification is skipped only to read
// them: the handshake is always aborted once they are read, so nothing is sent or read
// over a connection that was not verified.
func (c *Client) inspect(ctx context.Context, ep endpoint) []*x509.Certificate {
	var certs []*x509.Certificate
	tc := c.tls.Clone()
	tc.ServerName = ep.host
	tc.InsecureSkipVerify = true // the certificates are only read; VerifyConnection refuses every one
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		certs = cs.PeerCertificates
		return errInspected
	}
	d := net.Dialer{Resolver: c.resolver}
	raw, err := d.DialContext(ctx, "tcp", ep.addr())
	if err != nil {
		return nil
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	if ep.tls {
		_ = tls.Client(raw, tc).HandshakeContext(ctx)
		return certs
	}
	conn := ldap.NewConn(raw, false)
	conn.Start()
	conn.SetTimeout(c.timeout)
	_ = conn.StartTLS(tc)
	conn.Close()
	return certs
}
