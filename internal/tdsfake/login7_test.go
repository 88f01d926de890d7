package tdsfake

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildLogin7 encodes l as a client writes LOGIN7 (MS-TDS 2.2.6.4). With long, the SSPI
// token's length goes in cbSSPILong, as for tokens of 64 KiB or more.
func buildLogin7(l Login, long bool) []byte {
	b := make([]byte, login7Fixed)
	binary.LittleEndian.PutUint32(b[offTDSVersion:], l.TDSVersion)
	binary.LittleEndian.PutUint32(b[offPacketSize:], l.PacketSize)
	if l.IntegratedSecurity {
		b[offOptionFlags2] |= fIntSecurity
	}
	put := func(at int, s string) {
		u := ucs2(s)
		binary.LittleEndian.PutUint16(b[at:], uint16(len(b)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(len(u)/2))
		b = append(b, u...)
	}
	put(offHostName, l.HostName)
	put(offUserName, l.UserName)
	put(offAppName, l.AppName)
	put(offServerName, l.ServerName)
	put(offLibrary, l.Library)
	put(offLanguage, l.Language)
	put(offDatabase, l.Database)
	binary.LittleEndian.PutUint16(b[offSSPI:], uint16(len(b)))
	if long {
		binary.LittleEndian.PutUint16(b[offSSPI+2:], 0xFFFF)
		binary.LittleEndian.PutUint32(b[offSSPILong:], uint32(len(l.SSPI)))
	} else {
		binary.LittleEndian.PutUint16(b[offSSPI+2:], uint16(len(l.SSPI)))
	}
	b = append(b, l.SSPI...)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

var sampleLogins = []Login{
	{
		TDSVersion: 0x74000004, PacketSize: 4096, IntegratedSecurity: true,
		HostName: "CHECKER01", AppName: "authtriage", ServerName: "sql01.corp.test", Library: "go-mssqldb",
		Database: "master", SSPI: append([]byte("NTLMSSP\x00"), 1, 0, 0, 0, 0x97, 0x82),
	},
	{TDSVersion: 0x74000004, PacketSize: 512, UserName: "sa", AppName: "sqlcmd", ServerName: `SQL01\SALES`, Language: "us_english"},
	{HostName: "Ünïcødé-主机", ServerName: "\U0001F600"},
	{},
}

func TestParseLogin7(t *testing.T) {
	for i, want := range sampleLogins {
		for _, long := range []bool{false, true} {
			got, err := parseLogin7(buildLogin7(want, long))
			if err != nil {
				t.Errorf("parseLogin7(sample %d, long %v): %v", i, long, err)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parseLogin7(sample %d, long %v) (-want +got):\n%s", i, long, diff)
			}
		}
	}
}

func TestParseLogin7Rejects(t *testing.T) {
	good := buildLogin7(sampleLogins[0], false)
	tests := []struct {
		name   string
		modify func([]byte) []byte
		want   string
	}{
		{"shorter than the fixed part", func(b []byte) []byte { return b[:login7Fixed-1] }, "shorter than its fixed part"},
		{"length beyond the message", func(b []byte) []byte { return b[:len(b)-1] }, "LOGIN7 says"},
		{"field past the end", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[offHostName+2:], 0x7FFF)
			return b
		}, "outside"},
		{"field inside the fixed part", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[offAppName:], 10)
			return b
		}, "outside"},
		{"SSPI token past the end", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[offSSPI+2:], uint16(len(b)))
			return b
		}, "SSPI"},
		{"long SSPI length past the end", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[offSSPI+2:], 0xFFFF)
			binary.LittleEndian.PutUint32(b[offSSPILong:], 0xFFFFFFFF)
			return b
		}, "SSPI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseLogin7(tt.modify(bytes.Clone(good)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseLogin7 = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// FuzzParseLogin7 checks that parseLogin7 never panics and returns only what the
// message holds.
func FuzzParseLogin7(f *testing.F) {
	for _, l := range sampleLogins {
		f.Add(buildLogin7(l, false))
		f.Add(buildLogin7(l, true))
	}
	f.Add(make([]byte, login7Fixed))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseLogin7(b)
		if err != nil {
			return
		}
		if len(l.SSPI) > len(b)-login7Fixed {
			t.Errorf("SSPI token of %d bytes from a message of %d", len(l.SSPI), len(b))
		}
		for _, s := range []string{l.HostName, l.UserName, l.AppName, l.ServerName, l.Library, l.Language, l.Database} {
			if len(ucs2(s)) > len(b)-login7Fixed {
				t.Errorf("field %q longer than the message", s)
			}
		}
	})
}
