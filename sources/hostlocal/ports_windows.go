//go:build windows

package hostlocal

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/windows/registry"

	"github.com/authtriage/authtriage/triage"
)

// sqlRoot is where SQL Server keeps its settings under HKEY_LOCAL_MACHINE.
const sqlRoot = `SOFTWARE\Microsoft\Microsoft SQL Server`

// ConfiguredPorts reads the TCP settings of every Database Engine instance installed on
// this host from the registry: whether TCP is enabled and the ports of IPAll, as
// PortRegistry claims (see registryPorts). It returns the instances it could read, in
// name order, and an error naming each it could not. ctx is checked between
// instances; the registry reads themselves are local and do not block.
//
// Sources: "File Locations for Default and Named Instances of SQL Server": each
// instance's "registry hive is created under HKLM\Software\Microsoft\Microsoft SQL
// Server\<Instance_ID>", and "[HKEY_LOCAL_MACHINE\Software\Microsoft\Microsoft SQL
// Server\Instance Names\SQL] "<InstanceName>"="MSSQL{nn}"" maps names to IDs.
// https://learn.microsoft.com/sql/sql-server/install/file-locations-for-default-and-named-instances-of-sql-server
// "Configure a Server to Listen on a Specific TCP Port" and "TCP/IP Properties (IP
// Addresses Tab)" describe the settings read here as SQL Server Configuration Manager
// shows them: Enabled on the Protocol tab, TCP Port and TCP Dynamic Ports of IP All.
// https://learn.microsoft.com/sql/database-engine/configure-windows/configure-a-server-to-listen-on-a-specific-tcp-port
// https://learn.microsoft.com/sql/tools/configuration-manager/tcp-ip-properties-ip-addresses-tab
// Microsoft does not document the registry path of those settings,
// <Instance_ID>\MSSQLServer\SuperSocketNetLib\Tcp (value Enabled) and its IPAll subkey
// (values TcpPort, TcpDynamicPorts), beyond "sys.dm_server_registry" listing the
// instance's network configuration under keys matching '%SuperSocketNetLib%'
// (example E); the path is the one SQL Server and its tools use.
// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-server-registry-transact-sql
func ConfiguredPorts(ctx context.Context) ([]triage.InstanceView, error) {
	names, err := registry.OpenKey(registry.LOCAL_MACHINE, sqlRoot+`\Instance Names\SQL`, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, fmt.Errorf("no SQL Server Database Engine instance is installed on this host (HKLM\\%s\\Instance Names\\SQL does not exist)", sqlRoot)
	}
	if err != nil {
		return nil, fmt.Errorf("read the instance names of SQL Server: %w", err)
	}
	defer names.Close()
	list, err := names.ReadValueNames(0)
	if err != nil {
		return nil, fmt.Errorf("read the instance names of SQL Server: %w", err)
	}
	slices.Sort(list)
	var views []triage.InstanceView
	var errs []error
	for _, name := range list {
		if err := ctx.Err(); err != nil {
			return views, errors.Join(append(errs, err)...)
		}
		v, err := instancePorts(names, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		views = append(views, v)
	}
	return views, errors.Join(errs...)
}

// instancePorts reads the TCP settings of the instance name, whose ID names holds.
func instancePorts(names registry.Key, name string) (triage.InstanceView, error) {
	if err := validInstanceName(name); err != nil {
		return triage.InstanceView{}, fmt.Errorf("HKLM\\%s\\Instance Names\\SQL: %w", sqlRoot, err)
	}
	id, _, err := names.GetStringValue(name)
	if err != nil {
		return triage.InstanceView{}, fmt.Errorf("instance %s: read its instance ID: %w", name, err)
	}
	if err := validInstanceID(id); err != nil {
		return triage.InstanceView{}, fmt.Errorf("instance %s: %w", name, err)
	}
	path := sqlRoot + `\` + id + `\MSSQLServer\SuperSocketNetLib\Tcp`
	tcp, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if err != nil {
		return triage.InstanceView{}, fmt.Errorf("instance %s: open HKLM\\%s: %w", name, path, err)
	}
	defer tcp.Close()
	v := triage.InstanceView{Name: name}
	switch enabled, _, err := tcp.GetIntegerValue("Enabled"); {
	case err == nil:
		on := enabled != 0
		v.TCPEnabled = &on
	case !errors.Is(err, registry.ErrNotExist):
		return triage.InstanceView{}, fmt.Errorf("instance %s: read HKLM\\%s Enabled: %w", name, path, err)
	}
	all, err := registry.OpenKey(registry.LOCAL_MACHINE, path+`\IPAll`, registry.QUERY_VALUE)
	if err != nil {
		return triage.InstanceView{}, fmt.Errorf("instance %s: open HKLM\\%s\\IPAll: %w", name, path, err)
	}
	defer all.Close()
	static, err := stringValue(all, "TcpPort")
	if err != nil {
		return triage.InstanceView{}, fmt.Errorf("instance %s: read HKLM\\%s\\IPAll TcpPort: %w", name, path, err)
	}
	dynamic, err := stringValue(all, "TcpDynamicPorts")
	if err != nil {
		return triage.InstanceView{}, fmt.Errorf("instance %s: read HKLM\\%s\\IPAll TcpDynamicPorts: %w", name, path, err)
	}
	if v.Ports, err = registryPorts(static, dynamic); err != nil {
		return triage.InstanceView{}, fmt.Errorf("instance %s: HKLM\\%s\\IPAll: %w", name, path, err)
	}
	return v, nil
}

// stringValue returns the string value name of k, "" when it does not exist.
func stringValue(k registry.Key, name string) (string, error) {
	s, _, err := k.GetStringValue(name)
	if errors.Is(err, registry.ErrNotExist) {
		return "", nil
	}
	return s, err
}
