package tdsfake

import (
	"testing"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// FuzzKerberosAccept checks that a malformed SSPI token is refused, never a panic:
// gokrb5's acceptor indexes a NegTokenInit's mechanism list without checking it.
func FuzzKerberosAccept(f *testing.F) {
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00"))
	empty := spnego.SPNEGOToken{Init: true}
	if b, err := empty.Marshal(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x60, 0x06, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02})
	k := &Kerberos{Keytab: keytab.New(), Principal: "svc_sqlok"}
	f.Fuzz(func(t *testing.T, token []byte) {
		if client, _, err := k.accept(token); err == nil {
			t.Errorf("accept validated a token without keys: client %q", client)
		}
	})
}
