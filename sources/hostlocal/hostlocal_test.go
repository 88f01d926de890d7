package hostlocal

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
)

func TestReadKeytab(t *testing.T) {
	kt := keytab.New()
	for _, e := range []struct {
		kvno  uint8
		etype int32
	}{{3, 18}, {3, 17}, {4, 18}} {
		if err := kt.AddEntry("MSSQLSvc/sql01.corp.example:1433", "CORP.EXAMPLE", "Passw0rd!", time.Now(), e.kvno, e.etype); err != nil {
			t.Fatal(err)
		}
	}
	data, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mssql.keytab")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	facts, err := ReadKeytab(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(facts.Entries) != 3 || facts.Entries[2].KVNO != 4 || facts.Entries[0].Etype != "aes256-cts-hmac-sha1-96" ||
		facts.Entries[0].Principal != "MSSQLSvc/sql01.corp.example:1433@CORP.EXAMPLE" {
		t.Errorf("entries = %+v", facts.Entries)
	}

	bad := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(bad, []byte("not a keytab"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeytab(t.Context(), bad); err == nil {
		t.Errorf("ReadKeytab(text) = nil error")
	}
	if _, err := ReadKeytab(t.Context(), filepath.Join(t.TempDir(), "none")); err == nil {
		t.Errorf("ReadKeytab(missing) = nil error")
	}
}
