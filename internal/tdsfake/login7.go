package tdsfake

import (
	"encoding/binary"
	"fmt"
)

// LOGIN7 layout (MS-TDS 2.2.6.4): a fixed part of 94 bytes, then the variable data
// that its offset/length pairs point into. Offsets count from the start of LOGIN7;
// lengths count characters, except the SSPI token's, which counts bytes.
const (
	login7Fixed = 94

	offTDSVersion   = 4
	offPacketSize   = 8
	offOptionFlags2 = 25
	offHostName     = 36
	offUserName     = 40
	offAppName      = 48
	offServerName   = 52
	offLibrary      = 60
	offLanguage     = 64
	offDatabase     = 68
	offSSPI         = 78 // ibSSPI, then cbSSPI at 80
	offSSPILong     = 90 // cbSSPILong, used when cbSSPI is 0xFFFF

	fIntSecurity = 0x80 // OptionFlags2: integrated security
)

// parseLogin7 reads a LOGIN7 message. It checks every offset and length against the
// message and never reads outside it.
func parseLogin7(b []byte) (Login, error) {
	if len(b) < login7Fixed {
		return Login{}, fmt.Errorf("LOGIN7 of %d bytes is shorter than its fixed part", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if n < login7Fixed || int64(n) > int64(len(b)) {
		return Login{}, fmt.Errorf("LOGIN7 says %d bytes, message has %d", n, len(b))
	}
	b = b[:n]
	l := Login{
		TDSVersion:         binary.LittleEndian.Uint32(b[offTDSVersion:]),
		PacketSize:         binary.LittleEndian.Uint32(b[offPacketSize:]),
		IntegratedSecurity: b[offOptionFlags2]&fIntSecurity != 0,
	}
	fields := []struct {
		at  int
		dst *string
	}{
		{offHostName, &l.HostName},
		{offUserName, &l.UserName},
		{offAppName, &l.AppName},
		{offServerName, &l.ServerName},
		{offLibrary, &l.Library},
		{offLanguage, &l.Language},
		{offDatabase, &l.Database},
	}
	for _, f := range fields {
		off, n := int(binary.LittleEndian.Uint16(b[f.at:])), 2*int(binary.LittleEndian.Uint16(b[f.at+2:]))
		v, err := slice(b, off, n)
		if err != nil {
			return Login{}, fmt.Errorf("LOGIN7 field at %d: %w", f.at, err)
		}
		*f.dst = fromUCS2(v)
	}
	off, sspiLen := int(binary.LittleEndian.Uint16(b[offSSPI:])), int(binary.LittleEndian.Uint16(b[offSSPI+2:]))
	if sspiLen == 0xFFFF {
		long := binary.LittleEndian.Uint32(b[offSSPILong:])
		if int64(long) > int64(len(b)) {
			return Login{}, fmt.Errorf("LOGIN7 SSPI token: %d bytes in a message of %d", long, len(b))
		}
		sspiLen = int(long)
	}
	v, err := slice(b, off, sspiLen)
	if err != nil {
		return Login{}, fmt.Errorf("LOGIN7 SSPI token: %w", err)
	}
	if sspiLen > 0 {
		l.SSPI = append([]byte(nil), v...)
	}
	return l, nil
}

// slice returns b[off:off+n] when it lies inside b. An empty field may point anywhere.
func slice(b []byte, off, n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if off < login7Fixed || off > len(b) || n > len(b)-off {
		return nil, fmt.Errorf("%d bytes at offset %d outside the %d-byte message", n, off, len(b))
	}
	return b[off : off+n], nil
}
