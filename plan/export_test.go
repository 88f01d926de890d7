package plan

import "github.com/authtriage/authtriage/triage"

// Inner returns the check a plan's check wraps to run it on the discovered target (or,
// for the instances check, to run it once for the plan), or c itself.
func Inner(c triage.Check) triage.Check {
	if w, ok := c.(onDiscovered); ok {
		return w.check
	}
	if w, ok := c.(discoverCheck); ok {
		return w.d.check
	}
	return c
}
