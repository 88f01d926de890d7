package commands

import "strings"

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
