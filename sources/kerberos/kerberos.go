// Package kerberos asks a KDC for service tickets as `klist get SPN` does, to tell
// whether Kerberos can work for a SQL Server's SPNs and, when it cannot, which KRB-ERROR
// the KDC gives.
package kerberos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// DefaultTimeout is how long Tickets waits for one KDC exchange when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Config says which KDC to ask and as whom.
type Config struct {
	// Realm is the checker's Kerberos realm as the KDC spells it, normally the upper-case
	// DNS domain ("CORP.EXAMPLE"). It may be empty when Krb5Conf sets default_realm.
	Realm string
	// KDCs are the KDCs to ask, as host or host:port (port 88 by default). Empty means
	// the KDCs Krb5Conf lists for the realm, or without Krb5Conf the DNS SRV records
	// _kerberos._tcp.<realm>.
	KDCs []string
	// Krb5Conf optionally names a krb5.conf file to use instead of the built-in settings,
	// for instance to restrict encryption types (default_tgs_enctypes,
	// permitted_enctypes). KDCs, when set, replace the file's KDCs for the realm.
	// Without it the checker uses TCP only and gokrb5's default encryption types.
	Krb5Conf string
	// Principal is the checker's user name without the realm ("authtriage_ro").
	Principal string
	// Keytab names a keytab holding the checker's keys. Exactly one of Keytab and
	// Password is set.
	Keytab string
	// Password is the checker's password. It is never logged and never part of an
	// error; Config's String and LogValue methods leave it out.
	Password string
	// Timeout bounds each exchange with the KDC: the login and each service-ticket
	// request. 0 means DefaultTimeout.
	Timeout time.Duration
}

// String describes c without its password.
func (c Config) String() string {
	return fmt.Sprintf("kerberos.Config{Realm:%q KDCs:%q Krb5Conf:%q Principal:%q Keytab:%q Password:%s Timeout:%v}",
		c.Realm, c.KDCs, c.Krb5Conf, c.Principal, c.Keytab, redacted(c.Password), c.Timeout)
}

// LogValue describes c for slog without its password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("realm", c.Realm),
		slog.Any("kdcs", c.KDCs),
		slog.String("krb5conf", c.Krb5Conf),
		slog.String("principal", c.Principal),
		slog.String("keytab", c.Keytab),
		slog.String("password", redacted(c.Password)),
		slog.Duration("timeout", c.Timeout),
	)
}

func redacted(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

// A Tester requests Kerberos tickets as one checker identity. Its methods are safe for
// concurrent use: each Tickets call has a gokrb5 client and configuration of its own.
type Tester struct {
	realm     string
	principal string   // without realm
	kdcs      []string // host:port
	krb5conf  []byte   // the content of Config.Krb5Conf; nil when there is none
	confName  string   // Config.Krb5Conf, for messages
	keytab    string   // path
	password  string
	timeout   time.Duration
	log       *slog.Logger
}

// New checks cfg and returns a Tester for it. It reads the krb5.conf and keytab files cfg
// names (regular files only, opened under ctx with safefile), but does not touch the
// network. A nil log discards log records.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Tester, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tester{
		principal: cfg.Principal,
		keytab:    cfg.Keytab,
		password:  cfg.Password,
		timeout:   cfg.Timeout,
		log:       log,
	}
	var errs []error
	if t.timeout < 0 {
		errs = append(errs, fmt.Errorf("negative timeout %s", human.Span(cfg.Timeout)))
	}
	if t.timeout == 0 {
		t.timeout = DefaultTimeout
	}
	for _, k := range cfg.KDCs {
		addr, err := kdcAddr(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.kdcs = append(t.kdcs, addr)
	}
	realm := cfg.Realm
	if cfg.Krb5Conf != "" {
		data, conf, err := loadKrb5Conf(ctx, cfg.Krb5Conf)
		if err != nil {
			errs = append(errs, err)
		} else {
			t.krb5conf, t.confName = data, cfg.Krb5Conf
			if realm == "" {
				realm = conf.LibDefaults.DefaultRealm
			}
		}
	}
	t.realm = realm
	if err := checkRealm(realm); err != nil {
		errs = append(errs, err)
	}
	if err := checkPrincipal(cfg.Principal); err != nil {
		errs = append(errs, err)
	}
	switch {
	case cfg.Keytab == "" && cfg.Password == "":
		errs = append(errs, errors.New("no credentials: set a keytab or a password"))
	case cfg.Keytab != "" && cfg.Password != "":
		errs = append(errs, errors.New("both a keytab and a password: set one"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("kerberos configuration: %w", err)
	}
	// With the fields known good, check that they can make a client: the keytab has
	// keys for the principal and some KDC can be found.
	if _, err := t.client(ctx); err != nil {
		return nil, fmt.Errorf("kerberos configuration: %w", err)
	}
	return t, nil
}

// String names the identity t logs in as.
func (t *Tester) String() string { return "kerberos.Tester(" + t.who() + ")" }

// who is the checker's principal name with its realm.
func (t *Tester) who() string { return t.principal + "@" + t.realm }

// A LoginError reports that the checker could not get a ticket-granting ticket (the AS
// exchange failed), so no service ticket was requested. It is about the checker's own
// identity, not about any SPN.
type LoginError struct {
	Principal string // the checker: "authtriage_ro@CORP.EXAMPLE"
	// Code and CodeName give the KDC's KRB-ERROR, such as 24 KDC_ERR_PREAUTH_FAILED for a
	// wrong password or 6 KDC_ERR_C_PRINCIPAL_UNKNOWN for an unknown principal or realm.
	// Code is 0 when the KDC did not refuse: it could not be reached, did not answer in
	// time (then errors.Is(err, context.DeadlineExceeded)), or the keytab could not be
	// used.
	Code     int
	CodeName string
	Err      error // gokrb5's error, or the timeout
}

// KDCCode returns the KDC's KRB-ERROR code, 0 when the KDC did not refuse; it lets
// callers read the code through a small interface without importing this package.
func (e *LoginError) KDCCode() int { return e.Code }

func (e *LoginError) Error() string {
	return fmt.Sprintf("get TGT for %s: %s", e.Principal, describe(e.Err))
}

func (e *LoginError) Unwrap() error { return e.Err }

// Tickets logs in once to get a ticket-granting ticket, then requests a service ticket for
// each SPN in turn, as `klist get SPN` does, and returns one TicketResult per SPN in the
// order given. A KDC's refusal of one SPN, or a failure to reach the KDC for it, is in
// that SPN's result (Code, CodeName, Err); ParseKDCError reads the code back from Err.
//
// The error is for the rest. It is a *LoginError when the login fails, with no results;
// it lists every SPN that CheckSPN rejects, before any exchange; and it wraps ctx.Err()
// when ctx is done, with the results of the SPNs requested before. With no SPNs, Tickets
// only logs in, which checks the checker's credentials.
//
// Each exchange is abandoned after the Timeout of t's Config; gokrb5 itself gives up on
// a KDC after 5 s without an answer, so with one KDC and the default Timeout its own
// "i/o timeout" usually comes first. Exchanges are made one at a time: an abandoned
// gokrb5 call runs on in the background until its network timeouts end it, an exchange
// after it waits for it within its own Timeout, and Tickets does not wait for it.
func (t *Tester) Tickets(ctx context.Context, spns []string) ([]triage.TicketResult, error) {
	var bad []error
	for _, spn := range spns {
		if err := CheckSPN(spn); err != nil {
			bad = append(bad, err)
		}
	}
	if err := errors.Join(bad...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	cl, err := t.client(ctx)
	if err != nil {
		return nil, t.loginFailed(ctx, err)
	}
	r := startRunner(cl.Destroy) // Destroy stops gokrb5's TGT renewal goroutine
	defer r.stop()

	begin := time.Now()
	_, err = run(ctx, r, t.timeout, func() (struct{}, error) {
		return struct{}{}, cl.Login()
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("get TGT for %s: %w", t.who(), ctx.Err())
		}
		return nil, t.loginFailed(ctx, err)
	}
	t.log.DebugContext(ctx, "kerberos login", "principal", t.who(), "took", time.Since(begin))

	// gokrb5 offers these in every TGS-REQ (messages.NewTGSReq).
	etypes := offered(cl.Config.LibDefaults.DefaultTGSEnctypeIDs)
	results := make([]triage.TicketResult, 0, len(spns))
	for _, spn := range spns {
		begin := time.Now()
		tkt, err := run(ctx, r, t.timeout, func() (messages.Ticket, error) {
			tkt, _, err := cl.GetServiceTicket(spn)
			return tkt, err
		})
		if err != nil && ctx.Err() != nil {
			return results, fmt.Errorf("request service ticket for %s: %w", spn, ctx.Err())
		}
		res := ticketResult(spn, tkt, err)
		res.Offered = etypes
		t.log.DebugContext(ctx, "kerberos service ticket", "spn", spn, "ok", res.OK,
			"etype", res.Etype, "kvno", res.KVNO, "code", res.Code, "err", res.Err,
			"took", time.Since(begin))
		results = append(results, res)
	}
	return results, nil
}

// loginFailed logs and returns the *LoginError for err.
func (t *Tester) loginFailed(ctx context.Context, err error) *LoginError {
	le := &LoginError{Principal: t.who(), Err: err}
	if code, name, ok := ParseKDCError(err); ok {
		le.Code, le.CodeName = code, name
	}
	t.log.WarnContext(ctx, "kerberos login failed", "principal", le.Principal,
		"code", le.Code, "err", describe(err))
	return le
}

// ticketResult turns the outcome of one service-ticket request into its TicketResult.
func ticketResult(spn string, tkt messages.Ticket, err error) triage.TicketResult {
	if err != nil {
		res := triage.TicketResult{SPN: spn, Err: describe(err)}
		if code, name, ok := ParseKDCError(err); ok {
			res.Code, res.CodeName = code, name
		}
		return res
	}
	return triage.TicketResult{
		SPN:   spn,
		OK:    true,
		Etype: EtypeName(int(tkt.EncPart.EType)),
		KVNO:  tkt.EncPart.KVNO,
	}
}

// EtypeName returns the MIT name of a Kerberos encryption type, such as
// "aes256-cts-hmac-sha1-96" for 18 and "rc4-hmac" for 23, or "etype N" for one it does
// not know (triage.EtypeName).
func EtypeName(etype int) string { return triage.EtypeName(etype) }

// offered names the encryption types a TGS-REQ of cl offers, in its order.
func offered(ids []int32) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = EtypeName(int(id))
	}
	return out
}
