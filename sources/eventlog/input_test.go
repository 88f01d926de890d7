package eventlog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestTextReader(t *testing.T) {
	tests := []struct {
		name string
		enc  encoding
		in   []byte
		want string
	}{
		{"UTF-8", encUTF8, []byte("<a>é€😀</a>"), "<a>é€😀</a>"},
		{"UTF-8 that is not", encUTF8, []byte("a\xffb\xc3"), "a\uFFFDb\uFFFD"},
		{"control characters", encUTF8, []byte("a\x00b\x1bc\td\r\n\uFFFE"), "a\uFFFDb\uFFFDc\td\r\n\uFFFD"},
		{"UTF-16LE", encUTF16LE, []byte{'<', 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE, '>', 0}, "<é€😀>"},
		{"UTF-16BE", encUTF16BE, []byte{0, '<', 0, 0xE9, 0xD8, 0x3D, 0xDE, 0x00, 0, '>'}, "<é😀>"},
		{"UTF-16 unpaired surrogates", encUTF16LE, []byte{0x3D, 0xD8, 'a', 0, 0x00, 0xDE, 'b', 0, 0x3D, 0xD8}, "\uFFFDa\uFFFDb\uFFFD"},
		{"UTF-16 odd byte at the end", encUTF16LE, []byte{'a', 0, 'b'}, "a\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time in and out: runes split across reads must survive.
			src := bufio.NewReader(iotest.OneByteReader(bytes.NewReader(tt.in)))
			r := newTextReader(src, tt.enc)
			r.allow(1 << 20)
			got, err := io.ReadAll(iotest.OneByteReader(r))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTextReaderLimit(t *testing.T) {
	r := newTextReader(bufio.NewReader(strings.NewReader(strings.Repeat("é", 100))), encUTF8)
	r.allow(11)
	got, err := io.ReadAll(r)
	if !errors.Is(err, errTooLarge) {
		t.Fatalf("error = %v, want errTooLarge", err)
	}
	if len(got) != 11 {
		t.Errorf("read %d bytes before the limit, want 11", len(got))
	}
	r.allow(1 << 20)
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(got) + string(rest); s != strings.Repeat("é", 100) {
		t.Errorf("after raising the limit: got %q", s)
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		enc  encoding
		bom  int
	}{
		{"UTF-8 BOM", []byte("\xEF\xBB\xBF<Event"), encUTF8, 3},
		{"UTF-16LE BOM", []byte("\xFF\xFE<\x00E\x00"), encUTF16LE, 2},
		{"UTF-16BE BOM", []byte("\xFE\xFF\x00<\x00E"), encUTF16BE, 2},
		{"UTF-16LE without BOM", []byte("<\x00E\x00v\x00"), encUTF16LE, 0},
		{"UTF-16BE without BOM", []byte("\x00<\x00E"), encUTF16BE, 0},
		{"plain", []byte("<Event xmlns"), encUTF8, 0},
		{"empty", nil, encUTF8, 0},
	}
	for _, tt := range tests {
		enc, bom := sniffEncoding(tt.head)
		if enc != tt.enc || bom != tt.bom {
			t.Errorf("%s: sniffEncoding = %v, %d; want %v, %d", tt.name, enc, bom, tt.enc, tt.bom)
		}
	}
	for _, head := range [][]byte{[]byte("ElfFile\x00\x00\x00"), []byte("\x30\x00\x00\x00LfLe")} {
		if !binaryLog(head) {
			t.Errorf("binaryLog(%q) = false", head)
		}
	}
	if binaryLog([]byte("<Events>")) {
		t.Error("binaryLog(<Events>) = true")
	}
}
