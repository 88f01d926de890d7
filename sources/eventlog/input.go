package eventlog

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
)

// binaryLog reports whether head starts like a binary event log: an .evtx file
// ("ElfFile\x00") or a pre-Vista .evt file ("LfLe" after the record length).
func binaryLog(head []byte) bool {
	return bytes.HasPrefix(head, []byte("ElfFile\x00")) ||
		(len(head) >= 8 && string(head[4:8]) == "LfLe")
}

// decoder returns the transformer that turns an export whose first bytes are head
// into UTF-8 that encoding/xml accepts.
//
// A byte-order mark says the encoding (UTF-8, UTF-16LE or UTF-16BE) and is dropped.
// Without one, a zero byte beside the first character says UTF-16 (PowerShell
// redirection and Event Viewer write UTF-16LE); anything else is read as UTF-8.
// Invalid byte sequences, unpaired surrogates, an odd byte at the end of UTF-16 and
// the characters XML does not allow (control characters, U+FFFE) become U+FFFD, so
// that one odd character in a message does not make the whole export unreadable.
//
// golang.org/x/text/encoding/unicode decodes, here and in sources/directory's LDIF
// reader: byte-order marks, byte orders, surrogate pairs and code units split across
// reads are then the Go team's code, fuzzed and maintained upstream, not ours to get
// right twice. It costs the binary nothing: go-mssqldb links the same package.
func decoder(head []byte) transform.Transformer {
	var fallback transform.Transformer = transform.Nop // UTF-8: xmlSafe replaces what is not
	switch {
	case len(head) >= 2 && head[0] != 0 && head[1] == 0:
		fallback = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	case len(head) >= 2 && head[0] == 0 && head[1] != 0:
		fallback = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
	}
	return transform.Chain(unicode.BOMOverride(fallback), runes.Map(xmlSafe))
}

// xmlSafe returns r, or U+FFFD when XML 1.0 does not allow r in a document.
func xmlSafe(r rune) rune {
	if r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF) {
		return r
	}
	return utf8.RuneError
}

// errTooLarge is returned by a textReader that reached its limit.
var errTooLarge = errors.New("size limit reached")

// A textReader is an export as UTF-8 fit for encoding/xml (see decoder), read with a
// bound on memory: Read fails with errTooLarge once it has produced limit bytes,
// which the reader of the XML moves forward at every event.
type textReader struct {
	r     io.Reader
	n     int64 // bytes produced so far
	limit int64 // Read fails once n reaches it
}

// newTextReader returns the text of the export src, whose first bytes are head. Its
// limit is 0 until allow raises it.
func newTextReader(src io.Reader, head []byte) *textReader {
	return &textReader{r: transform.NewReader(src, decoder(head))}
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
	n, err := t.r.Read(p)
	t.n += int64(n)
	return n, err
}
