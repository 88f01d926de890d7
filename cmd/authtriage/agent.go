package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"authtriage/agent"
	"authtriage/checks"
	"authtriage/config"
	"authtriage/diagnosis"
	"authtriage/hostlocal"
	"authtriage/sqlserver"
	"authtriage/triage"
)

// remoteCheckNames are the checks an agent runs for a host, in report order; they
// match agentChecks.
func remoteCheckNames() []string {
	return []string{"errorlog", "eventlog", "spn", "account", "kerberos", "clock", "dc", "dns", "sql", "lsa", "keytab"}
}

func newAgentFlags(configPath *string, verbose *bool, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(configPath, "config", "", "configuration `FILE` with the agent section and the hosts it serves")
	fs.BoolVar(verbose, "v", false, "log debug messages")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage agent --config FILE
       authtriage agent certs --dir DIR --server NAME [--server NAME...] --client NAME [--client NAME...]

The agent runs inside the Windows network, near the SQL Server hosts, and performs the
read-only checks for the bot and the CLI over mutual TLS: ERRORLOG and event logs, the
directory and the KDC, SQL Server logins, the LSA and the keytab. It answers only for the
hosts in its configuration and only to the client certificates it lists; it takes no
command, path, filter or SQL from the network. Logs are JSON lines on stderr, one audit
line per request.

"agent certs" creates a CA, the agent's certificate and client certificates for a first
install; with an enterprise CA, issue them there instead (see the README).

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func runAgent(ctx context.Context, args []string, e env) int {
	if len(args) > 0 && args[0] == "certs" {
		return runAgentCerts(args[1:], e)
	}
	var configPath string
	var verbose bool
	fs := newAgentFlags(&configPath, &verbose, e.stderr)
	cfg, log, code, done := startDaemon(ctx, "agent", fs, &configPath, &verbose, args, e)
	if done {
		return code
	}
	if cfg.Agent == nil {
		return usageError(e, "%s has no agent section (listen, cert_path, key_path, client_ca_path, allowed_clients)", configPath)
	}
	if err := serveAgent(ctx, cfg, log); err != nil {
		log.Error("agent stopped", "err", err)
		return exitUnknown
	}
	return exitOK
}

// serveAgent runs the agent until ctx ends.
func serveAgent(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	dir, err := newDirectorySources(ctx, "", cfg, log)
	if err != nil {
		return err
	}
	defer dir.close()
	sql, err := newSQLChecker(cfg, log)
	if err != nil {
		return err
	}
	hosts := map[string]triage.Target{}
	byName := map[string]config.Host{}
	for _, h := range cfg.Hosts {
		hosts[h.Name] = h.Target()
		byName[strings.ToLower(h.Name)] = h
	}
	local, _ := os.Hostname()
	srv, err := agent.NewServer(agent.ServerConfig{
		Hosts: hosts,
		Checks: func(t triage.Target, since time.Duration) []triage.Check {
			return agentChecks(t, byName[strings.ToLower(t.Host)], since, dir, sql, local)
		},
		AllowedClients: cfg.Agent.AllowedClients,
		Deadline:       cfg.Defaults.Deadline,
		CheckTimeout:   cfg.Defaults.CheckTimeout,
		MaxConcurrent:  cfg.Agent.MaxConcurrent,
		RatePerMinute:  cfg.Agent.RatePerMinute,
		Version:        versionString(),
		Rules:          diagnosis.Rules(),
	}, log)
	if err != nil {
		return err
	}
	tlsCfg, err := agent.ServerTLS(ctx, cfg.Agent.CertPath, cfg.Agent.KeyPath, cfg.Agent.ClientCAPath)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Agent.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Agent.Listen, err)
	}
	log.Info("agent listening", "addr", ln.Addr().String(), "hosts", len(hosts), "version", versionString())
	return srv.Serve(ctx, ln, tlsCfg)
}

// newSQLChecker builds the SQL Server login checker from the kerberos and sql sections.
func newSQLChecker(cfg *config.Config, log *slog.Logger) (*sqlserver.Checker, error) {
	sc := sqlserver.Config{Encrypt: cfg.SQL.Encrypt, TrustServerCertificate: cfg.SQL.TrustServerCertificate, Timeout: cfg.SQL.Timeout}
	if k := cfg.Kerberos; k != nil {
		sc.Krb5Conf, sc.Realm, sc.Keytab, sc.Principal, sc.Password = k.Krb5Conf, k.Realm, k.Keytab, k.Principal, k.Password.Reveal()
	}
	c, err := sqlserver.New(sc, log)
	if err != nil {
		return nil, fmt.Errorf("sql: %w", err)
	}
	return c, nil
}

// agentChecks are the fixed checks the agent runs for one inventory host. Evidence on
// the host itself (ERRORLOG found from the instance's settings, live event logs, the
// LSA, the keytab) is read only when the agent runs on that host.
func agentChecks(t triage.Target, h config.Host, since time.Duration, dir directorySources, sql *sqlserver.Checker, local string) []triage.Check {
	onHost := local != "" && (strings.EqualFold(t.ShortName(), strings.ToUpper(strings.SplitN(local, ".", 2)[0])))
	var errlog triage.Check = checks.ErrorLog{Files: nonEmpty(h.ErrorLog), Since: since,
		NoSource: "the inventory names no errorlog for " + h.Name + ", and the agent does not run on it"}
	switch {
	case h.ErrorLog == config.ErrorLogSQL:
		errlog = checks.SQLErrorLog{Server: sql, Since: since}
	case h.ErrorLog == "" && onHost:
		instance := ""
		if len(t.Instances) > 0 {
			instance = t.Instances[0].Name
		}
		if p, err := hostlocal.ErrorLogPath(instance); err == nil {
			errlog = checks.ErrorLog{Files: []string{p}, Since: since}
		}
	}
	events := checks.EventLog{Files: h.Events, Since: since,
		NoSource: "the inventory names no event-log exports for " + h.Name + ", and the agent does not run on it"}
	if len(h.Events) == 0 && onHost && runtime.GOOS == "windows" {
		events = checks.EventLog{Files: []string{"System", "Application"}, Export: hostlocal.EventLog, Since: since}
	}
	lsa := checks.LSA{NoSource: "the LSA is probed only by an agent running on the Windows SQL Server host"}
	if onHost && runtime.GOOS == "windows" {
		lsa.Probe = hostlocal.ProbeLSA
	}
	kt := checks.Keytab{NoSource: "the keytab is read only by an agent running on the Linux SQL Server host"}
	if onHost && runtime.GOOS == "linux" {
		if _, err := os.Stat(linuxKeytab); err == nil {
			kt.Path, kt.Read = linuxKeytab, hostlocal.ReadKeytab
		}
	}
	return []triage.Check{errlog, events, dir.spn, dir.account, dir.krb, dir.clock, dir.dc, dir.dns, checks.SQL{Server: sql}, lsa, kt}
}

// linuxKeytab is where mssql-conf setup-ad-keytab puts SQL Server on Linux's keytab.
const linuxKeytab = "/var/opt/mssql/secrets/mssql.keytab"

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// agentClient returns a client for the agent that serves h, if the configuration
// names one.
func agentClient(ctx context.Context, cfg *config.Config, h config.Host, log *slog.Logger) (*agent.Client, error) {
	a, ok := cfg.AgentFor(h)
	if !ok {
		return nil, nil
	}
	c, err := agent.NewClient(ctx, agent.ClientConfig{Name: a.Name, URL: a.URL, CertFile: a.CertPath, KeyFile: a.KeyPath,
		CAFile: a.CAPath, ServerName: a.ServerName, Timeout: cfg.Defaults.Deadline}, log)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", a.Name, err)
	}
	return c, nil
}

func runAgentCerts(args []string, e env) int {
	fs := flag.NewFlagSet("agent certs", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("dir", "", "`DIR` to write ca.pem, server.pem and the client certificates to (must not hold them yet)")
	var servers, clients stringList
	fs.Var(&servers, "server", "DNS `NAME` of the agent, as clients reach it (repeatable)")
	fs.Var(&clients, "client", "client `NAME`, the identity the agent's allowed_clients lists (repeatable)")
	valid := fs.Duration("valid", 365*24*time.Hour, "how long the certificates are valid")
	if code, done := parseNoArgs(fs, args, e); done {
		return code
	}
	if *dir == "" || len(servers) == 0 || len(clients) == 0 {
		return usageError(e, "agent certs needs --dir, at least one --server and at least one --client")
	}
	if err := agent.GenerateCerts(*dir, servers, clients, *valid); err != nil {
		if errors.Is(err, os.ErrExist) {
			return usageError(e, "%v (certificates are never overwritten)", err)
		}
		return usageError(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "wrote a CA, the agent's certificate for %s and client certificates for %s to %s\n",
		strings.Join(servers, ", "), strings.Join(clients, ", "), *dir)
	return exitOK
}
