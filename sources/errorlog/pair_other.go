//go:build !amd64 || purego

package errorlog

// indexPairs returns the first i where s holds p's bytes or q's at their offsets from
// i, or -1.
func indexPairs(s []byte, p, q pair) int { return indexPairsGeneric(s, p, q) }
