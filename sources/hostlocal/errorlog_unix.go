//go:build !windows

package hostlocal

import (
	"bufio"
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/safefile"
)

// Where SQL Server on Linux keeps its settings and, by default, its error log.
const (
	mssqlConf       = "/var/opt/mssql/mssql.conf"
	defaultErrorlog = "/var/opt/mssql/log/errorlog"
)

// confTimeout bounds the read of mssql.conf, a small local file read while the checks
// of a triage are made, before any check's deadline exists.
const confTimeout = 5 * time.Second

// ErrorLogPath returns the ERRORLOG of the instance on this host. On Linux there is one
// instance; its error log is errorlogfile under [filelocation] in mssql.conf (set with
// mssql-conf set filelocation.errorlogfile), or /var/opt/mssql/log/errorlog.
func ErrorLogPath(string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), confTimeout)
	defer cancel()
	data, err := safefile.ReadFile(ctx, mssqlConf, 1<<20)
	if err != nil {
		return defaultErrorlog, nil // no mssql.conf: nothing was changed from the defaults
	}
	if p := confValue(data, "filelocation", "errorlogfile"); p != "" && filepath.IsAbs(p) {
		return p, nil
	}
	return defaultErrorlog, nil
}

// confValue returns key's value in [section] of an INI file such as mssql.conf.
func confValue(data []byte, section, key string) string {
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			in = strings.EqualFold(strings.TrimSpace(line[1:len(line)-1]), section)
		case in:
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), key) {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}
