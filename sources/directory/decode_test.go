package directory

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestDecodeSID(t *testing.T) {
	tests := []struct {
		in      string // base64, or text when it starts with S-
		want    string
		wantErr bool
	}{
		{in: "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==", want: "S-1-5-21-1004336348-1177238915-682003330-1105"},
		{in: "AQQAAAAAAAUVAAAA3PTcO4M9K0aCi6Yo", want: "S-1-5-21-1004336348-1177238915-682003330"}, // a domain's SID
		{in: "AQEAAAAAAAUSAAAA", want: "S-1-5-18"},                                                 // LocalSystem
		{in: "AQAAAAAAAAE=", want: "S-1-1"},
		{in: "S-1-5-21-1-2-3-500", want: "S-1-5-21-1-2-3-500"},
		{in: "S-1-5-x", wantErr: true},
		{in: "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6Yo", wantErr: true}, // 5 sub-authorities announced, 4 present
		{in: "AgEAAAAAAAUSAAAA", wantErr: true},                 // revision 2
		{in: "AQE=", wantErr: true},                             // too short
	}
	for _, tt := range tests {
		raw := tt.in
		if raw[:2] != "S-" {
			b, err := base64.StdEncoding.DecodeString(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			raw = string(b)
		}
		got, err := decodeSID(raw)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("decodeSID(%s) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDecodeFiletime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "0"},                   // not set
		{in: "9223372036854775807"}, // never
		{in: "133485408000000000", want: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{in: "133864180131234567", want: time.Date(2025, 3, 14, 9, 26, 53, 123456700, time.UTC)},
		{in: "116444736000000000", want: time.Unix(0, 0).UTC()},
		{in: "1", want: time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC)},
		{in: "-1", wantErr: true},
		{in: "soon", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeFiletime(tt.in)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("decodeFiletime(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDecodeInterval(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "-36288000000000", want: 42 * 24 * time.Hour},
		{in: "-9223372036854775808"}, // never
		{in: "0"},                    // never
		{in: "36288000000000", want: 42 * 24 * time.Hour},
		{in: "-9223372036854775807"}, // more than a Duration holds
		{in: "x", wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeInterval(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("decodeInterval(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDecodeInt32(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "66048", want: 0x10200},
		{in: "-2147483646", want: 0x80000002}, // groupType of a global security group
		{in: "4294967295", want: 0xFFFFFFFF},
		{in: "4294967296", wantErr: true},
		{in: "0x10", wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeInt32(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("decodeInt32(%q) = %#x, %v; want %#x, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMostSpecificClass(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"top", "person", "organizationalPerson", "user"}, "user"},
		{[]string{"top", "person", "organizationalPerson", "user", "computer"}, "computer"},
		{[]string{"msDS-GroupManagedServiceAccount", "computer", "user", "top"}, "msDS-GroupManagedServiceAccount"},
		{[]string{"top", "USER"}, "user"},
		{[]string{"top", "serviceConnectionPoint"}, "serviceConnectionPoint"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := mostSpecificClass(tt.in); got != tt.want {
			t.Errorf("mostSpecificClass(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestDomainOfDN(t *testing.T) {
	tests := []struct {
		dn, want string
		wantErr  bool
	}{
		{dn: "CN=svc,OU=Service Accounts,DC=corp,DC=example", want: "corp.example"},
		{dn: "CN=svc,DC=EMEA,DC=Corp,DC=Example", want: "emea.corp.example"},
		{dn: `CN=Smith\, John,CN=Users,DC=corp,DC=example`, want: "corp.example"},
		{dn: "CN=Schema,CN=Configuration", want: ""},
		{dn: "", want: ""},
		{dn: "CN=a,=b", wantErr: true},
	}
	for _, tt := range tests {
		got, err := domainOfDN(tt.dn)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("domainOfDN(%q) = %q, %v; want %q, error %v", tt.dn, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in     string
		name   string
		lo, hi int
		ok     bool
	}{
		{"servicePrincipalName;range=0-1499", "servicePrincipalName", 0, 1499, true},
		{"member;range=1500-*", "member", 1500, -1, true},
		{"member;Range=3-4", "member", 3, 4, true},
		{"servicePrincipalName", "servicePrincipalName", 0, 0, false},
		{"userCertificate;binary", "userCertificate", 0, 0, false},
		{"member;range=5-2", "member", 0, 0, false},
		{"member;range=x-*", "member", 0, 0, false},
	}
	for _, tt := range tests {
		name, lo, hi, ok := parseRange(tt.in)
		if name != tt.name || lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("parseRange(%q) = %q, %d, %d, %v; want %q, %d, %d, %v", tt.in, name, lo, hi, ok, tt.name, tt.lo, tt.hi, tt.ok)
		}
	}
}
