package agent

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/authtriage/authtriage/triage"
)

// Bounds of the instances an agent's line may report (Observations.Instances). They
// are far above what one host has; a line beyond them is refused.
const (
	maxInstanceViews = 64   // instances of one host
	maxPortClaims    = 16   // claims per instance
	maxNames         = 64   // nodes of an instance, listeners of a host
	maxReplicas      = 16   // replicas of a listener's group
	maxAddresses     = 64   // addresses of a name, IPs of a listener
	maxGroups        = 1000 // connection groups, ring-buffer groups
	maxNotes         = 100
	maxChain         = 8    // CNAMEs followed from the host's name
	maxText          = 1000 // bytes of a note or an error
	maxWord          = 256  // bytes of any other string
)

// checkInstances refuses instance facts beyond the bounds above, with a port outside
// 0 to 65535, an unknown port source or a negative count, and sanitizes the rest in
// place: every string is made valid UTF-8 and cut to its bound, and a name the checks
// would build an SPN or dial from (an instance, a listener, a replica's host, a node, a
// CNAME) that is not one is dropped, with a note saying so for an instance and for a
// listener left with neither a name nor an FQDN. Sanitizing twice changes nothing.
func checkInstances(f *triage.InstanceFacts) error {
	switch {
	case len(f.Instances) > maxInstanceViews:
		return fmt.Errorf("%d instances; at most %d", len(f.Instances), maxInstanceViews)
	case len(f.Listeners) > maxNames:
		return fmt.Errorf("%d listeners; at most %d", len(f.Listeners), maxNames)
	case len(f.Connections) > maxGroups || len(f.Failures) > maxGroups:
		return fmt.Errorf("%d connection groups and %d ring-buffer groups; at most %d each", len(f.Connections), len(f.Failures), maxGroups)
	case len(f.Notes) > maxNotes:
		return fmt.Errorf("%d notes; at most %d", len(f.Notes), maxNotes)
	}
	var dropped []string
	views := f.Instances[:0]
	for _, v := range f.Instances {
		if err := checkView(&v); err != nil {
			return fmt.Errorf("instance %q: %w", printable(v.Name), err)
		}
		if !validInstanceName(v.Name) {
			dropped = append(dropped, fmt.Sprintf("an instance named %q was left out: not a valid instance name", word(v.Name)))
			continue
		}
		views = append(views, v)
	}
	f.Instances = views
	listeners := f.Listeners[:0]
	for _, l := range f.Listeners {
		name := word(l.Name)
		if err := checkListener(&l); err != nil {
			return fmt.Errorf("listener %q: %w", printable(l.Name), err)
		}
		if l.Name == "" && l.FQDN == "" {
			dropped = append(dropped, fmt.Sprintf("a listener named %q was left out: neither its name nor its FQDN is a host name", name))
			continue
		}
		listeners = append(listeners, l)
	}
	f.Listeners = listeners
	if n := f.Names; n != nil {
		if len(n.Chain) > maxChain || len(n.Addresses) > maxAddresses {
			return fmt.Errorf("names: %d CNAMEs and %d addresses; at most %d and %d", len(n.Chain), len(n.Addresses), maxChain, maxAddresses)
		}
		n.Asked, n.DNSHostName = hostName(n.Asked), hostName(n.DNSHostName)
		n.Chain = hostNames(n.Chain)
		words(n.Addresses)
	}
	for i := range f.Connections {
		c := &f.Connections[i]
		if c.Count < 0 {
			return fmt.Errorf("connection group %d: negative count", i)
		}
		c.Instance, c.AuthScheme, c.Transport, c.Client = word(c.Instance), word(c.AuthScheme), word(c.Transport), word(c.Client)
	}
	for i := range f.Failures {
		e := &f.Failures[i]
		if e.Count < 0 || e.Number < 0 || e.State < 0 || e.SSPIMillis < 0 || len(e.Clients) > triage.MaxClients {
			return fmt.Errorf("ring-buffer group %d: a negative count or more than %d clients", i, triage.MaxClients)
		}
		e.Instance, e.Buffer, e.API, e.CallingAPI, e.Code = word(e.Instance), word(e.Buffer), word(e.API), word(e.CallingAPI), word(e.Code)
		words(e.Clients)
	}
	for i, n := range f.Notes {
		f.Notes[i] = text(n)
	}
	f.Notes = append(f.Notes, dropped...)
	if len(f.Notes) > maxNotes {
		f.Notes = f.Notes[:maxNotes]
	}
	f.Instances, f.Listeners, f.Connections, f.Failures, f.Notes = orNil(f.Instances), orNil(f.Listeners), orNil(f.Connections), orNil(f.Failures), orNil(f.Notes)
	if n := f.Names; n != nil {
		n.Chain, n.Addresses = orNil(n.Chain), orNil(n.Addresses)
	}
	for i := range f.Failures {
		f.Failures[i].Clients = orNil(f.Failures[i].Clients)
	}
	return nil
}

// orNil returns nil for an empty list, as its JSON form (omitted) decodes.
func orNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// checkView checks one instance's bounds and ports, and sanitizes its strings.
func checkView(v *triage.InstanceView) error {
	if len(v.Ports) > maxPortClaims || len(v.Nodes) > maxNames {
		return fmt.Errorf("%d port claims and %d nodes; at most %d and %d", len(v.Ports), len(v.Nodes), maxPortClaims, maxNames)
	}
	for _, c := range v.Ports {
		if c.Port < 0 || c.Port > 65535 {
			return fmt.Errorf("port %d is not from 0 to 65535", c.Port)
		}
		if !knownSource(c.Source) {
			return fmt.Errorf("unknown port source %q", printable(string(c.Source)))
		}
	}
	v.Name = word(v.Name)
	v.Pipe, v.Version, v.BrowserServer = word(v.Pipe), word(v.Version), word(v.BrowserServer)
	v.ServerName, v.MachineName, v.PhysicalNode, v.ServiceAccount = word(v.ServerName), word(v.MachineName), word(v.PhysicalNode), word(v.ServiceAccount)
	if v.PhysicalNode != "" && triage.ValidHostName(v.PhysicalNode) != nil {
		v.PhysicalNode = ""
	}
	v.Nodes = hostNames(v.Nodes)
	v.Ports = orNil(v.Ports)
	return nil
}

// checkListener checks one listener's bounds and port, and sanitizes its strings; a
// name that is not a host name is cleared.
func checkListener(l *triage.Listener) error {
	switch {
	case l.Port < 0 || l.Port > 65535:
		return fmt.Errorf("port %d is not from 0 to 65535", l.Port)
	case len(l.Replicas) > maxReplicas:
		return fmt.Errorf("%d replicas; at most %d", len(l.Replicas), maxReplicas)
	case len(l.IPs) > maxAddresses || len(l.Addresses) > maxAddresses:
		return fmt.Errorf("%d IPs and %d addresses; at most %d each", len(l.IPs), len(l.Addresses), maxAddresses)
	}
	for _, r := range l.Replicas {
		if len(r.Addresses) > maxAddresses {
			return fmt.Errorf("replica %q: %d addresses; at most %d", printable(r.Server), len(r.Addresses), maxAddresses)
		}
	}
	l.Name, l.FQDN = hostName(l.Name), hostName(l.FQDN)
	l.Group, l.Source = word(l.Group), word(l.Source)
	words(l.IPs)
	words(l.Addresses)
	for i := range l.Replicas {
		r := &l.Replicas[i]
		r.Server, r.FQDN, r.ServiceAccount, r.Err = word(r.Server), hostName(r.FQDN), word(r.ServiceAccount), text(r.Err)
		words(r.Addresses)
		r.Addresses = orNil(r.Addresses)
	}
	l.IPs, l.Addresses, l.Replicas = orNil(l.IPs), orNil(l.Addresses), orNil(l.Replicas)
	return nil
}

func knownSource(s triage.PortSource) bool {
	return slices.Contains([]triage.PortSource{triage.PortInventory, triage.PortBrowser, triage.PortRegistry,
		triage.PortMssqlConf, triage.PortServerRegistry, triage.PortListening}, s)
}

// validInstanceName reports whether s names an instance as SQL Server allows.
func validInstanceName(s string) bool {
	if strings.EqualFold(s, "MSSQLSERVER") {
		return true
	}
	in, err := triage.ParseInstance(s)
	return err == nil && in.Port == 0 && in.Name == s
}

// hostName returns s when it is a host name (or ""), else "".
func hostName(s string) string {
	if s == "" || triage.ValidHostName(s) != nil {
		return ""
	}
	return s
}

// hostNames returns the names of list that are host names, nil for none.
func hostNames(list []string) []string {
	return orNil(slices.DeleteFunc(list, func(s string) bool { return hostName(s) == "" }))
}

// word returns s as valid UTF-8, cut to maxWord bytes.
func word(s string) string { return cut(s, maxWord) }

// text returns s as valid UTF-8, cut to maxText bytes.
func text(s string) string { return cut(s, maxText) }

func words(list []string) {
	for i, s := range list {
		list[i] = word(s)
	}
}

// cut returns s as valid UTF-8 of at most max bytes, cut at a character's start.
func cut(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
