package diagnosis

import "github.com/authtriage/authtriage/triage"

// instanceSafetyScenarios make the rules of instances as their clients see them fire,
// for TestNoRuleFixOpensTheServer.
func instanceSafetyScenarios() []safetyScenario {
	yes := true
	failed := logEv(triage.Msg26067, "0x2098", 15, 1)
	failed.SPN = salesTCP
	withProbe := func(d *triage.DirectoryFacts, kind triage.ProbeKind, spn, host string, owners ...triage.Account) *triage.DirectoryFacts {
		d.Probes = append(d.Probes, triage.SPNProbe{SPNOwners: owned(spn, owners...), Kind: kind, For: host})
		return d
	}
	stale := instDir(owned(salesTCP), owned(salesPipes, instSvc))
	stale.HostSPNs = []triage.SPNOwners{owned("MSSQLSvc/sqlhost01.corp.example:49833", instOld)}
	fci := triage.Target{Host: "sqlfci01", FQDN: "sqlfci01.corp.example", Instances: []triage.Instance{{Port: 1433}},
		ServiceAccount: `CORP\svc_sql01`, Nodes: []string{"node1.corp.example"}}
	return []safetyScenario{
		{name: "dynamic port, SPN not registered by SQL Server", target: salesTarget, obs: triage.Observations{Logs: []triage.LogEvent{failed},
			Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(claim(triage.PortRegistry, 50177, true), claim(triage.PortListening, 50177, false))}}}},
		{name: "port mismatch, restart pending", target: salesTarget, obs: triage.Observations{
			Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(claim(triage.PortInventory, 1433, false), claim(triage.PortRegistry, 1500, false), claim(triage.PortListening, 50177, false))}}}},
		{name: "stale port", target: salesTarget, obs: triage.Observations{Directory: stale}},
		{name: "cluster SPN on a node", target: fci, obs: triage.Observations{Directory: withProbe(
			instDir(owned("MSSQLSvc/sqlfci01.corp.example:1433"), owned("MSSQLSvc/sqlfci01.corp.example", instSvc)),
			triage.ProbeNode, "MSSQLSvc/node1.corp.example:1433", "node1.corp.example", instSvc)}},
		{name: "alias form missing", obs: triage.Observations{Directory: withProbe(
			instDir(owned("MSSQLSvc/sqlhost01.corp.example:1433", instSvc), owned("MSSQLSvc/sqlhost01.corp.example", instSvc)),
			triage.ProbeAlias, "MSSQLSvc/sales-db.corp.example:1433", "sales-db.corp.example")}},
		{name: "host renamed", obs: triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{
			{Name: "MSSQLSERVER", ServerName: "OLDHOST", MachineName: "SQLHOST01", Clustered: new(bool)},
			{Name: "SALES", ServerName: `OLDFCI\SALES`, MachineName: "SQLFCI01", Clustered: &yes}}}}},
	}
}
