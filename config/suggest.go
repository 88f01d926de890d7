package config

import (
	"cmp"
	"slices"
	"strings"
)

// closest returns the word of known nearest to word within two edits,
// ignoring case, or "" if there is none. Ties go to the earlier word.
func closest(word string, known []string) string {
	best, bestDist := "", 3
	w := strings.ToLower(word)
	for _, k := range known {
		if d := distance(w, strings.ToLower(k), 2); d < bestDist && d < len(word) {
			best, bestDist = k, d
		}
	}
	return best
}

// suggest returns up to n of candidates close to name, ignoring case: within
// two edits, or one a prefix of the other with at least three characters in
// common. Closer candidates come first, then prefixes, each in name order.
func suggest(name string, candidates []string, n int) []string {
	type scored struct {
		name  string
		score int
	}
	var found []scored
	lname := strings.ToLower(name)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		score := distance(lname, lc, 2)
		prefix := min(len(lname), len(lc)) >= 3 && (strings.HasPrefix(lc, lname) || strings.HasPrefix(lname, lc))
		switch {
		case score <= 2 && score < len(name):
		case prefix:
			score = 3
		default:
			continue
		}
		found = append(found, scored{c, score})
	}
	slices.SortFunc(found, func(a, b scored) int {
		return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.name, b.name))
	})
	var out []string
	for _, f := range found[:min(n, len(found))] {
		out = append(out, f.name)
	}
	return out
}

// distance returns the number of edits (insert, delete, replace a character,
// or swap two adjacent ones) that turn a into b, or max+1 when it is more than
// max. It costs O(len(a)*len(b)) only when the lengths differ by max or less.
func distance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if abs(len(ra)-len(rb)) > max {
		return max + 1
	}
	// Three rows of the optimal string alignment table.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(rb)], max+1)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
