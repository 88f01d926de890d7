package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/internal/safefile"
)

// Config says how a Client reaches and authenticates to Active Directory.
type Config struct {
	// URLs are the domain controllers of the domain, tried in order with failover:
	// ldaps://dc1.corp.example:636, or ldap://dc1.corp.example:389 on which the
	// Client requires StartTLS unless InsecureNoTLS is set.
	URLs []string
	// GCURLs are global catalog servers for forest-wide SPN lookups:
	// ldaps://dc1.corp.example:3269, or ldap://...:3268 with StartTLS. Empty means
	// the hosts of URLs on 3269 (ldaps) or 3268 (ldap), or, with discovery, the
	// targets of _gc._tcp.<Domain>.
	GCURLs []string
	// Domain is the DNS domain whose controllers are discovered through the SRV
	// records _ldap._tcp.dc._msdcs.<Domain> and _gc._tcp.<Domain> when URLs is
	// empty. Discovered servers are reached on the SRV port with StartTLS.
	Domain string
	// Resolver resolves SRV records and host names; nil is net.DefaultResolver.
	Resolver *net.Resolver
	// BaseDN is the domain naming context searched for accounts; empty means the
	// defaultNamingContext of the first domain controller reached.
	BaseDN string
	// NetBIOS is the NetBIOS name of the domain ("CORP"), for DOMAIN\sam account
	// names; empty means the one its crossRef in the configuration partition gives.
	NetBIOS string
	// BindDN and Password are the simple-bind credentials of a read-only account.
	// BindDN is a DN or a UPN (user@corp.example). The password is never logged
	// nor put in an error.
	BindDN   string
	Password string
	// CAFile is a PEM bundle of the certificate authorities trusted for the
	// servers' certificates; empty means the system roots.
	CAFile string
	// InsecureNoTLS lets ldap:// URLs run without StartTLS, sending the password in
	// clear. It exists for test directories; never set it in production.
	InsecureNoTLS bool
	// Timeout bounds each network operation: connecting to a server (TCP, TLS and
	// bind), each request after that (one page of a search), a DNS lookup.
	// 0 means 10 seconds.
	Timeout time.Duration
}

// defaultTimeout is Config.Timeout when it is 0.
const defaultTimeout = 10 * time.Second

// maxCAFileSize bounds the CA bundle read by New.
const maxCAFileSize = 4 << 20

// LogValue logs the configuration without the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("urls", c.URLs),
		slog.Any("gc_urls", c.GCURLs),
		slog.String("domain", c.Domain),
		slog.String("base_dn", c.BaseDN),
		slog.String("netbios", c.NetBIOS),
		slog.String("bind_dn", c.BindDN),
		slog.String("ca_file", c.CAFile),
		slog.Bool("insecure_no_tls", c.InsecureNoTLS),
		slog.Duration("timeout", c.Timeout),
	)
}

// An endpoint is one LDAP server.
type endpoint struct {
	url  string // normalized: scheme://host:port
	host string // host name or address, for TLS verification and the KDC probe
	port string
	tls  bool   // ldaps: TLS from the first byte; else StartTLS (or none)
	via  string // how it was found: "config" or "SRV <name>"
}

func (e endpoint) addr() string { return net.JoinHostPort(e.host, e.port) }

// parseEndpoint parses an ldap:// or ldaps:// URL naming only a server. Errors show
// the URL without any password in it.
func parseEndpoint(raw, via string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which could hold a password
		}
		return endpoint{}, fmt.Errorf("LDAP URL is not a URL: %v", err)
	}
	raw = u.Redacted()
	ep := endpoint{via: via}
	switch strings.ToLower(u.Scheme) {
	case "ldaps":
		ep.tls, ep.port = true, "636"
	case "ldap":
		ep.port = "389"
	default:
		return endpoint{}, fmt.Errorf("LDAP URL %q: scheme must be ldap or ldaps", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("LDAP URL %q: want only scheme://host[:port]", raw)
	}
	ep.host = u.Hostname()
	if ep.host == "" {
		return endpoint{}, fmt.Errorf("LDAP URL %q: no host", raw)
	}
	if p := u.Port(); p != "" {
		ep.port = p
	}
	ep.url = strings.ToLower(u.Scheme) + "://" + ep.addr()
	return ep, nil
}

// gcOf returns the global catalog on the host of a domain controller endpoint:
// 3269 for ldaps, 3268 (with StartTLS) for ldap.
func gcOf(dc endpoint) endpoint {
	gc := dc
	gc.port = "3268"
	scheme := "ldap"
	if dc.tls {
		gc.port, scheme = "3269", "ldaps"
	}
	gc.url = scheme + "://" + gc.addr()
	return gc
}

// validate checks cfg, reporting every problem at once, and returns the parsed
// endpoints.
func (cfg Config) validate() (dcs, gcs []endpoint, err error) {
	var errs []error
	for _, raw := range cfg.URLs {
		ep, err := parseEndpoint(raw, "config")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		dcs = append(dcs, ep)
	}
	for _, raw := range cfg.GCURLs {
		ep, err := parseEndpoint(raw, "config")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gcs = append(gcs, ep)
	}
	if len(cfg.URLs) == 0 {
		if cfg.Domain == "" {
			errs = append(errs, errors.New("neither URLs nor Domain is set: no way to find a domain controller"))
		} else if err := checkDNSName(cfg.Domain); err != nil {
			errs = append(errs, fmt.Errorf("domain: %w", err))
		}
	}
	if cfg.BaseDN != "" {
		if _, err := ldap.ParseDN(cfg.BaseDN); err != nil {
			errs = append(errs, fmt.Errorf("base DN %q: %w", cfg.BaseDN, err))
		}
	}
	if cfg.NetBIOS != "" {
		if err := checkNetBIOS(cfg.NetBIOS); err != nil {
			errs = append(errs, fmt.Errorf("NetBIOS name: %w", err))
		}
	}
	if cfg.BindDN == "" || cfg.Password == "" {
		errs = append(errs, errors.New("a bind DN and a password are required: Active Directory allows no anonymous searches"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", human.Span(cfg.Timeout)))
	}
	return dcs, gcs, errors.Join(errs...)
}

// tlsConfig returns the TLS configuration for the servers, trusting the
// certificate authorities in caFile (a regular file, opened under ctx with safefile)
// or, when it is empty, the system's.
func tlsConfig(ctx context.Context, caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := safefile.ReadFile(ctx, caFile, maxCAFileSize)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
