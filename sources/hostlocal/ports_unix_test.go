//go:build !windows

package hostlocal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/triage"
)

func TestReadMssqlConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := func(port int) []triage.InstanceView {
		return []triage.InstanceView{{Name: "MSSQLSERVER", Ports: []triage.PortClaim{{Source: triage.PortMssqlConf, Port: port}}}}
	}
	tests := []struct {
		name, path string
		want       []triage.InstanceView
	}{
		{"set", write("set.conf", "[EULA]\naccepteula = Y\n\n[network]\ntcpport = 1401\nforceencryption = 0\n"), want(1401)},
		{"section and key in any case", write("case.conf", "[Network]\nTcpPort=50000\n"), want(50000)},
		{"no network section", write("none.conf", "[filelocation]\nerrorlogfile = /var/log/errorlog\n"), want(1433)},
		{"another section's tcpport", write("other.conf", "[other]\ntcpport = 9999\n[network]\nipaddress = 10.0.0.1\n"), want(1433)},
		{"no file", filepath.Join(dir, "absent.conf"), want(1433)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadMssqlConf(t.Context(), tt.path)
			if err != nil {
				t.Fatalf("ReadMssqlConf: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadMssqlConf (-want +got):\n%s", diff)
			}
		})
	}
	if got, err := ReadMssqlConf(t.Context(), filepath.Join(dir, "absent", "mssql.conf")); err == nil || !strings.Contains(err.Error(), "not installed here") {
		t.Errorf("ReadMssqlConf(no directory) = %+v, %v; want SQL Server not installed", got, err)
	}
	for _, bad := range []string{"0", "65536", "1433 # default", "abc"} {
		p := write("bad.conf", "[network]\ntcpport = "+bad+"\n")
		if got, err := ReadMssqlConf(t.Context(), p); err == nil || !strings.Contains(err.Error(), "[network] tcpport") {
			t.Errorf("ReadMssqlConf(tcpport = %s) = %+v, %v; want an error naming the setting", bad, got, err)
		}
	}
}

func TestReadMssqlConfRefusesWhatIsNotAFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "mssql.conf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	_, err := ReadMssqlConf(t.Context(), fifo)
	if !errors.Is(err, safefile.ErrNotRegular) {
		t.Fatalf("ReadMssqlConf(FIFO) error = %v; want ErrNotRegular", err)
	}
}

func TestReadMssqlConfCanceled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mssql.conf")
	if err := os.WriteFile(p, []byte("[network]\ntcpport = 1401\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ReadMssqlConf(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadMssqlConf(canceled) error = %v; want context.Canceled", err)
	}
}
