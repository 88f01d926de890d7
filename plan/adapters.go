package plan

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/sources/kerberos"
	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

// Adapters are the clients of the evidence sources a configuration names: the
// directory (with its connection pool, the server that answered last and the servers
// discovered), the KDC, the SQL Server login checker and one client per agent. A
// process makes one Adapters and shares it among every triage and sweep; each client
// is made the first time a triage needs it (or at once by Planner.Open) and kept until
// Close. A client that cannot be made is tried again the next time.
//
// Adapters are safe for concurrent use.
type Adapters struct {
	cfg *config.Config // nil: no configuration, no adapters
	log *slog.Logger

	mu       sync.Mutex
	closed   bool
	dir      *directory.Client
	resolver *net.Resolver
	kdc      *kerberos.Tester
	sql      *sqlserver.Checker
	agents   map[string]*agent.Client // by lower-case agent name
	// frontEnds are the delegation entries' front ends, by index.
	frontEnds map[int]*FrontEnd
}

// NewAdapters returns the adapters of cfg (nil for none), without making any client
// yet. A nil log discards.
func NewAdapters(cfg *config.Config, log *slog.Logger) *Adapters {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Adapters{cfg: cfg, log: log, agents: map[string]*agent.Client{}, frontEnds: map[int]*FrontEnd{}}
}

// errClosed is the error of an adapter asked for after Close.
var errClosed = errors.New("the evidence sources' clients are closed")

// Directory returns the live directory client, nil when the configuration has no
// directory section. Its files (the CA bundle) are read under ctx the first time.
// Its errors start "directory configuration:".
func (a *Adapters) Directory(ctx context.Context) (*directory.Client, error) {
	if a.cfg == nil || a.cfg.Directory == nil {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errClosed
	}
	if a.dir == nil {
		d := a.cfg.Directory
		c, err := directory.New(ctx, directory.Config{
			URLs: d.URLs, GCURLs: d.GCURLs, Domain: d.Domain, Resolver: a.resolverLocked(),
			BaseDN: d.BaseDN, NetBIOS: d.NetBIOS, BindDN: d.BindDN, Password: d.BindPassword.Reveal(), CAFile: d.CAPath, Timeout: d.Timeout,
		}, a.log)
		if err != nil {
			return nil, err
		}
		a.dir = c
	}
	return a.dir, nil
}

// Resolver returns the DNS resolver of the directory section: one that asks its
// dns_server, or the system's.
func (a *Adapters) Resolver() *net.Resolver {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.resolverLocked()
}

func (a *Adapters) resolverLocked() *net.Resolver {
	if a.resolver == nil {
		server := ""
		if a.cfg != nil && a.cfg.Directory != nil {
			server = a.cfg.Directory.DNSServer
		}
		a.resolver = resolverFor(server)
	}
	return a.resolver
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

// KDC returns the Kerberos client, nil when the configuration has no kerberos
// section. Its files (krb5.conf, keytab) are read under ctx the first time. Its
// errors start "kerberos configuration:".
func (a *Adapters) KDC(ctx context.Context) (*kerberos.Tester, error) {
	if a.cfg == nil || a.cfg.Kerberos == nil {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errClosed
	}
	if a.kdc == nil {
		k := a.cfg.Kerberos
		t, err := kerberos.New(ctx, kerberos.Config{
			Realm: k.Realm, KDCs: k.KDCs, Krb5Conf: k.Krb5Conf, Principal: k.Principal,
			Keytab: k.Keytab, Password: k.Password.Reveal(), Timeout: k.Timeout,
		}, a.log)
		if err != nil {
			return nil, err
		}
		a.kdc = t
	}
	return a.kdc, nil
}

// SQL returns the SQL Server login checker of the kerberos and sql sections (without
// a kerberos section: the process's own identity or credential cache). Its errors
// start "sql server checker:".
func (a *Adapters) SQL() (*sqlserver.Checker, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errClosed
	}
	if a.sql == nil {
		var sc sqlserver.Config
		if a.cfg != nil {
			sc = sqlserver.Config{Encrypt: a.cfg.SQL.Encrypt, TrustServerCertificate: a.cfg.SQL.TrustServerCertificate, Timeout: a.cfg.SQL.Timeout}
			if k := a.cfg.Kerberos; k != nil {
				sc.Krb5Conf, sc.Realm, sc.Keytab, sc.Principal, sc.Password = k.Krb5Conf, k.Realm, k.Keytab, k.Principal, k.Password.Reveal()
			}
		}
		c, err := sqlserver.New(sc, a.log)
		if err != nil {
			return nil, err
		}
		a.sql = c
	}
	return a.sql, nil
}

// Agent returns the client of the agent ag, one of the configuration's. Its
// certificate, key and CA files are read under ctx the first time; its errors name the
// agent.
func (a *Adapters) Agent(ctx context.Context, ag config.Agent) (*agent.Client, error) {
	key := strings.ToLower(ag.Name)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errClosed
	}
	if c, ok := a.agents[key]; ok {
		return c, nil
	}
	var deadline time.Duration
	if a.cfg != nil {
		deadline = a.cfg.Defaults.Deadline
	}
	c, err := agent.NewClient(ctx, agent.ClientConfig{Name: ag.Name, URL: ag.URL, CertFile: ag.CertPath, KeyFile: ag.KeyPath,
		CAFile: ag.CAPath, ServerName: ag.ServerName, Timeout: deadline}, a.log)
	if err != nil {
		return nil, err
	}
	a.agents[key] = c
	return c, nil
}

// Close closes the clients made so far: the directory's connections and the agents'
// idle connections. Triages in flight finish (the directory's then fail); adapters
// asked for after Close are refused.
func (a *Adapters) Close() error {
	a.mu.Lock()
	a.closed = true
	dir, agents := a.dir, a.agents
	a.agents = map[string]*agent.Client{}
	a.mu.Unlock()
	var errs []error
	if dir != nil {
		errs = append(errs, dir.Close())
	}
	for _, c := range agents {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// A FrontEnd asks the KDC as the front end of a delegation entry whether the entry's
// paths work: kerberos.ProveDelegations with the entry's keytab or password and the
// kerberos section's realm, KDCs, krb5.conf and timeout. Its files are read under the
// context of each proof.
type FrontEnd struct {
	cfg kerberos.DelegationConfig
}

// ProveDelegations asks for user's ticket to each of spns through the front end, with
// one login; see kerberos.ProveDelegations.
func (f *FrontEnd) ProveDelegations(ctx context.Context, path triage.DelegationPath, user string, spns []string, resourceBased bool) []triage.DelegationProof {
	return kerberos.ProveDelegations(ctx, f.cfg, path, user, spns, resourceBased)
}

// FrontEnd returns the front end of the configuration's delegation entry i, made the
// first time and kept, nil when the entry gives no credentials or the configuration
// has no kerberos section (config validation refuses credentials without one).
func (a *Adapters) FrontEnd(i int) *FrontEnd {
	if a.cfg == nil || a.cfg.Kerberos == nil || i < 0 || i >= len(a.cfg.Delegation) || !a.cfg.Delegation[i].HasCredentials() {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.frontEnds[i]; ok {
		return f
	}
	d, k := a.cfg.Delegation[i], a.cfg.Kerberos
	principal, realm := a.cfg.FrontEndPrincipal(d)
	f := &FrontEnd{cfg: kerberos.DelegationConfig{Realm: realm, KDCs: k.KDCs, Krb5Conf: k.Krb5Conf, Principal: principal,
		Keytab: d.Keytab, Password: d.Password.Reveal(), Timeout: k.Timeout}}
	a.frontEnds[i] = f
	return f
}
