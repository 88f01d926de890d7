//go:build !purego

package errorlog

import "golang.org/x/sys/cpu"

// pairBlocks returns the first i in [0, n) with s[i] == c0 and s[i+d] == c1, or -1.
// n must be a multiple of 32 with n+d <= len(s), and the CPU must have AVX2.
//
//go:noescape
func pairBlocks(s []byte, n, d int, c0, c1 byte) int

// indexPair returns the first i with s[i] == c0 and s[i+d] == c1 (d > 0), or -1. It
// compares 32 positions at once for both bytes, so a c0 that is common costs nothing
// unless c1 follows it at d: the cost of bytes.IndexByte without its cost per match.
func indexPair(s []byte, c0, c1 byte, d int) int {
	n := 0
	if cpu.X86.HasAVX2 && len(s)-d >= 32 {
		n = (len(s) - d) &^ 31
		if i := pairBlocks(s, n, d, c0, c1); i >= 0 {
			return i
		}
	}
	if i := indexPairGeneric(s[n:], c0, c1, d); i >= 0 {
		return n + i
	}
	return -1
}
