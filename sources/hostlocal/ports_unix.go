//go:build !windows

package hostlocal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/triage"
)

// defaultTCPPort is the port SQL Server on Linux listens on when mssql.conf sets none.
const defaultTCPPort = 1433

// ConfiguredPorts reads the TCP port SQL Server on Linux is configured to listen on
// (ReadMssqlConf of /var/opt/mssql/mssql.conf). On other systems than Linux and
// Windows it returns an error matching ErrUnsupported.
func ConfiguredPorts(ctx context.Context) ([]triage.InstanceView, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("configured ports are read from the registry on Windows and from mssql.conf on Linux, not on %s: %w", runtime.GOOS, ErrUnsupported)
	}
	ctx, cancel := context.WithTimeout(ctx, confTimeout)
	defer cancel()
	return ReadMssqlConf(ctx, mssqlConf)
}

// ReadMssqlConf reads network.tcpport of the mssql.conf at path, opened under ctx, and
// returns the host's one instance, MSSQLSERVER, with that port as a PortMssqlConf
// claim: 1433 when the file or the setting is absent, as SQL Server then listens on
// its default port. A value that is not a port from 1 to 65535 is an error, and so is
// a missing directory of path (/var/opt/mssql): SQL Server is not installed there.
//
// Source: "Configure SQL Server on Linux with the mssql-conf tool", Change the TCP
// port: "The network.tcpport setting changes the TCP port where SQL Server listens
// for connections. By default, this port is set to 1433."; its "mssql.conf format"
// example of /var/opt/mssql/mssql.conf holds it as "tcpport = 1401" under [network].
// https://learn.microsoft.com/sql/linux/sql-server-linux-configure-mssql-conf
func ReadMssqlConf(ctx context.Context, path string) ([]triage.InstanceView, error) {
	port := defaultTCPPort
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("SQL Server on Linux is not installed here: %s is not a directory", filepath.Dir(path))
	}
	data, err := safefile.ReadFile(ctx, path, 1<<20)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// No mssql.conf: nothing was changed from the defaults.
	case err != nil:
		return nil, fmt.Errorf("read the SQL Server settings: %w", err)
	default:
		if v := confValue(data, "network", "tcpport"); v != "" {
			if port, err = triage.ParsePort(v); err != nil {
				return nil, fmt.Errorf("%s: [network] tcpport: %w", path, err)
			}
		}
	}
	return []triage.InstanceView{{
		Name:  "MSSQLSERVER",
		Ports: []triage.PortClaim{{Source: triage.PortMssqlConf, Port: port}},
	}}, nil
}
