package errorlog

import (
	"bytes"
	"testing"
)

// naivePairs is indexPairs' definition, one position at a time.
func naivePairs(s []byte, p, q pair) int {
	has := func(i int, p pair) bool {
		return i+max(p.o0, p.o1) < len(s) && s[i+p.o0] == p.c0 && s[i+p.o1] == p.c1
	}
	for i := range s {
		if has(i, p) || has(i, q) {
			return i
		}
	}
	return -1
}

func TestIndexPairs(t *testing.T) {
	dots := func(n int) []byte { return bytes.Repeat([]byte{'.'}, n) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	long := bytes.Repeat([]byte("E:xE"), 40) // E everywhere, : never 2 after it
	errorP := pair{0, 2, 'E', ':'}
	spnP := pair{16, 46, 'P', '('}
	for _, tc := range []struct {
		name string
		s    []byte
		p, q pair
	}{
		{"empty", nil, errorP, spnP},
		{"shorter than the offsets", []byte("E"), errorP, errorP},
		{"first pair at the end", cat(dots(40), []byte("E.:")), errorP, spnP},
		{"first pair in the first block", cat([]byte("E.:"), long), errorP, errorP},
		{"no pair", long, errorP, spnP},
		{"first pair after a block", cat(long, []byte("E.:")), errorP, spnP},
		{"second byte before the first", cat(dots(70), []byte(":.E")), errorP, errorP},
		{"second pair only", cat(dots(40), []byte("P"), dots(29), []byte("("), dots(40)), errorP, spnP},
		{"second pair before the first", cat(dots(3), []byte("P"), dots(29), []byte("("), []byte("E.:"), dots(40)), errorP, spnP},
		{"first pair before the second", cat([]byte("E.:"), dots(13), []byte("P"), dots(29), []byte("("), dots(40)), errorP, spnP},
		{"second pair cut by the end", cat(dots(40), []byte("P"), dots(10)), errorP, spnP},
		{"offsets past a block", cat(dots(31), []byte("E"), dots(45), []byte(":")), pair{0, 46, 'E', ':'}, errorP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := naivePairs(tc.s, tc.p, tc.q)
			if got := indexPairs(tc.s, tc.p, tc.q); got != want {
				t.Errorf("indexPairs() = %d; want %d", got, want)
			}
			if got := indexPairsGeneric(tc.s, tc.p, tc.q); got != want {
				t.Errorf("indexPairsGeneric() = %d; want %d", got, want)
			}
		})
	}
}

// FuzzIndexPairs checks indexPairs, with SIMD where the CPU has it, against its
// definition, at several starts of the input to cover alignments and tail lengths.
func FuzzIndexPairs(f *testing.F) {
	f.Add([]byte("Error: 18456, Severity: 14, State: 8. Error: x"), byte('E'), byte(':'), uint8(0), uint8(10), byte('P'), byte('('), uint8(16), uint8(46))
	f.Add(bytes.Repeat([]byte{'E', 0, 'r', 0}, 50), byte('E'), byte('r'), uint8(0), uint8(2), byte('r'), byte('E'), uint8(2), uint8(0))
	f.Fuzz(func(t *testing.T, s []byte, c0, c1 byte, o0, o1 uint8, d0, d1 byte, p0, p1 uint8) {
		p := pair{int(o0) % 64, int(o1) % 64, c0, c1}
		q := pair{int(p0) % 64, int(p1) % 64, d0, d1}
		for from := 0; from <= len(s) && from < 40; from++ {
			want := naivePairs(s[from:], p, q)
			if got := indexPairs(s[from:], p, q); got != want {
				t.Fatalf("indexPairs(s[%d:], %+v, %+v) = %d; want %d", from, p, q, got, want)
			}
		}
	})
}
