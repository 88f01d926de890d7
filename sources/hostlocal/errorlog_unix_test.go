//go:build !windows

package hostlocal

import "testing"

func TestConfValue(t *testing.T) {
	conf := []byte("[network]\ntcpport = 1433\n\n[filelocation]\ndefaultdatadir = /data\nerrorlogfile = /logs/sql/errorlog\n")
	tests := []struct{ section, key, want string }{
		{"filelocation", "errorlogfile", "/logs/sql/errorlog"},
		{"FileLocation", "ErrorLogFile", "/logs/sql/errorlog"},
		{"network", "tcpport", "1433"},
		{"network", "errorlogfile", ""},
		{"missing", "x", ""},
	}
	for _, tt := range tests {
		if got := confValue(conf, tt.section, tt.key); got != tt.want {
			t.Errorf("confValue(%s, %s) = %q; want %q", tt.section, tt.key, got, tt.want)
		}
	}
}
