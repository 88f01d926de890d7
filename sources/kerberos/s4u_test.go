package kerberos

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc4757"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/test/testdata"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/authtriage/authtriage/triage"
)

// TestPAForUserEncoding: the local PA-FOR-USER type encodes MIT's PA-FOR-USER test
// vector (as gokrb5 ships it, test/testdata MarshaledKRB5pa_for_user) byte for byte,
// and decodes it back.
func TestPAForUserEncoding(t *testing.T) {
	want, err := hex.DecodeString(testdata.MarshaledKRB5pa_for_user)
	if err != nil {
		t.Fatal(err)
	}
	p := paForUser{
		UserName:    types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"hftsai", "extra"}},
		UserRealm:   "ATHENA.MIT.EDU",
		Cksum:       types.Checksum{CksumType: 1, Checksum: []byte("1234")},
		AuthPackage: "krb5data",
	}
	got, err := asn1.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("PA-FOR-USER =\n%x\nwant MIT's\n%x", got, want)
	}
	var back paForUser
	if rest, err := asn1.Unmarshal(want, &back); err != nil || len(rest) > 0 {
		t.Fatalf("decode MIT's PA-FOR-USER: %v, %d bytes left", err, len(rest))
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("decoded PA-FOR-USER (-encoded +decoded):\n%s", diff)
	}
}

// TestPAPACOptionsEncoding: PA-PAC-OPTIONS with only the resource-based bit is the
// encoding the implementations use, 30 09 a0 07 03 05 00 10 00 00 00, as padata 167.
func TestPAPACOptionsEncoding(t *testing.T) {
	pa, err := newPAPACOptionsRBCD()
	if err != nil {
		t.Fatal(err)
	}
	if pa.PADataType != 167 {
		t.Errorf("padata type %d, want 167", pa.PADataType)
	}
	if got, want := hex.EncodeToString(pa.PADataValue), "3009a00703050010000000"; got != want {
		t.Errorf("PA-PAC-OPTIONS = %s, want %s", got, want)
	}
}

// TestKDCOptionCnameInAddlTkt: bit 14 of KDCOptions is 0x00020000 on the wire, next to
// forwardable (bit 1, 0x40000000).
func TestKDCOptionCnameInAddlTkt(t *testing.T) {
	f := types.NewKrbFlags()
	types.SetFlag(&f, kdcOptCnameInAddlTkt)
	if got := hex.EncodeToString(f.Bytes); got != "00020000" {
		t.Errorf("cname-in-addl-tkt = %s, want 00020000", got)
	}
	types.SetFlag(&f, flags.Forwardable)
	if got := hex.EncodeToString(f.Bytes); got != "40020000" {
		t.Errorf("forwardable and cname-in-addl-tkt = %s, want 40020000", got)
	}
}

// TestS4UByteArray: the checksum's input is the name type in 4 little-endian bytes, then
// the name's strings, the realm and "Kerberos", without separators or terminators.
func TestS4UByteArray(t *testing.T) {
	tests := []struct {
		name  types.PrincipalName
		realm string
		want  string // hex
	}{
		{types.PrincipalName{NameType: 0, NameString: []string{"alice"}}, "CORP.TEST",
			"00000000" + hex.EncodeToString([]byte("aliceCORP.TESTKerberos"))},
		{types.PrincipalName{NameType: 1, NameString: []string{"a", "b"}}, "R",
			"01000000" + hex.EncodeToString([]byte("abRKerberos"))},
		{types.PrincipalName{NameType: 10, NameString: []string{"alice@corp.test"}}, "CORP.TEST",
			"0a000000" + hex.EncodeToString([]byte("alice@corp.testCORP.TESTKerberos"))},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(s4uByteArray(tt.name, tt.realm, authPackage)); got != tt.want {
			t.Errorf("s4uByteArray(%v, %s) = %s, want %s", tt.name, tt.realm, got, tt.want)
		}
	}
}

// TestPAForUserChecksum: gokrb5's rfc4757.Checksum is KERB_CHECKSUM_HMAC_MD5 (MIT's
// known answer for hmac-md5-rc4, lib/crypto/crypto_tests/t_cksums.c in
// https://github.com/krb5/krb5), and newPAForUser puts it, over S4UByteArray with key
// usage 17 and an AES session key, in a PA-FOR-USER of padata type 129.
func TestPAForUserChecksum(t *testing.T) {
	key, _ := hex.DecodeString("F7D3A155AF5E238A0B7A871A96BA2AB2")
	got, err := rfc4757.Checksum(key, 6, []byte("seventeen eighteen nineteen twenty"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "eb38cc97e2230f59da4117dc5859d7ec"; hex.EncodeToString(got) != want {
		t.Fatalf("HMAC-MD5 checksum = %x, want MIT's %s", got, want)
	}

	session := types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}
	user := types.PrincipalName{NameType: nameTypeUnknown, NameString: []string{"alice"}}
	pa, err := newPAForUser(user, "CORP.TEST", session)
	if err != nil {
		t.Fatal(err)
	}
	if patype.PA_FOR_USER != 129 || pa.PADataType != 129 {
		t.Errorf("padata type %d, want 129", pa.PADataType)
	}
	var p paForUser
	if _, err := asn1.Unmarshal(pa.PADataValue, &p); err != nil {
		t.Fatal(err)
	}
	input := append([]byte{0, 0, 0, 0}, "aliceCORP.TESTKerberos"...)
	want, _ := rfc4757.Checksum(session.KeyValue, 17, input)
	if chksumtype.KERB_CHECKSUM_HMAC_MD5 != -138 || p.Cksum.CksumType != -138 || !bytes.Equal(p.Cksum.Checksum, want) {
		t.Errorf("checksum %d %x, want -138 %x", p.Cksum.CksumType, p.Cksum.Checksum, want)
	}
	if p.UserRealm != "CORP.TEST" || p.AuthPackage != "Kerberos" || !p.UserName.Equal(user) || p.UserName.NameType != 0 {
		t.Errorf("PA-FOR-USER = %+v", p)
	}
}

// extError is a KRB-ERROR's e-data holding KERB-ERROR-DATA with a KERB-EXT-ERROR of
// status, written out byte by byte.
func extError(status uint32) []byte {
	b := []byte{0x30, 0x15, 0xa1, 0x03, 0x02, 0x01, 0x03, 0xa2, 0x0e, 0x04, 0x0c}
	b = binary.LittleEndian.AppendUint32(b, status)
	return append(b, 0, 0, 0, 0, 1, 0, 0, 0) // reserved, flags 0x00000001
}

func krbErrorBytes(t testing.TB, code int32, etext string, edata []byte) []byte {
	t.Helper()
	ke := messages.NewKRBError(types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/CORP.TEST"), "CORP.TEST", code, etext)
	ke.EData = edata
	b, err := ke.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeReply: a KRB-ERROR gives its code and, from a KERB-ERROR-DATA of type 3,
// the NTSTATUS; a TGS-REP is returned as such; anything else is an error.
func TestDecodeReply(t *testing.T) {
	otherType, _ := asn1.Marshal(kerbErrorData{DataType: 2}) // KERB_AP_ERR_TYPE_SKEW_RECOVERY
	short, _ := asn1.Marshal(kerbErrorData{DataType: 3, DataValue: []byte{1, 2, 3}})
	f := newFakeKDC(t)
	rep := f.tgsRep(t, 42, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "svc_web"),
		types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"), true)
	tests := []struct {
		name    string
		in      []byte
		want    *kdcRefusal
		wantRep bool
		wantErr string
	}{
		{"BADOPTION, no e-data (Samba)", krbErrorBytes(t, 13, "", nil), &kdcRefusal{Code: 13}, false, ""},
		{"BADOPTION, STATUS_NO_MATCH", krbErrorBytes(t, 13, "", extError(StatusNoMatch)),
			&kdcRefusal{Code: 13, Status: StatusNoMatch, HasStatus: true}, false, ""},
		{"BADOPTION, STATUS_NOT_FOUND, e-text", krbErrorBytes(t, 13, "no", extError(StatusNotFound)),
			&kdcRefusal{Code: 13, EText: "no", Status: StatusNotFound, HasStatus: true}, false, ""},
		{"skew recovery e-data", krbErrorBytes(t, 37, "", otherType), &kdcRefusal{Code: 37}, false, ""},
		{"short KERB-EXT-ERROR", krbErrorBytes(t, 13, "", short), &kdcRefusal{Code: 13}, false, ""},
		{"e-data not DER", krbErrorBytes(t, 12, "", []byte{0xff, 0x00}), &kdcRefusal{Code: 12}, false, ""},
		{"TGS-REP", rep, nil, true, ""},
		{"empty", nil, nil, false, "empty reply"},
		{"AS-REP tag", []byte{0x6b, 0x00}, nil, false, "neither a TGS-REP nor a KRB-ERROR (first byte 0x6b)"},
		{"truncated KRB-ERROR", krbErrorBytes(t, 13, "", nil)[:20], nil, false, "malformed KRB-ERROR"},
		{"truncated TGS-REP", rep[:40], nil, false, "malformed TGS-REP"},
		{"HTTP", []byte("HTTP/1.1 400 Bad Request\r\n"), nil, false, "first byte 0x48"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, refused, err := decodeReply(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("decodeReply error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, refused); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
			if (r != nil) != tt.wantRep {
				t.Errorf("TGS-REP = %v, want one: %v", r, tt.wantRep)
			}
		})
	}
}

func TestNTStatusName(t *testing.T) {
	for status, want := range map[uint32]string{
		0xC00000BB: "STATUS_NOT_SUPPORTED",
		0xC0000272: "STATUS_NO_MATCH",
		0xC0000225: "STATUS_NOT_FOUND",
		0xC000006E: "STATUS_ACCOUNT_RESTRICTION",
		0xC0000001: "0xC0000001",
	} {
		if got := NTStatusName(status); got != want {
			t.Errorf("NTStatusName(%#x) = %s, want %s", status, got, want)
		}
	}
}

// TestS4UUser: the forms of a user's name and the PA-FOR-USER name and realm they give.
func TestS4UUser(t *testing.T) {
	tests := []struct {
		in, name, realm, err string
	}{
		{"alice", "alice", "CORP.TEST", ""},
		{"alice@corp.test", "alice", "CORP.TEST", ""},
		{"alice@OTHER.TEST", "alice", "OTHER.TEST", ""},
		{`CORP\alice`, "alice", "CORP.TEST", ""},
		{"", "", "", "empty name"},
		{"@CORP.TEST", "", "", "empty name"},
		{"alice@", "", "", "no realm"},
		{"al\nice", "", "", "control or format character"},
		{"al\u202eice", "", "", "control or format character"},
		{`a\b\c`, "", "", `'\'`},
		{"a//b", "", "", "empty component"},
		{"alice@bad realm", "", "", "has"},
		{strings.Repeat("a", 257), "", "", "longer than 256"},
	}
	for _, tt := range tests {
		name, realm, err := s4uUser(tt.in, "CORP.TEST")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("s4uUser(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || name.PrincipalNameString() != tt.name || realm != tt.realm || name.NameType != 0 {
			t.Errorf("s4uUser(%q) = %v, %q, %v; want %s@%s", tt.in, name, realm, err, tt.name, tt.realm)
		}
	}
}

// TestDelegationConfigPrincipal: name@REALM gives the realm; it must agree with Realm.
func TestDelegationConfigPrincipal(t *testing.T) {
	for _, tt := range []struct {
		principal, realm, wantName, wantRealm, err string
	}{
		{"svc_web", "CORP.TEST", "svc_web", "CORP.TEST", ""},
		{"svc_web@CORP.TEST", "", "svc_web", "CORP.TEST", ""},
		{"svc_web@CORP.TEST", "corp.test", "svc_web", "corp.test", ""},
		{"svc_web@OTHER.TEST", "CORP.TEST", "", "", `in realm "OTHER.TEST", not CORP.TEST`},
		{"svc_web@", "", "", "", "empty realm"},
	} {
		c, err := DelegationConfig{Principal: tt.principal, Realm: tt.realm}.config()
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("config(%q, %q) error = %v, want %q", tt.principal, tt.realm, err, tt.err)
			}
			continue
		}
		if err != nil || c.Principal != tt.wantName || c.Realm != tt.wantRealm {
			t.Errorf("config(%q, %q) = %q, %q, %v", tt.principal, tt.realm, c.Principal, c.Realm, err)
		}
	}
}

// TestDelegationConfigSecret: the password is in neither String nor LogValue.
func TestDelegationConfigSecret(t *testing.T) {
	c := DelegationConfig{Principal: "svc_web", Password: "hunter2-secret"}
	if s := c.String() + c.LogValue().String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "[redacted]") {
		t.Errorf("DelegationConfig shows %q", s)
	}
}

// TestExchangeTCP: the framing, a KDC that takes the connection and never answers (the
// exchange returns once ctx is canceled), one that closes, one whose length is absurd,
// and a KDC that cannot be reached, after which the next one is asked.
func TestExchangeTCP(t *testing.T) {
	req := []byte("request")
	tests := []struct {
		name    string
		serve   func(c net.Conn) // after reading the request
		want    string
		wantErr string
	}{
		{"answers", func(c net.Conn) { writeFrame(c, []byte("reply")) }, "reply", ""},
		{"closes", func(c net.Conn) {}, "", "EOF"},
		{"half a length", func(c net.Conn) { _, _ = c.Write([]byte{0, 0}) }, "", "EOF"},
		{"short body", func(c net.Conn) { _, _ = c.Write([]byte{0, 0, 0, 9, 'a'}) }, "", "EOF"},
		{"high bit", func(c net.Conn) { _, _ = c.Write([]byte{0x80, 0, 0, 1, 'a'}) }, "", "reserved high bit"},
		{"empty", func(c net.Conn) { _, _ = c.Write([]byte{0, 0, 0, 0}) }, "", "empty reply"},
		{"huge", func(c net.Conn) { _, _ = c.Write([]byte{0x7f, 0xff, 0xff, 0xff}) }, "", "at most 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveOnce(t, func(c net.Conn) {
				if got := readFrame(t, c); !bytes.Equal(got, req) {
					t.Errorf("KDC read %q, want %q", got, req)
				}
				tt.serve(c)
			})
			got, err := kdcExchange(t.Context(), []string{closedAddr(t), addr}, req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("kdcExchange = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("kdcExchange = %q, %v; want %q", got, err, tt.want)
			}
		})
	}

	t.Run("silent", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		addr := serveOnce(t, func(c net.Conn) {
			readFrame(t, c)
			cancel() // the request arrived: give up on the answer
			<-t.Context().Done()
		})
		_, err := kdcExchange(ctx, []string{addr}, req)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("kdcExchange = %v, want context.Canceled", err)
		}
	})
	t.Run("none reachable", func(t *testing.T) {
		_, err := kdcExchange(t.Context(), []string{closedAddr(t), closedAddr(t)}, req)
		if err == nil || strings.Count(err.Error(), "connect to the KDC") != 2 {
			t.Fatalf("kdcExchange = %v, want both connection errors", err)
		}
	})
	t.Run("none", func(t *testing.T) {
		if _, err := kdcExchange(t.Context(), nil, req); err == nil {
			t.Fatal("kdcExchange with no KDC succeeded")
		}
	})
}

// serveOnce listens on the loopback and serves one connection with serve, closing it
// afterwards.
func serveOnce(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	return ln.Addr().String()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func writeFrame(c net.Conn, b []byte) {
	_, _ = c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...))
}

// readFrame reads one length-prefixed message; nil when the connection ends first.
func readFrame(t testing.TB, c net.Conn) []byte {
	var hdr [4]byte
	if _, err := readFull(c, hdr[:]); err != nil {
		return nil
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxReplySize {
		t.Errorf("request of %d bytes", n)
		return nil
	}
	b := make([]byte, n)
	if _, err := readFull(c, b); err != nil {
		return nil
	}
	return b
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestProveDelegationFake runs ProveDelegation against a fake KDC that checks each
// request (the PA-TGS-REQ's body checksum, PA-FOR-USER's checksum, the options, the
// evidence ticket, PA-PAC-OPTIONS) and answers as each case says.
func TestProveDelegationFake(t *testing.T) {
	const spn = "MSSQLSvc/sqlbe.corp.test:1433"
	issue := func(forwardable bool) fakeAnswer {
		return func(f *fakeKDC, r *fakeTGS) []byte { return f.reply(r, f.user, forwardable) }
	}
	refuse := func(code int32, edata []byte) fakeAnswer {
		return func(f *fakeKDC, r *fakeTGS) []byte { return krbErrorBytes(f.t, code, "", edata) }
	}
	proof := func(p triage.DelegationProof) triage.DelegationProof {
		p.User, p.SPN = "alice@CORP.TEST", spn
		return p
	}
	tests := []struct {
		name           string
		rbcd           bool
		self, proxy    fakeAnswer // proxy nil: no S4U2proxy request expected
		want           triage.DelegationProof
		wantErr        string // in Err
		wantUnprovable string // in Unprovable
	}{
		{name: "issued", self: issue(true), proxy: issue(true),
			want: proof(triage.DelegationProof{SelfIssued: true, SelfForwardable: true, ProxyIssued: true})},
		{name: "SPN not allowed (Windows)", self: issue(true), proxy: refuse(13, extError(StatusNoMatch)),
			want: proof(triage.DelegationProof{SelfIssued: true, SelfForwardable: true, Step: "s4u2proxy",
				KDCError: 13, ErrorName: "KDC_ERR_BADOPTION", NTStatus: "STATUS_NO_MATCH"})},
		{name: "not forwardable, still asked", self: issue(false), proxy: refuse(13, nil),
			want: proof(triage.DelegationProof{SelfIssued: true, Step: "s4u2proxy", KDCError: 13, ErrorName: "KDC_ERR_BADOPTION"})},
		{name: "resource-based, no NTSTATUS", rbcd: true, self: issue(false), proxy: refuse(13, nil),
			want:           proof(triage.DelegationProof{SelfIssued: true, Step: "s4u2proxy", KDCError: 13, ErrorName: "KDC_ERR_BADOPTION"}),
			wantUnprovable: "KDC_ERR_BADOPTION and no NTSTATUS"},
		{name: "resource-based, STATUS_NOT_FOUND", rbcd: true, self: issue(true), proxy: refuse(13, extError(StatusNotFound)),
			want: proof(triage.DelegationProof{SelfIssued: true, SelfForwardable: true, Step: "s4u2proxy",
				KDCError: 13, ErrorName: "KDC_ERR_BADOPTION", NTStatus: "STATUS_NOT_FOUND"})},
		{name: "resource-based, issued", rbcd: true, self: issue(false), proxy: issue(true),
			want: proof(triage.DelegationProof{SelfIssued: true, ProxyIssued: true})},
		{name: "back end SPN unknown", self: issue(true), proxy: refuse(7, nil),
			want: proof(triage.DelegationProof{SelfIssued: true, SelfForwardable: true, Step: "s4u2proxy",
				KDCError: 7, ErrorName: "KDC_ERR_S_PRINCIPAL_UNKNOWN"})},
		{name: "user unknown", self: refuse(6, nil),
			want: proof(triage.DelegationProof{Step: "s4u2self", KDCError: 6, ErrorName: "KDC_ERR_C_PRINCIPAL_UNKNOWN"})},
		{name: "KDC ignores S4U2self", self: func(f *fakeKDC, r *fakeTGS) []byte { return f.reply(r, f.service, true) },
			want: proof(triage.DelegationProof{}), wantUnprovable: "ignored the S4U2self request"},
		{name: "KDC ignores S4U2proxy", self: issue(true), proxy: func(f *fakeKDC, r *fakeTGS) []byte { return f.reply(r, f.service, true) },
			want:           proof(triage.DelegationProof{SelfIssued: true, SelfForwardable: true}),
			wantUnprovable: "ignored the S4U2proxy request"},
		{name: "another user's ticket", self: func(f *fakeKDC, r *fakeTGS) []byte {
			return f.reply(r, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "mallory"), true)
		}, want: proof(triage.DelegationProof{}), wantErr: "the KDC's ticket is for mallory@CORP.TEST"},
		{name: "wrong nonce", self: func(f *fakeKDC, r *fakeTGS) []byte {
			r.req.ReqBody.Nonce++
			return f.reply(r, f.user, true)
		}, want: proof(triage.DelegationProof{}), wantErr: "another nonce"},
		{name: "wrong key", self: func(f *fakeKDC, r *fakeTGS) []byte {
			f.replyKey = types.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}
			return f.reply(r, f.user, true)
		}, want: proof(triage.DelegationProof{}), wantErr: "does not decrypt with the TGT's session key"},
		{name: "another server", self: func(f *fakeKDC, r *fakeTGS) []byte {
			r.req.ReqBody.SName = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "svc_other")
			return f.reply(r, f.user, true)
		}, want: proof(triage.DelegationProof{}), wantErr: "the KDC's ticket is for svc_other@CORP.TEST, not svc_web"},
		{name: "referral", self: func(f *fakeKDC, r *fakeTGS) []byte {
			r.req.ReqBody.SName = types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/OTHER.TEST")
			return f.reply(r, f.user, true)
		}, want: proof(triage.DelegationProof{}), wantErr: "referred the request to realm OTHER.TEST"},
		{name: "garbage", self: func(*fakeKDC, *fakeTGS) []byte { return []byte("\x00garbage") },
			want: proof(triage.DelegationProof{}), wantErr: "neither a TGS-REP nor a KRB-ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKDC(t)
			f.rbcd = tt.rbcd
			f.answer = map[string]fakeAnswer{StepS4U2Self: tt.self, StepS4U2Proxy: tt.proxy}
			got := ProveDelegation(t.Context(), f.config(), triage.DelegationPath{Account: `CORP\svc_web`}, "alice", spn, tt.rbcd)
			if got.Path.Account != `CORP\svc_web` {
				t.Errorf("Path = %+v", got.Path)
			}
			if !strings.Contains(got.Err, tt.wantErr) || (tt.wantErr == "") != (got.Err == "") {
				t.Errorf("Err = %q, want %q", got.Err, tt.wantErr)
			}
			if !strings.Contains(got.Unprovable, tt.wantUnprovable) || (tt.wantUnprovable == "") != (got.Unprovable == "") {
				t.Errorf("Unprovable = %q, want %q", got.Unprovable, tt.wantUnprovable)
			}
			got.Path, got.Err, got.Unprovable = triage.DelegationPath{}, "", ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("proof (-want +got):\n%s", diff)
			}
			if asked := f.asked(); (tt.proxy != nil) != asked[StepS4U2Proxy] {
				t.Errorf("S4U2proxy asked: %v, want %v", asked[StepS4U2Proxy], tt.proxy != nil)
			}
		})
	}
}

// TestProveDelegationBounded: ProveDelegation returns when ctx is canceled, whichever
// exchange the KDC leaves unanswered, and when its Timeout passes; it says which.
func TestProveDelegationBounded(t *testing.T) {
	silent := func(f *fakeKDC, r *fakeTGS) []byte { return nil }
	issue := func(f *fakeKDC, r *fakeTGS) []byte { return f.reply(r, f.user, true) }
	for _, tt := range []struct {
		name      string
		as        bool // the AS-REQ goes unanswered
		self      fakeAnswer
		proxy     fakeAnswer
		wantErr   string
		wantSelf  bool
		byTimeout bool
	}{
		{name: "login", as: true, wantErr: "get TGT for svc_web@CORP.TEST: canceled"},
		{name: "S4U2self", self: silent, wantErr: "S4U2self for alice@CORP.TEST: canceled"},
		{name: "S4U2proxy", self: issue, proxy: silent, wantSelf: true,
			wantErr: "S4U2proxy for alice@CORP.TEST to MSSQLSvc/sqlbe.corp.test:1433: canceled"},
		{name: "S4U2proxy timeout", self: issue, proxy: silent, wantSelf: true, byTimeout: true,
			wantErr: "S4U2proxy for alice@CORP.TEST to MSSQLSvc/sqlbe.corp.test:1433: no answer from the KDC within 300ms"},
		{name: "login timeout", as: true, byTimeout: true, wantErr: "get TGT for svc_web@CORP.TEST: no answer from the KDC within 300ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKDC(t)
			f.silentAS = tt.as
			f.answer = map[string]fakeAnswer{StepS4U2Self: tt.self, StepS4U2Proxy: tt.proxy}
			cfg := f.config()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.byTimeout {
				cfg.Timeout = 300 * time.Millisecond
			} else {
				go func() {
					select {
					case <-f.silenced:
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			got := ProveDelegation(ctx, cfg, triage.DelegationPath{}, "alice", "MSSQLSvc/sqlbe.corp.test:1433", false)
			if got.Err != tt.wantErr || got.SelfIssued != tt.wantSelf || got.ProxyIssued {
				t.Errorf("proof = %+v, want Err %q", got, tt.wantErr)
			}
		})
	}
}

// TestProveDelegationUnusable: bad input is reported in Err without touching a KDC, and
// never with the password.
func TestProveDelegationUnusable(t *testing.T) {
	good := DelegationConfig{Realm: "CORP.TEST", KDCs: []string{closedAddr(t)}, Principal: "svc_web", Password: "s3cret-pw"}
	for _, tt := range []struct {
		name      string
		cfg       DelegationConfig
		user, spn string
		want      string
	}{
		{"no credentials", DelegationConfig{Realm: "CORP.TEST", KDCs: good.KDCs, Principal: "svc_web"}, "alice", "HTTP/x", "no credentials"},
		{"realms disagree", DelegationConfig{Realm: "CORP.TEST", Principal: "svc_web@OTHER.TEST", Password: "s3cret-pw"}, "alice", "HTTP/x", "not CORP.TEST"},
		{"bad user", good, "al\x1bice", "HTTP/x", "control or format character"},
		{"bad SPN", good, "alice", "MSSQLSvc/sqlbe corp", "contains a space"},
		{"KDC unreachable", good, "alice", "MSSQLSvc/sqlbe.corp.test:1433", "get TGT for svc_web@CORP.TEST: "},
		{"negative timeout", DelegationConfig{Realm: "CORP.TEST", KDCs: good.KDCs, Principal: "svc_web", Password: "s3cret-pw", Timeout: -1}, "alice", "HTTP/x", "negative timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ProveDelegation(t.Context(), tt.cfg, triage.DelegationPath{}, tt.user, tt.spn, false)
			if !strings.Contains(got.Err, tt.want) || strings.Contains(got.Err, "s3cret") || got.SelfIssued || got.Step != "" {
				t.Errorf("proof = %+v, want Err with %q", got, tt.want)
			}
			if strings.ContainsAny(got.Err, "\n\x1b") {
				t.Errorf("Err %q is not one printable line", got.Err)
			}
		})
	}
}

// FuzzDecodeReply: any bytes decode to exactly one of a TGS-REP, a refusal or an
// error, without panicking; a refusal's NTSTATUS comes only from a well-formed
// KERB-ERROR-DATA.
func FuzzDecodeReply(f *testing.F) {
	fk := newFakeKDC(f)
	rep := fk.tgsRep(f, 7, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "svc_web"),
		types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"), true)
	for _, b := range [][]byte{
		rep,
		krbErrorBytes(f, 13, "", nil),
		krbErrorBytes(f, 13, "e-text", extError(StatusNoMatch)),
		krbErrorBytes(f, 12, "", []byte{0x30, 0x03, 0xa1, 0x01, 0x03}),
		{0x6d, 0x80},
		{0x7e, 0x84, 0xff, 0xff, 0xff, 0xff},
		{},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, refused, err := decodeReply(b)
		n := 0
		for _, set := range []bool{r != nil, refused != nil, err != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("decodeReply(%x) = %v, %v, %v: want exactly one", b, r, refused, err)
		}
		if refused != nil && refused.HasStatus {
			var ke messages.KRBError
			if ke.Unmarshal(b) != nil {
				t.Fatalf("refusal from bytes that are no KRB-ERROR: %x", b)
			}
			if s, ok := extendedStatus(ke.EData); !ok || s != refused.Status {
				t.Fatalf("status %#x not from e-data %x", refused.Status, ke.EData)
			}
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error %q is not one line", err)
		}
	})
}

// TestProveDelegationsOneLogin: several SPNs of one back end are proven with one login
// and one S4U2self request, then one S4U2proxy request each, each proof its own; an SPN
// that is no SPN is refused alone, without a request.
func TestProveDelegationsOneLogin(t *testing.T) {
	f := newFakeKDC(t)
	var mu sync.Mutex
	count := map[string]int{}
	counted := func(step string, a fakeAnswer) fakeAnswer {
		return func(f *fakeKDC, r *fakeTGS) []byte {
			mu.Lock()
			count[step]++
			mu.Unlock()
			return a(f, r)
		}
	}
	issuedFor := map[string]bool{"MSSQLSvc/sqlbe.corp.test:1433": true}
	f.answer = map[string]fakeAnswer{
		StepS4U2Self: counted(StepS4U2Self, func(f *fakeKDC, r *fakeTGS) []byte { return f.reply(r, f.user, true) }),
		StepS4U2Proxy: counted(StepS4U2Proxy, func(f *fakeKDC, r *fakeTGS) []byte {
			if issuedFor[strings.Join(r.req.ReqBody.SName.NameString, "/")] {
				return f.reply(r, f.user, true)
			}
			return krbErrorBytes(f.t, 13, "", nil)
		}),
	}
	spns := []string{"MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test", "not an spn"}
	got := ProveDelegations(t.Context(), f.config(), triage.DelegationPath{Account: `CORP\svc_web`}, "alice", spns, false)
	if len(got) != len(spns) {
		t.Fatalf("%d proofs for %d SPNs", len(got), len(spns))
	}
	if p := got[0]; !p.SelfIssued || !p.ProxyIssued || p.SPN != spns[0] || p.User != "alice@CORP.TEST" || p.Err != "" {
		t.Errorf("first proof = %+v; want issued", p)
	}
	if p := got[1]; !p.SelfIssued || p.ProxyIssued || p.Step != StepS4U2Proxy || p.KDCError != 13 || p.SPN != spns[1] {
		t.Errorf("second proof = %+v; want refused at s4u2proxy with 13", p)
	}
	if p := got[2]; p.Err == "" || p.SelfIssued || p.SPN != "" {
		t.Errorf("third proof = %+v; want an error for an SPN that is none", p)
	}
	mu.Lock()
	defer mu.Unlock()
	if count[StepS4U2Self] != 1 || count[StepS4U2Proxy] != 2 {
		t.Errorf("requests: %v; want one S4U2self and two S4U2proxy", count)
	}
}
