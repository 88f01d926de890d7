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
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/triage"
)

func newAgentFlags(configPath *string, verbose *bool, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(configPath, "config", "", "configuration `FILE` with the agent section and the hosts it serves")
	fs.BoolVar(verbose, "v", false, "log debug messages")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage agent --config FILE [-v]
       authtriage agent certs --dir DIR --server NAME [--server NAME...] --client NAME [--client NAME...] [--group GROUP]
       authtriage agent ping --config FILE [NAME...]
       authtriage agent install --config FILE [--name NAME] [--account ACCOUNT]   (Windows)
       authtriage agent uninstall [--name NAME]                                   (Windows)

The agent runs inside the Windows network, near the SQL Server hosts, and performs the
read-only checks for the bot and the CLI over mutual TLS: ERRORLOG and event logs, the
directory and the KDC, SQL Server logins, the LSA and the keytab. It answers only for the
hosts in its configuration and only to the client certificates it lists; it takes no
command, path, filter or SQL from the network. Logs are JSON lines on stderr, one audit
line per request.

It first checks the configuration as authtriage config check --as agent does (the files
it names, certificates, keys and their CAs) and does not start on a problem.

"agent certs" creates a CA, the agent's certificate and client certificates for a first
install; with an enterprise CA, issue them there instead (see the README). "agent ping"
asks each agent of a bot's or CLI's configuration for its health, with the client
certificate the configuration names. "agent install" creates the Windows service that
runs the agent, with its event-log source; "agent uninstall" removes both.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func runAgent(ctx context.Context, args []string, e env) int {
	if len(args) > 0 {
		switch args[0] {
		case "certs":
			return runAgentCerts(args[1:], e)
		case "ping":
			return runAgentPing(ctx, args[1:], e)
		case "install":
			return runAgentInstall(ctx, args[1:], e)
		case "uninstall":
			return runAgentUninstall(args[1:], e)
		}
	}
	var configPath string
	var verbose bool
	fs := newAgentFlags(&configPath, &verbose, e.stderr)
	cfg, log, code, done := startDaemon(ctx, "agent", config.RoleAgent, fs, &configPath, &verbose, args, e)
	if done {
		return code
	}
	if err := serveAgent(ctx, cfg, log); err != nil {
		log.Error("agent stopped", "err", err)
		return exitUnknown
	}
	return exitOK
}

// serveAgent runs the agent until ctx ends. Its adapters (the directory, the KDC, SQL
// Server) are made at its start, shared by every triage and closed when it stops.
func serveAgent(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ad := plan.NewAdapters(cfg, log)
	defer ad.Close()
	local, _ := os.Hostname()
	planner := plan.New(cfg, ad, plan.Options{Agent: true, LocalHost: local, Log: log})
	if err := planner.Open(ctx); err != nil {
		return err
	}
	hosts := map[string]triage.Target{}
	for _, h := range cfg.Hosts {
		hosts[h.Name] = h.Target()
	}
	srv, err := agent.NewServer(agent.ServerConfig{
		Hosts: hosts,
		Checks: func(t triage.Target, since time.Duration) []triage.Check {
			pl, err := planner.For(ctx, t.Host, plan.Overrides{Since: since})
			if err != nil { // the server asks for hosts of the same inventory only
				log.Error("no checks for an inventory host", "host", t.Host, "err", err)
				return nil
			}
			return pl.Checks
		},
		AllowedClients:     cfg.Agent.AllowedClients,
		Deadline:           cfg.Defaults.Deadline,
		CheckTimeout:       cfg.Defaults.CheckTimeout,
		MaxConcurrent:      cfg.Agent.MaxConcurrent,
		RatePerMinute:      cfg.Agent.RatePerMinute,
		SweepConcurrent:    cfg.Agent.SweepConcurrent,
		SweepRatePerMinute: cfg.Agent.SweepRatePerMinute,
		Version:            versionString(),
		Rules:              diagnosis.Rules(),
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
	log.Info("agent starting", "version", versionString()) // Serve logs "agent listening" with the address
	return srv.Serve(ctx, ln, tlsCfg)
}

func runAgentCerts(args []string, e env) int {
	fs := flag.NewFlagSet("agent certs", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("dir", "", "`DIR` to write ca.pem, server.pem and the client certificates to (must not hold them yet)")
	var servers, clients stringList
	fs.Var(&servers, "server", "DNS `NAME` of the agent, as clients reach it (repeatable)")
	fs.Var(&clients, "client", "client `NAME`, the identity the agent's allowed_clients lists and the name of its files NAME.pem and NAME-key.pem (repeatable)")
	group := fs.String("group", "", "give the certificates and the services' keys to `GROUP` (mode 0640), the group the services run in (Unix)")
	valid := fs.Duration("valid", 365*24*time.Hour, "how long the certificates are valid")
	if code, done := parseNoArgs(fs, args, e); done {
		return code
	}
	if *dir == "" || len(servers) == 0 || len(clients) == 0 {
		return usageError(e, "agent certs needs --dir, at least one --server and at least one --client")
	}
	o := agent.CertOptions{Servers: servers, Clients: clients, ValidFor: *valid, GID: -1}
	if *group != "" {
		gid, err := lookupGroup(*group)
		if err != nil {
			return usageError(e, "--group: %v", err)
		}
		o.GID = gid
	}
	if err := agent.WriteCerts(*dir, o); err != nil {
		if errors.Is(err, os.ErrExist) {
			return usageError(e, "%v (certificates are never overwritten)", err)
		}
		return usageError(e, "%v", err)
	}
	io.WriteString(e.stdout, display.Text(certsNextSteps(*dir, servers, clients, *group)))
	return exitOK
}

// certsNextSteps says what agent certs wrote and what to do with it.
func certsNextSteps(dir string, servers, clients []string, group string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Wrote to %s:\n", dir)
	fmt.Fprintf(&b, "  ca.pem                  the CA: the agent's client_ca_path and every client's ca_path\n")
	fmt.Fprintf(&b, "  ca-key.pem              the CA's key, for you alone: it signs certificates; keep it off the hosts\n")
	fmt.Fprintf(&b, "  server.pem, server-key.pem\n                          the agent's certificate for %s: its cert_path and key_path\n", strings.Join(servers, ", "))
	for _, c := range clients {
		fmt.Fprintf(&b, "  %s.pem, %s-key.pem\n                          client %s: its agents[].cert_path and key_path, and a name in allowed_clients\n", c, c, c)
	}
	owner := "Keys are readable by their owner alone (mode 0600): give them to the services' group with --group next time, or chgrp GROUP and chmod 0640 each key but ca-key.pem."
	if group != "" {
		owner = "Certificates and keys belong to group " + group + " (keys mode 0640), ca-key.pem to you alone (0600)."
	}
	b.WriteString(owner + "\n\nNext steps:\n")
	fmt.Fprintf(&b, "  1. Move ca-key.pem away from %s (or delete it): no service needs it.\n", dir)
	fmt.Fprintf(&b, "  2. On the agent's host, the agent's configuration names %s, %s and %s, and lists %s in allowed_clients (deploy/agent.example.yaml does).\n",
		filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem"), strings.Join(clients, ", "))
	fmt.Fprintf(&b, "  3. Copy ca.pem and each client's NAME.pem and NAME-key.pem to that client's host, with the same owner and modes (install -m 0640 -o root -g GROUP ...); the bot's configuration names them (deploy/authtriage.example.yaml does).\n")
	b.WriteString("  4. Check each host's files for its service's user: authtriage config check --config FILE --user USER (give both files to check them against each other).\n")
	b.WriteString("  5. Start the agent, then from a client: authtriage agent ping --config FILE\n")
	return b.String()
}

// runAgentPing asks the agents of a bot's or CLI's configuration for their health.
func runAgentPing(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("agent ping", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	configPath := fs.String("config", "", "configuration `FILE` with the agents section (the bot's or the CLI's)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage agent ping --config FILE [NAME...]

Asks each agent of the configuration (or those named) for its health and version over
mutual TLS, with the client certificate the configuration names, as a triage would.

Exit status: 0 every agent answered, 3 one did not (or bad usage).

Flags:
`)
		fs.PrintDefaults()
	}
	names, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fs.Usage()
		return exitOK
	}
	if err != nil {
		return exitUnknown
	}
	if *configPath == "" {
		return usageError(e, "agent ping needs --config FILE")
	}
	cfg, err := config.LoadAs(ctx, *configPath, e.getenv, config.RoleCLI)
	if err != nil {
		return usageError(e, "%v", err)
	}
	var list []config.Agent
	for _, a := range cfg.Agents {
		if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, a.Name) }) {
			list = append(list, a)
		}
	}
	switch {
	case len(cfg.Agents) == 0:
		return usageError(e, "%s has no agents section", *configPath)
	case len(list) < max(len(names), 1):
		return usageError(e, "%s names no agent %s", *configPath, strings.Join(names, " or "))
	}
	code := exitOK
	var b strings.Builder
	for _, a := range list {
		began := time.Now()
		c, err := agent.NewClient(ctx, agent.ClientConfig{Name: a.Name, URL: a.URL, CertFile: a.CertPath, KeyFile: a.KeyPath,
			CAFile: a.CAPath, ServerName: a.ServerName, Timeout: 15 * time.Second}, nil)
		var v agent.Version
		if err == nil {
			if err = c.Health(ctx); err == nil {
				v, err = c.Version(ctx)
			}
		}
		if err != nil {
			fmt.Fprintf(&b, "%s %s: %v\n", a.Name, a.URL, err)
			code = exitUnknown
			continue
		}
		fmt.Fprintf(&b, "%s %s: ok, %s (%s)\n", a.Name, a.URL, v.Version, time.Since(began).Round(time.Millisecond))
	}
	io.WriteString(e.stdout, display.Text(b.String()))
	return code
}
