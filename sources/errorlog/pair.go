package errorlog

import "bytes"

// A pair is two bytes at fixed offsets from a position: the rarer bytes of a needle,
// which are much rarer together than either alone.
type pair struct {
	o0, o1 int // offsets, each at least 0
	c0, c1 byte
}

// indexPairsGeneric is indexPairs with a bytes.IndexByte search for each pair's first
// byte.
func indexPairsGeneric(s []byte, p, q pair) int {
	i := p.index(s)
	if j := q.index(s); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	return i
}

// index returns the first i where s holds p's bytes at their offsets from i, or -1.
func (p pair) index(s []byte) int {
	far := max(p.o0, p.o1)
	for from := 0; from+far < len(s); {
		i := bytes.IndexByte(s[from+p.o0:len(s)-far+p.o0], p.c0)
		if i < 0 {
			return -1
		}
		at := from + i
		if s[at+p.o1] == p.c1 {
			return at
		}
		from = at + 1
	}
	return -1
}
