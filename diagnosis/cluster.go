package diagnosis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// clusterRule reports, for a failover-cluster instance (the target has nodes, or SQL
// Server or the Browser says it is clustered), the SPNs that are on a node rather than
// on the virtual network name clients connect to: an SPN built on a node's name that
// some account holds (DirectoryFacts.Probes of kind ProbeNode), and a required SPN,
// built on the virtual name, that a node's computer account holds. They are grouped by
// the virtual name's SPN they stand for (clusterFaults): one finding each, with every
// node's SPN as evidence and a setspn -D step per owner, critical when the virtual
// name's SPN is missing or on a node, a warning when only superfluous node-name SPNs
// are registered. spnRule leaves those required SPNs to this rule (one fault, one
// finding).
//
// Sources: "Register a Service Principal Name for Kerberos Connections": "The
// information that is provided in this topic also applies to SQL Server configurations
// that use clustering"; the client constructs the SPN "based on the protocol used,
// server name, and the instance name" it connects with, and the SPN maps "to the
// Windows account that started the SQL Server instance service",
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections.
// "SERVERPROPERTY (Transact-SQL)", MachineName: "For a clustered instance ... it returns
// the name of the virtual server",
// https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql.
// Microsoft's pages do not describe an SPN built on a node's name as such; the
// findings say so.
type clusterRule struct{}

func (clusterRule) Name() string { return "cluster-spn-on-node" }

// clusterSilence is what the findings say of Microsoft's word on node names.
const clusterSilence = " Microsoft's SPN page applies its rules to clustered instances and has clients build the SPN from the name they connect to, the virtual network name; it does not describe SPNs on node names as such."

func (clusterRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || t.FQDN == "" || !clustered(t, obs) {
		return nil
	}
	n, want := spnNames(t, obs)
	instance := clusterInstance(t, obs)
	sqlEv := clusterEvidence(obs)
	var out []triage.Finding
	for _, g := range clusterFaults(t, obs) {
		owners, required := ownersOf(d, g.virtual)
		missing := required && len(owners) == 0
		wrongSPN, wrong := g.virtual, ""
		if g.node != nil {
			wrong = g.node.Name()
		} else {
			wrongSPN, wrong = g.probes[0].SPN, g.probes[0].Owners[0].Name()
		}
		f := triage.NewFinding(triage.ClusterSPNOnNode, n.with(triage.PHSPN, g.virtual, triage.PHAccount, want,
			triage.PHWrongSPN, wrongSPN, triage.PHWrong, wrong, triage.PHInstance, instance))
		var steps []triage.Step
		var summary []string
		if g.node != nil {
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: registered on %s (%s), the computer account of a node of the cluster", g.virtual, g.node.Name(), g.node.DN)})
			steps = append(steps, removeStep(g.virtual, *g.node, "clients connect to the virtual network name on whichever node runs the instance, and the instance's service account must hold its SPN"))
			// A service running as LocalSystem or NETWORK SERVICE is the computer's
			// account: "If the SQL Server startup account is a local system account, the
			// appropriate container is the computer name. For any other account, the
			// appropriate container is the SQL Server startup account" ("Cannot generate
			// SSPI context", https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/cannot-generate-sspi-context-error);
			// "machine$@domain or host\FQDN for a computer domain account such as Local
			// System or NETWORK SERVICES" ("Register a Service Principal Name for
			// Kerberos Connections", Client Connections, linkRegisterSPN).
			summary = append(summary, fmt.Sprintf("%s, the SPN of the virtual network name %s, is registered on %s, a node's computer account, not on the account %s runs as%s: Kerberos through the virtual name fails on every node unless the instance runs as that node's computer account (LocalSystem or NETWORK SERVICE), and then works only while the instance runs on that node",
				g.virtual, t.FQDN, g.node.Name(), instance, orKnown(want)))
		} else if missing {
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN", g.virtual)})
			f.Evidence = append(f.Evidence, ticketEvidence(d, g.virtual)...)
		}
		var nodeSPNs []string
		for _, p := range g.probes {
			names := accountNames(p.Owners)
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: registered on %s; %s is a node of the cluster, not its virtual network name %s", p.SPN, names, p.For, t.FQDN)})
			for _, o := range p.Owners {
				steps = append(steps, removeStep(p.SPN, o, "clients never ask a node for it, and it goes with the node, not the instance"))
			}
			nodeSPNs = append(nodeSPNs, fmt.Sprintf("%s (on %s)", p.SPN, names))
		}
		switch {
		case g.node == nil && missing:
			summary = append(summary, fmt.Sprintf("%s is registered on no account, but the SPNs built on the nodes' names are: %s. Clients connect to the virtual network name %s and ask for %s, so they fall back to NTLM or fail",
				g.virtual, strings.Join(nodeSPNs, ", "), t.FQDN, g.virtual))
		case g.node == nil:
			// The virtual name's SPN is there (or spnRule judges it): the nodes' are
			// superfluous, and a client that connects to a node by name gets a ticket
			// for an account that may not be the instance's.
			f.Severity = triage.Warning
			summary = append(summary, fmt.Sprintf("The SPNs built on the nodes' names are registered: %s. Clients of the clustered instance %s connect to the virtual network name %s, whose SPN is %s; the nodes' SPNs are not needed and go with the nodes, not the instance",
				strings.Join(nodeSPNs, ", "), instance, t.FQDN, g.virtual))
		case len(nodeSPNs) > 0:
			summary = append(summary, fmt.Sprintf("the SPNs built on the nodes' names are registered too, and not needed: %s", strings.Join(nodeSPNs, ", ")))
		}
		if g.node != nil || missing {
			text := fmt.Sprintf("Register %s, the SPN of the virtual network name, on the instance's service account (-S checks for duplicates first)", g.virtual)
			if want == "" {
				text = fmt.Sprintf("Register %s on the account the instance runs as (-S checks for duplicates first): that account is not known, so give it to have the exact command", g.virtual)
			}
			steps = append(steps, triage.NewStep(text, setspn("-S", triage.PHSPN, triage.PHAccount), map[string]string{triage.PHSPN: g.virtual, triage.PHAccount: want}))
		}
		f.Evidence = append(f.Evidence, sqlEv...)
		f.Remediation = steps
		f.Summary = strings.Join(summary, "; ") + "." + clusterSilence
		out = append(out, f)
	}
	return out
}

// A clusterFault is what is wrong with one SPN of the virtual network name: held by a
// node's computer account (node), and the SPNs built on the nodes' names for it that
// some account holds (probes).
type clusterFault struct {
	virtual string
	node    *triage.Account
	probes  []triage.SPNProbe
}

// clusterFaults groups the cluster's misplaced SPNs by the virtual name's SPN they
// stand for, in the order the directory gave them: one fault, one finding, whatever
// the number of nodes.
func clusterFaults(t triage.Target, obs triage.Observations) []clusterFault {
	d := obs.Directory
	var out []clusterFault
	at := func(virtual string) *clusterFault {
		for i := range out {
			if strings.EqualFold(out[i].virtual, virtual) {
				return &out[i]
			}
		}
		out = append(out, clusterFault{virtual: virtual})
		return &out[len(out)-1]
	}
	for _, so := range d.SPNs {
		if node, ok := nodeOwner(t, obs, so); ok {
			at(so.SPN).node = &node
		}
	}
	for _, p := range d.Probes {
		if p.Kind == triage.ProbeNode && len(p.Owners) > 0 {
			g := at(onHost(p.SPN, p.For, t.FQDN))
			g.probes = append(g.probes, p)
		}
	}
	return out
}

// removeStep returns the step that removes spn from o, saying why.
func removeStep(spn string, o triage.Account, why string) triage.Step {
	return triage.NewStep(fmt.Sprintf("Remove %s from %s: %s", spn, o.Name(), why),
		setspn("-D", triage.PHSPN, triage.PHWrong), map[string]string{triage.PHSPN: spn, triage.PHWrong: o.Name()})
}

// clusterReported reports whether clusterRule reports so, a required SPN: held by a
// node's computer account, or missing while its node-name form is registered.
func clusterReported(t triage.Target, obs triage.Observations, so triage.SPNOwners) bool {
	d := obs.Directory
	if d == nil || t.FQDN == "" || !clustered(t, obs) {
		return false
	}
	if _, ok := nodeOwner(t, obs, so); ok {
		return true
	}
	if len(so.Owners) != 0 {
		return false
	}
	return slices.ContainsFunc(d.Probes, func(p triage.SPNProbe) bool {
		return p.Kind == triage.ProbeNode && len(p.Owners) > 0 && strings.EqualFold(onHost(p.SPN, p.For, t.FQDN), so.SPN)
	})
}

// clustered reports whether the target is a failover-cluster instance: it has nodes,
// or SQL Server or the Browser said an instance is clustered.
func clustered(t triage.Target, obs triage.Observations) bool {
	if len(t.Nodes) > 0 {
		return true
	}
	if obs.Instances == nil {
		return false
	}
	return slices.ContainsFunc(obs.Instances.Instances, func(v triage.InstanceView) bool { return v.Clustered != nil && *v.Clustered })
}

// nodeOwner returns the single owner of so when it is a node's computer account: a
// computer whose sAMAccountName is a node's NetBIOS name followed by $, or whose
// dNSHostName is a node's FQDN. The instance's own computer account (the virtual
// name's) is not a node's.
func nodeOwner(t triage.Target, obs triage.Observations, so triage.SPNOwners) (triage.Account, bool) {
	if len(so.Owners) != 1 {
		return triage.Account{}, false
	}
	o := so.Owners[0]
	if !strings.EqualFold(o.Class, "computer") && !strings.HasSuffix(o.SAMAccountName, "$") {
		return triage.Account{}, false
	}
	if strings.EqualFold(o.SAMAccountName, t.ComputerAccount()) {
		return triage.Account{}, false
	}
	for _, node := range nodeNames(t, obs) {
		short, _, _ := strings.Cut(node, ".")
		if len(short) > 15 {
			short = short[:15]
		}
		if strings.EqualFold(o.SAMAccountName, short+"$") || (o.DNSHostName != "" && strings.EqualFold(o.DNSHostName, node)) {
			return o, true
		}
	}
	return triage.Account{}, false
}

// nodeNames returns the cluster's nodes as known: the target's FQDNs, and the NetBIOS
// names SQL Server gave.
func nodeNames(t triage.Target, obs triage.Observations) []string {
	out := slices.Clone(t.Nodes)
	if obs.Instances != nil {
		for _, v := range obs.Instances.Instances {
			for _, n := range append(slices.Clone(v.Nodes), v.PhysicalNode) {
				if n != "" {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// clusterInstance names the clustered instance for text: the virtual name, with the
// instance's name for a named instance.
func clusterInstance(t triage.Target, obs triage.Observations) string {
	if obs.Instances != nil {
		for _, v := range obs.Instances.Instances {
			if v.Clustered != nil && *v.Clustered && !v.IsDefault() {
				return t.ShortName() + `\` + v.Name
			}
		}
	}
	return t.ShortName()
}

// clusterEvidence returns what SQL Server said of its clustering, as evidence of the
// instances check.
func clusterEvidence(obs triage.Observations) []triage.Evidence {
	if obs.Instances == nil {
		return nil
	}
	var out []triage.Evidence
	for _, v := range obs.Instances.Instances {
		if v.Clustered == nil || !*v.Clustered {
			continue
		}
		text := fmt.Sprintf("%s is a failover-cluster instance (SERVERPROPERTY('IsClustered') or the Browser's IsClustered)", viewName(v))
		if v.MachineName != "" {
			text += fmt.Sprintf("; SERVERPROPERTY('MachineName'), its virtual network name: %s", v.MachineName)
		}
		if v.PhysicalNode != "" {
			text += fmt.Sprintf("; it runs on the node %s now (ComputerNamePhysicalNetBIOS)", v.PhysicalNode)
		}
		out = append(out, triage.Evidence{Check: instancesCheck, Source: triage.SourceSQL, Text: text})
	}
	return out
}

// onHost returns spn with its host part from replaced by to: MSSQLSvc/NODE:PORT for
// the virtual name.
func onHost(spn, from, to string) string {
	rest, ok := cutPrefixFold(spn, "MSSQLSvc/"+from)
	if !ok {
		return spn
	}
	return "MSSQLSvc/" + to + rest
}

// ownersOf returns the owners of spn among the required SPNs, and whether it is one.
func ownersOf(d *triage.DirectoryFacts, spn string) ([]triage.Account, bool) {
	for _, so := range d.SPNs {
		if strings.EqualFold(so.SPN, spn) {
			return so.Owners, true
		}
	}
	return nil, false
}

// orKnown writes an account in parentheses, or nothing when it is not known.
func orKnown(account string) string {
	if account == "" {
		return ""
	}
	return " (" + account + ")"
}
