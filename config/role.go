package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A Role is what a configuration file is loaded for. Each role uses some of the
// top-level sections; the others are not expanded, not read (their X_file keys),
// not decoded and not validated, so that, for example, `check` runs with the bot's
// file without its Slack tokens in the environment. The sections a role does not
// use are left at their zero values in the Config.
type Role int

// The roles. RoleAll is the zero value: Load and Parse use every section.
const (
	RoleAll   Role = iota // every section
	RoleBot               // authtriage serve: needs slack; uses access, schedules, store, agents and the inventory
	RoleAgent             // authtriage agent: needs agent; uses the inventory, directory, kerberos and sql
	RoleCLI               // check, scan, agent ping: the inventory, agents, directory, kerberos and sql
	RoleAuto              // the bot's if the file has a slack section, the agent's if it has an agent section, both if both, else the CLI's
)

// ParseRole returns the role named bot, agent, cli, all or auto.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleAll, RoleBot, RoleAgent, RoleCLI, RoleAuto} {
		if strings.EqualFold(s, r.String()) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("%s is not a role: give bot, agent, cli or all", quote(s))
}

// String returns the role's name as ParseRole takes it.
func (r Role) String() string {
	switch r {
	case RoleAll:
		return "all"
	case RoleBot:
		return "bot"
	case RoleAgent:
		return "agent"
	case RoleCLI:
		return "cli"
	case RoleAuto:
		return "auto"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Describe names the role for a person: "the bot's configuration (serve)".
func (r Role) Describe() string {
	switch r {
	case RoleBot:
		return "the bot's configuration (serve)"
	case RoleAgent:
		return "the agent's configuration (agent)"
	case RoleCLI:
		return "the CLI's configuration (check, scan)"
	case RoleAuto:
		return "a file whose sections could not be read"
	}
	return "every section"
}

// uses reports whether the role uses the top-level section key. Keys starting
// with "x-" hold anchors for every section and are always used.
func (r Role) uses(key string) bool {
	if strings.HasPrefix(key, "x-") || slices.Contains([]string{"defaults", "hosts", "delegation", "directory", "kerberos", "sql"}, key) {
		return true
	}
	switch r {
	case RoleBot:
		return slices.Contains([]string{"slack", "access", "schedules", "store", "agents"}, key)
	case RoleAgent:
		return key == "agent"
	case RoleCLI:
		return key == "agents"
	}
	return true
}

// resolve returns the role RoleAuto stands for in the file whose root mapping is
// root, and any other role as it is.
func (r Role) resolve(root *yaml.Node) Role {
	if r != RoleAuto {
		return r
	}
	slack, agent := false, false
	if root != nil && root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			switch k := root.Content[i]; k.Value {
			case "slack":
				slack = slack || !isNull(root.Content[i+1])
			case "agent":
				agent = agent || !isNull(root.Content[i+1])
			}
		}
	}
	switch {
	case slack && agent:
		return RoleAll
	case slack:
		return RoleBot
	case agent:
		return RoleAgent
	}
	return RoleCLI
}
