package eventlog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// encoding is the character encoding of an export.
type encoding int

const (
	encUTF8 encoding = iota
	encUTF16LE
	encUTF16BE
)

// binaryLog reports whether head starts like a binary event log: an .evtx file
// ("ElfFile\x00") or a pre-Vista .evt file ("LfLe" after the record length).
func binaryLog(head []byte) bool {
	return bytes.HasPrefix(head, []byte("ElfFile\x00")) ||
		(len(head) >= 8 && string(head[4:8]) == "LfLe")
}

// sniffEncoding returns the encoding of an export from its first bytes, and the length
// of its byte-order mark. Without a mark, a zero byte beside the first character says
// UTF-16 (PowerShell redirection and Event Viewer write UTF-16LE); anything else is
// read as UTF-8.
func sniffEncoding(head []byte) (encoding, int) {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return encUTF8, 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return encUTF16LE, 2
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return encUTF16BE, 2
	case len(head) >= 2 && head[0] != 0 && head[1] == 0:
		return encUTF16LE, 0
	case len(head) >= 2 && head[0] == 0 && head[1] != 0:
		return encUTF16BE, 0
	}
	return encUTF8, 0
}

// errTooLarge is returned by a textReader that reached its limit.
var errTooLarge = errors.New("size limit reached")

// A textReader turns an export in any supported encoding into UTF-8 that encoding/xml
// accepts: invalid byte sequences and characters XML does not allow (control
// characters, unpaired surrogates) become U+FFFD, so that one odd character in a
// message does not make the whole export unreadable.
//
// It also bounds memory: Read fails with errTooLarge once it has produced limit bytes,
// which the reader of the XML moves forward at every event.
type textReader struct {
	src   *bufio.Reader
	enc   encoding
	n     int64  // bytes produced so far
	limit int64  // Read fails once n reaches it
	pend  []byte // the rest of an encoded rune that did not fit into p
	err   error  // sticky error of src
}

func newTextReader(src *bufio.Reader, enc encoding) *textReader {
	return &textReader{src: src, enc: enc}
}

// allow lets the next size bytes through, counted from what has been produced so far.
func (t *textReader) allow(size int64) { t.limit = t.n + size }

// Read implements io.Reader.
func (t *textReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if t.n >= t.limit {
		return 0, errTooLarge
	}
	if room := t.limit - t.n; int64(len(p)) > room {
		p = p[:room]
	}
	n := copy(p, t.pend)
	t.pend = t.pend[n:]
	var buf [utf8.UTFMax]byte
	for n < len(p) && t.err == nil {
		r, err := t.next()
		if err != nil {
			t.err = err
			break
		}
		if n+utf8.RuneLen(r) <= len(p) {
			n += utf8.EncodeRune(p[n:], r)
			continue
		}
		w := utf8.EncodeRune(buf[:], r)
		c := copy(p[n:], buf[:w])
		n += c
		t.pend = append(t.pend[:0], buf[c:w]...)
	}
	t.n += int64(n)
	if n > 0 {
		return n, nil
	}
	return 0, t.err
}

// next returns the next character of the input, already replaced by U+FFFD where
// needed.
func (t *textReader) next() (rune, error) {
	var r rune
	switch t.enc {
	case encUTF8:
		c, size, err := t.src.ReadRune()
		if err != nil {
			return 0, err
		}
		r = c
		if c == utf8.RuneError && size == 1 {
			r = utf8.RuneError
		}
	default:
		u, err := t.unit()
		if err != nil {
			return 0, err
		}
		r = rune(u)
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
			if u < 0xDC00 { // a high surrogate: the low one must follow
				if lo, err := t.peekUnit(); err == nil && lo >= 0xDC00 && lo <= 0xDFFF {
					t.src.Discard(2)
					r = utf16.DecodeRune(rune(u), rune(lo))
				}
			}
		}
	}
	if !xmlChar(r) {
		r = utf8.RuneError
	}
	return r, nil
}

// unit reads one UTF-16 code unit. An odd byte at the end reads as U+FFFD.
func (t *textReader) unit() (uint16, error) {
	b, err := t.src.Peek(2)
	switch {
	case len(b) == 2:
		t.src.Discard(2)
		return t.order(b), nil
	case len(b) == 1 && err == io.EOF:
		t.src.Discard(1)
		return utf8.RuneError, nil
	}
	return 0, err
}

func (t *textReader) peekUnit() (uint16, error) {
	b, err := t.src.Peek(2)
	if len(b) < 2 {
		return 0, err
	}
	return t.order(b), nil
}

func (t *textReader) order(b []byte) uint16 {
	if t.enc == encUTF16BE {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[1])<<8 | uint16(b[0])
}

// xmlChar reports whether XML 1.0 allows r in a document.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}
