package triage

import (
	"fmt"
	"strconv"
	"strings"
)

// A Target is one SQL Server host to triage, as the inventory or the command line
// describes it. Only Host is required; checks that need more are skipped.
type Target struct {
	Host           string     // the name the user asked for: an inventory name or a host name
	FQDN           string     // fully qualified DNS name, e.g. "sqlhost01.corp.example"
	Instances      []Instance // empty means the default instance on port 1433, unverified
	ServiceAccount string     // as configured: CORP\svc_sql, svc_sql@corp.example, CORP\gmsa$, NT SERVICE\MSSQLSERVER
	// Listeners are the availability-group listeners whose replicas include the host's
	// instances.
	Listeners []Listener
	// Nodes are the FQDNs of the failover-cluster nodes a clustered instance runs on:
	// the SPNs belong to its virtual name (FQDN), never to these.
	Nodes []string
	// Aliases are other names clients reach the host by (DNS CNAMEs leading to FQDN).
	Aliases []string
}

// An Instance is one SQL Server instance on a host.
type Instance struct {
	Name string // "" or "MSSQLSERVER" for the default instance
	Port int    // 0 when unknown (a named instance on a dynamic port)
}

// IsDefault reports whether the instance is the default instance.
func (i Instance) IsDefault() bool {
	return i.Name == "" || strings.EqualFold(i.Name, "MSSQLSERVER")
}

// String returns the instance as users write it: "MSSQLSERVER:1433", "SALES", "SALES:50123".
func (i Instance) String() string {
	name := i.Name
	if name == "" {
		name = "MSSQLSERVER"
	}
	if i.Port == 0 {
		return name
	}
	return name + ":" + strconv.Itoa(i.Port)
}

// ParseInstance parses NAME, NAME:PORT or :PORT (the default instance on PORT).
func ParseInstance(s string) (Instance, error) {
	name, port, hasPort := strings.Cut(s, ":")
	var in Instance
	if name != "" {
		if err := validInstanceName(name); err != nil {
			return Instance{}, err
		}
		in.Name = name
	}
	if hasPort {
		p, err := ParsePort(port)
		if err != nil {
			return Instance{}, err
		}
		in.Port = p
	} else if name == "" {
		return Instance{}, fmt.Errorf("empty instance")
	}
	return in, nil
}

// ParsePort parses a TCP port number from 1 to 65535.
func ParsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return p, nil
}

// validInstanceName applies SQL Server's rules for instance names: at most 16
// characters, letters, digits, '_' and '$', starting with a letter or '_'.
func validInstanceName(s string) error {
	if len(s) > 16 {
		return fmt.Errorf("instance name %q is longer than 16 characters", s)
	}
	for i, r := range s {
		ok := r == '_' || isASCIILetter(r) || (i > 0 && (r == '$' || (r >= '0' && r <= '9')))
		if !ok {
			return fmt.Errorf("instance name %q: %q is not allowed there", s, r)
		}
	}
	return nil
}

// ValidHostName reports whether s is a DNS host name (a single label or a fully
// qualified name) that is safe to pass to DNS, LDAP filters and commands: letters,
// digits and hyphens in labels of 1 to 63 characters, at most 253 characters, no
// leading or trailing hyphen. A trailing dot is not accepted.
func ValidHostName(s string) error {
	if s == "" {
		return fmt.Errorf("empty host name")
	}
	if len(s) > 253 {
		return fmt.Errorf("host name is longer than 253 characters")
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return fmt.Errorf("host name %q has an empty label", s)
		}
		if len(label) > 63 {
			return fmt.Errorf("host name %q has a label longer than 63 characters", s)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host name %q has a label that starts or ends with '-'", s)
		}
		for _, r := range label {
			if !(isASCIILetter(r) || (r >= '0' && r <= '9') || r == '-') {
				return fmt.Errorf("host name %q: %q is not allowed in a host name", printable(s), r)
			}
		}
	}
	return nil
}

func isASCIILetter(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }

// printable shortens and quotes-safe a user-supplied string for an error message.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// ShortName returns the first label of the target's FQDN or host name, in upper case,
// as NetBIOS and computer account names use it.
func (t Target) ShortName() string {
	name := t.FQDN
	if name == "" {
		name = t.Host
	}
	short, _, _ := strings.Cut(name, ".")
	return strings.ToUpper(short)
}

// ComputerAccount returns the sAMAccountName of the target's computer account: its
// NetBIOS name, the first label of its name cut to the 15 characters NetBIOS allows,
// in upper case, followed by $.
func (t Target) ComputerAccount() string {
	short := t.ShortName()
	if len(short) > 15 {
		short = short[:15]
	}
	return short + "$"
}

// A Transport is how a client reaches an instance; it decides the SPN the client asks
// the KDC for.
type Transport string

const (
	// TransportTCP: the client asks for MSSQLSvc/FQDN:PORT, for default and named
	// instances alike.
	TransportTCP Transport = "tcp"
	// TransportPipes: Named Pipes and Shared Memory; the client asks for
	// MSSQLSvc/FQDN:INSTANCE for a named instance and MSSQLSvc/FQDN for the default one.
	TransportPipes Transport = "named pipes"
)

// An SPNRequirement is one SPN the clients of an instance ask for, and over which
// transport they ask for it.
type SPNRequirement struct {
	SPN       string
	Transport Transport
	Instance  Instance
	// Listener is the FQDN of the availability-group listener the SPN is for; "" for
	// the host's own SPNs.
	Listener string
}

// SPNRequirements returns the MSSQLSvc SPNs clients build when they connect to the
// target's instances, in the FQDN forms Windows drivers build, TCP forms first: for
// each instance MSSQLSvc/FQDN:PORT (TCP) when its port is known, then MSSQLSvc/FQDN
// (default instance) or MSSQLSvc/FQDN:NAME (named instance) for Named Pipes and
// Shared Memory. No instances means the default instance on 1433; a default instance
// without a port is the one on 1433, where clients dial it. A named instance without a
// port has no TCP requirement: see PortUnknown. It returns nil when the FQDN is not
// known.
//
// Source: "Register a Service Principal Name for Kerberos Connections", Client
// Connections: "For a TCP connection, an SPN in the format MSSQLSvc/FQDN:[port] is used
// for both the named and default instances. For named pipes and shared memory
// connections, an SPN in the format MSSQLSvc/<FQDN>:<instancename> is used for a named
// instance and MSSQLSvc/<FQDN> is used for the default instance."
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections
func (t Target) SPNRequirements() []SPNRequirement {
	return t.SPNFormsFor(t.FQDN)
}

// SPNFormsFor returns the SPNs SPNRequirements builds for the target's instances, with
// fqdn in place of the target's FQDN: the forms clients ask for when they reach the
// instances by that name (a DNS alias), or that must not be registered (a cluster
// node's name). It returns nil when fqdn is "".
func (t Target) SPNFormsFor(fqdn string) []SPNRequirement {
	if fqdn == "" {
		return nil
	}
	var tcp, pipes []SPNRequirement
	seen := map[string]bool{}
	add := func(to *[]SPNRequirement, spn string, tr Transport, in Instance) {
		if k := strings.ToLower(spn); !seen[k] {
			seen[k] = true
			*to = append(*to, SPNRequirement{SPN: spn, Transport: tr, Instance: in})
		}
	}
	for _, in := range t.instances() {
		if in.Port != 0 {
			add(&tcp, "MSSQLSvc/"+fqdn+":"+strconv.Itoa(in.Port), TransportTCP, in)
		}
		if in.IsDefault() {
			add(&pipes, "MSSQLSvc/"+fqdn, TransportPipes, in)
		} else {
			add(&pipes, "MSSQLSvc/"+fqdn+":"+in.Name, TransportPipes, in)
		}
	}
	return append(tcp, pipes...)
}

// RequiredSPNs returns the SPNs of SPNRequirements, TCP forms first.
func (t Target) RequiredSPNs() []string {
	var out []string
	for _, r := range t.SPNRequirements() {
		out = append(out, r.SPN)
	}
	return out
}

// TransportOf returns the transport whose clients ask for spn, for an SPN of
// SPNRequirements; TransportTCP for any other.
func (t Target) TransportOf(spn string) Transport {
	for _, r := range t.SPNRequirements() {
		if strings.EqualFold(r.SPN, spn) {
			return r.Transport
		}
	}
	return TransportTCP
}

// PortUnknown returns the named instances whose TCP port is not known, so the SPN their
// TCP clients ask for (MSSQLSvc/FQDN:PORT) cannot be named or checked.
func (t Target) PortUnknown() []Instance {
	var out []Instance
	for _, in := range t.instances() {
		if in.Port == 0 && !in.IsDefault() {
			out = append(out, in)
		}
	}
	return out
}

// instances returns the target's instances, a default instance without a port on
// 1433, and no instances as the default instance on 1433.
func (t Target) instances() []Instance {
	if len(t.Instances) == 0 {
		return []Instance{{Port: 1433}}
	}
	out := make([]Instance, len(t.Instances))
	for i, in := range t.Instances {
		if in.IsDefault() && in.Port == 0 {
			in.Port = 1433
		}
		out[i] = in
	}
	return out
}

// IsVirtualAccount reports whether a service account is one whose network identity is
// the computer account: NT SERVICE\*, NT AUTHORITY\* (NetworkService, LocalService,
// SYSTEM) and LocalSystem. SPNs for such a service belong on HOST$.
func IsVirtualAccount(account string) bool {
	d, _, hasDomain := strings.Cut(account, `\`)
	return strings.EqualFold(account, "LocalSystem") || strings.EqualFold(account, "NetworkService") ||
		strings.EqualFold(account, "LocalService") ||
		(hasDomain && (strings.EqualFold(d, "NT SERVICE") || strings.EqualFold(d, "NT AUTHORITY")))
}

// SPNOwner returns the directory account that must own the target's SPNs, as a lookup
// name: the service account itself, or HOST$ (the computer account) when SQL Server
// runs as a virtual account, LocalSystem or NetworkService. account overrides the
// target's configured service account when the configuration names none (for example,
// the one SQL Server reported in its ERRORLOG). It returns "" when no account is known.
func (t Target) SPNOwner(account string) string {
	if t.ServiceAccount != "" {
		account = t.ServiceAccount
	}
	switch {
	case account == "":
		return ""
	case IsVirtualAccount(account):
		return t.ComputerAccount()
	}
	return account
}
