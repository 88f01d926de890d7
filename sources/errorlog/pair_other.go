//go:build !amd64 || purego

package errorlog

// indexPair returns the first i with s[i] == c0 and s[i+d] == c1 (d > 0), or -1.
func indexPair(s []byte, c0, c1 byte, d int) int { return indexPairGeneric(s, c0, c1, d) }
