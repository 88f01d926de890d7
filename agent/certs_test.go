package agent_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if err := agent.GenerateCerts(dir, []string{"agent-east.corp.example", "10.0.0.9"}, []string{"bot", "cli.ops"}, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, _ := e.Info()
		mode := info.Mode().Perm()
		switch {
		case runtime.GOOS == "windows":
		case strings.HasSuffix(e.Name(), "-key.pem") && mode != 0o600:
			t.Errorf("key %s has mode %v; want -rw-------", e.Name(), mode)
		case mode&0o133 != 0:
			t.Errorf("certificate %s has mode %v; want at most -rw-r--r--", e.Name(), mode)
		}
	}
	wantNames := []string{"bot-key.pem", "bot.pem", "ca-key.pem", "ca.pem", "cli.ops-key.pem", "cli.ops.pem", "server-key.pem", "server.pem"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("files %v; want %v", names, wantNames)
	}

	ca := readCert(t, filepath.Join(dir, "ca.pem"))
	if !ca.IsCA || ca.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA: IsCA %v, key %v; want an ECDSA CA", ca.IsCA, ca.PublicKeyAlgorithm)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	server := readCert(t, filepath.Join(dir, "server.pem"))
	for _, name := range []string{"agent-east.corp.example", "10.0.0.9"} {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the server certificate is accepted as a client certificate")
	}
	for _, name := range []string{"bot", "cli.ops"} {
		c := readCert(t, filepath.Join(dir, name+".pem"))
		if c.Subject.CommonName != name {
			t.Errorf("client %s has CN %q", name, c.Subject.CommonName)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("client certificate %s: %v", name, err)
		}
		if got := c.NotAfter.Sub(c.NotBefore); got < 30*24*time.Hour || got > 30*24*time.Hour+10*time.Minute {
			t.Errorf("client certificate %s is valid for %s; want 30 days", name, got)
		}
	}

	// A second run refuses to overwrite anything, and changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	err = agent.GenerateCerts(dir, []string{"agent-east.corp.example"}, []string{"new-client"}, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second GenerateCerts = %v; want a refusal to overwrite", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if string(before) != string(after) {
		t.Error("the CA key changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "new-client.pem")); err == nil {
		t.Error("new-client.pem was written although the run failed")
	}
}

func TestGenerateCertsRefuses(t *testing.T) {
	tests := []struct {
		name    string
		servers []string
		clients []string
		valid   time.Duration
		want    string
	}{
		{"no server", nil, []string{"bot"}, time.Hour, "no server name"},
		{"bad server name", []string{"agent east"}, []string{"bot"}, time.Hour, "server name"},
		{"no client", []string{"agent"}, nil, time.Hour, "no client name"},
		{"path in client name", []string{"agent"}, []string{"../bot"}, time.Hour, `client name "../bot"`},
		{"client named like the CA", []string{"agent"}, []string{"CA"}, time.Hour, "would overwrite"},
		{"client twice", []string{"agent"}, []string{"bot", "BOT"}, time.Hour, "given twice"},
		{"no validity", []string{"agent"}, []string{"bot"}, 0, "validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := agent.GenerateCerts(dir, tt.servers, tt.clients, tt.valid)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GenerateCerts = %v; want an error containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%d files written; want none", len(entries))
			}
		})
	}
}

// TestWriteCertsGroup: with a group, the certificates and the services' keys go to
// it, the keys -rw-r-----, and the CA's key stays its owner's alone; a folder it
// creates is the group's too.
func TestWriteCertsGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("groups and modes are Unix's")
	}
	gid := os.Getgid() // a group this process may give files to
	dir := filepath.Join(t.TempDir(), "etc", "authtriage")
	o := agent.CertOptions{Servers: []string{"agent-east.corp.example"}, Clients: []string{"authtriage-bot"}, ValidFor: time.Hour, GID: gid}
	if err := agent.WriteCerts(dir, o); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{
		"ca.pem": 0o644, "ca-key.pem": 0o600, "server.pem": 0o644, "server-key.pem": 0o640,
		"authtriage-bot.pem": 0o644, "authtriage-bot-key.pem": 0o640, ".": 0o750 | os.ModeDir,
	}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != mode {
			t.Errorf("%s has mode %v; want %v", name, got, mode)
		}
		if g, ok := fileGID(fi); ok && g != gid {
			t.Errorf("%s has group %d; want %d", name, g, gid)
		}
	}
}
