//go:build !purego

package errorlog

import "golang.org/x/sys/cpu"

// pairsBlocks returns the first i in [0, n) where s holds p's bytes or q's at their
// offsets from i, or -1. n must be a multiple of 32, n plus the largest offset at most
// len(s), and the CPU must have AVX2.
//
//go:noescape
func pairsBlocks(s []byte, n int, p, q *pair) int

// indexPairs returns the first i where s holds p's bytes or q's at their offsets from
// i, or -1. It compares 32 positions at once for all four bytes, in one pass over s,
// so a byte that is common costs nothing unless its partner is there too: the speed
// of bytes.IndexByte without its cost per match.
func indexPairs(s []byte, p, q pair) int {
	n := 0
	if far := max(p.o0, p.o1, q.o0, q.o1); cpu.X86.HasAVX2 && len(s)-far >= 32 {
		n = (len(s) - far) &^ 31
		if i := pairsBlocks(s, n, &p, &q); i >= 0 {
			return i
		}
	}
	if i := indexPairsGeneric(s[n:], p, q); i >= 0 {
		return n + i
	}
	return -1
}
