package config

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authtriage/authtriage/internal/certtext"
)

// x509Cert is a parsed certificate with the questions Check asks of it.
type x509Cert struct{ *x509.Certificate }

// extUsage is the TLS side a certificate is checked for.
type extUsage = x509.ExtKeyUsage

const (
	extServerAuth = x509.ExtKeyUsageServerAuth
	extClientAuth = x509.ExtKeyUsageClientAuth
)

// usableFor reports whether the certificate's extended key usage allows u: it
// lists u or any usage, or lists none.
func (c *x509Cert) usableFor(u extUsage) bool {
	if len(c.ExtKeyUsage) == 0 {
		return true
	}
	for _, e := range c.ExtKeyUsage {
		if e == u || e == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// identity is the client identity an agent reads from the certificate: its
// common name, or its first DNS name when the common name is empty.
func (c *x509Cert) identity() string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	return ""
}

// parseCerts returns the PEM certificates of data in order. Blocks of other types
// are skipped; a file without a certificate, or with one that does not parse, is
// an error.
func parseCerts(data []byte) ([]*x509Cert, error) {
	var list []*x509Cert
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %v", len(list)+1, err)
		}
		list = append(list, &x509Cert{c})
	}
	if len(list) == 0 {
		if bytes.Contains(data, []byte("PRIVATE KEY-----")) {
			return nil, errors.New("holds a private key, not a certificate")
		}
		return nil, errors.New("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return list, nil
}

// parseKey returns the first PEM private key of data: PKCS #8, PKCS #1 (RSA) or
// SEC 1 (EC), unencrypted, as crypto/tls reads them.
func parseKey(data []byte) (crypto.PrivateKey, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "":
			return nil, errors.New("the key is encrypted; give it unencrypted, readable only by the service")
		case b.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the PKCS #8 key does not parse: %v", err)
			}
			return k, nil
		case b.Type == "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the RSA key does not parse: %v", err)
			}
			return k, nil
		case b.Type == "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the EC key does not parse: %v", err)
			}
			return k, nil
		}
	}
	if bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, errors.New("holds a certificate, not a private key")
	}
	return nil, errors.New("holds no PEM private key (-----BEGIN PRIVATE KEY-----)")
}

// publicKeyOf returns the public half of a private key parseKey returned.
func publicKeyOf(k crypto.PrivateKey) interface{ Equal(crypto.PublicKey) bool } {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public().(ed25519.PublicKey)
	}
	return noKey{}
}

// noKey is the public key of a private key of no known kind: it equals nothing.
type noKey struct{}

func (noKey) Equal(crypto.PublicKey) bool { return false }

// issuedBy reports whether the chain's last certificate names ca as its issuer,
// or the chain holds ca.
func issuedBy(chain []*x509Cert, ca *x509Cert) bool {
	for _, c := range chain {
		if bytes.Equal(c.Raw, ca.Raw) {
			return true
		}
	}
	return bytes.Equal(chain[len(chain)-1].RawIssuer, ca.RawSubject)
}

// verify verifies chain (leaf first, then intermediates) against the CAs at now,
// for usage and, when name is not "", for that DNS name or IP address. Its error is
// crypto/x509's; verifyError words it for people.
func verify(chain, cas []*x509Cert, name string, usage extUsage, now time.Time) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range cas {
		roots.AddCert(c.Certificate)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c.Certificate)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		DNSName: name, Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	return err
}

// verifyError rewrites crypto/x509's error verifying chain against cas in a user's words.
func verifyError(err error, chain, cas []*x509Cert) error {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	leaf, last := chain[0], chain[len(chain)-1]
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ua) && slices.ContainsFunc(cas, func(ca *x509Cert) bool { return bytes.Equal(ca.RawSubject, last.RawIssuer) }):
		return fmt.Errorf("it is signed by a CA named %s, but not by the one of that name there (another key: from another `agent certs` run?)", quote(last.Issuer.String()))
	case errors.As(err, &ua):
		return fmt.Errorf("it is signed by %s, which is not among them", quote(last.Issuer.String()))
	case errors.As(err, &he):
		return fmt.Errorf("the certificate is for %s, not %s: issue it for that name, or set server_name", certtext.Names(leaf.Certificate), quote(he.Host))
	case errors.As(err, &ci) && ci.Reason == x509.IncompatibleUsage:
		return errors.New("the chain's extended key usages do not allow it")
	}
	return err
}
