package triage

import "errors"

// ErrNotInInventory is wrapped by the error of a triage asked for a host the inventory
// does not list, so that a front end can answer "not found" without knowing who
// planned the triage.
var ErrNotInInventory = errors.New("not in the inventory")
