package directory

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/authtriage/authtriage/triage"
)

// Limits on LDIF input. A line is a logical line, after unfolding.
const (
	maxLDIFLine        = 1 << 20  // bytes in one line
	maxLDIFRecord      = 16 << 20 // bytes of values in one entry
	maxLDIFEntries     = 1 << 20  // entries kept by LoadLDIF
	maxLDIFRecordLines = 1 << 17  // attribute lines in one entry
)

// An ldifRecord is one entry of an LDIF file with every attribute in it.
type ldifRecord struct {
	dn    string
	line  int // line of its dn:
	attrs attrs
}

// An ldifReader reads the entries of an LDIF file (RFC 2849 content records) as
// ldifde and ldapsearch write them: folded lines, base64 values (::), comments,
// "version: 1", "changetype: add". Change records other than add are rejected.
type ldifReader struct {
	name    string
	sc      *bufio.Scanner
	line    int    // number of the last physical line read
	peek    []byte // the next physical line, read ahead to see if it continues this one
	hasPeek bool
	records int
}

func newLDIFReader(r io.Reader, name string) *ldifReader {
	sc := bufio.NewScanner(decodeBOM(r))
	sc.Buffer(make([]byte, 0, 64<<10), maxLDIFLine)
	return &ldifReader{name: name, sc: sc}
}

// errorf returns a syntax error at line.
func (r *ldifReader) errorf(line int, format string, args ...any) error {
	return &triage.InputError{Err: fmt.Errorf("%s:%d: %s", r.name, line, fmt.Sprintf(format, args...))}
}

// physical returns the next physical line without its line ending, and its number.
// ok is false at the end of the input.
func (r *ldifReader) physical() (line []byte, lineNo int, ok bool, err error) {
	if r.hasPeek {
		r.hasPeek = false
		return r.peek, r.line, true, nil
	}
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return nil, 0, false, r.errorf(r.line+1, "line longer than %d bytes", maxLDIFLine)
			}
			return nil, 0, false, fmt.Errorf("read %s: %w", r.name, err)
		}
		return nil, 0, false, nil
	}
	r.line++
	return r.sc.Bytes(), r.line, true, nil
}

// logical returns the next line with its continuation lines joined, and the number
// of its first physical line. ok is false at the end of the input.
func (r *ldifReader) logical() (text string, lineNo int, ok bool, err error) {
	first, lineNo, ok, err := r.physical()
	if !ok || err != nil {
		return "", 0, false, err
	}
	if len(first) > 0 && first[0] == ' ' {
		return "", 0, false, r.errorf(lineNo, "continuation line (starting with a space) with no line to continue")
	}
	if len(first) == 0 {
		return "", lineNo, true, nil // a blank line is never continued
	}
	// first aliases the scanner's buffer, which the next Scan overwrites.
	buf := bytes.Clone(first)
	for {
		next, _, ok, err := r.physical()
		if err != nil {
			return "", 0, false, err
		}
		if !ok {
			break
		}
		if len(next) == 0 || next[0] != ' ' {
			r.peek, r.hasPeek = append(r.peek[:0], next...), true
			break
		}
		if len(buf)+len(next)-1 > maxLDIFLine {
			return "", 0, false, r.errorf(lineNo, "folded line longer than %d bytes", maxLDIFLine)
		}
		buf = append(buf, next[1:]...)
	}
	return string(buf), lineNo, true, nil
}

// next returns the next entry, or nil at the end of the input.
func (r *ldifReader) next() (*ldifRecord, error) {
	var rec *ldifRecord
	size, lines := 0, 0
	for {
		text, lineNo, ok, err := r.logical()
		if err != nil {
			return nil, err
		}
		if !ok || text == "" {
			if rec != nil || !ok {
				return rec, nil
			}
			continue // blank lines between entries
		}
		if text[0] == '#' {
			continue
		}
		desc, value, err := r.attribute(text, lineNo)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			switch {
			case desc == "version" && r.records == 0:
				if value != "1" {
					return nil, r.errorf(lineNo, "LDIF version %q, want 1", value)
				}
				continue
			case desc != "dn":
				return nil, r.errorf(lineNo, "entry starts with %q, want dn:", desc)
			}
			r.records++
			rec = &ldifRecord{dn: value, line: lineNo, attrs: attrs{}}
			continue
		}
		switch desc {
		case "dn":
			return nil, r.errorf(lineNo, "second dn: in the entry of line %d (entries are separated by a blank line)", rec.line)
		case "changetype":
			if !strings.EqualFold(value, "add") {
				return nil, r.errorf(lineNo, "changetype %q: only entries (changetype add) can be read, not changes", value)
			}
			continue
		case "control":
			return nil, r.errorf(lineNo, "control: lines belong to change records, which cannot be read")
		case "-":
			return nil, r.errorf(lineNo, `"-" belongs to a modify record, which cannot be read`)
		}
		size += len(value)
		lines++
		if size > maxLDIFRecord || lines > maxLDIFRecordLines {
			return nil, r.errorf(rec.line, "entry larger than %d bytes or %d lines", maxLDIFRecord, maxLDIFRecordLines)
		}
		rec.attrs[desc] = append(rec.attrs[desc], value)
	}
}

// attribute parses an attribute line: "name: value", "name:: base64" or
// "name:< URL" (rejected). The name is returned in lower case without options.
func (r *ldifReader) attribute(text string, lineNo int) (desc, value string, err error) {
	if text == "-" {
		return "-", "", nil
	}
	name, rest, ok := strings.Cut(text, ":")
	if !ok {
		return "", "", r.errorf(lineNo, "no ':' in %q", truncate(text, 40))
	}
	if !validAttrDesc(name) {
		return "", "", r.errorf(lineNo, "%q is not an attribute name", truncate(name, 40))
	}
	desc = attrBase(name)
	switch {
	case strings.HasPrefix(rest, ":"):
		enc := strings.TrimLeft(rest[1:], " ")
		b, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return "", "", r.errorf(lineNo, "%s: bad base64 value: %v", name, err)
		}
		return desc, string(b), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", r.errorf(lineNo, "%s: values read from a URL (:<) are not supported", name)
	}
	value = strings.TrimLeft(rest, " ")
	if strings.IndexByte(value, 0) >= 0 {
		return "", "", r.errorf(lineNo, "%s: NUL in a plain value (binary values are written name:: base64)", name)
	}
	return desc, value, nil
}

// validAttrDesc reports whether s is an attribute description: a name or OID with
// options, "servicePrincipalName;range=0-1499".
func validAttrDesc(s string) bool {
	name, opts, _ := strings.Cut(s, ";")
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	for i := 0; i < len(opts); i++ {
		if c := opts[i]; !isAlnum(c) && c != '-' && c != ';' && c != '=' && c != '*' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// decodeBOM returns r as UTF-8: a UTF-8 byte order mark is dropped, UTF-16 text with
// a byte order mark (ldifde -u writes it) is converted, its unpaired surrogates
// becoming U+FFFD, and anything else passes as it is. UTF-16 that ends in the middle
// of a code unit is an error: the export was cut short.
//
// The UTF-16 decoder is golang.org/x/text/encoding/unicode's (sources/eventlog's
// decoder says why it earns its place); UseBOM reads the byte order from the mark and
// drops it.
func decodeBOM(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	switch bom, _ := br.Peek(3); {
	case bytes.HasPrefix(bom, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
	case bytes.HasPrefix(bom, []byte{0xFF, 0xFE}), bytes.HasPrefix(bom, []byte{0xFE, 0xFF}):
		return transform.NewReader(&wholeUnits{r: br}, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder())
	}
	return br
}

// errOddUTF16 is the error of UTF-16 input that ends in the middle of a code unit.
var errOddUTF16 = errors.New("UTF-16 input ends in the middle of a character")

// A wholeUnits passes UTF-16 through, and fails with errOddUTF16 instead of io.EOF
// when the input ends in the middle of a code unit, which the decoder would read as
// U+FFFD.
type wholeUnits struct {
	r io.Reader
	n int64 // bytes read
}

func (w *wholeUnits) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n += int64(n)
	if err == io.EOF && w.n%2 != 0 {
		err = errOddUTF16
	}
	return n, err
}
