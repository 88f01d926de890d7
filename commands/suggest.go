package commands

import (
	"slices"
	"strings"
)

// Suggest returns the names in inventory that name may have been meant as, closest
// first, at most 3: those within 2 edits of name (an insertion, deletion,
// substitution or swap of neighbours is one edit) or sharing its first 3 characters
// or more. Case is ignored, and names that differ only in case are offered once, in
// the spelling inventory has. An edit distance as large as name itself (2 edits to a
// 2-letter name) is no resemblance and is not offered.
//
// Closest means fewest edits, then the longest shared prefix, then alphabetical.
func Suggest(name string, inventory []string) []string {
	n := []rune(strings.ToLower(name))
	if len(n) == 0 {
		return nil
	}
	type candidate struct {
		name         string
		dist, prefix int
	}
	var cands []candidate
	seen := map[string]bool{}
	for _, h := range inventory {
		l := strings.ToLower(h)
		if h == "" || seen[l] {
			continue
		}
		seen[l] = true
		hr := []rune(l)
		p := commonPrefix(n, hr)
		d := distance(n, hr)
		if (d <= 2 && d < len(n)) || p >= 3 {
			cands = append(cands, candidate{h, d, p})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		if a.prefix != b.prefix {
			return b.prefix - a.prefix
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, c := range cands[:min(3, len(cands))] {
		out = append(out, c.name)
	}
	return out
}

// closestVerb returns the verb word was most likely meant as, or "": a verb within
// 2 edits (fewer than word has letters), or one that word begins, fewest edits
// first and in the order of Verbs among equals.
func closestVerb(word string) Verb {
	w := []rune(word)
	best, bestDist := Verb(""), 1<<30
	for _, v := range Verbs() {
		d := distance(w, []rune(string(v)))
		ok := (d <= 2 && d < len(w)) || (len(w) >= 2 && strings.HasPrefix(string(v), word))
		if ok && d < bestDist {
			best, bestDist = v, d
		}
	}
	return best
}

func commonPrefix(a, b []rune) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// distance returns the optimal string alignment distance between a and b:
// Levenshtein's insertions, deletions and substitutions, plus swaps of neighbours,
// each costing 1. Inputs longer than 256 runes are compared on their first 256.
func distance(a, b []rune) int {
	const max = 256
	a, b = a[:min(len(a), max)], b[:min(len(b), max)]
	// Three rows: two back for swaps, one back, and the current one.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
