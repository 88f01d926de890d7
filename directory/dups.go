package directory

import (
	"cmp"
	"slices"
	"strings"

	"authtriage/triage"
)

// A holder is an object that holds SPNs, as much of it as a duplicate scan keeps.
type holder struct {
	dn, sid, sam string
	index        int // LDIF: the object's position in LDIF.accounts
}

// same reports whether h and o are the same object: by SID when both have one, else
// by DN.
func (h *holder) same(o *holder) bool {
	if h.sid != "" && o.sid != "" {
		return h.sid == o.sid
	}
	return strings.EqualFold(h.dn, o.dn)
}

// A dupFinder finds the SPNs held by more than one object. Its memory is bounded by
// the number of distinct SPNs: for each it keeps only its first holder (shared by
// all that holder's SPNs), and further holders only for SPNs that turn out to be
// duplicated.
type dupFinder struct {
	prefix string // lower case; only SPNs starting with it count
	first  map[string]firstHolder
	more   map[string][]*holder // lower-case SPN -> holders after the first
}

type firstHolder struct {
	spn string // as the first holder spells it
	h   *holder
}

func newDupFinder(prefix string) *dupFinder {
	return &dupFinder{
		prefix: strings.ToLower(prefix),
		first:  map[string]firstHolder{},
		more:   map[string][]*holder{},
	}
}

// add records that h holds spns.
func (d *dupFinder) add(h *holder, spns []string) {
	for _, spn := range spns {
		key := strings.ToLower(spn) // AD compares SPNs case-insensitively
		if !strings.HasPrefix(key, d.prefix) {
			continue
		}
		f, ok := d.first[key]
		if !ok {
			d.first[key] = firstHolder{spn: spn, h: h}
			continue
		}
		if f.h.same(h) || slices.ContainsFunc(d.more[key], h.same) {
			continue
		}
		d.more[key] = append(d.more[key], h)
	}
}

// report calls fn for each duplicated SPN in SPN order, with its holders in DN
// order, turned into accounts by account. It stops at the first error fn returns
// and returns that error.
func (d *dupFinder) report(account func(*holder) triage.Account, fn func(triage.SPNOwners) error) error {
	keys := make([]string, 0, len(d.more))
	for k := range d.more {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := d.first[k]
		owners := []triage.Account{account(f.h)}
		for _, h := range d.more[k] {
			owners = append(owners, account(h))
		}
		slices.SortFunc(owners, func(a, b triage.Account) int {
			return cmp.Compare(strings.ToLower(a.DN), strings.ToLower(b.DN))
		})
		if err := fn(triage.SPNOwners{SPN: f.spn, Owners: owners}); err != nil {
			return err
		}
	}
	return nil
}

// duplicates returns how many SPNs are held by more than one object.
func (d *dupFinder) duplicates() int { return len(d.more) }
