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
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority that issues server certificates in tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // PEM file holding cert
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "ca.pem")
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key, file: file}
}

// issue returns a server certificate the CA signed from tmpl, with a new key; tmpl's
// serial number and dates are filled in when unset.
func (ca testCA) issue(t *testing.T, tmpl x509.Certificate) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(2)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
	}
	if tmpl.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestCertificateFailures: a DC whose certificate fails verification answered; the
// error is a *CertError saying what is wrong, over ldaps and StartTLS alike, and the
// probe carries it in Cert.
func TestCertificateFailures(t *testing.T) {
	ca := newTestCA(t, "Corp Issuing CA")
	other := newTestCA(t, "Other CA")
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	expiredAt := time.Now().Add(-24 * time.Hour)
	tests := []struct {
		name string
		cert tls.Certificate
		host string // the name the DC is reached by; "" for 127.0.0.1
		ca   string
		want []string
	}{
		{"unknown authority", ca.issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "dc1"}, IPAddresses: loopback}), "", other.file,
			[]string{"signed by an authority the checker does not trust", "issuer CN=Corp Issuing CA", other.file}},
		{"the name in the subject CN only", ca.issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}}), "localhost", ca.file,
			[]string{"names localhost only in its subject CN", "Subject Alternative Name"}},
		{"another host's certificate", ca.issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "dc2"}, DNSNames: []string{"dc2.corp.example"}}), "localhost", ca.file,
			[]string{"is for dc2.corp.example, not localhost"}},
		{"expired", ca.issue(t, x509.Certificate{IPAddresses: loopback, NotBefore: expiredAt.Add(-time.Hour), NotAfter: expiredAt}), "", ca.file,
			[]string{"expired on " + expiredAt.UTC().Format("2006-01-02")}},
		{"not for server authentication", ca.issue(t, x509.Certificate{IPAddresses: loopback, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}), "", ca.file,
			[]string{"not issued for Server Authentication", "1.3.6.1.5.5.7.3.1"}},
		{"every problem at once", ca.issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, NotBefore: expiredAt.Add(-time.Hour), NotAfter: expiredAt}), "localhost", other.file,
			[]string{"expired on", "only in its subject CN", "does not trust"}},
	}
	for _, tt := range tests {
		for _, ldaps := range []bool{true, false} {
			name := tt.name + ", StartTLS"
			if ldaps {
				name = tt.name + ", ldaps"
			}
			t.Run(name, func(t *testing.T) {
				fake := newFakeServer(t, corpFixture, withTLS(tt.cert, ldaps))
				url := fake.url
				if tt.host != "" {
					url = strings.Replace(url, "127.0.0.1", tt.host, 1)
				}
				c := newTestClient(t, fake, func(c *Config) {
					c.URLs, c.GCURLs, c.InsecureNoTLS, c.CAFile = []string{url}, []string{url}, false, tt.ca
				})
				_, err := c.Account(t.Context(), "svc_sqlok")
				var ce *CertError
				if !errors.As(err, &ce) {
					t.Fatalf("Account = %v; want a *CertError", err)
				}
				t.Log(err)
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if _, binds, _ := fake.stats(); binds != 0 {
					t.Errorf("the server got %d binds over a connection it was not trusted on", binds)
				}
				probes := c.ProbeDCs(t.Context())
				if len(probes) != 1 || probes[0].Cert != ce.Summary() || probes[0].Err == "" {
					t.Errorf("ProbeDCs = %+v; want Cert %q and the error", probes, ce.Summary())
				}
			})
		}
	}
}

// TestCertificateNamesAreCleaned: names from a hostile certificate reach messages with
// no line breaks or bidirectional overrides.
func TestCertificateNamesAreCleaned(t *testing.T) {
	ca := newTestCA(t, "Evil\nCA\u202e")
	leaf, err := x509.ParseCertificate(ca.issue(t, x509.Certificate{Subject: pkix.Name{CommonName: "dc1\r\nSet-Cookie"}}).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range certProblems([]*x509.Certificate{leaf}, x509.NewCertPool(), "dc1.corp.example", time.Now(), "") {
		if strings.ContainsAny(p, "\r\n\u202e") {
			t.Errorf("problem %q holds a control or format character", p)
		}
	}
}
