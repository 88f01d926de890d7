package errorlog

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// encoding is a text encoding SQL Server writes its error log in.
type encoding int

const (
	encUTF8    encoding = iota // SQL Server on Linux, with or without a BOM
	encUTF16LE                 // SQL Server on Windows, normally with a BOM
	encUTF16BE
)

func (e encoding) String() string {
	switch e {
	case encUTF16LE:
		return "UTF-16LE"
	case encUTF16BE:
		return "UTF-16BE"
	}
	return "UTF-8"
}

// A codec finds lines and needles in the raw bytes of one file and decodes the few
// lines that matter. All positions it takes and returns are indexes into a buffer that
// starts at an even file offset, so that a UTF-16 code unit never straddles the start
// of a buffer.
type codec struct {
	enc  encoding
	unit int    // bytes per code unit: 1 or 2
	bom  int    // length of the byte-order mark at the start of the file
	nl   []byte // the line end encoded: "\n", or "\r" in a file whose lines end with CR alone
}

// detect returns the codec for a file that starts with head. Without a byte-order
// mark, NUL bytes in the odd (even) positions of the first line mean UTF-16LE (BE);
// anything else is read as UTF-8. Lines end with LF (SQL Server writes CR LF on
// Windows, LF on Linux), or with CR when head holds CR but no LF, as in a file saved by
// a tool that writes CR alone.
func detect(head []byte) codec {
	c := detectEncoding(head)
	if c.indexNL(head, c.bom) < 0 {
		cr := c.encode("\r")
		if cc := (codec{enc: c.enc, unit: c.unit, bom: c.bom, nl: cr}); cc.indexNL(head, c.bom) >= 0 {
			return cc
		}
	}
	return c
}

// detectEncoding returns the codec for the encoding of a file that starts with head,
// as detect describes.
func detectEncoding(head []byte) codec {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return newCodec(encUTF16LE, 2)
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return newCodec(encUTF16BE, 2)
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return newCodec(encUTF8, 3)
	}
	// A log line starts with an ASCII timestamp, so in UTF-16 every other byte of the
	// first few dozen is NUL.
	var odd, even int
	n := min(len(head), 64) &^ 1
	for i := 0; i < n; i += 2 {
		if head[i] == 0 {
			even++
		}
		if head[i+1] == 0 {
			odd++
		}
	}
	switch {
	case n >= 8 && odd*4 >= n && even == 0:
		return newCodec(encUTF16LE, 0)
	case n >= 8 && even*4 >= n && odd == 0:
		return newCodec(encUTF16BE, 0)
	}
	return newCodec(encUTF8, 0)
}

func newCodec(enc encoding, bom int) codec {
	c := codec{enc: enc, unit: 1, bom: bom}
	if enc != encUTF8 {
		c.unit = 2
	}
	c.nl = c.encode("\n")
	return c
}

// encode returns s, which must be ASCII, in the codec's encoding.
func (c codec) encode(s string) []byte {
	if c.unit == 1 {
		return []byte(s)
	}
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		if c.enc == encUTF16LE {
			b = append(b, s[i], 0)
		} else {
			b = append(b, 0, s[i])
		}
	}
	return b
}

// A needle is an encoded string to search for, with two of its rarer bytes: the
// search looks for the pair (see indexPairs), which is rare even when each byte alone
// is common, then compares the whole needle.
type needle struct {
	b []byte
	p pair // offsets in b
}

// needle encodes s, which must be ASCII; anchor and second are the indexes in s of
// two of its rarer characters in log text.
func (c codec) needle(s string, anchor, second int) needle {
	n := needle{b: c.encode(s), p: pair{o0: anchor * c.unit, o1: second * c.unit}}
	if c.enc == encUTF16BE {
		n.p.o0++
		n.p.o1++
	}
	n.p.c0, n.p.c1 = n.b[n.p.o0], n.b[n.p.o1]
	return n
}

// indexAny returns the position of the first of needles in buf at or after from that
// starts on a code unit boundary, or -1. Two needles are searched for in one pass.
func (c codec) indexAny(buf []byte, from int, needles []needle) int {
	switch len(needles) {
	case 0:
		return -1
	case 1, 2:
	default:
		first := -1
		for _, n := range needles {
			if p := c.indexAny(buf, from, []needle{n}); p >= 0 && (first < 0 || p < first) {
				first = p
			}
		}
		return first
	}
	a, b := needles[0], needles[len(needles)-1]
	for from < len(buf) {
		i := indexPairs(buf[from:], a.p, b.p)
		if i < 0 {
			return -1
		}
		p := from + i
		if p%c.unit == 0 {
			for _, n := range needles {
				if bytes.HasPrefix(buf[p:], n.b) {
					return p
				}
			}
		}
		from = p + 1
	}
	return -1
}

// indexNL returns the position of the first newline in buf at or after from, or -1.
// It searches for the byte of the newline that is not NUL, which is rare in log text,
// with bytes.IndexByte, the fastest search there is.
func (c codec) indexNL(buf []byte, from int) int {
	k := 0 // the byte of c.nl that is not NUL
	if c.enc == encUTF16BE {
		k = 1
	}
	for from+len(c.nl) <= len(buf) {
		i := bytes.IndexByte(buf[from+k:], c.nl[k])
		if i < 0 {
			return -1
		}
		p := from + i
		if p+len(c.nl) > len(buf) {
			return -1
		}
		if p%c.unit == 0 && (c.unit == 1 || buf[p+1-k] == 0) {
			return p
		}
		from = p + 1
	}
	return -1
}

// lineStart returns the start of the line holding position p: the position after the
// last newline before p. It returns -1 when buf holds no newline before p, in which
// case the line may start before buf.
func (c codec) lineStart(buf []byte, p int) int {
	for p > 0 {
		i := bytes.LastIndex(buf[:p], c.nl)
		if i < 0 {
			return -1
		}
		if i%c.unit == 0 {
			return i + len(c.nl)
		}
		p = i + len(c.nl) - 1 // a misaligned match; look further back
	}
	return -1
}

// lineEnd returns the position just after the newline that ends the line holding
// position p, or len(buf) when the line runs to the end of buf.
func (c codec) lineEnd(buf []byte, p int) int {
	if i := c.indexNL(buf, p-p%c.unit); i >= 0 {
		return i + len(c.nl)
	}
	return len(buf) - len(buf)%c.unit
}

// decode returns a line's bytes as a string, without the line end. Bytes that are not
// valid in the encoding become U+FFFD.
func (c codec) decode(b []byte) string {
	b = b[:len(b)-len(b)%c.unit]
	if c.unit == 1 {
		s := strings.TrimRight(string(b), "\r\n")
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		return s
	}
	lo, hi := 0, 1 // positions of the low and high byte of a code unit
	if c.enc == encUTF16BE {
		lo, hi = 1, 0
	}
	ascii := true
	for i := 0; i < len(b); i += 2 {
		if b[i+hi] != 0 || b[i+lo] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	var s string
	if ascii {
		out := make([]byte, len(b)/2)
		for i := range out {
			out[i] = b[2*i+lo]
		}
		s = string(out)
	} else {
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = uint16(b[2*i+hi])<<8 | uint16(b[2*i+lo])
		}
		s = string(utf16.Decode(units))
	}
	return strings.TrimRight(s, "\r\n")
}

// asciiPrefix copies the first len(dst) code units of b into dst when all of them are
// ASCII, and reports whether it could. It lets the reader test a line for a timestamp
// without decoding it.
func (c codec) asciiPrefix(dst, b []byte) bool {
	if len(b) < len(dst)*c.unit {
		return false
	}
	if c.unit == 1 {
		copy(dst, b)
		return true
	}
	lo, hi := 0, 1
	if c.enc == encUTF16BE {
		lo, hi = 1, 0
	}
	for i := range dst {
		if b[2*i+hi] != 0 {
			return false
		}
		dst[i] = b[2*i+lo]
	}
	return true
}
