package directory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Self-relative security descriptors, as msDS-AllowedToActOnBehalfOfOtherIdentity
// holds one: "[MS-SFU] 3.2.1 Abstract Data Model" says of
// ServicesAllowedToReceiveForwardedTicketsFrom "A SECURITY_DESCRIPTOR ([MS-DTYP]
// section 2.4.6)", https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/ad98268b-f75b-42c3-b09b-959282770642,
// and "[MS-ADA2] 2.218 Attribute msDS-AllowedToActOnBehalfOfOtherIdentity" gives its
// syntax as String(NT-Sec-Desc),
// https://learn.microsoft.com/openspecs/windows_protocols/ms-ada2/cea4ac11-a4b2-4f2d-84cc-aebb4a4ad405.
//
// The layouts are those of:
//   - "[MS-DTYP] 2.4.6 SECURITY_DESCRIPTOR",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/7d4dac05-9cef-4563-a058-f108abecce1d:
//     Revision, Sbz1, Control (2 bytes), then the offsets of the owner SID, the group SID,
//     the SACL and the DACL (4 bytes each) from the start of the descriptor, 0 for
//     absent, their targets "not required to be in any particular order";
//   - "SECURITY_DESCRIPTOR_CONTROL",
//     https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-control:
//     SE_DACL_PRESENT 0x0004, SE_SELF_RELATIVE 0x8000;
//   - "ACL structure (winnt.h)", https://learn.microsoft.com/windows/win32/api/winnt/ns-winnt-acl:
//     AclRevision, Sbz1, AclSize (which "includes the ACL structure, all the ACEs, and the
//     potential unused memory"), AceCount, Sbz2; the revision is ACL_REVISION (2) or
//     ACL_REVISION_DS (4);
//   - "[MS-DTYP] 2.4.4.1 ACE_HEADER",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/628ebb1d-c509-4ea0-a10f-77ef97ca4586:
//     AceType, AceFlags, AceSize, which "can be greater than the sum of the individual
//     fields, but MUST be a multiple of 4";
//   - "[MS-DTYP] 2.4.4.2 ACCESS_ALLOWED_ACE",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/72e7c7ea-bc02-4c74-a619-818a16bf6adb
//     (the denied ACE has the same layout): Header, Mask (4 bytes), Sid;
//   - "[MS-DTYP] 2.4.4.3 ACCESS_ALLOWED_OBJECT_ACE",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/c79a383c-2b3f-4655-abe7-dcbb7ce0cfbe
//     (and the denied one): Header, Mask, Flags (4 bytes), ObjectType and
//     InheritedObjectType (16 bytes each, present when Flags has 0x1 and 0x2), Sid;
//   - "[MS-DTYP] 2.4.2.2 SID--Packet Representation",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/f992ad60-0fe4-4b87-9fed-beb478836861:
//     Revision 1, SubAuthorityCount ("The maximum number of elements allowed is 15"),
//     IdentifierAuthority (6 bytes), SubAuthority (4 bytes each).
//
// Multi-byte fields are little-endian, as in the descriptors Windows and Samba write,
// but for a SID's IdentifierAuthority, which is big-endian (as decodeSID reads objectSid).

// Security descriptor constants ([MS-DTYP], as above).
const (
	sdHeaderLen     = 20
	sdRevision      = 1
	seDACLPresent   = 0x0004
	seSelfRelative  = 0x8000
	aclHeaderLen    = 8
	aclRevision     = 2
	aclRevisionDS   = 4
	aceHeaderLen    = 4
	sidHeaderLen    = 8
	maxSubAuthority = 15

	aceAccessAllowed       = 0x00
	aceAccessDenied        = 0x01
	aceAccessAllowedObject = 0x05
	aceAccessDeniedObject  = 0x06

	// aceInheritOnly (INHERIT_ONLY_ACE, 0x08) marks "an inherit-only ACE which does
	// not control access to the object to which it is attached" ("ACE_HEADER
	// structure (ntifs.h)",
	// https://learn.microsoft.com/windows-hardware/drivers/ddi/ntifs/ns-ntifs-_ace_header;
	// the value is [MS-DTYP] 2.4.4.1's).
	aceInheritOnly = 0x08

	objectTypePresent          = 0x1 // ACE_OBJECT_TYPE_PRESENT
	inheritedObjectTypePresent = 0x2 // ACE_INHERITED_OBJECT_TYPE_PRESENT
	guidLen                    = 16
)

// A securityDescriptor is what authtriage reads of a self-relative SECURITY_DESCRIPTOR:
// its owner and group and its DACL. The SACL is not read.
type securityDescriptor struct {
	control      uint16
	owner, group string // SIDs, "" when absent
	// hasDACL is false when the descriptor has no DACL: SE_DACL_PRESENT clear, or set
	// with a DACL offset of 0 (a NULL DACL). Such a descriptor "allows full access to
	// everyone" ("SECURITY_DESCRIPTOR_CONTROL", above).
	hasDACL bool
	dacl    []ace
}

// An ace is one entry of a DACL. Entries of types other than the access-allowed
// and access-denied ones (plain and object) keep their type and flags only.
type ace struct {
	typ, flags byte
	mask       uint32
	sid        string // the trustee, S-1-5-21-...; "" for the other types
}

// A malformedError says what is malformed in a security descriptor.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return "malformed security descriptor: " + e.msg }

func malformed(format string, args ...any) error {
	return &malformedError{fmt.Sprintf(format, args...)}
}

// parseSecurityDescriptor decodes b, a security descriptor in self-relative form. Every
// offset and size is checked against b before it is followed, so that any input gives
// a descriptor or an error saying what is malformed, never a read outside b.
func parseSecurityDescriptor(b []byte) (securityDescriptor, error) {
	switch {
	case looksLikeSDDL(b):
		return securityDescriptor{}, malformed("%q is SDDL text, not the binary form", truncate(string(b), 40))
	case len(b) < sdHeaderLen:
		return securityDescriptor{}, malformed("%d bytes, shorter than the %d-byte header", len(b), sdHeaderLen)
	}
	if b[0] != sdRevision {
		return securityDescriptor{}, malformed("revision %d, want %d", b[0], sdRevision)
	}
	sd := securityDescriptor{control: binary.LittleEndian.Uint16(b[2:])}
	if sd.control&seSelfRelative == 0 {
		return securityDescriptor{}, malformed("control %#04x lacks SE_SELF_RELATIVE (0x8000): its offsets mean nothing outside the memory it was made in", sd.control)
	}
	offOwner := binary.LittleEndian.Uint32(b[4:])
	offGroup := binary.LittleEndian.Uint32(b[8:])
	offDACL := binary.LittleEndian.Uint32(b[16:])
	var err error
	if sd.owner, err = sidField(b, "owner", offOwner); err != nil {
		return securityDescriptor{}, err
	}
	if sd.group, err = sidField(b, "group", offGroup); err != nil {
		return securityDescriptor{}, err
	}
	if sd.control&seDACLPresent == 0 || offDACL == 0 {
		return sd, nil
	}
	sd.hasDACL = true
	if sd.dacl, err = parseACL(b, "DACL", offDACL); err != nil {
		return securityDescriptor{}, err
	}
	return sd, nil
}

// looksLikeSDDL reports whether b starts as a security descriptor's SDDL string
// form ("O:BAD:(A;;...)") does.
func looksLikeSDDL(b []byte) bool {
	return len(b) >= 2 && b[1] == ':' && strings.IndexByte("OGDS", b[0]) >= 0
}

// checkOffset checks the offset of the part what of the descriptor b.
func checkOffset(b []byte, what string, off uint32) (int, error) {
	switch {
	case off < sdHeaderLen:
		return 0, malformed("%s offset %d points into the %d-byte header", what, off, sdHeaderLen)
	case uint64(off) >= uint64(len(b)):
		return 0, malformed("%s offset %d is past the end (%d bytes)", what, off, len(b))
	}
	return int(off), nil
}

// sidField decodes the SID at off in b, "" for an offset of 0 (absent).
func sidField(b []byte, what string, off uint32) (string, error) {
	if off == 0 {
		return "", nil
	}
	start, err := checkOffset(b, what, off)
	if err != nil {
		return "", err
	}
	sid, _, err := parseSID(b[start:])
	if err != nil {
		return "", malformed("%s SID at offset %d: %v", what, start, err)
	}
	return sid, nil
}

// parseSID decodes the SID at the start of b in its packet form and returns it in
// its S-1-... form with the number of bytes it takes.
func parseSID(b []byte) (string, int, error) {
	if len(b) < sidHeaderLen {
		return "", 0, fmt.Errorf("%d bytes left, a SID takes at least %d", len(b), sidHeaderLen)
	}
	if b[0] != 1 {
		return "", 0, fmt.Errorf("SID revision %d, want 1", b[0])
	}
	count := int(b[1])
	if count > maxSubAuthority {
		return "", 0, fmt.Errorf("SubAuthorityCount %d is more than %d", count, maxSubAuthority)
	}
	n := sidHeaderLen + 4*count
	if len(b) < n {
		return "", 0, fmt.Errorf("a SID of %d sub-authorities takes %d bytes, %d left", count, n, len(b))
	}
	sid, err := decodeSID(string(b[:n]))
	return sid, n, err
}

// parseACL decodes the ACL at off in b.
func parseACL(b []byte, what string, off uint32) ([]ace, error) {
	start, err := checkOffset(b, what, off)
	if err != nil {
		return nil, err
	}
	if len(b)-start < aclHeaderLen {
		return nil, malformed("%s at offset %d: %d bytes left for its %d-byte header", what, start, len(b)-start, aclHeaderLen)
	}
	h := b[start:]
	if rev := h[0]; rev != aclRevision && rev != aclRevisionDS {
		return nil, malformed("%s at offset %d: AclRevision %d, want %d or %d", what, start, rev, aclRevision, aclRevisionDS)
	}
	size := int(binary.LittleEndian.Uint16(h[2:]))
	count := int(binary.LittleEndian.Uint16(h[4:]))
	switch {
	case size < aclHeaderLen:
		return nil, malformed("%s at offset %d: AclSize %d is smaller than its header", what, start, size)
	case size > len(h):
		return nil, malformed("%s at offset %d: AclSize %d runs past the end (%d bytes left)", what, start, size, len(h))
	}
	acl := h[:size]
	aces := make([]ace, 0, min(count, size/(aceHeaderLen+4+sidHeaderLen)+1))
	pos := aclHeaderLen
	for i := range count {
		at := start + pos
		if size-pos < aceHeaderLen {
			return nil, malformed("%s ACE %d of %d at offset %d: past the ACL's end (AclSize %d)", what, i, count, at, size)
		}
		a := ace{typ: acl[pos], flags: acl[pos+1]}
		aceSize := int(binary.LittleEndian.Uint16(acl[pos+2:]))
		switch {
		case aceSize < aceHeaderLen || aceSize%4 != 0:
			return nil, malformed("%s ACE %d at offset %d: AceSize %d is not a multiple of 4 of at least %d", what, i, at, aceSize, aceHeaderLen)
		case aceSize > size-pos:
			return nil, malformed("%s ACE %d at offset %d: AceSize %d runs past the ACL's end (%d bytes left)", what, i, at, aceSize, size-pos)
		}
		if err := a.decodeBody(acl[pos+aceHeaderLen : pos+aceSize]); err != nil {
			return nil, malformed("%s ACE %d (type %#02x) at offset %d: %v", what, i, a.typ, at, err)
		}
		aces = append(aces, a)
		pos += aceSize
	}
	return aces, nil
}

// decodeBody decodes what follows the header of an ACE of a's type; the body of
// other types is not read.
func (a *ace) decodeBody(body []byte) error {
	var object bool
	switch a.typ {
	case aceAccessAllowed, aceAccessDenied:
	case aceAccessAllowedObject, aceAccessDeniedObject:
		object = true
	default:
		return nil
	}
	if len(body) < 4 {
		return errors.New("no room for its Mask")
	}
	a.mask = binary.LittleEndian.Uint32(body)
	rest := body[4:]
	if object {
		if len(rest) < 4 {
			return errors.New("no room for its object Flags")
		}
		flags := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		for _, bit := range []uint32{objectTypePresent, inheritedObjectTypePresent} {
			if flags&bit == 0 {
				continue
			}
			if len(rest) < guidLen {
				return fmt.Errorf("object Flags %#x announce a GUID with %d bytes left", flags, len(rest))
			}
			rest = rest[guidLen:]
		}
	}
	sid, _, err := parseSID(rest)
	if err != nil {
		return fmt.Errorf("trustee: %w", err)
	}
	a.sid = sid
	return nil
}

// actOnBehalf returns the SIDs of the principals the descriptor's DACL allows and
// denies, each once, in the DACL's order: those of its effective access-allowed and
// access-denied ACEs (plain and object). An ACE is effective unless it is inherit-only
// (it "does not control access to the object to which it is attached") or grants no
// right (Mask 0). Object ACEs count whatever object type they name, and any right
// counts: which right the KDC's access check asks for is not in Microsoft's text.
//
// This is how Samba's "samba-tool delegation show" (python/samba/netcmd/delegation.py)
// reads the attribute, with two differences that follow the access check rather than
// that tool's warnings: an inherit-only ACE is ignored whatever its other inheritance
// flags (the tool keeps one that also has OBJECT_INHERIT), and ACEs flagged
// CONTAINER_INHERIT or INHERITED_ACE count (the tool warns and drops them), since
// they control access to the object itself. The tool lists no principal from a
// descriptor without a DACL; actOnBehalf returns an error saying that such a
// descriptor allows everyone.
func (sd securityDescriptor) actOnBehalf() (allowed, denied []string, err error) {
	if !sd.hasDACL {
		return nil, nil, malformed("no DACL (control %#04x), which allows full access to everyone", sd.control)
	}
	add := func(list []string, sid string) []string {
		for _, s := range list {
			if s == sid {
				return list
			}
		}
		return append(list, sid)
	}
	for _, a := range sd.dacl {
		if a.flags&aceInheritOnly != 0 || a.mask == 0 {
			continue
		}
		switch a.typ {
		case aceAccessAllowed, aceAccessAllowedObject:
			allowed = add(allowed, a.sid)
		case aceAccessDenied, aceAccessDeniedObject:
			denied = add(denied, a.sid)
		}
	}
	return allowed, denied, nil
}

// encodeSID returns the packet form of a SID in its S-1-... form, for a search on
// objectSid.
func encodeSID(sid string) ([]byte, error) {
	parts := strings.Split(sid, "-")
	if len(parts) < 3 || len(parts) > 3+maxSubAuthority || parts[0] != "S" || parts[1] != "1" {
		return nil, fmt.Errorf("malformed SID %q", truncate(sid, 80))
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return nil, fmt.Errorf("malformed SID %q: identifier authority: %v", truncate(sid, 80), err)
	}
	subs := parts[3:]
	b := make([]byte, sidHeaderLen, sidHeaderLen+4*len(subs))
	b[0], b[1] = 1, byte(len(subs))
	for i := range 6 {
		b[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for _, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("malformed SID %q: sub-authority: %v", truncate(sid, 80), err)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b, nil
}
