package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"time"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/sources/kerberos"
)

// directorySources holds the directory and KDC adapters a command uses, and closes
// them.
type directorySources struct {
	spn     checks.SPN
	account checks.Account
	clock   checks.Clock
	dc      checks.DC
	dns     checks.DNS
	krb     checks.Kerberos
	live    bool // a live directory (not an LDIF export) was configured
	close   func()
}

// newDirectorySources builds the directory checks from --ldif (offline) or the
// configuration's directory and kerberos sections (live), reading the files they name
// under ctx. Checks without a source are skipped with the reason.
func newDirectorySources(ctx context.Context, ldif string, cfg *config.Config, log *slog.Logger) (directorySources, error) {
	s := directorySources{close: func() {}}
	s.account.NotFound = directory.ErrNotFound
	switch {
	case ldif != "":
		l, err := readLDIF(ctx, ldif)
		if err != nil {
			return s, err
		}
		s.spn.Dir, s.account.Dir = l, l
		offline := "offline triage from an LDIF export: not contacted"
		s.clock.NoSource, s.dc.NoSource, s.dns.NoSource, s.krb.NoSource = offline, offline, offline, offline
		return s, nil
	case cfg != nil && cfg.Directory != nil:
		d := cfg.Directory
		c, err := directory.New(ctx, directory.Config{
			URLs: d.URLs, GCURLs: d.GCURLs, Domain: d.Domain, Resolver: resolverFor(d.DNSServer),
			BaseDN: d.BaseDN, NetBIOS: d.NetBIOS, BindDN: d.BindDN, Password: d.BindPassword.Reveal(), CAFile: d.CAPath, Timeout: d.Timeout,
		}, log)
		if err != nil {
			return s, err // "directory configuration: ..."
		}
		s.close = func() { c.Close() }
		s.spn.Dir, s.account.Dir, s.clock.DC, s.dc.Dir = c, c, c, c
		s.dns.Resolver, s.dns.Dir = resolverFor(d.DNSServer), c
		s.live = true
	default:
		none := "no directory: give --ldif FILE, or --config with a directory section"
		s.spn.NoSource, s.account.NoSource, s.clock.NoSource, s.dc.NoSource, s.dns.NoSource = none, none, none, none, none
	}
	if cfg != nil && cfg.Kerberos != nil {
		k := cfg.Kerberos
		t, err := kerberos.New(ctx, kerberos.Config{
			Realm: k.Realm, KDCs: k.KDCs, Krb5Conf: k.Krb5Conf, Principal: k.Principal,
			Keytab: k.Keytab, Password: k.Password.Reveal(), Timeout: k.Timeout,
		}, log)
		if err != nil {
			s.close()
			return s, err // "kerberos configuration: ..."
		}
		s.krb.KDC = t
	} else {
		s.krb.NoSource = "no Kerberos settings: add a kerberos section to the configuration"
	}
	return s, nil
}

// resolverFor returns a resolver that asks server (host:port) over UDP or TCP, or the
// system's resolver when server is "".
func resolverFor(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 5 * time.Second}
			return d.DialContext(ctx, network, server)
		},
	}
}

// readLDIF loads an LDIF export the user named, opened under ctx: a path that is not a
// regular file (a FIFO, a device) is refused at once.
func readLDIF(ctx context.Context, path string) (*directory.LDIF, error) {
	f, err := safefile.Open(ctx, path)
	var nr *safefile.NotRegularError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file", path)
	case errors.As(err, &nr):
		return nil, fmt.Errorf("--ldif: %w", err)
	case err != nil:
		return nil, err
	}
	defer f.Close()
	return directory.LoadLDIF(f, path)
}
