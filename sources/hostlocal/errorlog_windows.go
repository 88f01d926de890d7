//go:build windows

package hostlocal

import (
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// ErrorLogPath returns the ERRORLOG of the instance (MSSQLSERVER for the default) on
// this host: the -e start-up parameter SQL Server itself reads, from
// HKLM\SOFTWARE\Microsoft\Microsoft SQL Server\<instance folder>\MSSQLServer\Parameters,
// the folder being named under ...\Instance Names\SQL.
func ErrorLogPath(instance string) (string, error) {
	if instance == "" {
		instance = "MSSQLSERVER"
	}
	const root = `SOFTWARE\Microsoft\Microsoft SQL Server`
	names, err := registry.OpenKey(registry.LOCAL_MACHINE, root+`\Instance Names\SQL`, registry.QUERY_VALUE)
	if err != nil {
		return "", fmt.Errorf("read the instance names of SQL Server: %w", err)
	}
	defer names.Close()
	folder, _, err := names.GetStringValue(instance)
	if err != nil {
		return "", fmt.Errorf("no SQL Server instance %s on this host: %w", instance, err)
	}
	params, err := registry.OpenKey(registry.LOCAL_MACHINE, root+`\`+folder+`\MSSQLServer\Parameters`, registry.QUERY_VALUE)
	if err != nil {
		return "", fmt.Errorf("read the start-up parameters of %s: %w", instance, err)
	}
	defer params.Close()
	for i := 0; i < 64; i++ {
		v, _, err := params.GetStringValue(fmt.Sprintf("SQLArg%d", i))
		if err != nil {
			break
		}
		if p, ok := strings.CutPrefix(v, "-e"); ok {
			return strings.TrimSpace(p), nil
		}
	}
	return "", fmt.Errorf("the start-up parameters of %s have no -e (error log)", instance)
}
