package kerberos

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc4757"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// A fakeKDC is a KDC over TCP on the loopback for the realm CORP.TEST and the front end
// svc_web (password fakePassword). It answers an AS-REQ with a TGT whose session key it
// keeps, checks each TGS-REQ as a KDC would before answering it (the authenticator's
// checksum of the body, PA-FOR-USER's checksum, the options and the evidence ticket), and
// then answers as answer says for the request's step. An answer of nil leaves the
// request unanswered: the KDC closes silenced and waits for the client to hang up.
type fakeKDC struct {
	t        testing.TB
	ln       net.Listener
	realm    string
	service  types.PrincipalName
	rbcd     bool // S4U2proxy requests must carry PA-PAC-OPTIONS with the resource-based bit
	silentAS bool // leave AS-REQs unanswered
	answer   map[string]fakeAnswer
	silenced chan struct{} // closed when a request is left unanswered
	silence  sync.Once
	wg       sync.WaitGroup

	mu         sync.Mutex
	conns      []net.Conn
	sessionKey types.EncryptionKey // the TGT's
	replyKey   types.EncryptionKey // when set, replies are encrypted in it instead
	user       types.PrincipalName // from the last PA-FOR-USER
	selfCipher []byte              // the S4U2self ticket's encrypted part, to know it as evidence
	steps      map[string]bool
}

const fakePassword = "fake-Passw0rd"

// A fakeAnswer returns the KDC's reply to a checked request, or nil for none.
type fakeAnswer func(f *fakeKDC, r *fakeTGS) []byte

// fakeTGS is a TGS-REQ the fake KDC received.
type fakeTGS struct {
	step string
	req  messages.TGSReq
}

func newFakeKDC(t testing.TB) *fakeKDC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeKDC{
		t:        t,
		ln:       ln,
		realm:    "CORP.TEST",
		service:  types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "svc_web"),
		silenced: make(chan struct{}),
		steps:    map[string]bool{},
	}
	et, err := crypto.GetEtype(etypeID.AES256_CTS_HMAC_SHA1_96)
	if err != nil {
		t.Fatal(err)
	}
	if f.sessionKey, err = types.GenerateEncryptionKey(et); err != nil {
		t.Fatal(err)
	}
	f.wg.Go(f.serve)
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

// config is the front end's DelegationConfig for this KDC.
func (f *fakeKDC) config() DelegationConfig {
	return DelegationConfig{Realm: f.realm, KDCs: []string{f.ln.Addr().String()}, Principal: "svc_web",
		Password: fakePassword, Timeout: 10 * time.Second}
}

// asked says which steps were requested.
func (f *fakeKDC) asked() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for k, v := range f.steps {
		out[k] = v
	}
	return out
}

func (f *fakeKDC) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Go(func() {
			defer c.Close()
			for {
				msg := readFrame(f.t, c)
				if msg == nil {
					return
				}
				reply := f.handle(msg)
				if reply == nil {
					f.silence.Do(func() { close(f.silenced) })
					_, _ = c.Read(make([]byte, 1)) // until the client hangs up
					return
				}
				writeFrame(c, reply)
			}
		})
	}
}

func (f *fakeKDC) handle(msg []byte) []byte {
	switch msg[0] {
	case 0x6a: // AS-REQ, [APPLICATION 10]
		if f.silentAS {
			return nil
		}
		return f.asRep(msg)
	case 0x6c: // TGS-REQ, [APPLICATION 12]
		r := f.checkTGS(msg)
		if r == nil {
			return krbErrorBytes(f.t, 40, "fake KDC: malformed request", nil) // KRB_AP_ERR_MSG_TYPE
		}
		f.mu.Lock()
		f.steps[r.step] = true
		f.mu.Unlock()
		answer := f.answer[r.step]
		if answer == nil {
			f.t.Errorf("fake KDC: unexpected %s request", r.step)
			return krbErrorBytes(f.t, 60, "fake KDC: unexpected", nil) // KRB_ERR_GENERIC
		}
		return answer(f, r)
	}
	f.t.Errorf("fake KDC: message starting 0x%02x", msg[0])
	return nil
}

// asRep answers an AS-REQ for the front end without pre-authentication: a TGT (its
// encrypted part random bytes) and the session key, encrypted in the key of the
// password with the default salt.
func (f *fakeKDC) asRep(msg []byte) []byte {
	var req messages.ASReq
	if err := req.Unmarshal(msg); err != nil {
		f.t.Errorf("fake KDC: AS-REQ: %v", err)
		return nil
	}
	if !req.ReqBody.CName.Equal(f.service) {
		f.t.Errorf("fake KDC: AS-REQ for %v", req.ReqBody.CName)
	}
	if !types.IsFlagSet(&req.ReqBody.KDCOptions, flags.Forwardable) {
		f.t.Errorf("fake KDC: AS-REQ does not ask for a forwardable TGT")
	}
	clientKey, _, err := crypto.GetKeyFromPassword(fakePassword, req.ReqBody.CName, f.realm, etypeID.AES256_CTS_HMAC_SHA1_96, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	fl := types.NewKrbFlags()
	types.SetFlag(&fl, flags.Forwardable)
	types.SetFlag(&fl, flags.Initial)
	f.mu.Lock()
	session := f.sessionKey
	f.mu.Unlock()
	enc := messages.EncKDCRepPart{
		Key:       session,
		LastReqs:  []messages.LastReq{{LRType: 0, LRValue: now}},
		Nonce:     req.ReqBody.Nonce,
		Flags:     fl,
		AuthTime:  now,
		StartTime: now,
		EndTime:   now.Add(10 * time.Hour),
		SRealm:    f.realm,
		SName:     req.ReqBody.SName,
	}
	eb, err := enc.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	ed, err := crypto.GetEncryptedData(eb, clientKey, keyusage.AS_REP_ENCPART, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	rep := messages.ASRep{KDCRepFields: messages.KDCRepFields{
		PVNO: 5, MsgType: msgtype.KRB_AS_REP, CRealm: f.realm, CName: req.ReqBody.CName,
		Ticket: f.ticket(req.ReqBody.SName), EncPart: ed,
	}}
	b, err := rep.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// ticket is a ticket for sname whose encrypted part is random bytes.
func (f *fakeKDC) ticket(sname types.PrincipalName) messages.Ticket {
	cipher := make([]byte, 64)
	_, _ = rand.Read(cipher)
	return messages.Ticket{TktVNO: 5, Realm: f.realm, SName: sname,
		EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, KVNO: 2, Cipher: cipher}}
}

// rawKDCReq reads a KDC-REQ keeping its body's bytes, which the authenticator's checksum
// covers: gofork reads a RawValue whole, so ReqBody is the [4] and its Bytes the
// KDC-REQ-BODY.
type rawKDCReq struct {
	PVNO    int                  `asn1:"explicit,tag:1"`
	MsgType int                  `asn1:"explicit,tag:2"`
	PAData  types.PADataSequence `asn1:"explicit,optional,tag:3"`
	ReqBody asn1.RawValue        `asn1:"explicit,tag:4"`
}

// checkTGS decodes a TGS-REQ and checks it as a KDC would; nil when it cannot be read.
func (f *fakeKDC) checkTGS(msg []byte) *fakeTGS {
	t := f.t
	var raw rawKDCReq
	if _, err := asn1.UnmarshalWithParams(msg, &raw, "application,explicit,tag:12"); err != nil {
		t.Errorf("fake KDC: TGS-REQ: %v", err)
		return nil
	}
	r := &fakeTGS{step: StepS4U2Self}
	if err := r.req.Unmarshal(msg); err != nil {
		t.Errorf("fake KDC: TGS-REQ: %v", err)
		return nil
	}
	body := r.req.ReqBody
	if len(body.AdditionalTickets) > 0 {
		r.step = StepS4U2Proxy
	}
	f.mu.Lock()
	session, selfCipher := f.sessionKey, f.selfCipher
	f.mu.Unlock()

	// PA-TGS-REQ: an AP-REQ with the TGT, whose authenticator holds the body's checksum.
	pad := map[int32][]byte{}
	for _, p := range r.req.PAData {
		if _, dup := pad[p.PADataType]; dup {
			t.Errorf("fake KDC: padata %d twice", p.PADataType)
		}
		pad[p.PADataType] = p.PADataValue
	}
	var ap messages.APReq
	if err := ap.Unmarshal(pad[patype.PA_TGS_REQ]); err != nil {
		t.Errorf("fake KDC: PA-TGS-REQ: %v", err)
		return nil
	}
	if err := ap.DecryptAuthenticator(session); err != nil {
		t.Errorf("fake KDC: authenticator: %v", err)
		return nil
	}
	et, _ := crypto.GetEtype(session.KeyType)
	if !et.VerifyChecksum(session.KeyValue, raw.ReqBody.Bytes, ap.Authenticator.Cksum.Checksum, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM) {
		t.Errorf("fake KDC: %s: the authenticator's checksum does not match the body", r.step)
	}
	if !ap.Authenticator.CName.Equal(f.service) || body.CName.NameString != nil || body.Realm != f.realm {
		t.Errorf("fake KDC: %s: authenticator for %v, body cname %v realm %s", r.step, ap.Authenticator.CName, body.CName, body.Realm)
	}
	if !types.IsFlagSet(&body.KDCOptions, flags.Forwardable) {
		t.Errorf("fake KDC: %s does not ask for a forwardable ticket", r.step)
	}
	_, hasPAC := pad[paTypePACOptions]

	switch r.step {
	case StepS4U2Self:
		var p paForUser
		if _, err := asn1.Unmarshal(pad[patype.PA_FOR_USER], &p); err != nil {
			t.Errorf("fake KDC: PA-FOR-USER: %v", err)
			return nil
		}
		// S4UByteArray, made here apart from s4uByteArray.
		var in bytes.Buffer
		_ = binary.Write(&in, binary.LittleEndian, p.UserName.NameType)
		for _, s := range p.UserName.NameString {
			in.WriteString(s)
		}
		in.WriteString(p.UserRealm + p.AuthPackage)
		want, _ := rfc4757.Checksum(session.KeyValue, 17, in.Bytes())
		if p.Cksum.CksumType != -138 || !bytes.Equal(p.Cksum.Checksum, want) || p.AuthPackage != "Kerberos" {
			t.Errorf("fake KDC: PA-FOR-USER checksum %d %x, want -138 %x", p.Cksum.CksumType, p.Cksum.Checksum, want)
		}
		if !body.SName.Equal(f.service) || types.IsFlagSet(&body.KDCOptions, kdcOptCnameInAddlTkt) || hasPAC {
			t.Errorf("fake KDC: S4U2self to %v, options %x, PA-PAC-OPTIONS %v", body.SName, body.KDCOptions.Bytes, hasPAC)
		}
		f.mu.Lock()
		f.user = p.UserName
		f.mu.Unlock()
	case StepS4U2Proxy:
		if !types.IsFlagSet(&body.KDCOptions, kdcOptCnameInAddlTkt) {
			t.Errorf("fake KDC: S4U2proxy without cname-in-addl-tkt: options %x", body.KDCOptions.Bytes)
		}
		if len(body.AdditionalTickets) != 1 || !bytes.Equal(body.AdditionalTickets[0].EncPart.Cipher, selfCipher) {
			t.Errorf("fake KDC: S4U2proxy's additional tickets are not the S4U2self ticket")
		}
		if _, ok := pad[patype.PA_FOR_USER]; ok {
			t.Errorf("fake KDC: S4U2proxy with PA-FOR-USER")
		}
		if hasPAC != f.rbcd {
			t.Errorf("fake KDC: PA-PAC-OPTIONS %v, want %v", hasPAC, f.rbcd)
		}
		if hasPAC {
			var o paPACOptions
			if _, err := asn1.Unmarshal(pad[paTypePACOptions], &o); err != nil || !types.IsFlagSet(&o.Flags, pacOptResourceBased) {
				t.Errorf("fake KDC: PA-PAC-OPTIONS %x: %v", pad[paTypePACOptions], err)
			}
		}
	}
	return r
}

// reply answers r with a ticket for cname, forwardable or not.
func (f *fakeKDC) reply(r *fakeTGS, cname types.PrincipalName, forwardable bool) []byte {
	return f.tgsRep(f.t, r.req.ReqBody.Nonce, r.req.ReqBody.SName, cname, forwardable, r.step)
}

// tgsRep is a TGS-REP with a ticket to sname for cname, with the nonce, encrypted in the
// TGT's session key (or replyKey). The ticket of an S4U2self step is kept as evidence.
func (f *fakeKDC) tgsRep(t testing.TB, nonce int, sname, cname types.PrincipalName, forwardable bool, step ...string) []byte {
	now := time.Now().UTC().Truncate(time.Second)
	fl := types.NewKrbFlags()
	if forwardable {
		types.SetFlag(&fl, flags.Forwardable)
	}
	et, _ := crypto.GetEtype(etypeID.AES256_CTS_HMAC_SHA1_96)
	key, _ := types.GenerateEncryptionKey(et)
	f.mu.Lock()
	encKey := f.sessionKey
	if f.replyKey.KeyValue != nil {
		encKey = f.replyKey
	}
	f.mu.Unlock()
	enc := messages.EncKDCRepPart{
		Key: key, LastReqs: []messages.LastReq{{LRType: 0, LRValue: now}}, Nonce: nonce, Flags: fl,
		AuthTime: now, StartTime: now, EndTime: now.Add(10 * time.Hour), SRealm: f.realm, SName: sname,
	}
	eb, err := enc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ed, err := crypto.GetEncryptedData(eb, encKey, keyusage.TGS_REP_ENCPART_SESSION_KEY, 0)
	if err != nil {
		t.Fatal(err)
	}
	tkt := f.ticket(sname)
	if len(step) > 0 && step[0] == StepS4U2Self {
		f.mu.Lock()
		f.selfCipher = tkt.EncPart.Cipher
		f.mu.Unlock()
	}
	rep := messages.TGSRep{KDCRepFields: messages.KDCRepFields{
		PVNO: 5, MsgType: msgtype.KRB_TGS_REP, CRealm: f.realm, CName: cname, Ticket: tkt, EncPart: ed,
	}}
	b, err := rep.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
