package certtext

import (
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestValidity(t *testing.T) {
	c := &x509.Certificate{
		NotBefore: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2026, 11, 24, 13, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), ""},
		{c.NotBefore, ""},
		{c.NotAfter, ""},
		{c.NotAfter.Add(time.Second), "expired on 2026-11-24 12:00 UTC"},
		{c.NotBefore.Add(-time.Second), "is not valid before 2026-01-01 08:00 UTC"},
	} {
		if got := Validity(c, tt.now); got != tt.want {
			t.Errorf("Validity at %v = %q, want %q", tt.now, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    x509.Certificate
		want string
	}{
		{"none", x509.Certificate{}, ""},
		{"DNS names, then addresses", x509.Certificate{DNSNames: []string{"dc1.corp.example", "dc1"}, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 5)}},
			"dc1.corp.example, dc1, 10.0.0.5"},
		{"more than five", x509.Certificate{DNSNames: []string{"a", "b", "c", "d", "e", "f", "g"}}, "a, b, c, d, e and 2 more"},
		{"hostile", x509.Certificate{DNSNames: []string{"evil\n\u202ecom"}}, "evil??com"},
	} {
		if got := Names(&tt.c); got != tt.want {
			t.Errorf("%s: Names = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestUsage(t *testing.T) {
	if got := Usage(x509.ExtKeyUsageServerAuth); !strings.Contains(got, "Server Authentication") || !strings.Contains(got, "1.3.6.1.5.5.7.3.1") {
		t.Errorf("Usage(server) = %q", got)
	}
	if got := Usage(x509.ExtKeyUsageClientAuth); !strings.Contains(got, "Client Authentication") || !strings.Contains(got, "1.3.6.1.5.5.7.3.2") {
		t.Errorf("Usage(client) = %q", got)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"CN=Corp CA":             "CN=Corp CA",
		"a\r\nb\x00c\u202ed":     "a??b?c?d",
		"bad \xff byte":          "bad ? byte",
		strings.Repeat("é", 150): strings.Repeat("é", 100) + "...",
	} {
		got := Clean(in)
		if got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Clean(%q) is not UTF-8", in)
		}
	}
	// A cut inside a character drops the character rather than split it.
	if got := Clean("x" + strings.Repeat("é", 150)); got != "x"+strings.Repeat("é", 99)+"..." {
		t.Errorf("Clean cut mid-character: %q", got)
	}
}

// FuzzClean: whatever a certificate holds, Clean returns short, valid UTF-8 without
// control or format characters.
func FuzzClean(f *testing.F) {
	f.Add("CN=Corp CA")
	f.Add("a\r\nb\u202e\xff" + strings.Repeat("é", 120))
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		if !utf8.ValidString(got) || len(got) > maxClean+len("...") {
			t.Fatalf("Clean(%q) = %q", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("Clean(%q) = %q keeps %U", s, got, r)
			}
		}
	})
}
