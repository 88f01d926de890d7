package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/triage"
)

// TestIntegrationDCCertificate: a domain controller whose LDAPS certificate fails
// verification answered. The report says dc.certificate with what is wrong (an issuer
// the checker does not trust; a name the certificate does not hold), not dc.unreachable
// with firewall fixes, and the directory checks that could not run are errors that
// give that reason.
func TestIntegrationDCCertificate(t *testing.T) {
	d := loadDomain(t)
	// The scenario hosts' names resolve to the DC's address; its certificate names
	// only the DC (dc1.corp.test, dc1, corp.test and its address).
	alias := d.Hosts[testdomain.HostOK].FQDN
	otherCA := writeTestCA(t, "authtriage test: not the DC's CA")
	tests := []struct {
		name        string
		dc, gc, ca  string
		wantSummary []string // substrings of the dc.certificate finding's summary
	}{
		{"a CA that did not sign the DC's certificate", d.LDAPURL, d.GCURL, otherCA,
			[]string{"signed by an authority the checker does not trust", "issuer "}},
		{"the DC reached by a name its certificate does not hold", withHost(t, d.LDAPURL, alias), withHost(t, d.GCURL, alias), d.CAFile,
			[]string{"is for " + d.DC, "not " + alias}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pw := filepath.Join(dir, "bind_password")
			writeFile(t, pw, d.BindPassword+"\n")
			cfg := filepath.Join(dir, "authtriage.yaml")
			h := d.Hosts[testdomain.HostOK]
			writeFile(t, cfg, fmt.Sprintf(`directory:
  urls: [%s]
  gc_urls: [%s]
  bind_dn: %s
  bind_password_file: %s
  ca_path: %s
hosts:
  - name: %s
    fqdn: %s
    instances: [":1433"]
    service_account: CORP\%s
`, tt.dc, tt.gc, d.BindDN, pw, tt.ca, h.Name, h.FQDN, h.ServiceAccount))
			e, stdout, stderr := testEnv(nil)
			code := e.run(t.Context(), []string{"check", h.Name, "--config", cfg, "--output", "json"})
			var rep triage.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("exit %d, no JSON report: %v\nstderr: %s", code, err, stderr)
			}
			if f := findCause(rep, triage.DCUnreachable); f != nil {
				t.Errorf("dc.unreachable for a DC that answered: %s", f.Summary)
			}
			f := findCause(rep, triage.DCCertificate)
			if f == nil {
				t.Fatalf("no dc.certificate; findings %v\n%s", findingKeys(rep), stdout)
			}
			t.Logf("dc.certificate: %s", f.Summary)
			for _, w := range tt.wantSummary {
				if !strings.Contains(f.Summary, w) {
					t.Errorf("dc.certificate summary %q lacks %q", f.Summary, w)
				}
			}
			if c := checkResult(rep, "spn"); c.Status != triage.CheckError || !strings.Contains(c.Detail, "certificate failed verification") {
				t.Errorf("spn check %s %q; want an error that gives the certificate's problem", c.Status, c.Detail)
			}
			if rep.Status != triage.StatusUnknown || code != exitUnknown {
				t.Errorf("status %s (exit %d); want unknown: the directory could not be read", rep.Status, code)
			}
		})
	}
}

// TestIntegrationSQLUnreachable: with SQL Server's port closed, the sql check is an
// error saying it could not reach SQL Server, and with nothing else wrong the verdict
// is unknown (exit 3), never ok.
func TestIntegrationSQLUnreachable(t *testing.T) {
	d := loadDomain(t)
	h := d.Hosts[testdomain.HostOK]
	// The healthy host's SPNs name port 1433: with nothing listening there, only the
	// login fails.
	addr := net.JoinHostPort(h.FQDN, "1433")
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("something listens on %s; the scenario needs a closed port", addr)
	}
	cfg := integrationConfig(t, d)
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"check", h.Name, "--config", cfg, "--output", "json"})
	var rep triage.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, no JSON report: %v\nstderr: %s", code, err, stderr)
	}
	c := checkResult(rep, "sql")
	t.Logf("sql %s: %s", c.Status, c.Detail)
	if c.Status != triage.CheckError || !strings.Contains(c.Detail, "could not reach SQL Server") {
		t.Errorf("sql check %s %q; want error: could not reach SQL Server", c.Status, c.Detail)
	}
	for _, f := range rep.Findings {
		if f.Severity > triage.Info {
			t.Errorf("finding %s/%s (%s); want none on the healthy host", f.Cause, f.Severity, f.Summary)
		}
	}
	if rep.Status != triage.StatusUnknown || code != exitUnknown {
		t.Errorf("status %s (exit %d); want unknown (3): the login test could not run", rep.Status, code)
	}
}

// writeTestCA writes a PEM file holding a new self-signed CA certificate that signed
// nothing.
func writeTestCA(t *testing.T, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	path := filepath.Join(t.TempDir(), "other-ca.pem")
	writeFile(t, path, b.String())
	return path
}

// withHost returns the ldap:// or ldaps:// URL raw with its host replaced by host.
func withHost(t *testing.T, raw, host string) string {
	t.Helper()
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		t.Fatalf("%q is not a URL", raw)
	}
	_, port, err := net.SplitHostPort(strings.TrimSuffix(rest, "/"))
	if err != nil {
		t.Fatal(err)
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
