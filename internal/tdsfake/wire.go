package tdsfake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf16"
)

// Packet types (MS-TDS 2.2.3.1.1).
const (
	pktBatch     = 0x01
	pktRPC       = 0x03
	pktReply     = 0x04
	pktAttention = 0x06
	pktLogin7    = 0x10
	pktPrelogin  = 0x12
)

const (
	headerLen = 8
	statusEOM = 0x01 // last packet of a message
	spid      = 57   // the session id the fake reports
)

// readMessage reads one client message: packets up to the one marked end of message.
// It refuses a message larger than max bytes, or one whose packets change type.
func readMessage(r io.Reader, max int) (typ byte, msg []byte, err error) {
	for first := true; ; first = false {
		var h [headerLen]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, nil, err
		}
		n := int(binary.BigEndian.Uint16(h[2:4]))
		switch {
		case n < headerLen:
			return 0, nil, fmt.Errorf("packet length %d is shorter than its header", n)
		case first:
			typ = h[0]
		case h[0] != typ:
			return 0, nil, fmt.Errorf("packet of type %#x inside a message of type %#x", h[0], typ)
		}
		if len(msg)+n-headerLen > max {
			return 0, nil, fmt.Errorf("message longer than %d bytes", max)
		}
		start := len(msg)
		msg = append(msg, make([]byte, n-headerLen)...)
		if _, err := io.ReadFull(r, msg[start:]); err != nil {
			return 0, nil, err
		}
		if h[1]&statusEOM != 0 {
			return typ, msg, nil
		}
	}
}

// writeMessage writes msg as packets of type typ of at most size bytes each.
func writeMessage(w io.Writer, typ byte, msg []byte, size int) error {
	chunk := size - headerLen
	var out []byte
	for id := 1; ; id++ {
		n := min(chunk, len(msg))
		status := byte(0)
		if n == len(msg) {
			status = statusEOM
		}
		out = append(out, typ, status, 0, 0, 0, spid, byte(id), 0)
		binary.BigEndian.PutUint16(out[len(out)-6:], uint16(headerLen+n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
		if status == statusEOM {
			break
		}
	}
	_, err := w.Write(out)
	return err
}

// Prelogin options (MS-TDS 2.2.6.5).
const (
	preVersion    = 0x00
	preEncryption = 0x01
	preInstOpt    = 0x02
	preMARS       = 0x04
	preTerminator = 0xFF

	encryptNotSup = 0x02
)

// preloginReply is the fake's answer to PRELOGIN: version 16.0.1000, no encryption.
func preloginReply(encryption []byte) []byte {
	opts := []struct {
		token byte
		data  []byte
	}{
		{preVersion, []byte{16, 0, 0x03, 0xE8, 0, 0}},
		{preEncryption, encryption},
		{preInstOpt, []byte{0}},
		{preMARS, []byte{0}},
	}
	off := len(opts)*5 + 1
	var table, data []byte
	for _, o := range opts {
		table = append(table, o.token, byte(off>>8), byte(off), byte(len(o.data)>>8), byte(len(o.data)))
		off += len(o.data)
		data = append(data, o.data...)
	}
	table = append(table, preTerminator)
	return append(table, data...)
}

// ucs2 encodes s as UTF-16LE, as TDS writes strings.
func ucs2(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// fromUCS2 decodes UTF-16LE; an odd last byte is dropped.
func fromUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// truncate cuts s to at most n UTF-16 code units.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	u := utf16.Encode([]rune(s))
	if len(u) <= n {
		return s
	}
	return string(utf16.Decode(u[:n]))
}

// Token types (MS-TDS 2.2.7).
const (
	tokColMetadata = 0x81
	tokError       = 0xAA
	tokLoginAck    = 0xAD
	tokRow         = 0xD1
	tokDone        = 0xFD
)

// DONE status bits and the SELECT command code.
const (
	doneMore  = 0x01
	doneError = 0x02
	doneCount = 0x10
	doneAttn  = 0x20
	cmdSelect = 0xC1
)

// tokens builds a token stream.
type tokens struct{ b []byte }

func (t *tokens) u8(v byte)    { t.b = append(t.b, v) }
func (t *tokens) u16(v uint16) { t.b = binary.LittleEndian.AppendUint16(t.b, v) }
func (t *tokens) u32(v uint32) { t.b = binary.LittleEndian.AppendUint32(t.b, v) }
func (t *tokens) u64(v uint64) { t.b = binary.LittleEndian.AppendUint64(t.b, v) }

// bVarChar writes a string of at most 255 code units with a one-byte length.
func (t *tokens) bVarChar(s string) {
	u := ucs2(truncate(s, 255))
	t.u8(byte(len(u) / 2))
	t.b = append(t.b, u...)
}

// usVarChar writes a string of at most 4000 code units with a two-byte length.
func (t *tokens) usVarChar(s string) {
	u := ucs2(truncate(s, 4000))
	t.u16(uint16(len(u) / 2))
	t.b = append(t.b, u...)
}

// withLength writes a token whose body, written by body, follows a two-byte length.
func (t *tokens) withLength(token byte, body func()) {
	t.u8(token)
	at := len(t.b)
	t.u16(0)
	body()
	binary.LittleEndian.PutUint16(t.b[at:], uint16(len(t.b)-at-2))
}

func (t *tokens) error(e Error, server string) {
	t.withLength(tokError, func() {
		t.u32(uint32(e.Number))
		t.u8(e.State)
		t.u8(e.Class)
		t.usVarChar(e.Message)
		t.bVarChar(server)
		t.bVarChar("") // procedure
		t.u32(1)       // line
	})
}

func (t *tokens) loginAck() {
	t.withLength(tokLoginAck, func() {
		t.u8(1) // SQL interface
		t.b = binary.BigEndian.AppendUint32(t.b, 0x74000004)
		t.bVarChar("Microsoft SQL Server")
		t.b = append(t.b, 16, 0, 0x03, 0xE8) // 16.0.1000
	})
}

func (t *tokens) done(status, cmd uint16, rows uint64) {
	t.u8(tokDone)
	t.u16(status)
	t.u16(cmd)
	t.u64(rows)
}

// Column types the fake sends.
type colType int

const (
	nvarchar    colType = iota // nvarchar(size), size in characters
	datetime2                  // datetime2(7)
	datetime                   // datetime
	intN                       // int
	bigint                     // bigint (intN of 8 bytes)
	varchar                    // varchar(size), size in bytes; values are written as Latin-1, others as '?'
	nvarcharMax                // nvarchar(max), sent as a partially length-prefixed value
)

type column struct {
	name string
	typ  colType
	size int // characters, for nvarchar
}

// latin1CIAS is the collation Latin1_General_CI_AS.
var latin1CIAS = []byte{0x09, 0x04, 0xD0, 0x00, 0x34}

func (t *tokens) colMetadata(cols []column) {
	t.u8(tokColMetadata)
	t.u16(uint16(len(cols)))
	for _, c := range cols {
		t.u32(0)      // user type
		t.u16(0x0001) // nullable
		switch c.typ {
		case nvarchar:
			t.u8(0xE7)
			t.u16(uint16(2 * c.size))
			t.b = append(t.b, latin1CIAS...)
		case datetime2:
			t.u8(0x2A)
			t.u8(7)
		case datetime:
			t.u8(0x6F)
			t.u8(8)
		case intN:
			t.u8(0x26)
			t.u8(4)
		case bigint:
			t.u8(0x26)
			t.u8(8)
		case varchar:
			t.u8(0xA7)
			t.u16(uint16(c.size))
			t.b = append(t.b, latin1CIAS...)
		case nvarcharMax:
			t.u8(0xE7)
			t.u16(0xFFFF)
			t.b = append(t.b, latin1CIAS...)
		}
		t.bVarChar(c.name)
	}
}

// row writes one ROW; each value is a string, a time.Time, an int or nil for NULL, as
// its column's type wants.
func (t *tokens) row(cols []column, vals ...any) error {
	if len(vals) != len(cols) {
		return fmt.Errorf("%d values for %d columns", len(vals), len(cols))
	}
	t.u8(tokRow)
	for i, c := range cols {
		v := vals[i]
		switch c.typ {
		case nvarchar:
			s, ok := v.(string)
			if !ok {
				t.u16(0xFFFF)
				continue
			}
			u := ucs2(truncate(s, c.size))
			t.u16(uint16(len(u)))
			t.b = append(t.b, u...)
		case datetime2:
			tm, ok := v.(time.Time)
			if !ok {
				t.u8(0)
				continue
			}
			days, ns := civil(tm, 1)
			t.u8(8)
			units := uint64(ns / 100)
			t.b = append(t.b, byte(units), byte(units>>8), byte(units>>16), byte(units>>24), byte(units>>32))
			t.b = append(t.b, byte(days), byte(days>>8), byte(days>>16))
		case datetime:
			tm, ok := v.(time.Time)
			if !ok {
				t.u8(0)
				continue
			}
			days, ns := civil(tm, 1900)
			ticks := min((ns*300+5e8)/1e9, 300*86400-1)
			t.u8(8)
			t.u32(uint32(int32(days)))
			t.u32(uint32(ticks))
		case intN:
			n, ok := v.(int)
			if !ok {
				t.u8(0)
				continue
			}
			t.u8(4)
			t.u32(uint32(int32(n)))
		case bigint:
			n, ok := v.(int64)
			if !ok {
				t.u8(0)
				continue
			}
			t.u8(8)
			t.u64(uint64(n))
		case varchar:
			s, ok := v.(string)
			if !ok {
				t.u16(0xFFFF)
				continue
			}
			b := latin1(s, c.size)
			t.u16(uint16(len(b)))
			t.b = append(t.b, b...)
		case nvarcharMax:
			s, ok := v.(string)
			if !ok {
				t.u64(plpNull)
				continue
			}
			u := ucs2(s)
			t.u64(uint64(len(u)))
			// One chunk per 4000 bytes, then the terminator (MS-TDS 2.2.5.2.3, PLP).
			for len(u) > 0 {
				n := min(len(u), 4000)
				t.u32(uint32(n))
				t.b = append(t.b, u[:n]...)
				u = u[n:]
			}
			t.u32(0)
		}
	}
	return nil
}

// plpNull is the total length of a NULL partially length-prefixed value.
const plpNull = ^uint64(0)

// latin1 encodes s in at most n bytes of Latin-1, '?' for what Latin-1 lacks.
func latin1(s string, n int) []byte {
	var b []byte
	for _, r := range s {
		if len(b) == n {
			break
		}
		if r > 0xFF {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

// civil returns the days from January 1 of year epoch to tm's date and the nanoseconds
// since its midnight, both read from tm's wall clock.
func civil(tm time.Time, epoch int) (days, ns int64) {
	y, m, d := tm.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	start := time.Date(epoch, 1, 1, 0, 0, 0, 0, time.UTC)
	days = (midnight.Unix() - start.Unix()) / 86400
	h, mi, s := tm.Clock()
	ns = int64(((h*60+mi)*60+s)*1e9 + tm.Nanosecond())
	return days, ns
}

var errTruncated = errors.New("truncated")
