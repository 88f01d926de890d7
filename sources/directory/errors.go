package directory

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// ErrNotFound reports that the directory has no object of the name asked for.
// ErrAmbiguous reports that a name matched several objects. Errors wrapping them
// say which name and, for ErrAmbiguous, which objects.
var (
	ErrNotFound  = errors.New("not found in the directory")
	ErrAmbiguous = errors.New("matches several directory objects")
)

// maxMatches bounds the objects an exact lookup reads; more than one is ambiguous
// anyway.
const maxMatches = 100

// distinct returns accts without repeats of the same object (by SID, else DN),
// sorted by DN.
func distinct(accts []triage.Account) []triage.Account {
	var out []triage.Account
	for _, a := range accts {
		if !slices.ContainsFunc(out, a.SameAs) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b triage.Account) int {
		return cmp.Compare(strings.ToLower(a.DN), strings.ToLower(b.DN))
	})
	return out
}

// one returns the only account among accts: ErrNotFound when there is none,
// ErrAmbiguous (naming the objects) when there are several. what and name describe
// the lookup for the error.
func one(what, name string, accts []triage.Account) (triage.Account, error) {
	accts = distinct(accts)
	switch len(accts) {
	case 0:
		return triage.Account{}, fmt.Errorf("%s %q: %w", what, name, ErrNotFound)
	case 1:
		return accts[0], nil
	}
	dns := make([]string, len(accts))
	for i, a := range accts {
		dns[i] = a.DN
	}
	return triage.Account{}, fmt.Errorf("%s %q: %w: %s", what, name, ErrAmbiguous, strings.Join(dns, "; "))
}
