package directory

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

// Descriptors built by hand, field by field as [MS-DTYP] 2.4.6, 2.4.5, 2.4.4 and
// 2.4.2.2 lay them out.

const (
	tDomain   = "S-1-5-21-1004336348-1177238915-682003330"
	tAdmins   = "S-1-5-32-544"
	tWeb      = tDomain + "-1110"
	tEvil     = tDomain + "-1111"
	tAlice    = tDomain + "-1201"
	tBob      = tDomain + "-1202"
	tChildWeb = "S-1-5-21-111-222-333-1110"
)

// sidPacket returns the packet form of sid.
func sidPacket(t testing.TB, sid string) []byte {
	t.Helper()
	b, err := encodeSID(sid)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// aceBytes returns an ACE of type typ with flags, mask and trustee sid; for the
// object types, objFlags says which GUIDs follow. pad bytes end it.
func aceBytes(t testing.TB, typ, flags byte, mask uint32, objFlags uint32, sid []byte, pad int) []byte {
	t.Helper()
	body := binary.LittleEndian.AppendUint32(nil, mask)
	if typ == aceAccessAllowedObject || typ == aceAccessDeniedObject {
		body = binary.LittleEndian.AppendUint32(body, objFlags)
		if objFlags&objectTypePresent != 0 {
			body = append(body, slices.Repeat([]byte{0x11}, guidLen)...)
		}
		if objFlags&inheritedObjectTypePresent != 0 {
			body = append(body, slices.Repeat([]byte{0x22}, guidLen)...)
		}
	}
	body = append(body, sid...)
	body = append(body, make([]byte, pad)...)
	b := []byte{typ, flags, 0, 0}
	binary.LittleEndian.PutUint16(b[2:], uint16(aceHeaderLen+len(body)))
	return append(b, body...)
}

// aclBytes returns an ACL of revision rev holding aces, with spare unused bytes
// after them.
func aclBytes(rev byte, spare int, aces ...[]byte) []byte {
	var body []byte
	for _, a := range aces {
		body = append(body, a...)
	}
	body = append(body, make([]byte, spare)...)
	b := make([]byte, aclHeaderLen)
	b[0] = rev
	binary.LittleEndian.PutUint16(b[2:], uint16(aclHeaderLen+len(body)))
	binary.LittleEndian.PutUint16(b[4:], uint16(len(aces)))
	return append(b, body...)
}

// sdPart is one part of a descriptor and the offset field (4 owner, 8 group, 16
// DACL) that points at it.
type sdPart struct {
	field int
	data  []byte
}

// sdBytes returns a descriptor with control and the parts laid out after the header
// in the order given.
func sdBytes(control uint16, parts ...sdPart) []byte {
	b := make([]byte, sdHeaderLen)
	b[0] = sdRevision
	binary.LittleEndian.PutUint16(b[2:], control)
	for _, p := range parts {
		binary.LittleEndian.PutUint32(b[p.field:], uint32(len(b)))
		b = append(b, p.data...)
	}
	return b
}

func owner(t testing.TB, sid string) sdPart { return sdPart{4, sidPacket(t, sid)} }
func group(t testing.TB, sid string) sdPart { return sdPart{8, sidPacket(t, sid)} }
func dacl(acl []byte) sdPart                { return sdPart{16, acl} }

// allow returns an access-allowed ACE for sid with every right Samba's add-principal
// grants (SEC_ADS_GENERIC_ALL, 0xF01FF).
func allow(t testing.TB, sid string) []byte {
	return aceBytes(t, aceAccessAllowed, 0, 0xF01FF, 0, sidPacket(t, sid), 0)
}

func deny(t testing.TB, sid string) []byte {
	return aceBytes(t, aceAccessDenied, 0, 0xF01FF, 0, sidPacket(t, sid), 0)
}

const dp = seSelfRelative | seDACLPresent

// sambaDescriptor is what "samba-tool delegation add-principal svc_sqlrbcd
// svc_webrbcd" writes: owner BUILTIN\Administrators, DACL revision 4 with one
// access-allowed ACE.
func sambaDescriptor(t testing.TB) []byte {
	return sdBytes(dp, owner(t, tAdmins), dacl(aclBytes(aclRevisionDS, 0, allow(t, tWeb))))
}

// sambaWritten is the value samba-tool 4.17 wrote in the test domain for
// "samba-tool delegation add-principal svc_sqlrbcd svc_webrbcd", read with ldapsearch.
const sambaWritten = "AQAEgBQAAAAAAAAAAAAAACQAAAABAgAAAAAABSAAAAAgAgAABAAsAAEAAAAAACQA/wEPAAEFAAAAAAAFFQAAAByEg8Dwc7TU9FlBTWMEAAA="

func fromBase64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSecurityDescriptor(t *testing.T) {
	tests := []struct {
		name           string
		sd             []byte
		owner, group   string
		allowed        []string
		denied         []string
		noDACL         bool
		wantSIDsInDACL int
	}{
		{name: "as samba-tool wrote it", sd: fromBase64(t, sambaWritten),
			owner: tAdmins, allowed: []string{"S-1-5-21-3229844508-3568595952-1296128500-1123"}, wantSIDsInDACL: 1},
		{name: "samba-tool delegation add-principal", sd: sambaDescriptor(t),
			owner: tAdmins, allowed: []string{tWeb}, wantSIDsInDACL: 1},
		{name: "owner and group, the DACL first",
			sd:    sdBytes(dp, dacl(aclBytes(aclRevision, 0, allow(t, tWeb))), group(t, tDomain+"-513"), owner(t, tAdmins)),
			owner: tAdmins, group: tDomain + "-513", allowed: []string{tWeb}, wantSIDsInDACL: 1},
		{name: "no owner or group", sd: sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0, allow(t, tWeb)))),
			allowed: []string{tWeb}, wantSIDsInDACL: 1},
		{name: "empty DACL allows no one", sd: sdBytes(dp, owner(t, tAdmins), dacl(aclBytes(aclRevisionDS, 0))),
			owner: tAdmins},
		{name: "allowed and denied, object ACEs, repeats listed once",
			sd: sdBytes(dp, owner(t, tAdmins), dacl(aclBytes(aclRevisionDS, 0,
				deny(t, tEvil),
				allow(t, tWeb),
				aceBytes(t, aceAccessAllowedObject, 0, 0x100, objectTypePresent, sidPacket(t, tChildWeb), 0),
				aceBytes(t, aceAccessDeniedObject, 0, 0x100, objectTypePresent|inheritedObjectTypePresent, sidPacket(t, tBob), 0),
				aceBytes(t, aceAccessAllowedObject, 0, 0x100, 0, sidPacket(t, tAlice), 0),
				allow(t, tWeb),
			))),
			owner: tAdmins, allowed: []string{tWeb, tChildWeb, tAlice}, denied: []string{tEvil, tBob}, wantSIDsInDACL: 6},
		{name: "inherit-only and empty-mask ACEs ignored; container-inherit and inherited count",
			sd: sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0,
				aceBytes(t, aceAccessAllowed, aceInheritOnly, 0xF01FF, 0, sidPacket(t, tAlice), 0),
				aceBytes(t, aceAccessAllowed, aceInheritOnly|0x01, 0xF01FF, 0, sidPacket(t, tAlice), 0), // object inherit too
				aceBytes(t, aceAccessDenied, aceInheritOnly|0x02, 0xF01FF, 0, sidPacket(t, tEvil), 0),
				aceBytes(t, aceAccessAllowed, 0, 0, 0, sidPacket(t, tBob), 0),
				aceBytes(t, aceAccessAllowed, 0x02, 0xF01FF, 0, sidPacket(t, tWeb), 0),      // container inherit
				aceBytes(t, aceAccessAllowed, 0x10, 0xF01FF, 0, sidPacket(t, tChildWeb), 0), // inherited
			))),
			allowed: []string{tWeb, tChildWeb}, wantSIDsInDACL: 6},
		{name: "other ACE types skipped, their bodies unread",
			sd: sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0,
				[]byte{0x02, 0, 8, 0, 0xff, 0xff, 0xff, 0xff}, // system audit, garbage body
				[]byte{0x09, 0, 4, 0},                         // callback ACE, header only
				allow(t, tWeb),
			))),
			allowed: []string{tWeb}, wantSIDsInDACL: 1},
		{name: "AceSize and AclSize larger than their contents",
			sd:      sdBytes(dp, dacl(aclBytes(aclRevisionDS, 12, aceBytes(t, aceAccessAllowed, 0, 1, 0, sidPacket(t, tWeb), 8)))),
			allowed: []string{tWeb}, wantSIDsInDACL: 1},
		{name: "SID of 15 sub-authorities",
			sd:      sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0, allow(t, "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15")))),
			allowed: []string{"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15"}, wantSIDsInDACL: 1},
		{name: "DACL not present", sd: sdBytes(seSelfRelative, owner(t, tAdmins)), owner: tAdmins, noDACL: true},
		{name: "DACL flag clear, offset set", sd: sdBytes(seSelfRelative, dacl(aclBytes(aclRevisionDS, 0, allow(t, tWeb)))), noDACL: true},
		{name: "NULL DACL", sd: sdBytes(dp, owner(t, tAdmins)), owner: tAdmins, noDACL: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := parseSecurityDescriptor(tt.sd)
			if err != nil {
				t.Fatal(err)
			}
			if sd.owner != tt.owner || sd.group != tt.group {
				t.Errorf("owner, group = %q, %q; want %q, %q", sd.owner, sd.group, tt.owner, tt.group)
			}
			n := 0
			for _, a := range sd.dacl {
				if a.sid != "" {
					n++
				}
			}
			if n != tt.wantSIDsInDACL {
				t.Errorf("%d DACL ACEs with a trustee (%+v); want %d", n, sd.dacl, tt.wantSIDsInDACL)
			}
			allowed, denied, err := sd.actOnBehalf()
			if tt.noDACL {
				if err == nil || !strings.Contains(err.Error(), "no DACL") || !strings.Contains(err.Error(), "everyone") {
					t.Errorf("actOnBehalf = %v, %v, %v; want an error saying there is no DACL", allowed, denied, err)
				}
				return
			}
			if err != nil || !slices.Equal(allowed, tt.allowed) || !slices.Equal(denied, tt.denied) {
				t.Errorf("actOnBehalf = %v, %v, %v; want %v, %v", allowed, denied, err, tt.allowed, tt.denied)
			}
		})
	}
}

func TestParseSecurityDescriptorMalformed(t *testing.T) {
	good := sambaDescriptor(t)
	set := func(b []byte, at int, v ...byte) []byte {
		b = slices.Clone(b)
		copy(b[at:], v)
		return b
	}
	le16 := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	le32 := func(v int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
	ownerAt := int(binary.LittleEndian.Uint32(good[4:]))
	daclAt := int(binary.LittleEndian.Uint32(good[16:]))
	aceAt := daclAt + aclHeaderLen
	sixteen := sidPacket(t, "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15")
	sixteen[1] = 16
	sixteen = append(sixteen, 0, 0, 0, 0)
	tests := []struct {
		name string
		sd   []byte
		want string
	}{
		{"empty", nil, "0 bytes, shorter than the 20-byte header"},
		{"truncated header", good[:19], "19 bytes"},
		{"SDDL text", []byte("O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1-2-3-1110)"), "SDDL text"},
		{"revision 2", set(good, 0, 2), "revision 2, want 1"},
		{"not self-relative", set(good, 2, byte(seDACLPresent), 0), "lacks SE_SELF_RELATIVE"},
		{"owner offset into the header", set(good, 4, le32(4)...), "owner offset 4 points into the 20-byte header"},
		{"owner offset past the end", set(good, 4, le32(len(good))...), "past the end"},
		{"group offset huge", set(good, 8, 0xff, 0xff, 0xff, 0xff), "group offset 4294967295 is past the end"},
		{"DACL offset past the end", set(good, 16, le32(len(good)+100)...), "DACL offset"},
		{"owner SID revision", set(good, ownerAt, 2), "owner SID at offset 20: SID revision 2"},
		{"owner SID SubAuthorityCount 16", sdBytes(dp, sdPart{4, sixteen}), "SubAuthorityCount 16 is more than 15"},
		{"owner SID truncated", sdBytes(dp, sdPart{4, sidPacket(t, tAdmins)[:10]}), "takes 16 bytes, 10 left"},
		{"owner SID shorter than its header", sdBytes(dp, sdPart{4, []byte{1, 0, 0}}), "3 bytes left"},
		{"ACL revision 3", set(good, daclAt, 3), "AclRevision 3, want 2 or 4"},
		{"AclSize smaller than its header", set(good, daclAt+2, le16(4)...), "AclSize 4 is smaller than its header"},
		{"AclSize past the end", set(good, daclAt+2, le16(200)...), "AclSize 200 runs past the end"},
		{"ACL header cut", good[:daclAt+5], "bytes left for its 8-byte header"},
		{"AceCount larger than the ACEs", set(good, daclAt+4, le16(2)...), "ACE 1 of 2 at offset"},
		{"AceSize 0", set(good, aceAt+2, le16(0)...), "AceSize 0 is not a multiple of 4"},
		{"AceSize not a multiple of 4", set(good, aceAt+2, le16(10)...), "AceSize 10 is not a multiple of 4"},
		{"AceSize past the ACL", set(good, aceAt+2, le16(64)...), "AceSize 64 runs past the ACL's end"},
		{"ACE too short for its mask", sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0, []byte{0, 0, 4, 0}))), "no room for its Mask"},
		{"ACE trustee cut by AceSize", set(good, aceAt+2, le16(20)...), "trustee: a SID of 5 sub-authorities takes 28 bytes, 12 left"},
		{"ACE trustee SubAuthorityCount 16", sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0,
			aceBytes(t, aceAccessAllowed, 0, 1, 0, sixteen, 0)))), "trustee: SubAuthorityCount 16"},
		{"object ACE without its flags", sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0, []byte{5, 0, 8, 0, 1, 0, 0, 0}))), "no room for its object Flags"},
		{"object ACE flags announce a GUID that is not there", sdBytes(dp, dacl(aclBytes(aclRevisionDS, 0,
			[]byte{5, 0, 16, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0}))), "announce a GUID with 4 bytes left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := parseSecurityDescriptor(tt.sd)
			var me *malformedError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseSecurityDescriptor = %+v, %v; want a malformed descriptor error containing %q", sd, err, tt.want)
			}
		})
	}
}

func TestEncodeSID(t *testing.T) {
	for _, sid := range []string{tWeb, tAdmins, "S-1-1-0", "S-1-0", "S-1-281474976710655-4294967295",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15"} {
		b, err := encodeSID(sid)
		if err != nil {
			t.Errorf("encodeSID(%s): %v", sid, err)
			continue
		}
		if back, err := decodeSID(string(b)); err != nil || back != sid {
			t.Errorf("decodeSID(encodeSID(%s)) = %q, %v", sid, back, err)
		}
	}
	for _, sid := range []string{"", "S-1", "S-2-5-21", "S-1-x-1", "S-1-5-4294967296", "S-1-281474976710656",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "S-1-5--1"} {
		if b, err := encodeSID(sid); err == nil {
			t.Errorf("encodeSID(%q) = %x; want an error", sid, b)
		}
	}
	if got := escapeBytes([]byte{0x01, 0x28, 0x2a, 0x5c, 0xff, 'a'}); got != `\01\28\2a\5c\ff\61` {
		t.Errorf("escapeBytes = %s", got)
	}
}

// FuzzSecurityDescriptor: any input gives a descriptor or a malformed-descriptor
// error, never a panic (which an index out of range would be); what decodes names
// only well-formed SIDs, each listed once.
func FuzzSecurityDescriptor(f *testing.F) {
	f.Add(sambaDescriptor(f))
	f.Add(fromBase64(f, sambaWritten))
	f.Add(sdBytes(dp, dacl(aclBytes(aclRevisionDS, 4,
		deny(f, tEvil),
		aceBytes(f, aceAccessAllowedObject, 0, 0x100, objectTypePresent|inheritedObjectTypePresent, sidPacket(f, tChildWeb), 0),
		aceBytes(f, aceAccessAllowed, aceInheritOnly, 1, 0, sidPacket(f, tAlice), 4),
		[]byte{0x09, 0, 4, 0},
	)), group(f, tDomain+"-513"), owner(f, tAdmins)))
	f.Add(sdBytes(seSelfRelative, owner(f, tAdmins)))
	f.Add([]byte("O:BAD:(A;;GA;;;S-1-5-21-1-2-3-1110)"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := parseSecurityDescriptor(b)
		if err != nil {
			var me *malformedError
			if !errors.As(err, &me) {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		allowed, denied, err := sd.actOnBehalf()
		if err != nil {
			if sd.hasDACL {
				t.Fatalf("actOnBehalf failed with a DACL: %v", err)
			}
			return
		}
		for _, list := range [][]string{allowed, denied} {
			for i, sid := range list {
				if slices.Contains(list[:i], sid) {
					t.Fatalf("%s listed twice in %v", sid, list)
				}
				p, err := encodeSID(sid)
				if err != nil {
					t.Fatalf("decoded SID %q does not encode: %v", sid, err)
				}
				if back, err := decodeSID(string(p)); err != nil || back != sid {
					t.Fatalf("SID %q round-trips to %q, %v", sid, back, err)
				}
			}
		}
	})
}
