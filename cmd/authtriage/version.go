package main

import (
	"fmt"
	"runtime/debug"
)

func runVersion(args []string, e env) int {
	if len(args) > 0 {
		fmt.Fprintf(e.stderr, "authtriage: version takes no arguments\n")
		return exitUnknown
	}
	fmt.Fprintln(e.stdout, versionString())
	return exitOK
}

// versionString returns "authtriage v1.2.3 (rev 0123abcd, 2026-11-25T10:00:00Z) go1.26.8",
// read from the build information Go embeds in every binary.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "authtriage (unknown version)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	out := "authtriage " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += fmt.Sprintf(" (rev %s, %s%s)", rev, when, dirty)
	}
	return out + " " + info.GoVersion
}
