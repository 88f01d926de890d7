package diagnosis

import (
	"fmt"
	"maps"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// agentRule reports a helper agent that did not answer for some of its checks: the
// verdict is then incomplete, whatever else was found (status unknown).
type agentRule struct{}

func (agentRule) Name() string { return "agent" }

func (agentRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	var out []triage.Finding
	for _, a := range obs.Agents {
		if a.Err == "" {
			continue
		}
		f := triage.NewFinding(triage.AgentUnreachable, namesFor(t, obs).vars)
		if a.Agent != "" { // the agent as the configuration names it, for correlation
			f.Facts = maps.Clone(f.Facts)
			if f.Facts == nil {
				f.Facts = map[string]string{}
			}
			f.Facts["agent"] = a.Agent
		}
		f.Evidence = []triage.Evidence{{Check: "agent", Source: triage.SourceAgent,
			Text: fmt.Sprintf("agent %s (%s): %s", a.Agent, a.URL, a.Err)}}
		f.Summary = fmt.Sprintf("The agent %s did not answer for %s: %s", a.Agent, t.Host, a.Err)
		if len(a.Missing) > 0 {
			f.Summary += fmt.Sprintf("; these checks have no result: %s", strings.Join(a.Missing, ", "))
		}
		out = append(out, f)
	}
	return out
}
