package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// serverNameRule reports each instance whose @@SERVERNAME is not the computer's name
// SQL Server reports (SERVERPROPERTY('MachineName'), with the instance's name for a
// named instance): the host was renamed and the instance's own name, in sys.servers,
// was not. A warning: logins do not fail for it, but whatever names the server by
// @@SERVERNAME (linked servers, replication, tools, and anyone who builds an SPN from
// it) names a computer that no longer exists. The fix is Microsoft's: sp_dropserver
// the old name, sp_addserver the new one as local, restart; written as T-SQL with both
// names as string literals, never pasted into the statement.
//
// Source: "Rename a computer that hosts a stand-alone instance of SQL Server",
// https://learn.microsoft.com/sql/database-engine/install-windows/rename-a-computer-that-hosts-a-stand-alone-instance-of-sql-server,
// which does not apply to failover-cluster instances; for those the finding keeps
// the prose and drops the commands. "SERVERPROPERTY (Transact-SQL)", MachineName,
// https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql.
type serverNameRule struct{}

func (serverNameRule) Name() string { return "name-server-name" }

func (serverNameRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if obs.Instances == nil {
		return nil
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, v := range obs.Instances.Instances {
		if v.ServerName == "" || v.MachineName == "" {
			continue
		}
		want := v.MachineName
		if !v.IsDefault() {
			want += `\` + v.Name
		}
		if strings.EqualFold(v.ServerName, want) {
			continue
		}
		f := triage.NewFinding(triage.NameServerNameChanged, n.with(triage.PHInstance, viewName(v),
			triage.PHServerName, v.ServerName, triage.PHNewServerName, want))
		f.Evidence = append(f.Evidence, triage.Evidence{Check: instancesCheck, Source: triage.SourceSQL,
			Text: fmt.Sprintf("%s: @@SERVERNAME is %s; SERVERPROPERTY('MachineName') is %s", viewName(v), v.ServerName, v.MachineName)})
		f.Summary = fmt.Sprintf("@@SERVERNAME of %s is %s, but SQL Server runs on %s (SERVERPROPERTY('MachineName')): the computer was renamed and sys.servers still holds the old name, which linked servers, replication and tools that name the server by @@SERVERNAME reach",
			viewName(v), v.ServerName, v.MachineName)
		if v.Clustered != nil && *v.Clustered {
			// Microsoft's steps are for stand-alone instances only.
			f.Summary += ". It is a failover-cluster instance: Microsoft's rename steps are for stand-alone instances, so rename it through its virtual network name instead"
			f.Remediation = []triage.Step{{Text: "This is a failover-cluster instance: the rename steps for stand-alone instances (sp_dropserver, sp_addserver) do not apply; its name is the virtual network name, changed through the cluster"}}
		}
		out = append(out, f)
	}
	return out
}
