package kerberos

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc4757"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The wire encodings of the Service for User extensions, built on gokrb5's types (gokrb5
// v8 has no S4U). Sources:
//   - "[MS-SFU]: Kerberos Protocol Extensions: Service for User and Constrained
//     Delegation Protocol",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/3bff5864-8135-400e-bdd9-33b552051d94
//   - "[MS-KILE]: Kerberos Protocol Extensions",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/2a32282e-dd48-4ad9-a542-609804b02cc9
const (
	// paTypePACOptions is PA-PAC-OPTIONS: "PA-PAC-OPTIONS [167] ([MS-KILE] section
	// 2.2.10) padata type with the resource-based constrained delegation bit set"
	// ("[MS-SFU] 3.1.5.2.1 Sends S4U2proxy KRB_TGS_REQ",
	// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/ddb2cafd-1f01-4834-b52a-d4a5b34cd960).
	// gokrb5 has no constant for it; PA-FOR-USER is its patype.PA_FOR_USER (129).
	paTypePACOptions = 167

	// kdcOptCnameInAddlTkt: "the new cname-in-addl-tkt option is defined as the KDC
	// option with bit position 14" ("[MS-SFU] 2.2.3 CNAME-IN-ADDL-TKT",
	// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/17b9af82-d45a-437d-a05c-79547fe969f5).
	// Bits count from the most significant bit of the first byte, as gokrb5's
	// types.SetFlag numbers them: bit 14 is 0x00020000.
	kdcOptCnameInAddlTkt = 14

	// pacOptResourceBased: "PA-PAC-OPTIONS ::= KerberosFlags -- resource-based
	// constrained delegation (3)" ("[MS-SFU] 2.2.5 PA-PAC-OPTIONS",
	// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/aeecfd82-a5e4-474c-92ab-8df9022cf955).
	pacOptResourceBased = 3

	// authPackage is PA-FOR-USER's auth-package: "This MUST be set to the string,
	// "Kerberos"" ("[MS-SFU] 2.2.1 PA-FOR-USER",
	// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/aceb70de-40f0-4409-87fa-df00ca145f5a).
	authPackage = "Kerberos"

	// nameTypeUnknown is PA-FOR-USER's userName name type: "The default value for
	// name type is NT-UNKNOWN as specified in [RFC4120] section 6.2" ([MS-SFU] 2.2.1),
	// which is 0.
	nameTypeUnknown = 0

	// kerbErrTypeExtended is KERB-ERROR-DATA's data-type "3 KERB_ERR_TYPE_EXTENDED":
	// "The data-value field contains extended, implementation-specific error
	// information", a KERB-EXT-ERROR ("[MS-KILE] 2.2.2 KERB-ERROR-DATA",
	// https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/25fabd02-560d-4c1f-8f42-b32e9d97996a).
	kerbErrTypeExtended = 3
)

// paForUser is PA-FOR-USER ([MS-SFU] 2.2.1):
//
//	PA-FOR-USER ::= SEQUENCE {
//	    -- PA TYPE 129
//	    userName        [0] PrincipalName,
//	    userRealm       [1] Realm,
//	    cksum           [2] Checksum,
//	    auth-package    [3] KerberosString
//	}
type paForUser struct {
	UserName    types.PrincipalName `asn1:"explicit,tag:0"`
	UserRealm   string              `asn1:"generalstring,explicit,tag:1"`
	Cksum       types.Checksum      `asn1:"explicit,tag:2"`
	AuthPackage string              `asn1:"generalstring,explicit,tag:3"`
}

// paPACOptions is PA-PAC-OPTIONS. [MS-SFU] 2.2.5 writes it as bare KerberosFlags and
// "[MS-KILE] 2.2.10 PA-PAC-OPTIONS"
// (https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/99721a01-c859-48d1-8310-ec1bab9b2838)
// as "PA-PAC-OPTIONS ::= SEQUENCE { KerberosFlags ... }", without a tag; the
// implementations (Heimdal's decoder among them) encode SEQUENCE { [0] KerberosFlags },
// which is what a KDC decodes.
type paPACOptions struct {
	Flags asn1.BitString `asn1:"explicit,tag:0"`
}

// kerbErrorData is KERB-ERROR-DATA ([MS-KILE] 2.2.2), which a KDC "SHOULD" return in a
// KRB-ERROR's e-data "for extended errors":
//
//	KERB-ERROR-DATA ::= SEQUENCE {
//	    data-type   [1] INTEGER,
//	    data-value  [2] OCTET STRING OPTIONAL
//	}
type kerbErrorData struct {
	DataType  int32  `asn1:"explicit,tag:1"`
	DataValue []byte `asn1:"explicit,optional,tag:2"`
}

// s4uByteArray is the input of PA-FOR-USER's checksum ([MS-SFU] 2.2.1): "The value of
// the userName.name-type is first encoded as a 4-byte integer in little endian byte
// order, then these 4 bytes are concatenated with all string values in the sequence of
// strings contained in the userName.name-string field, then the string value of the
// userRealm field, and then the string value of auth-package field, in that order ...
// the null terminator is not included".
func s4uByteArray(name types.PrincipalName, realm, pkg string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(name.NameType))
	for _, s := range name.NameString {
		b = append(b, s...)
	}
	b = append(b, realm...)
	return append(b, pkg...)
}

// newPAForUser returns the PA-FOR-USER padata (129) that asks for a ticket for user in
// realm. Its checksum is KERB_CHECKSUM_HMAC_MD5 of s4uByteArray: "calculated using the
// KERB_CHECKSUM_HMAC_MD5 function ([RFC4757]) ... with the following three parameters:
// the session key of the TGT of the service performing the S4U2self request, the message
// type value of 17, and the byte array S4UByteArray" ([MS-SFU] 2.2.1), whatever the
// session key's type. Key usage 17 is "KERB_NON_KERB_CKSUM_SALT [17]" ([MS-KILE] 3.1.5.9
// Key Usage Numbers) and the checksum type "hmac-md5-string [-138] [RFC4757]"
// ([MS-KILE] 3.1.5.3), gokrb5's keyusage.KERB_NON_KERB_CKSUM_SALT and
// chksumtype.KERB_CHECKSUM_HMAC_MD5; rfc4757.Checksum is RFC 4757's HMAC-MD5 checksum
// ("The RC4-HMAC Kerberos Encryption Types Used by Microsoft Windows", section 4,
// https://www.rfc-editor.org/rfc/rfc4757#section-4).
func newPAForUser(user types.PrincipalName, realm string, sessionKey types.EncryptionKey) (types.PAData, error) {
	sum, err := rfc4757.Checksum(sessionKey.KeyValue, keyusage.KERB_NON_KERB_CKSUM_SALT, s4uByteArray(user, realm, authPackage))
	if err != nil {
		return types.PAData{}, fmt.Errorf("PA-FOR-USER checksum: %w", err)
	}
	b, err := asn1.Marshal(paForUser{
		UserName:    user,
		UserRealm:   realm,
		Cksum:       types.Checksum{CksumType: chksumtype.KERB_CHECKSUM_HMAC_MD5, Checksum: sum},
		AuthPackage: authPackage,
	})
	if err != nil {
		return types.PAData{}, fmt.Errorf("encode PA-FOR-USER: %w", err)
	}
	return types.PAData{PADataType: patype.PA_FOR_USER, PADataValue: b}, nil
}

// newPAPACOptionsRBCD returns the PA-PAC-OPTIONS padata (167) with the resource-based
// constrained delegation bit set, and no other: 30 09 a0 07 03 05 00 10 00 00 00.
func newPAPACOptionsRBCD() (types.PAData, error) {
	f := types.NewKrbFlags() // 32 bits: "no fewer than 32" ([MS-KILE] 2.2.10)
	types.SetFlag(&f, pacOptResourceBased)
	b, err := asn1.Marshal(paPACOptions{Flags: f})
	if err != nil {
		return types.PAData{}, fmt.Errorf("encode PA-PAC-OPTIONS: %w", err)
	}
	return types.PAData{PADataType: paTypePACOptions, PADataValue: b}, nil
}

// A kdcRefusal is a KRB-ERROR the KDC answered a TGS-REQ with.
type kdcRefusal struct {
	Code  int
	EText string
	// Status is the NTSTATUS of a KERB-EXT-ERROR in the e-data, and HasStatus whether
	// there was one.
	Status    uint32
	HasStatus bool
}

// Application tags of the two answers to a TGS-REQ (RFC 4120 section 5.4.2 and 5.9.1,
// https://www.rfc-editor.org/rfc/rfc4120#section-5.4.2): TGS-REP ::= [APPLICATION 13]
// and KRB-ERROR ::= [APPLICATION 30], as the first byte of a constructed encoding.
const (
	tagTGSRep   = 0x60 | 13
	tagKRBError = 0x60 | 30
)

// decodeReply decodes a KDC's answer to a TGS-REQ: a TGS-REP, still encrypted, or a
// KRB-ERROR. Anything else, a truncated or malformed message among them, is an error.
func decodeReply(b []byte) (*messages.TGSRep, *kdcRefusal, error) {
	if len(b) == 0 {
		return nil, nil, errors.New("empty reply")
	}
	switch b[0] {
	case tagTGSRep:
		rep := new(messages.TGSRep)
		if err := rep.Unmarshal(b); err != nil {
			return nil, nil, fmt.Errorf("malformed TGS-REP: %s", describe(err))
		}
		return rep, nil, nil
	case tagKRBError:
		var ke messages.KRBError
		if err := ke.Unmarshal(b); err != nil {
			return nil, nil, fmt.Errorf("malformed KRB-ERROR: %s", describe(err))
		}
		r := &kdcRefusal{Code: int(ke.ErrorCode), EText: ke.EText}
		r.Status, r.HasStatus = extendedStatus(ke.EData)
		return nil, r, nil
	}
	return nil, nil, fmt.Errorf("neither a TGS-REP nor a KRB-ERROR (first byte 0x%02x)", b[0])
}

// extendedStatus returns the NTSTATUS in a KRB-ERROR's e-data when it is a
// KERB-ERROR-DATA of type KERB_ERR_TYPE_EXTENDED ([MS-KILE] 2.2.2) holding a
// KERB-EXT-ERROR: "typedef struct KERB_EXT_ERROR { unsigned long status; unsigned long
// reserved; unsigned long flags; }", "Status: An NTSTATUS value" ("[MS-KILE] 2.2.1
// KERB-EXT-ERROR",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/15fa77fb-deaa-487d-b685-1310afe45ca1).
// [MS-KILE] does not give the byte order of the three unsigned longs; they are read
// little-endian, as Windows lays out its structures.
func extendedStatus(edata []byte) (uint32, bool) {
	if len(edata) == 0 {
		return 0, false
	}
	var d kerbErrorData
	rest, err := asn1.Unmarshal(edata, &d)
	if err != nil || len(rest) > 0 || d.DataType != kerbErrTypeExtended || len(d.DataValue) < 12 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(d.DataValue), true
}

// NTSTATUS values a KDC gives with a refused S4U2proxy request ("[MS-SFU] 3.2.5.2.1 Using
// ServicesAllowedToSendForwardedTicketsTo",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/6d76bf10-3c48-4e14-9992-df1bd456455e,
// and "3.2.5.2.3 Using ServicesAllowedToReceiveForwardedTicketsFrom",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/dd1b47f9-580c-4c4e-8f34-4485b9728331),
// with their values from "[MS-ERREF] 2.3.1 NTSTATUS Values",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-erref/596a1078-e883-4972-9bbc-49e60bebca55.
const (
	// StatusNotSupported: "If Service 1's ServicesAllowedToSendForwardedTicketsTo
	// parameter was empty, this is returned with STATUS_NOT_SUPPORTED" (3.2.5.2.1).
	StatusNotSupported = 0xC00000BB
	// StatusNoMatch: "... else STATUS_NO_MATCH" (3.2.5.2.1): the back end's SPN is not
	// in the front end's msDS-AllowedToDelegateTo, or the user's ticket is not
	// forwardable.
	StatusNoMatch = 0xC0000272
	// StatusNotFound: "If the access check fails, the KDC MUST return
	// KRB-ERR-BADOPTION with STATUS_NOT_FOUND" (3.2.5.2.3, resource-based).
	StatusNotFound = 0xC0000225
	// StatusAccountRestriction: "If the service ticket in the additional-tickets field
	// is not set to forwardable, then the KDC MUST return KRB-ERR-BADOPTION with
	// STATUS_ACCOUNT_RESTRICTION" (3.2.5.2.3, resource-based).
	StatusAccountRestriction = 0xC000006E
)

// NTStatusName returns the name of an NTSTATUS a KDC gives with a refused S4U request,
// such as "STATUS_NO_MATCH", or its value in hexadecimal ("0xC0000001") for another.
func NTStatusName(status uint32) string {
	switch status {
	case StatusNotSupported:
		return "STATUS_NOT_SUPPORTED"
	case StatusNoMatch:
		return "STATUS_NO_MATCH"
	case StatusNotFound:
		return "STATUS_NOT_FOUND"
	case StatusAccountRestriction:
		return "STATUS_ACCOUNT_RESTRICTION"
	}
	return fmt.Sprintf("0x%08X", status)
}
