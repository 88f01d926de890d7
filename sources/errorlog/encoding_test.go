package errorlog

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// indexNL finds the first aligned line end as bytes.Index does, in every encoding,
// however many NUL and line-end bytes the text holds out of place.
func TestIndexNL(t *testing.T) {
	want := func(c codec, buf []byte, from int) int {
		for from < len(buf) {
			i := bytes.Index(buf[from:], c.nl)
			if i < 0 {
				return -1
			}
			p := from + i
			if p%c.unit == 0 {
				return p
			}
			from = p + 1
		}
		return -1
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0, '\n', '\r', 'a', 0x0A, 0x0D}
	for _, c := range []codec{newCodec(encUTF8, 0), newCodec(encUTF16LE, 2), newCodec(encUTF16BE, 2),
		{enc: encUTF16LE, unit: 2, nl: []byte{'\r', 0}}, {enc: encUTF16BE, unit: 2, nl: []byte{0, '\r'}}} {
		for range 2000 {
			buf := make([]byte, rng.IntN(40))
			for i := range buf {
				buf[i] = alphabet[rng.IntN(len(alphabet))]
			}
			from := 0
			if len(buf) > 0 {
				from = rng.IntN(len(buf)) &^ (c.unit - 1)
			}
			if got, w := c.indexNL(buf, from), want(c, buf, from); got != w {
				t.Fatalf("%v nl %q: indexNL(%q, %d) = %d; want %d", c.enc, c.nl, buf, from, got, w)
			}
		}
	}
}
