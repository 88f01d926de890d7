package config

import (
	"cmp"
	"context"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/triage"
)

// A Delegation is one second hop of the delegation section: a front end (a SQL
// Server with a linked server, a Reporting Services or IIS application pool, a
// middle-tier service) whose service forwards its callers' identity to back-end SQL
// Servers, which Kerberos delegation must allow.
type Delegation struct {
	// FrontEnd is the inventory host (name or FQDN) that is the front end; "" for a
	// front end known by its account alone.
	FrontEnd string
	// Account is the account the front end's service runs as (DOMAIN\name,
	// name@dns.domain, DOMAIN\HOST$); "" when FrontEnd's service_account gives it.
	Account string
	// BackEnds are the back-end SQL Servers the front end must reach; at least one.
	BackEnds []BackEnd
	// Users are the users whose delegation to check on every back end (DOMAIN\name or
	// name@dns.domain): the directory's view of each, and the KDC's proof.
	Users []string
	// Keytab (a path) or Password (or password_file) are the front end's own
	// credentials, for the ticket-level proof (S4U2self and S4U2proxy as the front
	// end); neither: the proof is not made.
	Keytab   string
	Password Secret
	Line     int // line of the file where the entry is defined; 0 if unknown
}

// A BackEnd is one back-end SQL Server of a delegation entry, written HOST,
// HOST\INSTANCE, HOST:PORT or HOST\INSTANCE:PORT, HOST an inventory host.
type BackEnd struct {
	Host     string          // an inventory host's name or FQDN, as written
	Instance triage.Instance // zero: every instance the inventory lists for the host
}

// String returns the back end as the file writes it.
func (b BackEnd) String() string {
	s := b.Host
	if b.Instance.Name != "" {
		s += `\` + b.Instance.Name
	}
	if b.Instance.Port != 0 {
		s += ":" + strconv.Itoa(b.Instance.Port)
	}
	return s
}

// HasCredentials reports whether the entry gives the front end's credentials.
func (d Delegation) HasCredentials() bool { return d.Keytab != "" || d.Password != "" }

// FrontEndAccount returns the account of the front end of d: its account, or the one
// the front end's inventory entry runs as on the network (its service account, or
// HOST$ for a virtual account); "" when neither is known.
func (c *Config) FrontEndAccount(d Delegation) string {
	if d.Account != "" {
		return d.Account
	}
	if h, ok := c.Host(d.FrontEnd); ok && d.FrontEnd != "" {
		return h.Target().SPNOwner("")
	}
	return ""
}

// FrontEndPrincipal returns the Kerberos principal of the front end of d, without
// realm, and its realm: the account's name (DOMAIN\name gives name), in the realm of
// the kerberos section, or in the upper-cased DNS domain of name@dns.domain.
func (c *Config) FrontEndPrincipal(d Delegation) (principal, realm string) {
	account := c.FrontEndAccount(d)
	if c.Kerberos != nil {
		realm = c.Kerberos.Realm
	}
	if _, name, ok := strings.Cut(account, `\`); ok {
		return name, realm
	}
	if i := strings.LastIndexByte(account, '@'); i >= 0 {
		return account[:i], strings.ToUpper(account[i+1:])
	}
	return account, realm
}

// BackEndTarget returns the target of back end b: its inventory host's, with only
// the instance b names (its port, or name, from the inventory when it lists it).
func (c *Config) BackEndTarget(b BackEnd) (triage.Target, bool) {
	h, ok := c.Host(b.Host)
	if !ok {
		return triage.Target{}, false
	}
	t := h.Target()
	if b.Instance != (triage.Instance{}) {
		in := b.Instance
		if listed, ok := matchInstance(h.Instances, in); ok {
			in = listed
		}
		t.Instances = []triage.Instance{in}
	}
	return t, true
}

// matchInstance returns the instance of list that in names, its port filled in from
// in when the list does not give it: by name (ignoring case; MSSQLSERVER is the
// default instance) and, when both give one, port; or, for a port alone, the instance
// on that port (a default instance without a port is on 1433, where clients dial it).
func matchInstance(list []triage.Instance, in triage.Instance) (triage.Instance, bool) {
	for _, l := range list {
		port := l.Port
		if port == 0 && l.IsDefault() {
			port = 1433
		}
		if in.Name == "" {
			if port == in.Port {
				return triage.Instance{Name: l.Name, Port: port}, true
			}
			continue
		}
		sameName := strings.EqualFold(l.Name, in.Name) || (in.IsDefault() && l.IsDefault())
		if sameName && (in.Port == 0 || l.Port == 0 || l.Port == in.Port) {
			return triage.Instance{Name: l.Name, Port: cmp.Or(l.Port, in.Port)}, true
		}
	}
	return triage.Instance{}, false
}

func decodeDelegations(d *decoder, n *yaml.Node, path string) []Delegation {
	var list []Delegation
	d.sequence(n, path, func(n *yaml.Node, path string) {
		e := Delegation{Line: n.Line}
		d.mapping(n, path, fields{
			"front_end": d.str(&e.FrontEnd),
			"account":   d.str(&e.Account),
			"back_ends": func(n *yaml.Node, path string) { e.BackEnds = decodeBackEnds(d, n, path) },
			"users":     d.strs(&e.Users),
			"keytab":    d.str(&e.Keytab),
			"password":  d.secret(&e.Password),
		})
		list = append(list, e)
	})
	return list
}

// decodeBackEnds decodes a list of HOST, HOST\INSTANCE, HOST:PORT or
// HOST\INSTANCE:PORT. Elements with a problem are kept as zero BackEnds, so indexes
// match paths.
func decodeBackEnds(d *decoder, n *yaml.Node, path string) []BackEnd {
	var list []BackEnd
	d.sequence(n, path, func(n *yaml.Node, path string) {
		var b BackEnd
		if s, ok := d.scalar(n, path, `HOST, HOST\INSTANCE or HOST:PORT`); ok {
			var err error
			if b, err = parseBackEnd(s); err != nil {
				d.r.at(n.Line, path, "%s: %v", quote(s), err)
			}
		}
		list = append(list, b)
	})
	return list
}

// parseBackEnd parses HOST, HOST\INSTANCE, HOST:PORT or HOST\INSTANCE:PORT.
func parseBackEnd(s string) (BackEnd, error) {
	host, inst, named := strings.Cut(s, `\`)
	if !named {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, inst = s[:i], s[i:]
		}
	}
	if err := triage.ValidHostName(host); err != nil {
		return BackEnd{}, err
	}
	b := BackEnd{Host: host}
	if inst != "" || named {
		in, err := triage.ParseInstance(inst)
		if err != nil {
			return BackEnd{}, err
		}
		b.Instance = in
	}
	return b, nil
}

func validateDelegations(r *reporter, path string, list []Delegation, hosts []Host, k *Kerberos) {
	inv := &Config{Hosts: hosts, Kerberos: k}
	seen := map[string]int{} // account and back end -> index of the entry
	for i, d := range list {
		p := index(path, i)
		r.record(p, d.Line)
		front, frontOK := Host{}, false
		if d.FrontEnd != "" {
			if err := triage.ValidHostName(d.FrontEnd); err != nil {
				r.add(field(p, "front_end"), "%s is not a valid host name: %v", quote(d.FrontEnd), err)
			} else if front, frontOK = inv.Host(d.FrontEnd); !frontOK {
				r.add(field(p, "front_end"), "%s", notInInventory(inv, d.FrontEnd))
			}
		}
		switch {
		case d.Account != "":
			if err := triage.ValidAccount(d.Account); err != nil {
				r.add(field(p, "account"), "%s is not a valid account: %v", quote(d.Account), err)
			} else if triage.IsVirtualAccount(d.Account) {
				r.add(field(p, "account"), "%s is a virtual account, which uses the computer's account on the network: give that account, DOMAIN\\HOST$", quote(d.Account))
			}
		case d.FrontEnd == "":
			r.add(field(p, "account"), "is required: the account the front end's service runs as, such as CORP\\svc_web (or give front_end, an inventory host with a service_account)")
		case frontOK && front.ServiceAccount == "":
			r.add(field(p, "account"), "is required: front_end %s names no service_account in the hosts section", quote(d.FrontEnd))
		}
		account := strings.ToLower(inv.FrontEndAccount(d))
		if len(d.BackEnds) == 0 {
			r.add(field(p, "back_ends"), `is required: the back-end SQL Servers the front end reaches, inventory hosts written HOST, HOST\INSTANCE or HOST:PORT`)
		}
		for j, b := range d.BackEnds {
			bp := index(field(p, "back_ends"), j)
			if r.skip(bp) {
				continue // a placeholder for an element that could not be decoded
			}
			h, ok := inv.Host(b.Host)
			switch {
			case !ok:
				r.add(bp, "%s", notInInventory(inv, b.Host))
				continue
			case b.Instance != (triage.Instance{}) && len(h.Instances) > 0:
				if _, ok := matchInstance(h.Instances, b.Instance); !ok {
					listed := make([]string, len(h.Instances))
					for i, in := range h.Instances {
						listed[i] = in.String()
					}
					r.add(bp, "%s: the hosts section lists no such instance of %s (it lists %s)", quote(b.String()), quote(h.Name), strings.Join(listed, ", "))
					continue
				}
			}
			key := account + "|" + strings.ToLower(h.Name) + "|" + strings.ToUpper(b.Instance.String())
			if b.Instance == (triage.Instance{}) {
				key = account + "|" + strings.ToLower(h.Name)
			}
			if k, dup := seen[key]; dup && account != "" {
				where := index(path, k)
				if k == i {
					where = "this entry"
				}
				r.add(bp, "%s is already a back end of the same front end in %s", quote(b.String()), where)
				continue
			}
			seen[key] = i
		}
		eachOnce(r, field(p, "users"), d.Users, func(u string) string {
			if err := triage.ValidAccount(u); err != nil {
				return quote(u) + " is not a valid account: " + err.Error()
			}
			return ""
		})
		switch {
		case d.Keytab != "" && d.Password != "":
			r.add(field(p, "password"), "give keytab or password, not both")
		case d.HasCredentials() && k == nil:
			r.add(field(p, cutKey(d)), "the ticket-level proof asks the KDC of the kerberos section, which this file lacks")
		case d.Keytab != "":
			if err := validAbsPath(d.Keytab); err != nil {
				r.add(field(p, "keytab"), "%v", err)
			}
		}
	}
}

// cutKey is the key of d's credentials: keytab or password.
func cutKey(d Delegation) string {
	if d.Keytab != "" {
		return "keytab"
	}
	return "password"
}

// notInInventory says that name is not an inventory host, with a suggestion.
func notInInventory(c *Config, name string) string {
	msg := quote(name) + " is not in the hosts section"
	if near := c.Suggest(name); len(near) > 0 {
		msg += ", did you mean " + quote(near[0]) + "?"
	}
	return msg
}

// checkDelegation checks that each front end's keytab is readable, parses, and holds
// a key for the front end's principal in its realm.
func (c *fileCheck) checkDelegation(ctx context.Context) {
	for i, d := range c.cfg.Delegation {
		if d.Keytab == "" {
			continue
		}
		p := field(index("delegation", i), "keytab")
		data, ok := c.read(ctx, p, d.Keytab)
		if !ok {
			continue
		}
		kt := keytab.New()
		if err := kt.Unmarshal(data); err != nil {
			c.r.add(p, "%s is not a keytab: %v", quotePath(d.Keytab), err)
			continue
		}
		principal, realm := c.cfg.FrontEndPrincipal(d)
		found := false
		for _, e := range kt.Entries {
			if strings.Join(e.Principal.Components, "/") == principal && e.Principal.Realm == realm { // as gokrb5 looks keys up: case matters
				found = true
				break
			}
		}
		if !found {
			c.r.add(p, "%s holds no key for %s@%s, the front end's account", quotePath(d.Keytab), principal, realm)
		}
	}
}
