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

// RequiredSPNs returns the MSSQLSvc SPNs clients ask for when they connect to the
// target's instances over TCP, in the FQDN forms Windows drivers build: for each
// instance MSSQLSvc/FQDN:PORT when the port is known, and MSSQLSvc/FQDN for the default
// instance or MSSQLSvc/FQDN:NAME for a named one. No instances means the default
// instance on 1433. It returns nil when the FQDN is not known.
func (t Target) RequiredSPNs() []string {
	if t.FQDN == "" {
		return nil
	}
	instances := t.Instances
	if len(instances) == 0 {
		instances = []Instance{{Port: 1433}}
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if k := strings.ToLower(s); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	for _, in := range instances {
		if in.Port != 0 {
			add("MSSQLSvc/" + t.FQDN + ":" + strconv.Itoa(in.Port))
		}
		if in.IsDefault() {
			add("MSSQLSvc/" + t.FQDN)
		} else {
			add("MSSQLSvc/" + t.FQDN + ":" + in.Name)
		}
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
