package errorlog

import (
	"bytes"
	"testing"
)

// naivePair is indexPair's definition, one position at a time.
func naivePair(s []byte, c0, c1 byte, d int) int {
	for i := 0; i+d < len(s); i++ {
		if s[i] == c0 && s[i+d] == c1 {
			return i
		}
	}
	return -1
}

func TestIndexPair(t *testing.T) {
	long := bytes.Repeat([]byte("E:xE"), 40) // c0 everywhere, c1 never at d
	for _, tc := range []struct {
		name string
		s    []byte
		d    int
	}{
		{"empty", nil, 1},
		{"shorter than d", []byte("E"), 3},
		{"pair at the end", []byte("....................................E.:"), 2},
		{"pair in the first block", append([]byte("E.:"), long...), 2},
		{"no pair", long, 2},
		{"pair after a block", append(append([]byte{}, long...), "E.........:"...), 10},
		{"c1 before c0", append(bytes.Repeat([]byte{'.'}, 70), ":.E"...), 2},
		{"d past a block", append(append(bytes.Repeat([]byte{'.'}, 31), 'E'), append(bytes.Repeat([]byte{'.'}, 45), ':')...), 46},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := naivePair(tc.s, 'E', ':', tc.d)
			if got := indexPair(tc.s, 'E', ':', tc.d); got != want {
				t.Errorf("indexPair() = %d; want %d", got, want)
			}
			if got := indexPairGeneric(tc.s, 'E', ':', tc.d); got != want {
				t.Errorf("indexPairGeneric() = %d; want %d", got, want)
			}
		})
	}
}

// FuzzIndexPair checks indexPair, with SIMD where the CPU has it, against its
// definition, at every start of the input to cover every alignment and tail length.
func FuzzIndexPair(f *testing.F) {
	f.Add([]byte("Error: 18456, Severity: 14, State: 8. Error: x"), byte('E'), byte(':'), uint8(5))
	f.Add(bytes.Repeat([]byte{'E', 0, 'r', 0}, 50), byte('E'), byte('r'), uint8(2))
	f.Fuzz(func(t *testing.T, s []byte, c0, c1 byte, d uint8) {
		dd := int(d)%64 + 1
		for from := 0; from <= len(s) && from < 40; from++ {
			want := naivePair(s[from:], c0, c1, dd)
			if got := indexPair(s[from:], c0, c1, dd); got != want {
				t.Fatalf("indexPair(s[%d:], %q, %q, %d) = %d; want %d", from, c0, c1, dd, got, want)
			}
		}
	})
}
