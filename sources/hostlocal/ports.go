package hostlocal

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/authtriage/authtriage/triage"
)

// registryPorts returns the port claims of an instance's TcpPort and TcpDynamicPorts
// values under SuperSocketNetLib\Tcp\IPAll: a static claim for each port of TcpPort, a
// Dynamic claim for each of TcpDynamicPorts ("0": dynamic, no port assigned yet), and
// a claim of no port when both are blank.
//
// Source: "TCP/IP Properties (IP Addresses Tab)": TCP Dynamic Ports is "Blank, if
// dynamic ports are not enabled. To use dynamic ports, set to 0. For IPAll, displays
// the port number of the dynamic port used."; TCP Port lists one port or several
// "separated by commas, in the format 1433,1500,1501".
// https://learn.microsoft.com/sql/tools/configuration-manager/tcp-ip-properties-ip-addresses-tab
func registryPorts(tcpPort, dynamicPorts string) ([]triage.PortClaim, error) {
	var claims []triage.PortClaim
	for _, v := range []struct {
		name, value string
		dynamic     bool
	}{{"TcpPort", tcpPort, false}, {"TcpDynamicPorts", dynamicPorts, true}} {
		if strings.TrimSpace(v.value) == "" {
			continue
		}
		for _, s := range strings.Split(v.value, ",") {
			s = strings.TrimSpace(s)
			if v.dynamic && s == "0" {
				claims = append(claims, triage.PortClaim{Source: triage.PortRegistry, Dynamic: true})
				continue
			}
			port, err := triage.ParsePort(s)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", v.name, v.value, err)
			}
			claims = append(claims, triage.PortClaim{Source: triage.PortRegistry, Port: port, Dynamic: v.dynamic})
		}
	}
	if len(claims) == 0 {
		claims = []triage.PortClaim{{Source: triage.PortRegistry}}
	}
	return claims, nil
}

// validInstanceID checks an instance ID read from the registry (MSSQL16.SALES) before
// it becomes part of a registry path: printable ASCII, no path separator, at most 128
// bytes.
//
// Source: "File Locations for Default and Named Instances of SQL Server": the ID is
// "MSSQL, followed by the major version number, followed by an underscore and the
// minor version when applicable, and a period, followed by the instance name"; "You
// can specify any value for the instance ID, but avoid special characters".
// https://learn.microsoft.com/sql/sql-server/install/file-locations-for-default-and-named-instances-of-sql-server
func validInstanceID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("instance ID %q is empty or longer than 128 bytes", id)
	}
	for _, r := range id {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == '\\' || r == '/' {
			return fmt.Errorf("instance ID %q: %q is not allowed in a registry path here", id, r)
		}
	}
	return nil
}

// validInstanceName checks an instance name read from the host against SQL Server's
// rules (triage.ParseInstance).
func validInstanceName(name string) error {
	if strings.Contains(name, ":") {
		return fmt.Errorf("instance name %q: ':' is not allowed", name)
	}
	_, err := triage.ParseInstance(name)
	return err
}
