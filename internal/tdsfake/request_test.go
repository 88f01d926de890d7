package tdsfake

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// allHeaders is the ALL_HEADERS block go-mssqldb sends: one transaction descriptor.
func allHeaders() []byte {
	h := binary.LittleEndian.AppendUint32(nil, 22)
	h = binary.LittleEndian.AppendUint32(h, 18)
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint64(h, 0)
	return binary.LittleEndian.AppendUint32(h, 1)
}

func buildBatch(text string) []byte { return append(allHeaders(), ucs2(text)...) }

// An rpcParam is a parameter of buildRPC: an int64 or a string; plp sends a string as
// nvarchar(max).
type rpcParam struct {
	name string
	val  any
	plp  bool
}

// buildRPC encodes an RPC as go-mssqldb does: proc by name, or "" for sp_executesql.
func buildRPC(proc string, params ...rpcParam) []byte {
	b := allHeaders()
	if proc == "" {
		b = binary.LittleEndian.AppendUint16(b, 0xFFFF)
		b = binary.LittleEndian.AppendUint16(b, procExecuteSQL)
	} else {
		u := ucs2(proc)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(u)/2))
		b = append(b, u...)
	}
	b = binary.LittleEndian.AppendUint16(b, 0) // option flags
	for _, p := range params {
		u := ucs2(p.name)
		b = append(b, byte(len(u)/2))
		b = append(b, u...)
		b = append(b, 0) // status
		switch v := p.val.(type) {
		case int64:
			b = append(b, typeIntN, 8, 8)
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		case int32:
			b = append(b, typeIntN, 4, 4)
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		case string:
			s := ucs2(v)
			b = append(b, typeNVarChar)
			if p.plp {
				b = binary.LittleEndian.AppendUint16(b, 0xFFFF)
				b = append(b, latin1CIAS...)
				b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
				half := len(s) / 2 &^ 1
				for _, chunk := range [][]byte{s[:half], s[half:]} {
					if len(chunk) > 0 {
						b = binary.LittleEndian.AppendUint32(b, uint32(len(chunk)))
						b = append(b, chunk...)
					}
				}
				b = binary.LittleEndian.AppendUint32(b, 0)
				continue
			}
			b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
			b = append(b, latin1CIAS...)
			b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

func TestParseRequests(t *testing.T) {
	tests := []struct {
		name  string
		typ   byte
		msg   []byte
		want  request
		query string // as Server.Queries lists it
	}{
		{
			name: "batch", typ: pktBatch, msg: buildBatch("SELECT SYSUTCDATETIME()"),
			want: request{text: "SELECT SYSUTCDATETIME()"}, query: "SELECT SYSUTCDATETIME()",
		},
		{
			name: "procedure with integers", typ: pktRPC,
			msg:  buildRPC("sp_readerrorlog", rpcParam{val: int32(3)}, rpcParam{val: int32(1)}),
			want: request{proc: "sp_readerrorlog", ints: []int64{3, 1}}, query: "sp_readerrorlog 3, 1",
		},
		{
			name: "sp_executesql", typ: pktRPC,
			msg: buildRPC("", rpcParam{val: "EXEC sp_readerrorlog @p1, 1"}, rpcParam{val: "@p1 bigint"},
				rpcParam{name: "@p1", val: int64(2)}),
			want:  request{proc: "sp_executesql", text: "EXEC sp_readerrorlog @p1, 1", ints: []int64{2}},
			query: "EXEC sp_readerrorlog @p1, 1 [2]",
		},
		{
			name: "sp_executesql with nvarchar(max)", typ: pktRPC,
			msg:  buildRPC("", rpcParam{val: "SELECT SYSUTCDATETIME()", plp: true}, rpcParam{val: "", plp: true}),
			want: request{proc: "sp_executesql", text: "SELECT SYSUTCDATETIME()"}, query: "SELECT SYSUTCDATETIME()",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := parseBatch
			if tt.typ == pktRPC {
				parse = parseRPC
			}
			got, err := parse(tt.msg)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(request{})); diff != "" {
				t.Errorf("parse (-want +got):\n%s", diff)
			}
			if got.String() != tt.query {
				t.Errorf("String() = %q; want %q", got.String(), tt.query)
			}
		})
	}
}

func TestParseRPCRejects(t *testing.T) {
	good := buildRPC("sp_readerrorlog", rpcParam{val: int32(0)}, rpcParam{val: int32(1)})
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"no headers", []byte{1, 0}, "ALL_HEADERS"},
		{"headers longer than the message", binary.LittleEndian.AppendUint32(nil, 99), "ALL_HEADERS"},
		{"truncated parameter", good[:len(good)-2], "truncated"},
		{"unknown procedure id", func() []byte {
			b := append(allHeaders(), 0xFF, 0xFF, 7, 0, 0, 0)
			return b
		}(), "procedure id 7"},
		{"unknown type", append(buildRPC("p"), 0, 0, 0x24, 16), "type 0x24"},
		{"int of a wrong size", append(buildRPC("p"), 0, 0, typeIntN, 4, 8), "int parameter"},
		{"sp_executesql without text", buildRPC(""), "without a statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRPC(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseRPC = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// FuzzParseRequest checks that the batch and RPC parsers never panic.
func FuzzParseRequest(f *testing.F) {
	f.Add(buildBatch("SELECT SYSUTCDATETIME()"))
	f.Add(buildRPC("sp_readerrorlog", rpcParam{val: int32(3)}, rpcParam{val: int32(1)}))
	f.Add(buildRPC("", rpcParam{val: "EXEC sp_readerrorlog @p1, 1"}, rpcParam{val: "@p1 bigint"}, rpcParam{name: "@p1", val: int64(2)}))
	f.Add(buildRPC("", rpcParam{val: "SELECT 1", plp: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if req, err := parseRPC(b); err == nil {
			_ = req.String()
		}
		parseBatch(b)
	})
}

func TestReadMessage(t *testing.T) {
	var wire bytes.Buffer
	msg := bytes.Repeat([]byte("0123456789"), 100)
	if err := writeMessage(&wire, pktBatch, msg, 512); err != nil {
		t.Fatal(err)
	}
	typ, got, err := readMessage(&wire, maxMessage)
	if err != nil || typ != pktBatch || !bytes.Equal(got, msg) {
		t.Errorf("readMessage = %#x, %d bytes, %v; want the 1000 bytes written", typ, len(got), err)
	}
	// A message over the cap is refused once the cap is passed.
	wire.Reset()
	writeMessage(&wire, pktBatch, msg, 512)
	if _, _, err := readMessage(&wire, 600); err == nil || !strings.Contains(err.Error(), "longer than 600") {
		t.Errorf("readMessage with a cap of 600 = %v; want it refused", err)
	}
}

// FuzzReadMessage checks that readMessage never panics and keeps to its cap.
func FuzzReadMessage(f *testing.F) {
	var wire bytes.Buffer
	writeMessage(&wire, pktPrelogin, preloginReply([]byte{encryptNotSup}), 512)
	f.Add(wire.Bytes())
	f.Add([]byte{pktBatch, 0, 0, 4, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 1024
		_, msg, err := readMessage(bytes.NewReader(b), limit)
		if err == nil && len(msg) > limit {
			t.Errorf("readMessage returned %d bytes over its cap of %d", len(msg), limit)
		}
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF && msg != nil {
			t.Errorf("readMessage returned data with error %v", err)
		}
	})
}
