package eventlog

import (
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
		in   []byte
		want string
	}{
		{"UTF-8", []byte("<a>é€😀</a>"), "<a>é€😀</a>"},
		{"UTF-8 with BOM", []byte("\xEF\xBB\xBF<Event"), "<Event"},
		{"UTF-8 that is not", []byte("a\xffb\xc3"), "a\uFFFDb\uFFFD"},
		{"control characters", []byte("<a\x00b\x1bc\td\r\n\uFFFE"), "<a\uFFFDb\uFFFDc\td\r\n\uFFFD"},
		{"UTF-16LE with BOM", []byte{0xFF, 0xFE, '<', 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE, '>', 0}, "<é€😀>"},
		{"UTF-16BE with BOM", []byte{0xFE, 0xFF, 0, '<', 0, 0xE9, 0xD8, 0x3D, 0xDE, 0x00, 0, '>'}, "<é😀>"},
		{"UTF-16LE without BOM", []byte("<\x00E\x00v\x00"), "<Ev"},
		{"UTF-16BE without BOM", []byte("\x00<\x00E"), "<E"},
		{"UTF-16 unpaired surrogates", []byte{0xFF, 0xFE, 0x3D, 0xD8, 'a', 0, 0x00, 0xDE, 'b', 0, 0x3D, 0xD8}, "\uFFFDa\uFFFDb\uFFFD"},
		{"UTF-16 odd byte at the end", []byte{'a', 0, 'b'}, "a\uFFFD"},
		{"UTF-16 control character", []byte{0xFF, 0xFE, 'a', 0, 0x1B, 0}, "a\uFFFD"},
		{"a BOM alone", []byte{0xFF, 0xFE}, ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time in and out: characters split across reads must survive.
			src := iotest.OneByteReader(bytes.NewReader(tt.in))
			r := newTextReader(src, tt.in[:min(8, len(tt.in))])
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
	in := strings.Repeat("é", 100)
	r := newTextReader(strings.NewReader(in), []byte(in[:8]))
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
	if s := string(got) + string(rest); s != in {
		t.Errorf("after raising the limit: got %q", s)
	}
}

func TestBinaryLog(t *testing.T) {
	for _, head := range [][]byte{[]byte("ElfFile\x00\x00\x00"), []byte("\x30\x00\x00\x00LfLe")} {
		if !binaryLog(head) {
			t.Errorf("binaryLog(%q) = false", head)
		}
	}
	if binaryLog([]byte("<Events>")) {
		t.Error("binaryLog(<Events>) = true")
	}
}
