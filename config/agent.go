package config

import (
	"net"
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// AgentServer configures this process when it runs as `authtriage agent`: where it
// listens, its certificate, and which client certificates it accepts. Nil when absent.
type AgentServer struct {
	Listen         string   // host:port, e.g. ":8443"
	CertPath       string   // the agent's certificate (PEM)
	KeyPath        string   // its private key (PEM)
	ClientCAPath   string   // the CA that signs client certificates
	AllowedClients []string // client identities (certificate CN or DNS SAN) allowed to ask
	MaxConcurrent  int      // interactive triages at once; default 4
	RatePerMinute  int      // interactive requests per minute per client; default 30
	// SweepConcurrent is how many hosts the agent triages at once for sweeps (batch
	// requests), beside and apart from MaxConcurrent; default 16.
	SweepConcurrent int
	// SweepRatePerMinute is how many batch requests (each up to 1,000 hosts) a client
	// may start a minute; default 12.
	SweepRatePerMinute int
}

// Agent is a helper agent a bot or CLI sends a host's checks to.
type Agent struct {
	Name       string // referred to by hosts[].agent
	URL        string // https://agent-east.corp.example:8443
	CertPath   string // this client's certificate
	KeyPath    string // its key
	CAPath     string // the CA that signed the agent's certificate
	ServerName string // optional: the name to verify instead of the URL's host
	Line       int
}

// SQL configures the SQL Server logins the sql check makes.
type SQL struct {
	Encrypt                string // go-mssqldb's encrypt: strict, true, false or disable; "" means true
	TrustServerCertificate bool
	Timeout                time.Duration // per login and query; 0 means 10s
}

func decodeAgentServer(d *decoder, n *yaml.Node, path string) *AgentServer {
	a := &AgentServer{MaxConcurrent: 4, RatePerMinute: 30, SweepConcurrent: 16, SweepRatePerMinute: 12}
	d.mapping(n, path, fields{
		"listen":                d.str(&a.Listen),
		"cert_path":             d.str(&a.CertPath),
		"key_path":              d.str(&a.KeyPath),
		"client_ca_path":        d.str(&a.ClientCAPath),
		"allowed_clients":       d.strs(&a.AllowedClients),
		"max_concurrent":        d.integer(&a.MaxConcurrent),
		"rate_per_minute":       d.integer(&a.RatePerMinute),
		"sweep_concurrent":      d.integer(&a.SweepConcurrent),
		"sweep_rate_per_minute": d.integer(&a.SweepRatePerMinute),
	})
	return a
}

func decodeAgents(d *decoder, n *yaml.Node, path string) []Agent {
	var list []Agent
	d.sequence(n, path, func(n *yaml.Node, path string) {
		a := Agent{Line: n.Line}
		d.mapping(n, path, fields{
			"name":        d.str(&a.Name),
			"url":         d.str(&a.URL),
			"cert_path":   d.str(&a.CertPath),
			"key_path":    d.str(&a.KeyPath),
			"ca_path":     d.str(&a.CAPath),
			"server_name": d.str(&a.ServerName),
		})
		list = append(list, a)
	})
	return list
}

func decodeSQL(d *decoder, n *yaml.Node, path string) SQL {
	var s SQL // zero values mean the defaults, for the sql check to apply
	d.mapping(n, path, fields{
		"encrypt":                  d.str(&s.Encrypt),
		"trust_server_certificate": d.boolean(&s.TrustServerCertificate),
		"timeout":                  d.duration(&s.Timeout),
	})
	return s
}

func validateAgentServer(r *reporter, path string, a *AgentServer) {
	if a == nil {
		return
	}
	if _, _, err := net.SplitHostPort(a.Listen); err != nil {
		r.add(field(path, "listen"), "%s is not host:port (\":8443\" listens on every address)", quote(a.Listen))
	}
	for _, f := range []struct{ key, val string }{{"cert_path", a.CertPath}, {"key_path", a.KeyPath}, {"client_ca_path", a.ClientCAPath}} {
		if f.val == "" {
			r.add(field(path, f.key), "is required: the agent only speaks mutual TLS")
		} else if err := validAbsPath(f.val); err != nil {
			r.add(field(path, f.key), "%v", err)
		}
	}
	if len(a.AllowedClients) == 0 {
		r.add(field(path, "allowed_clients"), "is required: name the client certificates (CN) allowed to ask")
	}
	for i, c := range a.AllowedClients {
		if c == "" || strings.ContainsAny(c, "\x00\r\n") {
			r.add(index(field(path, "allowed_clients"), i), "is not a certificate name")
		}
	}
	if a.MaxConcurrent < 1 || a.MaxConcurrent > 256 {
		r.add(field(path, "max_concurrent"), "must be from 1 to 256")
	}
	if a.RatePerMinute < 1 || a.RatePerMinute > 6000 {
		r.add(field(path, "rate_per_minute"), "must be from 1 to 6000")
	}
	if a.SweepConcurrent < 1 || a.SweepConcurrent > 256 {
		r.add(field(path, "sweep_concurrent"), "must be from 1 to 256")
	}
	if a.SweepRatePerMinute < 1 || a.SweepRatePerMinute > 600 {
		r.add(field(path, "sweep_rate_per_minute"), "must be from 1 to 600")
	}
}

func validateAgents(r *reporter, path string, agents []Agent, hosts []Host) {
	names := map[string]bool{}
	for i, a := range agents {
		p := index(path, i)
		switch {
		case a.Name == "" || !validName(strings.ToLower(a.Name), 64, true):
			r.add(field(p, "name"), "is required: 1 to 64 letters, digits, '.', '_' or '-'")
		case names[strings.ToLower(a.Name)]:
			r.add(field(p, "name"), "%s is used twice", quote(a.Name))
		}
		names[strings.ToLower(a.Name)] = true
		if u, err := url.Parse(a.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			r.add(field(p, "url"), "%s is not an https:// URL", quote(a.URL))
		}
		for _, f := range []struct{ key, val string }{{"cert_path", a.CertPath}, {"key_path", a.KeyPath}, {"ca_path", a.CAPath}} {
			if f.val == "" {
				r.add(field(p, f.key), "is required: agents only speak mutual TLS")
			} else if err := validAbsPath(f.val); err != nil {
				r.add(field(p, f.key), "%v", err)
			}
		}
	}
	for i, h := range hosts {
		if h.Agent != "" && !names[strings.ToLower(h.Agent)] {
			r.add(field(index("hosts", i), "agent"), "%s is not in the agents section", quote(h.Agent))
		}
	}
}

func validateSQL(r *reporter, path string, s SQL) {
	switch s.Encrypt {
	case "", "strict", "true", "false", "disable":
	default:
		r.add(field(path, "encrypt"), "must be strict, true, false or disable")
	}
	if s.Timeout < 0 {
		r.add(field(path, "timeout"), "must be longer than 0")
	}
}
