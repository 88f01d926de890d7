package hostlocal

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

func TestRegistryPorts(t *testing.T) {
	reg := func(port int, dynamic bool) triage.PortClaim {
		return triage.PortClaim{Source: triage.PortRegistry, Port: port, Dynamic: dynamic}
	}
	tests := []struct {
		name             string
		tcpPort, dynamic string
		want             []triage.PortClaim
	}{
		{"static", "1433", "", []triage.PortClaim{reg(1433, false)}},
		{"static list", "1433, 1500,1501", "", []triage.PortClaim{reg(1433, false), reg(1500, false), reg(1501, false)}},
		{"dynamic, assigned", "", "50123", []triage.PortClaim{reg(50123, true)}},
		{"dynamic, not yet assigned", "", "0", []triage.PortClaim{reg(0, true)}},
		{"both: a static port and the dynamic one still set", "1450", "49626", []triage.PortClaim{reg(1450, false), reg(49626, true)}},
		{"blank", "", " ", []triage.PortClaim{reg(0, false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := registryPorts(tt.tcpPort, tt.dynamic)
			if err != nil {
				t.Fatalf("registryPorts(%q, %q): %v", tt.tcpPort, tt.dynamic, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("registryPorts(%q, %q) (-want +got):\n%s", tt.tcpPort, tt.dynamic, diff)
			}
		})
	}
	for _, bad := range [][2]string{{"0", ""}, {"1433,", ""}, {"70000", ""}, {"", "abc"}, {"1433;1434", ""}, {"", "-1"}} {
		if got, err := registryPorts(bad[0], bad[1]); err == nil {
			t.Errorf("registryPorts(%q, %q) = %+v; want an error", bad[0], bad[1], got)
		} else if !strings.Contains(err.Error(), "TcpPort") && !strings.Contains(err.Error(), "TcpDynamicPorts") {
			t.Errorf("registryPorts(%q, %q) error %q names no value", bad[0], bad[1], err)
		}
	}
}

func TestValidInstanceID(t *testing.T) {
	for _, id := range []string{"MSSQL16.MSSQLSERVER", "MSSQL16.SALES", "MSSQL10_50.SQLEXPRESS"} {
		if err := validInstanceID(id); err != nil {
			t.Errorf("validInstanceID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", `MSSQL16.SALES\..\..\Other`, "MSSQL16/SALES", "MSSQL16.SALES\n", "MSSQL16.\u202eSELAS", strings.Repeat("M", 129)} {
		if err := validInstanceID(id); err == nil {
			t.Errorf("validInstanceID(%q) = nil; want an error", id)
		}
	}
}

func TestValidInstanceName(t *testing.T) {
	for _, name := range []string{"MSSQLSERVER", "SALES", "SQL_2019$A"} {
		if err := validInstanceName(name); err != nil {
			t.Errorf("validInstanceName(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", "SALES:1433", ":1433", "1SALES", "SA LES", "ABCDEFGHIJKLMNOPQ"} {
		if err := validInstanceName(name); err == nil {
			t.Errorf("validInstanceName(%q) = nil; want an error", name)
		}
	}
}
