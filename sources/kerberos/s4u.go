package kerberos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// DelegationConfig are a front end's credentials, given like the checker's own: the
// account a front end's service runs as, whose delegation settings the KDC applies. Its
// fields are Config's, with two differences: Principal may also be name@REALM (whose
// realm must then agree with Realm when both are set), and Timeout bounds the whole
// proof (reading the files, the front end's login and both requests), not each
// exchange. The password is never logged and never part of a result.
type DelegationConfig Config

// String describes c without its password.
func (c DelegationConfig) String() string { return Config(c).String() }

// LogValue describes c for slog without its password.
func (c DelegationConfig) LogValue() slog.Value { return Config(c).LogValue() }

// config returns the Config of the front end's login: Principal without its realm.
func (c DelegationConfig) config() (Config, error) {
	name, realm := c.Principal, c.Realm
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		var pr string
		name, pr = name[:i], name[i+1:]
		switch {
		case pr == "":
			return Config{}, fmt.Errorf("principal %q: empty realm after '@'", c.Principal)
		case realm == "":
			realm = pr
		case !strings.EqualFold(realm, pr):
			return Config{}, fmt.Errorf("principal %q is in realm %q, not %s", c.Principal, pr, realm)
		}
	}
	return Config{
		Realm: realm, KDCs: c.KDCs, Krb5Conf: c.Krb5Conf, Principal: name,
		Keytab: c.Keytab, Password: c.Password, Timeout: c.Timeout,
	}, nil
}

// Steps of a DelegationProof.
const (
	StepS4U2Self  = "s4u2self"
	StepS4U2Proxy = "s4u2proxy"
)

// ProveDelegation asks the KDC whether the front end whose credentials cfg gives may
// present user's identity to the back end's SPN spn, as [MS-SFU] describes: it logs in
// as the front end, asks for a ticket to the front end itself for user (S4U2self), then,
// with that ticket as evidence, for a ticket to spn in user's name (S4U2proxy). It always
// makes the S4U2proxy request once S4U2self gave a ticket, forwardable or not: the KDC's
// answer, not authtriage, decides.
//
// user is "name", "name@REALM" or "DOMAIN\name"; without a realm, or with a NetBIOS
// domain that names none, the user is taken to be in the front end's realm, as [MS-SFU]
// 3.1.5.1.1.2 has a service do ("If the user realm name is unknown, Service 1 SHOULD use
// its own realm name"). resourceBased asks for resource-based constrained delegation
// (PA-PAC-OPTIONS with its bit): the KDC may then grant the request through the back
// end's msDS-AllowedToActOnBehalfOfOtherIdentity. Without it the KDC applies only the
// front end's msDS-AllowedToDelegateTo, and its refusal says so precisely.
//
// The proof holds path, spn once CheckSPN accepts it, user as user@REALM once it is
// accepted and cfg read, and:
//   - SelfIssued, SelfForwardable and ProxyIssued as the KDC answered;
//   - Step, KDCError, ErrorName (CodeName's) and NTStatus when the KDC refused one of the
//     requests;
//   - Unprovable when the KDC's answer cannot prove or disprove the path: it ignored the
//     S4U request and issued a ticket to the front end itself, or it refused a
//     resource-based request with KDC_ERR_BADOPTION without saying why (see
//     unprovableRBCD); Step and the code are kept;
//   - Err when it could not ask: cfg, user or spn unusable, the front end's login
//     refused, no KDC reachable, no answer in time, or an answer that fails its checks
//     (nonce, session key, names). Err never holds the password.
//
// ProveDelegation never panics and returns when ctx is done or cfg.Timeout has passed,
// whichever comes first. A login that gokrb5 is still
// making when the time is up runs on in the background until gokrb5's own network
// timeouts end it.
func ProveDelegation(ctx context.Context, cfg DelegationConfig, path triage.DelegationPath, user, spn string, resourceBased bool) triage.DelegationProof {
	return ProveDelegations(ctx, cfg, path, user, []string{spn}, resourceBased)[0]
}

// ProveDelegations is ProveDelegation for each of spns, one proof each in their order,
// with one login and one S4U2self request for them all: what is asked before S4U2proxy
// is the same for every SPN, and so is its outcome. cfg.Timeout bounds the whole of it.
func ProveDelegations(ctx context.Context, cfg DelegationConfig, path triage.DelegationPath, user string, spns []string, resourceBased bool) (proofs []triage.DelegationProof) {
	proofs = make([]triage.DelegationProof, len(spns))
	var asked []int // the proofs whose SPN is usable
	for i, spn := range spns {
		proofs[i].Path = path
		if err := CheckSPN(spn); err != nil {
			proofs[i].Err = oneLine(err.Error())
			continue
		}
		proofs[i].SPN = spn
		asked = append(asked, i)
	}
	// all sets what is known before S4U2proxy, the same for every SPN asked.
	all := func(set func(p *triage.DelegationProof)) {
		for _, i := range asked {
			set(&proofs[i])
		}
	}
	defer func() {
		if r := recover(); r != nil {
			all(func(p *triage.DelegationProof) {
				p.Err = "internal error proving delegation: " + oneLine(fmt.Sprint(r))
			})
		}
	}()
	if len(asked) == 0 {
		return proofs
	}

	budget := cmp.Or(max(cfg.Timeout, 0), DefaultTimeout) // New rejects a negative one
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < budget {
		budget = time.Until(dl)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	fail := func(msg string) {
		all(func(p *triage.DelegationProof) { p.Err = msg })
	}
	tc, err := cfg.config()
	if err != nil {
		fail("front end's credentials: " + oneLine(err.Error()))
		return proofs
	}
	t, err := New(ctx, tc, nil)
	if err != nil {
		fail("front end's credentials: " + oneLine(err.Error()))
		return proofs
	}
	name, realm, err := s4uUser(user, t.realm)
	if err != nil {
		fail(oneLine(err.Error()))
		return proofs
	}
	who := name.PrincipalNameString() + "@" + realm
	all(func(p *triage.DelegationProof) { p.User = who })

	s, err := t.login(ctx)
	if err != nil {
		fail(failure(ctx, budget, "get TGT for "+t.who(), err))
		return proofs
	}
	if s.kdcs, err = kdcList(ctx, t.kdcs, s.conf, t.realm); err != nil {
		fail(failure(ctx, budget, "find a KDC", err))
		return proofs
	}

	// S4U2self: a ticket to the front end itself, for the user.
	forUser, err := newPAForUser(name, realm, s.key)
	if err != nil {
		fail(oneLine(err.Error()))
		return proofs
	}
	self, refused, err := s.ask(ctx, s.self, nil, forUser)
	switch {
	case err != nil:
		fail(failure(ctx, budget, "S4U2self for "+who, err))
		return proofs
	case refused != nil:
		all(func(p *triage.DelegationProof) { refusal(p, StepS4U2Self, refused) })
		return proofs
	case !sameName(self.CName, self.CRealm, name, realm):
		if sameName(self.CName, self.CRealm, s.self, t.realm) {
			all(func(p *triage.DelegationProof) {
				p.Unprovable = "the KDC ignored the S4U2self request and issued " + t.who() +
					" a ticket in its own name: it does not implement [MS-SFU] S4U2self"
			})
			return proofs
		}
		fail(fmt.Sprintf("S4U2self for %s: the KDC's ticket is for %s", who,
			oneLine(self.CName.PrincipalNameString()+"@"+self.CRealm)))
		return proofs
	}
	forwardable := types.IsFlagSet(&self.DecryptedEncPart.Flags, flags.Forwardable)
	all(func(p *triage.DelegationProof) { p.SelfIssued, p.SelfForwardable = true, forwardable })

	// S4U2proxy: a ticket to each of the back end's SPNs, with the S4U2self ticket as
	// evidence.
	var pad []types.PAData
	if resourceBased {
		rbcd, err := newPAPACOptionsRBCD()
		if err != nil {
			fail(oneLine(err.Error()))
			return proofs
		}
		pad = append(pad, rbcd)
	}
	for _, i := range asked {
		proxy(ctx, s, t, &proofs[i], self, name, realm, pad, resourceBased, budget)
	}
	return proofs
}

// proxy asks for the S4U2proxy ticket of proof's SPN, with self as evidence, and
// records the KDC's answer in proof.
func proxy(ctx context.Context, s *s4uSession, t *Tester, proof *triage.DelegationProof, self *messages.TGSRep,
	name types.PrincipalName, realm string, pad []types.PAData, resourceBased bool, budget time.Duration) {
	spn := proof.SPN
	back := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, spn)
	rep, refused, err := s.ask(ctx, back, &self.Ticket, pad...)
	switch {
	case err != nil:
		proof.Err = failure(ctx, budget, "S4U2proxy for "+proof.User+" to "+spn, err)
		return
	case refused != nil:
		refusal(proof, StepS4U2Proxy, refused)
		if resourceBased && refused.Code == int(errorcode.KDC_ERR_BADOPTION) && !refused.HasStatus {
			proof.Unprovable = unprovableRBCD(proof.SelfForwardable)
		}
		return
	case !sameName(rep.CName, rep.CRealm, name, realm):
		if sameName(rep.CName, rep.CRealm, s.self, t.realm) {
			proof.Unprovable = "the KDC ignored the S4U2proxy request and issued " + t.who() +
				" a ticket in its own name to " + spn + ": it does not implement [MS-SFU] S4U2proxy"
			return
		}
		proof.Err = fmt.Sprintf("S4U2proxy for %s to %s: the KDC's ticket is for %s", proof.User, spn,
			oneLine(rep.CName.PrincipalNameString()+"@"+rep.CRealm))
		return
	}
	proof.ProxyIssued = true
}

// unprovableRBCD says why a KDC_ERR_BADOPTION without an NTSTATUS, in answer to a
// resource-based request, proves nothing about the path. A KDC that implements
// resource-based delegation as [MS-SFU] 3.2.5.2.3 does says why it refuses: "If the
// access check fails, the KDC MUST return KRB-ERR-BADOPTION with STATUS_NOT_FOUND", and
// a non-forwardable evidence ticket gets STATUS_ACCOUNT_RESTRICTION ("[MS-SFU] 3.2.5.2.3
// Using ServicesAllowedToReceiveForwardedTicketsFrom",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/dd1b47f9-580c-4c4e-8f34-4485b9728331).
// Samba's KDC gives no NTSTATUS with any refusal, and the Heimdal KDC of Samba 4.17
// refuses resource-based delegation that its directory allows (authtriage's test
// domain, TestIntegrationProveDelegation); its refusal is then about the KDC, not the
// path. A non-forwardable S4U2self ticket is named: [MS-SFU] lets resource-based
// delegation use one for a user who is not sensitive, where Heimdal refuses it first.
func unprovableRBCD(selfForwardable bool) string {
	s := "the KDC refused resource-based delegation with KDC_ERR_BADOPTION and no NTSTATUS, " +
		"so its answer does not say whether it checked the back end's " +
		"msDS-AllowedToActOnBehalfOfOtherIdentity: a KDC that checks it says STATUS_NOT_FOUND " +
		"when the front end is not allowed ([MS-SFU] 3.2.5.2.3), while Samba 4.17's KDC gives " +
		"no NTSTATUS and refuses resource-based delegation even where the directory allows it"
	if !selfForwardable {
		s += "; the S4U2self ticket was not forwardable, which [MS-SFU] accepts for the " +
			"resource-based delegation of a user who is not sensitive and Samba's KDC refuses"
	}
	return s
}

// refusal records the KDC's refusal of step in p.
func refusal(p *triage.DelegationProof, step string, r *kdcRefusal) {
	p.Step, p.KDCError, p.ErrorName = step, r.Code, CodeName(r.Code)
	if r.HasStatus {
		p.NTStatus = NTStatusName(r.Status)
	}
}

// failure words err, which stopped the proof while doing what, for DelegationProof.Err.
// A deadline passed, ctx's or a connection's, says how long the proof had.
func failure(ctx context.Context, budget time.Duration, what string, err error) string {
	var te *timeoutError
	switch {
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return what + ": canceled"
	case ctx.Err() != nil || errors.As(err, &te) || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("%s: no answer from the KDC within %s", what, human.Elapsed(budget))
	}
	return what + ": " + describe(err)
}

// oneLine makes s one printable line of bounded length, as describe does.
func oneLine(s string) string { return describe(errors.New(s)) }

// s4uUser returns the PA-FOR-USER userName and userRealm for user: "name", "name@REALM"
// or "DOMAIN\name", in realm unless it names its own. userName has the default name type
// NT-UNKNOWN ([MS-SFU] 2.2.1); the realm is upper-cased ("This value is not
// case-sensitive", [MS-SFU] 2.2.1), as Active Directory spells realms.
func s4uUser(user, realm string) (types.PrincipalName, string, error) {
	name := user
	if _, after, ok := strings.Cut(name, `\`); ok {
		name = after
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name, realm = name[:i], name[i+1:]
		if err := checkRealm(realm); err != nil {
			return types.PrincipalName{}, "", fmt.Errorf("user %q: %w", user, err)
		}
	}
	switch {
	case name == "":
		return types.PrincipalName{}, "", fmt.Errorf("user %q: empty name", user)
	case len(name) > 256:
		return types.PrincipalName{}, "", errors.New("user name longer than 256 bytes")
	case strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\\' || r == '@'
	}):
		return types.PrincipalName{}, "", fmt.Errorf("user %q has a control or format character, '\\' or '@'", user)
	}
	pn := types.PrincipalName{NameType: nameTypeUnknown, NameString: strings.Split(name, "/")}
	for _, c := range pn.NameString {
		if c == "" {
			return types.PrincipalName{}, "", fmt.Errorf("user %q has an empty component", user)
		}
	}
	return pn, strings.ToUpper(realm), nil
}

// sameName reports whether the principal name@realm is want@wantRealm, ignoring case
// and name types: Active Directory compares names without case.
func sameName(name types.PrincipalName, realm string, want types.PrincipalName, wantRealm string) bool {
	return strings.EqualFold(realm, wantRealm) &&
		strings.EqualFold(name.PrincipalNameString(), want.PrincipalNameString())
}

// An s4uSession is the front end logged in: its TGT and session key, and where to send
// its requests.
type s4uSession struct {
	realm       string
	self        types.PrincipalName // the front end
	conf        *config.Config
	kdcs        []string // host:port
	tgt         messages.Ticket
	key         types.EncryptionKey
	forwardable bool // the TGT is forwardable, so the tickets it gets may be
}

// login makes the front end's AS exchange with a forwardable TGT asked for: a service's
// S4U2self ticket can only be forwardable when its TGT is. The exchange is gokrb5's,
// abandoned when ctx is done.
func (t *Tester) login(ctx context.Context) (*s4uSession, error) {
	cl, err := t.client(ctx)
	if err != nil {
		return nil, err
	}
	cl.Config.LibDefaults.Forwardable = true
	cl.Config.LibDefaults.NoAddresses = true
	r := startRunner(cl.Destroy)
	defer r.stop()
	deadline, _ := ctx.Deadline()
	as, err := run(ctx, r, time.Until(deadline), func() (messages.ASRep, error) {
		req, err := messages.NewASReqForTGT(t.realm, cl.Config, cl.Credentials.CName())
		if err != nil {
			return messages.ASRep{}, err
		}
		return cl.ASExchange(t.realm, req, 0)
	})
	if err != nil {
		return nil, err
	}
	return &s4uSession{
		realm:       t.realm,
		self:        cl.Credentials.CName(),
		conf:        cl.Config,
		tgt:         as.Ticket,
		key:         as.DecryptedEncPart.Key,
		forwardable: types.IsFlagSet(&as.DecryptedEncPart.Flags, flags.Forwardable),
	}, nil
}

// ask sends a TGS-REQ for sname with the extra padata pad, and with evidence as its
// additional ticket and cname-in-addl-tkt set when it is not nil (S4U2proxy). It returns
// the KDC's TGS-REP, decrypted and checked, or its refusal.
func (s *s4uSession) ask(ctx context.Context, sname types.PrincipalName, evidence *messages.Ticket, pad ...types.PAData) (*messages.TGSRep, *kdcRefusal, error) {
	req, err := s.tgsReq(sname, evidence, pad)
	if err != nil {
		return nil, nil, err
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("encode TGS-REQ: %w", err)
	}
	reply, err := kdcExchange(ctx, s.kdcs, b)
	if err != nil {
		return nil, nil, err
	}
	rep, refused, err := decodeReply(reply)
	if err != nil || refused != nil {
		return nil, refused, err
	}
	if err := s.check(rep, req); err != nil {
		return nil, nil, err
	}
	return rep, nil, nil
}

// tgsReq builds the TGS-REQ of ask. gokrb5's NewTGSReq fills the body; the options and
// fields S4U needs are then set and the PA-TGS-REQ, whose authenticator checksums the
// body, is made again over the body as sent.
func (s *s4uSession) tgsReq(sname types.PrincipalName, evidence *messages.Ticket, pad []types.PAData) (messages.TGSReq, error) {
	req, err := messages.NewTGSReq(s.self, s.realm, s.conf, s.tgt, s.key, sname, false)
	if err != nil {
		return req, fmt.Errorf("build TGS-REQ: %s", describe(err))
	}
	b := &req.ReqBody
	b.KDCOptions = types.NewKrbFlags()
	if s.forwardable {
		// "The service MUST request a forwardable ticket if it wants to use the
		// returned service ticket as the input for a later S4U2proxy request"
		// ([MS-SFU] 3.1.5.1.1.2).
		types.SetFlag(&b.KDCOptions, flags.Forwardable)
	}
	// "cname [1] PrincipalName OPTIONAL -- Used only in AS-REQ --" ("RFC 4120" section
	// 5.4.1, https://www.rfc-editor.org/rfc/rfc4120#section-5.4.1): in S4U the client is
	// the user, named by PA-FOR-USER or the evidence ticket.
	b.CName = types.PrincipalName{}
	b.RTime, b.Addresses = time.Time{}, nil
	if evidence != nil {
		// "kdc-options field: MUST include the new cname-in-addl-tkt options flag.
		// additional-tickets field: The user's service ticket to Service 1" ([MS-SFU]
		// 3.1.5.2.1).
		types.SetFlag(&b.KDCOptions, kdcOptCnameInAddlTkt)
		b.AdditionalTickets = []messages.Ticket{*evidence}
	}
	tgs, err := s.paTGSReq(req.ReqBody)
	if err != nil {
		return req, err
	}
	req.PAData = append(types.PADataSequence{tgs}, pad...)
	return req, nil
}

// paTGSReq makes the PA-TGS-REQ of a request with the body body: an AP-REQ with the TGT
// whose authenticator, in the front end's name, holds the checksum of the body in the
// session key's checksum type, key usage 6 ("RFC 4120" section 7.5.1,
// https://www.rfc-editor.org/rfc/rfc4120#section-7.5.1), as gokrb5 makes it.
func (s *s4uSession) paTGSReq(body messages.KDCReqBody) (types.PAData, error) {
	bb, err := body.Marshal()
	if err != nil {
		return types.PAData{}, fmt.Errorf("encode TGS-REQ body: %s", describe(err))
	}
	et, err := crypto.GetEtype(s.key.KeyType)
	if err != nil {
		return types.PAData{}, fmt.Errorf("TGT session key: %s", describe(err))
	}
	sum, err := et.GetChecksumHash(s.key.KeyValue, bb, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM)
	if err != nil {
		return types.PAData{}, fmt.Errorf("TGS-REQ body checksum: %s", describe(err))
	}
	auth, err := types.NewAuthenticator(s.tgt.Realm, s.self)
	if err != nil {
		return types.PAData{}, fmt.Errorf("authenticator: %s", describe(err))
	}
	auth.Cksum = types.Checksum{CksumType: et.GetHashID(), Checksum: sum}
	ap, err := messages.NewAPReq(s.tgt, s.key, auth)
	if err != nil {
		return types.PAData{}, fmt.Errorf("AP-REQ: %s", describe(err))
	}
	apb, err := ap.Marshal()
	if err != nil {
		return types.PAData{}, fmt.Errorf("encode AP-REQ: %s", describe(err))
	}
	return types.PAData{PADataType: patype.PA_TGS_REQ, PADataValue: apb}, nil
}

// check decrypts rep with the TGT's session key (key usage 8, "RFC 4120" section 7.5.1)
// and checks it answers req as "RFC 4120" section 3.3.3.1 asks of a client
// (https://www.rfc-editor.org/rfc/rfc4120#section-3.3.3.1): the same nonce, the server
// and realm asked for. A referral to another realm is not followed. The client name is
// the caller's to check: in S4U it is the user's.
func (s *s4uSession) check(rep *messages.TGSRep, req messages.TGSReq) error {
	if err := rep.DecryptEncPart(s.key); err != nil {
		return fmt.Errorf("the KDC's reply does not decrypt with the TGT's session key: %s", describe(err))
	}
	enc := rep.DecryptedEncPart
	if enc.Nonce != req.ReqBody.Nonce {
		return errors.New("the KDC's reply has another nonce than the request")
	}
	if len(enc.SName.NameString) == 2 && strings.EqualFold(enc.SName.NameString[0], "krbtgt") &&
		!strings.EqualFold(enc.SName.NameString[1], s.realm) {
		return fmt.Errorf("the KDC referred the request to realm %s; S4U across realms is not followed",
			oneLine(enc.SName.NameString[1]))
	}
	if !sameName(enc.SName, enc.SRealm, req.ReqBody.SName, req.ReqBody.Realm) {
		return fmt.Errorf("the KDC's ticket is for %s, not %s", oneLine(enc.SName.PrincipalNameString()+"@"+enc.SRealm),
			req.ReqBody.SName.PrincipalNameString())
	}
	return nil
}
