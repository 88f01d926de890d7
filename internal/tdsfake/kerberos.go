package tdsfake

import (
	"context"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// Kerberos makes the fake a Kerberos service, as SQL Server is to a client using
// Kerberos: it validates the SPNEGO token in each LOGIN7 with gokrb5's acceptor and
// the service account's keys. It checks the ticket and authenticator only; it sends
// no reply token, so the client's mutual authentication is not exercised.
type Kerberos struct {
	// Keytab holds the service account's keys, as samba-tool domain exportkeytab
	// writes them. A ticket encrypted with a key it lacks does not validate.
	Keytab *keytab.Keytab
	// Principal names the keytab entries to decrypt tickets with, without the realm:
	// "svc_sqlok". Empty means the ticket's own service name (MSSQLSvc/host:port).
	Principal string
	// Others name more principals whose keytab entries may decrypt a ticket, tried in
	// order after Principal: one fake serving the hosts of several service accounts.
	Others []string
}

// ctxCredentials is the context key under which gokrb5's SPNEGO acceptor stores the
// client's credentials (spnego/http.go).
const ctxCredentials = "github.com/jcmturner/gokrb5/v8/ctxCredentials"

// accept validates token and returns the client principal, name@REALM, and the
// principal whose keys validated it ("" for the ticket's own service name). A malformed
// token is an error, never a panic: gokrb5's acceptor indexes the token's mechanism
// list without checking it.
func (k *Kerberos) accept(token []byte) (client, keys string, err error) {
	defer func() {
		if r := recover(); r != nil {
			client, keys, err = "", "", fmt.Errorf("malformed SPNEGO token: %v", r)
		}
	}()
	if k.Keytab == nil {
		return "", "", errors.New("no keytab")
	}
	var (
		ok     bool
		ctx    context.Context
		status gssapi.Status
		first  error
	)
	for _, p := range append([]string{k.Principal}, k.Others...) {
		// A token is decoded afresh for each principal: gokrb5's acceptor keeps in
		// it the ticket as the first principal's keys decrypted it, or failed to.
		var tok spnego.SPNEGOToken
		if err := tok.Unmarshal(token); err != nil {
			return "", "", fmt.Errorf("not an SPNEGO token: %w", err)
		}
		opts := []func(*service.Settings){service.DecodePAC(false)}
		if p != "" {
			opts = append(opts, service.KeytabPrincipal(p))
		}
		ok, ctx, status = spnego.SPNEGOService(k.Keytab, opts...).AcceptSecContext(&tok)
		if ok {
			keys = p
			break
		}
		if first == nil {
			first = errors.New(status.Error())
		}
	}
	if !ok {
		return "", "", first
	}
	if creds, _ := ctx.Value(ctxCredentials).(*credentials.Credentials); creds != nil {
		return creds.UserName() + "@" + creds.Domain(), keys, nil
	}
	return "", keys, nil
}
