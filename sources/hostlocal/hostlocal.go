// Package hostlocal reads the evidence that exists only on the SQL Server host: where
// the instance writes its ERRORLOG, the Windows event logs, the Local Security
// Authority's responsiveness and, on Linux, SQL Server's keytab. The agent uses it; it
// runs no command built from input and reads only the fixed locations SQL Server and
// Windows define. Windows-only code is behind build tags.
package hostlocal

import (
	"context"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/triage"
)

// ErrUnsupported is returned by what this operating system does not have.
var ErrUnsupported = errors.New("not available on this operating system")

// maxKeytab bounds the keytab read.
const maxKeytab = 1 << 20

// ReadKeytab lists the entries of a keytab, such as SQL Server on Linux's
// /var/opt/mssql/secrets/mssql.keytab, opened under ctx; a path that is not a regular
// file is refused. Keys themselves are never returned.
func ReadKeytab(ctx context.Context, path string) (triage.KeytabFacts, error) {
	data, err := safefile.ReadFile(ctx, path, maxKeytab)
	if err != nil {
		return triage.KeytabFacts{}, err
	}
	kt := keytab.New()
	if err := kt.Unmarshal(data); err != nil {
		return triage.KeytabFacts{}, fmt.Errorf("%s is not a keytab: %w", path, err)
	}
	facts := triage.KeytabFacts{Path: path}
	for _, e := range kt.Entries {
		facts.Entries = append(facts.Entries, triage.KeytabEntry{
			Principal: e.Principal.String(),
			KVNO:      int(e.KVNO),
			Etype:     triage.EtypeName(int(e.Key.KeyType)),
		})
	}
	return facts, nil
}
