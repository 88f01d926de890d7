package errorlog

import "bytes"

// indexPairGeneric returns the first i with s[i] == c0 and s[i+d] == c1 (d > 0), or
// -1, searching for c0 with bytes.IndexByte.
func indexPairGeneric(s []byte, c0, c1 byte, d int) int {
	for from := 0; from+d < len(s); {
		i := bytes.IndexByte(s[from:len(s)-d], c0)
		if i < 0 {
			return -1
		}
		p := from + i
		if s[p+d] == c1 {
			return p
		}
		from = p + 1
	}
	return -1
}
