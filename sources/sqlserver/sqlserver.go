package sqlserver

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// DefaultTimeout bounds the login and each query when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Config says how the checker logs in.
type Config struct {
	// Kerberos settings for integratedauth/krb5, on systems other than Windows; on
	// Windows SSPI uses the identity of the process and these are ignored.
	//
	// Krb5Conf names the krb5.conf; "" means $KRB5_CONFIG, else /etc/krb5.conf.
	// Realm "" means the default_realm of that file. Principal is the checker's user
	// name without the realm ("authtriage_ro"), with either Keytab or Password. With
	// none of the three, the credential cache that KRB5CCNAME names is used.
	Krb5Conf, Realm, Keytab, Principal, Password string

	// Timeout bounds the login and each query; 0 means DefaultTimeout.
	Timeout time.Duration
	// Encrypt is go-mssqldb's encrypt setting: "strict" (TDS 8), "true", "false" or
	// "disable"; "" means "true".
	Encrypt string
	// TrustServerCertificate skips the check of the server's certificate.
	TrustServerCertificate bool
	// ServerSPN, if set, returns the SPN to ask a ticket for when logging in to the
	// instance in on host; "" keeps the driver's MSSQLSvc/host:port or host:instance.
	ServerSPN func(host string, in triage.Instance) string
}

// String describes c without its password.
func (c Config) String() string {
	return fmt.Sprintf("sqlserver.Config{Krb5Conf:%q Realm:%q Keytab:%q Principal:%q Password:%s Timeout:%v Encrypt:%q TrustServerCertificate:%v}",
		c.Krb5Conf, c.Realm, c.Keytab, c.Principal, redacted(c.Password), c.Timeout, c.Encrypt, c.TrustServerCertificate)
}

// LogValue describes c for slog without its password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("krb5conf", c.Krb5Conf),
		slog.String("realm", c.Realm),
		slog.String("keytab", c.Keytab),
		slog.String("principal", c.Principal),
		slog.String("password", redacted(c.Password)),
		slog.Duration("timeout", c.Timeout),
		slog.String("encrypt", c.Encrypt),
		slog.Bool("trust_server_certificate", c.TrustServerCertificate),
	)
}

func redacted(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

// A Checker logs in to SQL Server instances. Its methods are safe for concurrent use.
type Checker struct {
	timeout time.Duration
	encrypt string
	trust   bool
	spn     func(string, triage.Instance) string
	// auth holds the connection-string keys of the integrated authentication:
	// authenticator, krb5-*, user id and password.
	auth map[string]string
	log  *slog.Logger
}

// New checks cfg and returns a Checker for it. It does not touch the network. A nil log
// discards log records.
func New(cfg Config, log *slog.Logger) (*Checker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Checker{
		timeout: cmp.Or(cfg.Timeout, DefaultTimeout),
		encrypt: cmp.Or(cfg.Encrypt, "true"),
		trust:   cfg.TrustServerCertificate,
		spn:     cfg.ServerSPN,
		log:     log,
	}
	var errs []error
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("negative timeout %v", cfg.Timeout))
	}
	switch c.encrypt {
	case "strict", "true", "false", "disable":
	default:
		errs = append(errs, fmt.Errorf("encrypt %q: want strict, true, false or disable", cfg.Encrypt))
	}
	auth, ignored, err := authParams(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sql server checker: %w", err)
	}
	if len(ignored) > 0 {
		log.Info("sql logins use the process's identity through SSPI; Kerberos settings ignored", "settings", ignored)
	}
	c.auth = auth
	return c, nil
}

// The queries Logins runs once logged in. They are the only statements besides those
// of ErrorLog; the fake server in internal/tdsfake answers exactly these.
const (
	qAuthScheme     = "SELECT auth_scheme FROM sys.dm_exec_connections WHERE session_id = @@SPID"
	qServiceAccount = "SELECT service_account FROM sys.dm_server_services WHERE servicename LIKE 'SQL Server (%'"
	qServerTime     = "SELECT SYSUTCDATETIME()"
)

// Logins logs in to each instance of t, by its FQDN (else its host name) and port, or
// by instance name through SQL Browser when the port is unknown; no instances means the
// default instance on 1433. It returns one SQLLogin per instance, in order: the
// server's error when the login was refused, else what the fixed queries read. A query
// that fails (for a missing permission, say) leaves its field empty and is logged.
// Logins to several instances run at the same time; each costs at most 4 timeouts.
func (c *Checker) Logins(ctx context.Context, t triage.Target) []triage.SQLLogin {
	host := cmp.Or(t.FQDN, t.Host)
	instances := t.Instances
	if len(instances) == 0 {
		instances = []triage.Instance{{Port: 1433}}
	}
	out := make([]triage.SQLLogin, len(instances))
	var wg sync.WaitGroup
	for i, in := range instances {
		wg.Go(func() { out[i] = c.login(ctx, host, in) })
	}
	wg.Wait()
	return out
}

// login logs in to one instance and runs the fixed queries.
func (c *Checker) login(ctx context.Context, host string, in triage.Instance) (res triage.SQLLogin) {
	res = triage.SQLLogin{Instance: in.String()}
	log := c.log.With("host", host, "instance", res.Instance)
	start := time.Now()
	d := &dialer{}
	defer func() {
		res.Address = address(host, in, d.dialled())
		res.Connected = d.connected()
		if r := recover(); r != nil {
			log.ErrorContext(ctx, "sql login panicked", "panic", r, "logged_in", res.OK)
			if !res.OK {
				res.Err = fmt.Sprintf("the SQL Server driver failed: %v", r)
			}
		}
	}()
	s, err := c.open(ctx, host, in, d)
	if err != nil {
		describe(&res, err, c.timeout)
		log.InfoContext(ctx, "sql login failed", "number", res.Number, "state", res.State, "err", cmp.Or(res.Err, res.Message), "took", time.Since(start))
		return res
	}
	defer s.close()
	res.OK = true

	var scheme, account sql.NullString
	var serverTime time.Time
	steps := []struct {
		name  string
		query string
		dest  any
	}{
		{"auth_scheme", qAuthScheme, &scheme},
		{"service_account", qServiceAccount, &account},
		{"server_time", qServerTime, &serverTime},
	}
	for _, st := range steps {
		before := time.Now()
		err := s.queryRow(ctx, st.query, st.dest)
		after := time.Now()
		if err != nil {
			log.WarnContext(ctx, "sql query failed", "query", st.name, "err", err, "hint", hint(err))
			if !isServerError(err) {
				break // the connection may be out of step: stop here
			}
			continue
		}
		if st.name == "server_time" {
			res.ServerTime = serverTime.UTC()
			res.ReadAt = before.Add(after.Sub(before) / 2)
		}
	}
	res.AuthScheme = strings.ToUpper(strings.TrimSpace(scheme.String))
	res.ServiceAccount = strings.TrimSpace(account.String)
	if res.AuthScheme == "NTLM" {
		log.WarnContext(ctx, "sql login used NTLM, not Kerberos: no ticket for the instance's SPN (missing or duplicate SPN, IP or alias name, no KDC)")
	}
	log.InfoContext(ctx, "sql login succeeded", "auth_scheme", res.AuthScheme, "service_account", res.ServiceAccount, "took", time.Since(start))
	return res
}

// sqlError is what go-mssqldb's Error offers to callers that do not import it.
type sqlError interface {
	error
	SQLErrorNumber() int32
	SQLErrorState() uint8
	SQLErrorMessage() string
}

// isServerError reports whether err is an error the server sent, after which the
// connection is still usable.
func isServerError(err error) bool {
	var se sqlError
	return errors.As(err, &se)
}

// describe records err in res: the server's number, state and message, or Err for a
// failure before the server answered.
func describe(res *triage.SQLLogin, err error, timeout time.Duration) {
	var se sqlError
	if errors.As(err, &se) {
		res.Number = int(se.SQLErrorNumber())
		res.State = int(se.SQLErrorState())
		// go-mssqldb prefixes the message of a failed login, not the server's text.
		res.Message = strings.TrimPrefix(se.SQLErrorMessage(), "login error: ")
		return
	}
	res.Err = errText(err, timeout)
}

// maxErrText bounds an error message kept in a SQLLogin.
const maxErrText = 1000

// errText describes err for a report, saying so when it is a timeout.
func errText(err error, timeout time.Duration) string {
	msg := err.Error()
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		msg = fmt.Sprintf("no answer within %v: %s", timeout, msg)
	}
	if len(msg) > maxErrText {
		msg = strings.ToValidUTF8(msg[:maxErrText], "") + "..."
	}
	return msg
}

// hint says what a failed query usually needs.
func hint(err error) string {
	var se sqlError
	if !errors.As(err, &se) {
		return ""
	}
	switch se.SQLErrorNumber() {
	case 297, 300:
		return "grant the checker's login VIEW SERVER STATE"
	case 15003:
		return "sp_readerrorlog checks securityadmin membership on this release"
	}
	return ""
}

// address returns where a login went: host:port when the port is known, else the
// instance name that SQL Browser was asked about.
func address(host string, in triage.Instance, dialled string) string {
	if in.Port != 0 {
		return net.JoinHostPort(host, fmt.Sprint(in.Port))
	}
	if _, port, err := net.SplitHostPort(dialled); err == nil {
		return net.JoinHostPort(host, port)
	}
	if in.IsDefault() {
		return net.JoinHostPort(host, "1433")
	}
	return host + `\` + in.Name
}
