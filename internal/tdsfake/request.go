package tdsfake

import (
	"encoding/binary"
	"fmt"
)

// A request is a client's SQL batch or RPC, as far as the fake understands it.
type request struct {
	// proc is the procedure an RPC calls: its name, or "sp_executesql" for the
	// procedure id 10 go-mssqldb sends for parameterized queries. Empty for a batch.
	proc string
	// text is a batch's text, or the statement of sp_executesql.
	text string
	// ints are the integer parameters of an RPC, in order (sp_executesql's statement
	// and declarations are not parameters here).
	ints []int64
}

// parseBatch reads a SQLBatch message: ALL_HEADERS, then the text.
func parseBatch(b []byte) (request, error) {
	rest, err := skipHeaders(b)
	if err != nil {
		return request{}, err
	}
	return request{text: fromUCS2(rest)}, nil
}

// skipHeaders skips the ALL_HEADERS block that starts SQLBatch and RPC messages.
func skipHeaders(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("ALL_HEADERS: %w", errTruncated)
	}
	n := binary.LittleEndian.Uint32(b)
	if n < 4 || int64(n) > int64(len(b)) {
		return nil, fmt.Errorf("ALL_HEADERS of %d bytes in a message of %d", n, len(b))
	}
	return b[n:], nil
}

// Procedure ids of RPC (MS-TDS 2.2.6.6).
const procExecuteSQL = 10

// TYPE_INFO ids of the parameters the fake reads.
const (
	typeIntN     = 0x26
	typeNVarChar = 0xE7
)

// parseRPC reads an RPC message with nvarchar and int parameters, which is what
// go-mssqldb sends for sp_executesql and for a procedure called with integers.
func parseRPC(b []byte) (request, error) {
	rest, err := skipHeaders(b)
	if err != nil {
		return request{}, err
	}
	r := reader{b: rest}
	var req request
	switch n := r.u16(); {
	case n == 0xFFFF:
		id := r.u16()
		if id != procExecuteSQL {
			return request{}, fmt.Errorf("RPC of procedure id %d", id)
		}
		req.proc = "sp_executesql"
	default:
		req.proc = fromUCS2(r.bytes(2 * int(n)))
	}
	r.u16() // option flags
	var strs []string
	for len(r.b) > 0 && r.err == nil {
		r.bytes(2 * int(r.u8())) // name
		r.u8()                   // status flags
		switch typ := r.u8(); typ {
		case typeIntN:
			size := r.u8()
			n := r.u8()
			if n != 0 && n != size {
				return request{}, fmt.Errorf("int parameter of %d bytes declared %d", n, size)
			}
			v := r.bytes(int(n))
			var x int64
			switch len(v) {
			case 1:
				x = int64(v[0])
			case 2:
				x = int64(int16(binary.LittleEndian.Uint16(v)))
			case 4:
				x = int64(int32(binary.LittleEndian.Uint32(v)))
			case 8:
				x = int64(binary.LittleEndian.Uint64(v))
			}
			if r.err == nil && len(v) > 0 {
				req.ints = append(req.ints, x)
			}
		case typeNVarChar:
			maxLen := r.u16()
			r.bytes(5) // collation
			if maxLen == 0xFFFF {
				strs = append(strs, r.plp())
				continue
			}
			n := r.u16()
			if n != 0xFFFF {
				strs = append(strs, fromUCS2(r.bytes(int(n))))
			}
		default:
			return request{}, fmt.Errorf("RPC parameter of type %#x", typ)
		}
	}
	if r.err != nil {
		return request{}, fmt.Errorf("RPC %s: %w", req.proc, r.err)
	}
	if req.proc == "sp_executesql" {
		if len(strs) == 0 {
			return request{}, fmt.Errorf("sp_executesql without a statement")
		}
		req.text = strs[0]
	}
	return req, nil
}

// reader reads little-endian values from b; after the first read past the end, err is
// set and every read returns zero.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errTruncated
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.bytes(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

// plp reads a partially length-prefixed value: a total length, then chunks each with
// its own length, up to a chunk of length 0.
func (r *reader) plp() string {
	if total := r.u64(); total == plpNull || r.err != nil {
		return ""
	}
	var v []byte
	for r.err == nil {
		n := r.u32()
		if n == 0 {
			break
		}
		if int64(n) > int64(len(r.b)) {
			r.err = errTruncated
			break
		}
		v = append(v, r.bytes(int(n))...)
	}
	return fromUCS2(v)
}
