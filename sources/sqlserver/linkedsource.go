package sqlserver

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/triage"
)

// A BackEnd is the SQL Server instance a linked server's data source names.
type BackEnd struct {
	// Host is the server as the data source names it, a DNS or NetBIOS name or an
	// IP address; "" when Local. A client alias of SQL Server Configuration Manager
	// reads as a host name: what it stands for is in the front end's registry alone.
	Host string
	// Instance is the instance: Name from HOST\NAME or from the pipe of a named
	// instance, Port from HOST,PORT; the zero Instance is the default one, its port
	// unknown.
	Instance triage.Instance
	// Protocol is "tcp" or "np" when the data source names one; "" leaves the choice
	// to the front end's client protocol order.
	Protocol string
	// Local is true for the front end itself: "", ".", "(local)", "localhost", a
	// loopback address, or shared memory (lpc:).
	Local bool
}

// ErrNotSQLServer is wrapped by the error of LinkedBackEnd for a linked server whose
// provider is not one of SQL Server's: its data source is no SQL Server's name.
var ErrNotSQLServer = errors.New("not a SQL Server provider")

// maxDataSource bounds the data source ParseDataSource reads, in bytes: a host name
// of 253, an instance name of 16, a port and a pipe path fit well within it.
const maxDataSource = 512

// LinkedBackEnd returns the SQL Server instance that linked server ls connects to: its
// data source read by ParseDataSource, or its name for a linked server of product
// "SQL Server" without one. The error wraps ErrNotSQLServer for a provider other than
// SQL Server's (SQLNCLI, MSOLEDBSQL and SQLOLEDB, with or without a version suffix).
//
// Sources: "sp_addlinkedserver (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-addlinkedserver-transact-sql:
// product "SQL Server" "forces the name of the linked server to be the same as the
// network name of the remote instance of SQL Server"; for SQLNCLI the data source is
// the "Network name of SQL Server (for default instance)" or "servername\instancename
// (for specific instance)"; "if you specify the older provider name, SQLOLEDB, it will
// be changed to SQLNCLI when persisted to the catalog". "sys.servers (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-servers-transact-sql:
// "the value "SQLNCLI" maps to the Microsoft OLE DB Driver for SQL Server
// (MSOLEDBSQL)".
func LinkedBackEnd(ls triage.LinkedServer) (BackEnd, error) {
	product := strings.EqualFold(strings.TrimSpace(ls.Product), "SQL Server")
	if !product && !sqlServerProvider(ls.Provider) {
		return BackEnd{}, fmt.Errorf("linked server %s: provider %s: %w", quote(ls.Name), quote(ls.Provider), ErrNotSQLServer)
	}
	source := ls.DataSource
	if strings.TrimSpace(source) == "" && product {
		source = ls.Name
	}
	b, err := ParseDataSource(source)
	if err != nil {
		return BackEnd{}, fmt.Errorf("linked server %s: %w", quote(ls.Name), err)
	}
	return b, nil
}

// sqlServerProvider reports whether provider is one of SQL Server's OLE DB providers.
func sqlServerProvider(provider string) bool {
	p := strings.ToUpper(strings.TrimSpace(provider))
	for _, prefix := range []string{"SQLNCLI", "MSOLEDBSQL", "SQLOLEDB"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}

// ParseDataSource reads the data source of a linked server to SQL Server, which the
// provider reads as its Server keyword: [tcp:|np:|lpc:]HOST[\INSTANCE][,PORT], or a
// named pipe np:\\HOST\pipe\sql\query (the default instance's) or
// np:\\HOST\pipe\MSSQL$INSTANCE\sql\query (a named instance's). HOST must be a DNS or
// NetBIOS name (triage.ValidHostName) or an IP address, INSTANCE an instance name and
// PORT a port; the local forms ("", ".", "(local)", "localhost", a loopback address)
// give Local. LocalDB and pipes of other names are errors, since the instance behind
// them is not known. The value is evidence: an error quotes it fit for one line, and
// only its first 80 bytes.
//
// Sources: "Using Connection String Keywords with OLE DB Driver for SQL Server",
// https://learn.microsoft.com/sql/connect/oledb/applications/using-connection-string-keywords-with-oledb-driver-for-sql-server:
// Server is DBPROP_INIT_DATASOURCE, "The complete syntax for the Server keyword is as
// follows: Server=[protocol:]Server[,port] protocol can be tcp (TCP/IP), lpc (shared
// memory), or np (named pipes)", "To specify a named instance of SQL Server, append
// \InstanceName", "You can connect to the default instance on the local server by
// specifying one of the following: Server=; Server=.; Server=(local); ...
// Server=(localhost); Server=(localdb)\instancename". "Creating a Valid Connection
// String Using Named Pipes",
// https://learn.microsoft.com/previous-versions/sql/sql-server-2016/ms189307(v=sql.130):
// "np:\\<computer_name>\pipe\<pipename>", "the default instance ... uses
// \\.\pipe\sql\query", "For a named instance, the default pipe name is
// \\<computer_name>\pipe\MSSQL$<instance_name>\sql\query", and "The word localhost or
// a period (.) can be used in place of (local)".
func ParseDataSource(source string) (BackEnd, error) {
	if len(source) > maxDataSource {
		return BackEnd{}, fmt.Errorf("data source %s is longer than %d bytes", quote(source), maxDataSource)
	}
	s := strings.TrimSpace(source)
	var b BackEnd
	if p, rest, ok := strings.Cut(s, ":"); ok {
		switch proto := strings.ToLower(p); proto {
		case "tcp", "np", "lpc":
			b.Protocol, s = proto, rest
		}
	}
	var err error
	switch {
	case b.Protocol == "np" && strings.HasPrefix(s, `\\`):
		err = b.pipe(s)
	default:
		err = b.server(s)
	}
	if err != nil {
		return BackEnd{}, fmt.Errorf("data source %s: %w", quote(source), err)
	}
	switch {
	case b.Protocol == "lpc" && !b.Local:
		return BackEnd{}, fmt.Errorf("data source %s: shared memory (lpc:) reaches the local server only", quote(source))
	case b.Protocol == "lpc":
		b.Protocol = "" // shared memory: the front end to itself
	}
	return b, nil
}

// server reads HOST[\INSTANCE][,PORT].
func (b *BackEnd) server(s string) error {
	s, port, hasPort := strings.Cut(s, ",")
	host, name, hasName := strings.Cut(s, `\`)
	if err := b.host(strings.TrimSpace(host)); err != nil {
		return err
	}
	if hasName {
		if err := b.instance(strings.TrimSpace(name)); err != nil {
			return err
		}
	}
	if hasPort {
		if b.Protocol == "np" {
			return errors.New("a port with named pipes (np:)")
		}
		p, err := triage.ParsePort(strings.TrimSpace(port))
		if err != nil {
			return fmt.Errorf("port %s is not a number from 1 to 65535", quote(port))
		}
		b.Instance.Port = p
	}
	return nil
}

// pipe reads \\HOST\pipe\sql\query and \\HOST\pipe\MSSQL$INSTANCE\sql\query, without
// regard to case.
func (b *BackEnd) pipe(s string) error {
	host, path, _ := strings.Cut(strings.TrimPrefix(s, `\\`), `\`)
	if err := b.host(host); err != nil {
		return err
	}
	rest, ok := cutPrefixFold(path, `pipe\`)
	if !ok {
		return errors.New(`a named pipe path that is not \\HOST\pipe\PIPE`)
	}
	if strings.EqualFold(rest, `sql\query`) {
		return nil
	}
	if name, ok := cutPrefixFold(rest, `MSSQL$`); ok && len(name) > len(`\sql\query`) &&
		strings.EqualFold(name[len(name)-len(`\sql\query`):], `\sql\query`) {
		return b.instance(name[:len(name)-len(`\sql\query`)])
	}
	return errors.New("a pipe that is not the default pipe of an instance: the instance behind it is not known")
}

// host checks a host name or address, or notes a local form.
func (b *BackEnd) host(h string) error {
	switch strings.ToLower(h) {
	case "", ".", "(local)", "(localhost)", "localhost":
		b.Local = true
		return nil
	case "(localdb)":
		return errors.New("LocalDB, a user's own instance on the front end, not a back end")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		switch {
		case a.Zone() != "":
			return errors.New("an IPv6 address with a zone")
		case a.IsUnspecified():
			return fmt.Errorf("the unspecified address %s", a)
		}
		if a.IsLoopback() {
			b.Local = true
			return nil
		}
		b.Host = h
		return nil
	}
	if err := triage.ValidHostName(h); err != nil {
		return fmt.Errorf("host %s is neither a host name nor an IP address", quote(h))
	}
	b.Host = h
	return nil
}

// instance checks an instance name.
func (b *BackEnd) instance(name string) error {
	if strings.ContainsRune(name, ':') {
		return fmt.Errorf("instance name %s: ':' is not allowed there", quote(name))
	}
	in, err := triage.ParseInstance(name)
	if err != nil {
		return fmt.Errorf("instance name %s: not an instance name", quote(name))
	}
	b.Instance.Name = in.Name
	return nil
}

// cutPrefixFold is strings.CutPrefix without regard to ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// quote returns s fit to quote in an error: its first 80 bytes, control, invisible
// and bidirectional characters escaped, in double quotes.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return `"` + display.Line(s) + `"`
}
