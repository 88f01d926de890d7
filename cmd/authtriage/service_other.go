//go:build !windows

package main

import (
	"context"
	"fmt"
	"os/user"
	"strconv"
)

// runAsService is for Windows services; elsewhere the process is never one.
func runAsService([]string) (code int, handled bool) { return 0, false }

// runAgentInstall is for Windows; on Linux, systemd runs the agent.
func runAgentInstall(_ context.Context, _ []string, e env) int {
	return usageError(e, "agent install creates a Windows service; on Linux, install deploy/authtriage-agent.service (see the README)")
}

// runAgentUninstall is for Windows.
func runAgentUninstall(_ []string, e env) int {
	return usageError(e, "agent uninstall removes the Windows service; on Linux: systemctl disable --now authtriage-agent")
}

// lookupGroup returns the numeric ID of the group name (a name or a number).
func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if g, err = user.LookupGroupId(name); err != nil {
			return 0, fmt.Errorf("no group %q on this system (create it: groupadd --system %s, or useradd --system creates the user's)", printable(name), printable(name))
		}
	}
	return strconv.Atoi(g.Gid)
}
