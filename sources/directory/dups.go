package directory

import (
	"cmp"
	"slices"
	"strings"
)

// A holder is an object holding SPNs, as much of it as a duplicate scan keeps: its
// DN, which is unique in the forest.
type holder struct {
	dn    string
	index int // LDIF: the object's position in LDIF.accounts
}

// A dupFinder finds the SPNs held by more than one object. Its memory is bounded by
// the number of distinct SPNs: for each it keeps the lower-case SPN and a pointer
// to its first holder (shared by all that holder's SPNs); it keeps more only for
// the SPNs that turn out to be duplicated.
type dupFinder struct {
	prefix string // lower case; only SPNs starting with it count
	first  map[string]*holder
	dups   map[string]*dup // lower-case SPN -> the duplicate
}

// A dup is an SPN held by several objects.
type dup struct {
	spn     string    // as the second holder spells it
	holders []*holder // all of them, the first included
}

func newDupFinder(prefix string) *dupFinder {
	return &dupFinder{
		prefix: strings.ToLower(prefix),
		first:  map[string]*holder{},
		dups:   map[string]*dup{},
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
		switch {
		case !ok:
			d.first[key] = h
		case strings.EqualFold(f.dn, h.dn):
			// the same object: the SPN twice, or the object read twice
		case d.dups[key] == nil:
			d.dups[key] = &dup{spn: spn, holders: []*holder{f, h}}
		default:
			if x := d.dups[key]; !slices.ContainsFunc(x.holders, func(o *holder) bool { return strings.EqualFold(o.dn, h.dn) }) {
				x.holders = append(x.holders, h)
			}
		}
	}
}

// each calls fn for every duplicated SPN in SPN order, with its holders in DN
// order. It stops at the first error fn returns and returns it.
func (d *dupFinder) each(fn func(spn string, holders []*holder) error) error {
	keys := make([]string, 0, len(d.dups))
	for k := range d.dups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		x := d.dups[k]
		slices.SortFunc(x.holders, func(a, b *holder) int {
			return cmp.Compare(strings.ToLower(a.dn), strings.ToLower(b.dn))
		})
		if err := fn(x.spn, x.holders); err != nil {
			return err
		}
	}
	return nil
}

// count returns how many SPNs are held by more than one object.
func (d *dupFinder) count() int { return len(d.dups) }
