// Package config loads and validates the authtriage configuration file.
package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/internal/safefile"
)

// Config is the content of a configuration file. Parse and Load return only
// Configs that pass Validate. Top-level keys starting with "x-" are ignored, so
// they can hold YAML anchors for merges ("<<: *base").
type Config struct {
	Defaults  Defaults
	Directory *Directory // nil when the file has no directory section
	Kerberos  *Kerberos  // nil when the file has no kerberos section
	SQL       SQL
	Agent     *AgentServer // nil unless this file configures an agent
	Agents    []Agent      // agents the hosts' checks are sent to
	Hosts     []Host
	Slack     *Slack       // nil when the file has no slack section; only serve needs it
	Access    []AccessRule // who may run which commands; none allows only help
	Schedules []Schedule   // triages the bot runs on its own
	Store     Store        // where serve keeps reports; the defaults when the file has no store section
	Role      Role         // what the file was loaded for (never RoleAuto): the sections above it uses

	// Delegation are the second hops: front ends and the back ends they reach.
	Delegation []Delegation

	// hostIndex maps each host's lower-case name and FQDN to its index in Hosts, made
	// when the file is parsed, so that a fleet's lookups do not scan the inventory;
	// nil (a Config built in code) or stale (Hosts changed since) means Host scans.
	hostIndex map[string]int
}

// maxFileSize bounds the configuration file and the files X_file keys name.
const maxFileSize = 16 << 20

// Load reads and parses the configuration file at path; see Parse. Relative
// file names in X_file keys are relative to the directory of path. Files are opened
// with safefile under ctx: a path that is not a regular file (a FIFO, a device) is
// refused at once, and an open the file system does not answer gives up when ctx is
// done. Problems in the file are reported as a *Error; a file that cannot be read
// gives an error that wraps the os error.
func Load(ctx context.Context, path string, getenv func(string) string) (*Config, error) {
	return LoadAs(ctx, path, getenv, RoleAll)
}

// LoadAs is Load for a role: only the sections role uses are expanded, read,
// decoded and validated (see Role), and the role's own section is required.
func LoadAs(ctx context.Context, path string, getenv func(string) string, role Role) (*Config, error) {
	data, err := readLimited(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return ParseAs(data, path, getenv, fileReader(ctx, path), role)
}

// fileReader returns the reader of the files X_file keys name in the configuration
// file at path: relative names are relative to its directory.
func fileReader(ctx context.Context, path string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		return readLimited(ctx, resolveFile(path, name))
	}
}

// resolveFile returns the file name an X_file key of the configuration file at path
// means: name itself when absolute, else name in the directory of path.
func resolveFile(path, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(path), name)
}

// readLimited reads a regular file of at most maxFileSize bytes.
func readLimited(ctx context.Context, name string) ([]byte, error) {
	return safefile.ReadFile(ctx, name, maxFileSize)
}

// Parse parses a configuration file's content; name is the file name shown in
// problems. It reports every problem at once, as a *Error sorted by line, and
// returns a Config only when there is none.
//
// After YAML parsing, every scalar value (not key) has ${NAME} replaced by
// getenv(NAME) and $$ by $; any other $ is kept, as in CORP\gmsa$. An unset or
// empty variable is a problem. A variable's value is plain text: it is neither
// parsed as YAML nor expanded again. Then every key X_file, in any mapping, is
// replaced by X with the content of the file readFile returns for the
// (expanded) value, less one trailing newline; that content is not expanded.
// Giving both X and X_file is a problem. getenv nil means no variable is set;
// readFile nil means X_file keys are problems.
func Parse(data []byte, name string, getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, error) {
	return ParseAs(data, name, getenv, readFile, RoleAll)
}

// ParseAs is Parse for a role; see LoadAs.
func ParseAs(data []byte, name string, getenv func(string) string, readFile func(string) ([]byte, error), role Role) (*Config, error) {
	c, r, _ := parseConfig(data, name, getenv, readFile, role)
	if err := r.err(); err != nil {
		return nil, err
	}
	c.indexHosts()
	return c, nil
}

// indexHosts makes hostIndex; the first host to have a key keeps it, as Host's scan
// finds it first.
func (c *Config) indexHosts() {
	c.hostIndex = make(map[string]int, 2*len(c.Hosts))
	for i, h := range c.Hosts {
		for _, k := range []string{h.Name, h.FQDN} {
			if k == "" {
				continue
			}
			if _, taken := c.hostIndex[strings.ToLower(k)]; !taken {
				c.hostIndex[strings.ToLower(k)] = i
			}
		}
	}
}

// parseConfig parses a configuration file for role as far as it can: c is nil
// when the file could not be decoded at all (decoded false), and holds what was
// decoded, problems or not, otherwise; r has the problems and the lines of every
// path, for further checks.
func parseConfig(data []byte, name string, getenv func(string) string, readFile func(string) ([]byte, error), role Role) (c *Config, r *reporter, decoded bool) {
	unused := func(root *yaml.Node) func(string) bool {
		role = role.resolve(root)
		return func(key string) bool { return !role.uses(key) }
	}
	decode := func(d *decoder, n *yaml.Node) *Config { return decodeConfig(d, n, role) }
	return parseTree(data, name, getenv, readFile, unused, decode, (*Config).validate)
}

// decodeConfig decodes the root mapping for role; sections role does not use are
// known keys that decode nothing. Each section is a struct with a decode
// function (YAML nodes to the struct, reporting wrong types and unknown keys)
// and a validate function (rules on the typed values, reported with
// reporter.add); a new section adds one line here and one in validate.
func decodeConfig(d *decoder, n *yaml.Node, role Role) *Config {
	c := &Config{Defaults: defaultDefaults(), Store: defaultStore(), Role: role}
	fs := fields{
		"defaults": func(n *yaml.Node, path string) { c.Defaults = decodeDefaults(d, n, path) },
		"hosts":    func(n *yaml.Node, path string) { c.Hosts = decodeHosts(d, n, path) },
		"directory": func(n *yaml.Node, path string) {
			if !isNull(n) {
				c.Directory = decodeDirectory(d, n, path)
			}
		},
		"delegation": func(n *yaml.Node, path string) { c.Delegation = decodeDelegations(d, n, path) },
		"kerberos": func(n *yaml.Node, path string) {
			if !isNull(n) {
				c.Kerberos = decodeKerberos(d, n, path)
			}
		},
		"sql": func(n *yaml.Node, path string) { c.SQL = decodeSQL(d, n, path) },
		"agent": func(n *yaml.Node, path string) {
			if !isNull(n) {
				c.Agent = decodeAgentServer(d, n, path)
			}
		},
		"agents": func(n *yaml.Node, path string) { c.Agents = decodeAgents(d, n, path) },
		"slack": func(n *yaml.Node, path string) {
			if !isNull(n) {
				c.Slack = decodeSlack(d, n, path)
			}
		},
		"access":    func(n *yaml.Node, path string) { c.Access = decodeAccess(d, n, path) },
		"schedules": func(n *yaml.Node, path string) { c.Schedules = decodeSchedules(d, n, path) },
		"store":     func(n *yaml.Node, path string) { c.Store = decodeStore(d, n, path) },
	}
	for key := range fs {
		if !role.uses(key) {
			fs[key] = func(*yaml.Node, string) {}
		}
	}
	if n = d.visit(n); n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && strings.HasPrefix(k.Value, "x-") {
				fs[k.Value] = func(*yaml.Node, string) {}
			}
		}
	}
	d.mapping(n, "", fs)
	return c
}

// validate checks the sections c.Role uses, and that its own section is there.
func (c *Config) validate(r *reporter) {
	role := c.Role
	validateDefaults(r, "defaults", c.Defaults)
	validateHosts(r, "hosts", c.Hosts)
	validateDelegations(r, "delegation", c.Delegation, c.Hosts, c.Kerberos)
	validateDirectory(r, "directory", c.Directory)
	validateKerberos(r, "kerberos", c.Kerberos)
	validateSQL(r, "sql", c.SQL)
	if role.uses("agent") {
		validateAgentServer(r, "agent", c.Agent)
	}
	if role.uses("agents") {
		validateAgents(r, "agents", c.Agents, c.Hosts)
	}
	if role.uses("slack") {
		validateSlack(r, "slack", c.Slack)
		validateAccess(r, "access", c.Access)
		validateSchedules(r, "schedules", c.Schedules, c.Hosts, c.Defaults)
		validateStore(r, "store", c.Store)
	}
	switch {
	case role == RoleBot && c.Slack == nil:
		r.add("slack", "is required: serve connects to Slack with mode, bot_token and app_token (or signing_secret in http mode)")
	case role == RoleAgent && c.Agent == nil:
		r.add("agent", "is required: the agent listens with listen, cert_path, key_path, client_ca_path and allowed_clients")
	}
}

// Validate reports every problem of c as a *Error, or returns nil. Parse and
// Load have already called it; call it on a Config built or changed in code.
// Problems about a host, an access rule, a schedule or the slack section carry
// its Line. Validate sets each schedule's Location from its TimeZone.
func (c *Config) Validate() error {
	r := newReporter("")
	for i, h := range c.Hosts {
		r.record(index("hosts", i), h.Line)
	}
	c.validate(r)
	return r.err()
}

// AgentFor returns the agent that serves host h, if any.
func (c *Config) AgentFor(h Host) (Agent, bool) {
	for _, a := range c.Agents {
		if h.Agent != "" && strings.EqualFold(a.Name, h.Agent) {
			return a, true
		}
	}
	return Agent{}, false
}

// Host returns the host whose name or FQDN is name, ignoring case. The result
// shares nothing with c.
func (c *Config) Host(name string) (Host, bool) {
	if i, ok := c.hostIndex[strings.ToLower(name)]; ok && i < len(c.Hosts) && c.Hosts[i].named(name) {
		return c.Hosts[i].clone(), true
	}
	for _, h := range c.Hosts {
		if h.named(name) {
			return h.clone(), true
		}
	}
	return Host{}, false
}

// named reports whether name is the host's name or FQDN, ignoring case.
func (h Host) named(name string) bool {
	return strings.EqualFold(h.Name, name) || (h.FQDN != "" && strings.EqualFold(h.FQDN, name))
}

// Suggest returns up to three inventory host names close to name, closest
// first, for a "did you mean" after Host found nothing: names within two edits
// of name, ignoring case, or that start with name or that name starts with
// (at least three characters in common).
func (c *Config) Suggest(name string) []string {
	names := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		names[i] = h.Name
	}
	return suggest(name, names, 3)
}

// parse is Parse for any root type, so tests can decode a schema of their own.
func parse[T any](data []byte, name string, getenv func(string) string, readFile func(string) ([]byte, error),
	decode func(*decoder, *yaml.Node) T, validate func(T, *reporter)) (T, error) {
	v, r, _ := parseTree(data, name, getenv, readFile, nil, decode, validate)
	if err := r.err(); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// parseTree parses, expands, reads, decodes and validates a file as far as it
// can, and returns the value decoded, the reporter with every problem and the
// lines of every path, and whether the value was decoded (false after a syntax
// error or an alias bomb, when it is the zero value or incomplete). unused, when
// not nil, is called with the root node and returns which top-level keys are
// sections not to expand or read: their values are expanded without reporting
// (a problem shows where an alias uses the value) and their X_file keys are not
// read.
func parseTree[T any](data []byte, name string, getenv func(string) string, readFile func(string) ([]byte, error),
	unused func(root *yaml.Node) func(key string) bool,
	decode func(*decoder, *yaml.Node) T, validate func(T, *reporter)) (v T, r *reporter, decoded bool) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	r = newReporter(name)
	root := parseYAML(data, r)
	if len(r.problems) > 0 {
		return v, r, false
	}
	d := newDecoder(r, root)
	if unused != nil {
		d.unused = unused(root)
	}
	if root != nil {
		d.expandTree(root, "", getenv)
		d.readFiles(root, "", readFile)
	}
	v = decode(d, root)
	if d.over { // v is incomplete and its problems are not the file's
		return v, r, false
	}
	validate(v, r)
	return v, r, true
}

// parseYAML parses data as one YAML document and returns its root node, nil
// for an empty document. A syntax error or a second document is reported.
func parseYAML(data []byte, r *reporter) (root *yaml.Node) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			line, msg := syntaxError(err, data)
			r.at(line, "", "%s", msg)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			line, msg := syntaxError(err, data)
			r.at(line, "", "%s", msg)
		} else {
			r.at(next.Line, "", "a second YAML document starts here; the file must hold one")
		}
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil
	}
	return doc.Content[0]
}
