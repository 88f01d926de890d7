package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/triage"
)

// A Host is one SQL Server host of the inventory.
type Host struct {
	Name           string            // inventory name, unique ignoring case; a valid host name
	FQDN           string            // "" if not given and Name has no dot; else a valid host name
	Instances      []triage.Instance // empty means the default instance on port 1433, unverified
	ServiceAccount string            // CORP\svc_sql, svc_sql@corp.example, CORP\gmsa$, NT SERVICE\MSSQLSERVER, LocalSystem
	ErrorLog       string            // absolute path of the ERRORLOG file, ErrorLogSQL, or "" for unknown
	Events         []string          // absolute paths of event log exports (wevtutil XML)
	Agent          string            // name of the agent that serves this host, "" for none
	Tags           []string          // each [a-z0-9_-]{1,32}, no repeats
	// Listeners are the availability-group listeners whose replicas include the
	// host's instances, each a valid host name with its TCP port (0: not known), no
	// name twice. Discovery through a SQL login (sys.availability_group_listeners)
	// finds them too; the inventory's add to what it finds and name the port when
	// SQL Server cannot be asked.
	Listeners []Listener
	// Nodes are the failover-cluster nodes a clustered instance of the host runs on,
	// valid host names, no name twice: the host's name is then the instance's virtual
	// network name, which owns the SPNs, never a node. Discovery through a SQL login
	// (sys.dm_os_cluster_nodes) finds them too.
	Nodes []string
	// Aliases are other names clients reach the host by (DNS CNAMEs), valid host
	// names, no name twice; the target has them fully qualified in the host's domain
	// when short, as nodes and listeners are. Discovery follows the CNAMEs of FQDN too.
	Aliases []string
	Line    int // line of the file where the host is defined; 0 if unknown
}

// A Listener is an availability-group listener of the inventory.
type Listener struct {
	Name string // the listener's DNS name, short or fully qualified
	Port int    // its TCP port; 0 when not given
}

// ErrorLogSQL as Host.ErrorLog means: read the ERRORLOG through sp_readerrorlog.
const ErrorLogSQL = "sql"

// Target returns the host as the triage package describes a target. The
// result shares nothing with h.
func (h Host) Target() triage.Target {
	return triage.Target{
		Host:           h.Name,
		FQDN:           h.FQDN,
		Instances:      slices.Clone(h.Instances),
		ServiceAccount: h.ServiceAccount,
		Listeners:      h.targetListeners(),
		Nodes:          h.qualified(h.Nodes),
		Aliases:        h.qualified(h.Aliases),
	}
}

// domain returns the DNS domain of the host's FQDN, "" when it has none.
func (h Host) domain() string {
	_, d, _ := strings.Cut(h.FQDN, ".")
	return d
}

// qualified returns names with each short one completed with the host's domain.
func (h Host) qualified(names []string) []string {
	var out []string
	for _, n := range names {
		if !strings.Contains(n, ".") && h.domain() != "" {
			n += "." + h.domain()
		}
		out = append(out, n)
	}
	return out
}

// targetListeners returns the inventory's listeners as the triage package describes
// them: fully qualified in the host's domain when short, with source "inventory".
func (h Host) targetListeners() []triage.Listener {
	var out []triage.Listener
	for _, l := range h.Listeners {
		out = append(out, triage.Listener{Name: l.Name, FQDN: h.qualified([]string{l.Name})[0], Port: l.Port, Source: "inventory"})
	}
	for i, l := range out {
		if !strings.Contains(l.FQDN, ".") {
			out[i].FQDN = "" // a short name in a host without a domain: not known
		}
	}
	return out
}

// clone returns a copy of h that shares no slices with it.
func (h Host) clone() Host {
	h.Instances = slices.Clone(h.Instances)
	h.Events = slices.Clone(h.Events)
	h.Tags = slices.Clone(h.Tags)
	h.Listeners = slices.Clone(h.Listeners)
	h.Nodes = slices.Clone(h.Nodes)
	h.Aliases = slices.Clone(h.Aliases)
	return h
}

func decodeHosts(d *decoder, n *yaml.Node, path string) []Host {
	var hosts []Host
	d.sequence(n, path, func(n *yaml.Node, path string) {
		hosts = append(hosts, decodeHost(d, n, path))
	})
	return hosts
}

func decodeHost(d *decoder, n *yaml.Node, path string) Host {
	h := Host{Line: n.Line}
	d.mapping(n, path, fields{
		"name":            d.str(&h.Name),
		"fqdn":            d.str(&h.FQDN),
		"instances":       func(n *yaml.Node, path string) { h.Instances = decodeInstances(d, n, path) },
		"service_account": d.str(&h.ServiceAccount),
		"errorlog":        d.str(&h.ErrorLog),
		"events":          d.strs(&h.Events),
		"agent":           d.str(&h.Agent),
		"tags":            d.strs(&h.Tags),
		"listeners":       func(n *yaml.Node, path string) { h.Listeners = decodeListeners(d, n, path) },
		"nodes":           d.strs(&h.Nodes),
		"aliases":         d.strs(&h.Aliases),
	})
	if h.FQDN == "" && strings.Contains(h.Name, ".") {
		h.FQDN = h.Name
	}
	if strings.EqualFold(h.ErrorLog, ErrorLogSQL) {
		h.ErrorLog = ErrorLogSQL
	}
	return h
}

// decodeInstances decodes a list whose elements are "NAME", "NAME:PORT",
// ":PORT" or a mapping {name: NAME, port: PORT}. Elements with a problem are
// kept as zero Instances, so indexes match paths.
func decodeInstances(d *decoder, n *yaml.Node, path string) []triage.Instance {
	var list []triage.Instance
	d.sequence(n, path, func(n *yaml.Node, path string) {
		var in triage.Instance
		if v := d.visit(n); v != nil && v.Kind == yaml.MappingNode {
			in = decodeInstanceMapping(d, n, path)
		} else if s, ok := d.scalar(n, path, `"NAME", "NAME:PORT", ":PORT" or a mapping with name and port`); ok {
			var err error
			if in, err = triage.ParseInstance(s); err != nil {
				d.r.at(n.Line, path, "%v%s", err, portHint(s))
			}
		}
		list = append(list, in)
	})
	return list
}

// portHint helps with "- 1433", which reads as an instance name.
func portHint(s string) string {
	if _, err := strconv.Atoi(s); err == nil {
		return fmt.Sprintf(`; for a port write ":%s" or {port: %s}`, s, s)
	}
	return ""
}

func decodeInstanceMapping(d *decoder, n *yaml.Node, path string) triage.Instance {
	var name, port string
	d.mapping(n, path, fields{
		"name": d.str(&name),
		"port": d.str(&port),
	})
	var in triage.Instance
	if name != "" {
		if strings.Contains(name, ":") {
			d.r.at(d.r.line(field(path, "name")), field(path, "name"), "%s: an instance name cannot hold a port; put the port under port", quote(name))
		} else if parsed, err := triage.ParseInstance(name); err != nil {
			d.r.at(d.r.line(field(path, "name")), field(path, "name"), "%v", err)
		} else {
			in.Name = parsed.Name
		}
	}
	if port != "" {
		p, err := triage.ParsePort(port)
		if err != nil {
			d.r.at(d.r.line(field(path, "port")), field(path, "port"), "%v", err)
		}
		in.Port = p
	}
	switch {
	case d.r.failed[field(path, "name")] || d.r.failed[field(path, "port")]:
		d.r.fail(path) // the instance is a placeholder
	case in == (triage.Instance{}):
		d.r.at(n.Line, path, "an instance needs a name, a port or both")
	}
	return in
}

// decodeListeners decodes a list whose elements are "NAME", "NAME:PORT" or a mapping
// {name: NAME, port: PORT}. Elements with a problem are kept as zero Listeners, so
// indexes match paths.
func decodeListeners(d *decoder, n *yaml.Node, path string) []Listener {
	var list []Listener
	d.sequence(n, path, func(n *yaml.Node, path string) {
		var l Listener
		portPath := path
		var port string
		if v := d.visit(n); v != nil && v.Kind == yaml.MappingNode {
			d.mapping(n, path, fields{
				"name": d.str(&l.Name),
				"port": d.str(&port),
			})
			portPath = field(path, "port")
		} else if s, ok := d.scalar(n, path, `"NAME", "NAME:PORT" or a mapping with name and port`); ok {
			l.Name, port, _ = strings.Cut(s, ":")
			if l.Name == "" {
				d.r.at(n.Line, path, "a listener needs a name")
			}
		}
		if port != "" {
			p, err := triage.ParsePort(port)
			if err != nil {
				d.r.at(d.r.line(portPath), portPath, "%v", err)
			}
			l.Port = p
		}
		list = append(list, l)
	})
	return list
}

func validateHosts(r *reporter, path string, hosts []Host) {
	owner := map[string]int{} // lower-case name or FQDN -> index of the host that has it
	for i, h := range hosts {
		hp := index(path, i)
		validateHost(r, hp, h)
		for _, f := range []struct{ key, value string }{{"name", h.Name}, {"fqdn", h.FQDN}} {
			if f.value == "" || triage.ValidHostName(f.value) != nil || (f.key == "fqdn" && strings.EqualFold(h.FQDN, h.Name)) {
				continue
			}
			k := strings.ToLower(f.value)
			j, taken := owner[k]
			if !taken {
				owner[k] = i
				continue
			}
			if j == i {
				continue
			}
			where := index(path, j)
			if l := r.line(where); l > 0 {
				where += " (line " + strconv.Itoa(l) + ")"
			}
			r.add(field(hp, f.key), "%s is already used by %s", quote(f.value), where)
		}
	}
}

func validateHost(r *reporter, path string, h Host) {
	if h.Name == "" {
		r.add(field(path, "name"), "is required")
	} else if err := triage.ValidHostName(h.Name); err != nil {
		r.add(field(path, "name"), "%s is not a valid host name: %v", quote(h.Name), err)
	}
	if h.FQDN != "" && h.FQDN != h.Name { // else the name's problem is the FQDN's
		if err := triage.ValidHostName(h.FQDN); err != nil {
			r.add(field(path, "fqdn"), "%s is not a valid host name: %v", quote(h.FQDN), err)
		}
	}
	validateInstances(r, field(path, "instances"), h.Instances)
	if h.ServiceAccount != "" {
		if err := validServiceAccount(h.ServiceAccount); err != nil {
			r.add(field(path, "service_account"), "%s is not a valid service account: %v", quote(h.ServiceAccount), err)
		}
	}
	if h.ErrorLog != "" && h.ErrorLog != ErrorLogSQL {
		if err := validAbsPath(h.ErrorLog); err != nil {
			r.add(field(path, "errorlog"), "%v; use an absolute path, or %q to read it through sp_readerrorlog", err, ErrorLogSQL)
		}
	}
	for i, e := range h.Events {
		if err := validAbsPath(e); err != nil {
			r.add(index(field(path, "events"), i), "%v", err)
		}
	}
	if h.Agent != "" && !validName(h.Agent, 64, true) {
		r.add(field(path, "agent"), "%s is not a valid agent name: use 1 to 64 letters, digits, '.', '_' or '-'", quote(h.Agent))
	}
	validateListeners(r, field(path, "listeners"), h)
	validateNames(r, field(path, "nodes"), "node", h.Nodes, h)
	validateNames(r, field(path, "aliases"), "alias", h.Aliases, h)
	seen := map[string]bool{}
	for i, t := range h.Tags {
		switch {
		case !validName(t, 32, false):
			r.add(index(field(path, "tags"), i), "%s is not a valid tag: use 1 to 32 lower-case letters, digits, '_' or '-'", quote(t))
		case seen[t]:
			r.add(index(field(path, "tags"), i), "tag %s is given twice", quote(t))
		}
		seen[t] = true
	}
}

func validateInstances(r *reporter, path string, list []triage.Instance) {
	seen := map[triage.Instance]int{} // normalized instance -> index
	ports := map[int]int{}            // port -> index of the first instance on it
	for i, in := range list {
		p := index(path, i)
		if r.skip(p) {
			continue // a placeholder for an element that could not be decoded
		}
		if in.Name != "" {
			if parsed, err := triage.ParseInstance(in.Name); err != nil || parsed.Name != in.Name || parsed.Port != 0 {
				r.add(p, "%s is not a valid instance name", quote(in.Name))
				continue
			}
		}
		if in.Port != 0 {
			if _, err := triage.ParsePort(strconv.Itoa(in.Port)); err != nil {
				r.add(p, "%v", err)
				continue
			}
		}
		name := strings.ToUpper(in.Name)
		if in.IsDefault() {
			name = "MSSQLSERVER"
		}
		key := triage.Instance{Name: name, Port: in.Port}
		if j, dup := seen[key]; dup {
			r.add(p, "%s is already listed as %s", key, index(path, j))
			continue
		}
		seen[key] = i
		if in.Port == 0 {
			continue
		}
		if j, dup := ports[in.Port]; dup { // by another instance, as same ones were caught above
			r.add(p, "port %d is already used by %s", in.Port, index(path, j))
			continue
		}
		ports[in.Port] = i
	}
}

// validateListeners checks the host's listeners: each a valid host name, its port
// (when given) from 1 to 65535, no name given twice (a short name and the FQDN it
// stands for are the same).
func validateListeners(r *reporter, path string, h Host) {
	seen := map[string]int{} // fully qualified lower-case name -> index
	for i, l := range h.Listeners {
		p := index(path, i)
		if r.skip(p) {
			continue
		}
		switch {
		case l.Name == "":
			r.add(field(p, "name"), "is required")
			continue
		case triage.ValidHostName(l.Name) != nil:
			r.add(field(p, "name"), "%s is not a valid host name: %v", quote(l.Name), triage.ValidHostName(l.Name))
			continue
		}
		if l.Port != 0 {
			if _, err := triage.ParsePort(strconv.Itoa(l.Port)); err != nil {
				r.add(field(p, "port"), "%v", err)
			}
		}
		k := strings.ToLower(h.qualified([]string{l.Name})[0])
		if j, dup := seen[k]; dup {
			r.add(field(p, "name"), "listener %s is already listed as %s", quote(l.Name), index(path, j))
			continue
		}
		seen[k] = i
	}
}

// validateNames checks a host's list of other names (nodes, aliases): each a valid
// host name, none given twice (a short name and the FQDN it stands for are the
// same), none the host's own name.
func validateNames(r *reporter, path, what string, names []string, h Host) {
	seen := map[string]int{} // fully qualified lower-case name -> index
	for i, n := range names {
		p := index(path, i)
		if r.skip(p) {
			continue
		}
		if err := triage.ValidHostName(n); err != nil {
			r.add(p, "%s is not a valid host name: %v", quote(n), err)
			continue
		}
		k := strings.ToLower(h.qualified([]string{n})[0])
		if j, dup := seen[k]; dup {
			r.add(p, "%s %s is already listed as %s", what, quote(n), index(path, j))
			continue
		}
		seen[k] = i
		if strings.EqualFold(n, h.Name) || (h.FQDN != "" && strings.EqualFold(k, h.FQDN)) {
			r.add(p, "%s is the host's own name, not another %s", quote(n), what)
		}
	}
}

// validName reports whether s is 1 to max characters of a-z, 0-9, '_' and
// '-', and also A-Z and '.' when loose.
func validName(s string, max int, loose bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		ok := r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') ||
			(loose && (r == '.' || (r >= 'A' && r <= 'Z')))
		if !ok {
			return false
		}
	}
	return true
}

// validAbsPath accepts an absolute path in Unix form (/var/opt/mssql/log/errorlog)
// or Windows form (C:\Program Files\...\ERRORLOG, C:/..., \\server\share\...),
// since logs may be read on the SQL Server host by an agent. Control characters
// are refused.
func validAbsPath(s string) error {
	const max = 4096
	if len(s) > max {
		return fmt.Errorf("path is longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("path %s is not valid UTF-8", quote(s))
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("path %s contains a control character", quote(s))
		}
	}
	drive := len(s) >= 3 && isLetter(s[0]) && s[1] == ':' && (s[2] == '\\' || s[2] == '/')
	unc := len(s) > 2 && strings.HasPrefix(s, `\\`)
	if !strings.HasPrefix(s, "/") && !drive && !unc {
		return fmt.Errorf("%s is not an absolute path", quote(s))
	}
	return nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// validServiceAccount accepts the forms a SQL Server service account takes:
// DOMAIN\name (also .\name for a local account, and a DNS domain), name@dns.domain,
// NT SERVICE\name, NT AUTHORITY\name, a gMSA name ending in '$', and the bare
// LocalSystem, LocalService and NetworkService. It refuses anything that could
// change the meaning of an LDAP filter or a command line: control characters,
// quotes, parentheses, '*', and more than 256 bytes.
func validServiceAccount(s string) error {
	const max = 256
	if len(s) > max {
		return fmt.Errorf("longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("contains a control character")
		}
		if strings.ContainsRune(`"'()*`, r) {
			return fmt.Errorf("%q is not allowed", r)
		}
	}
	for _, w := range []string{"LocalSystem", "LocalService", "NetworkService"} {
		if strings.EqualFold(s, w) {
			return nil
		}
	}
	if domain, name, ok := strings.Cut(s, `\`); ok {
		if err := accountName(name); err != nil {
			return err
		}
		switch u := strings.ToUpper(domain); {
		case u == "NT SERVICE" || u == "NT AUTHORITY" || domain == ".":
			return nil
		case domain == "":
			return errors.New(`the domain before '\' is empty`)
		case !validName(domain, 255, true):
			return fmt.Errorf("domain %s may have only letters, digits, '.', '_' and '-'", quote(domain))
		}
		return nil
	}
	if name, domain, ok := strings.Cut(s, "@"); ok {
		if err := accountName(name); err != nil {
			return err
		}
		if err := triage.ValidHostName(domain); err != nil {
			return fmt.Errorf("the domain after '@': %v", err)
		}
		return nil
	}
	return errors.New(`write DOMAIN\name, name@dns.domain, NT SERVICE\name or LocalSystem`)
}

// accountName checks the account part of DOMAIN\name or name@domain against the
// characters Active Directory forbids in logon names.
func accountName(s string) error {
	if s == "" {
		return errors.New("the account name is empty")
	}
	if strings.TrimSpace(s) != s {
		return errors.New("the account name starts or ends with a space")
	}
	if i := strings.IndexAny(s, `"/\[]:;|=,+*?<>@`); i >= 0 {
		return fmt.Errorf("%q is not allowed in an account name", s[i])
	}
	return nil
}
