package sqlserver_test

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

// ntlm makes a checker log in with NTLM, which needs no KDC: the fake takes any token.
var ntlm = map[string]string{"authenticator": "ntlm", "user id": `CORP\authtriage_ro`, "password": "not-checked"}

// newChecker returns a checker for the fake: no TLS, NTLM, the given timeout.
func newChecker(t *testing.T, timeout time.Duration) *sqlserver.Checker {
	t.Helper()
	c, err := sqlserver.New(sqlserver.Config{Encrypt: "disable", Timeout: timeout}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	sqlserver.SetAuth(c, ntlm)
	return c
}

func target(port int) triage.Target {
	return triage.Target{Host: "127.0.0.1", Instances: []triage.Instance{{Port: port}}}
}

// serverNow is the fake server's clock: an hour ahead of any test run.
var serverNow = time.Date(2026, 11, 25, 15, 0, 0, 123456700, time.UTC)

func TestLogins(t *testing.T) {
	const timeout = time.Second
	deny := func(query string) *tdsfake.Error {
		if strings.Contains(query, "sys.dm_") {
			return &tdsfake.Error{Number: 300, State: 1, Class: 14, Message: "VIEW SERVER STATE permission was denied on object 'server', database 'master'."}
		}
		return nil
	}
	tests := []struct {
		name    string
		cfg     tdsfake.Config
		want    triage.SQLLogin // Instance and Address are filled in
		wantErr string          // in Err; "*" for any Err that the driver words

		maxTime time.Duration // 0 means timeout
	}{
		{
			name: "kerberos login",
			cfg:  tdsfake.Config{AuthScheme: "KERBEROS", ServiceAccount: `CORP\svc_sql01`, Now: func() time.Time { return serverNow }},
			want: triage.SQLLogin{OK: true, AuthScheme: "KERBEROS", ServiceAccount: `CORP\svc_sql01`, ServerTime: serverNow},
		},
		{
			name: "ntlm login",
			cfg:  tdsfake.Config{AuthScheme: "NTLM", Now: func() time.Time { return serverNow }},
			want: triage.SQLLogin{OK: true, AuthScheme: "NTLM", ServiceAccount: `NT Service\MSSQLSERVER`, ServerTime: serverNow},
		},
		{
			name: "18456 login failed",
			cfg:  tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error { return tdsfake.LoginFailed(`CORP\x`) }},
			want: triage.SQLLogin{Number: 18456, State: 1, Message: `Login failed for user 'CORP\x'.`},
		},
		{
			name: "18452 untrusted domain",
			cfg:  tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error { return tdsfake.UntrustedDomain() }},
			want: triage.SQLLogin{Number: 18452, State: 1, Message: "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication."},
		},
		{
			name: "18456 with another state",
			cfg: tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error {
				return &tdsfake.Error{Number: 18456, State: 8, Class: 14, Message: "Login failed."}
			}},
			want: triage.SQLLogin{Number: 18456, State: 8, Message: "Login failed."},
		},
		{
			name: "no VIEW SERVER STATE: the login counts, the views stay empty",
			cfg:  tdsfake.Config{Deny: deny, Now: func() time.Time { return serverNow }},
			want: triage.SQLLogin{OK: true, ServerTime: serverNow},
		},
		{
			name:    "server never answers",
			cfg:     tdsfake.Config{Fault: tdsfake.Silent},
			wantErr: "no answer within 1s",
		},
		{
			name:    "prelogin answer points past its end",
			cfg:     tdsfake.Config{Fault: tdsfake.GarbagePrelogin},
			wantErr: "prelogin",
		},
		{
			name:    "prelogin answer with an empty encryption option",
			cfg:     tdsfake.Config{Fault: tdsfake.EmptyEncryption},
			wantErr: "driver failed",
		},
		{
			name:    "connection closed after LOGIN7",
			cfg:     tdsfake.Config{Fault: tdsfake.CloseAfterLogin},
			wantErr: "EOF",
		},
		{
			name:    "truncated LOGINACK",
			cfg:     tdsfake.Config{Fault: tdsfake.GarbageLoginReply},
			wantErr: "*",
		},
		{
			name:    "queries never answered",
			cfg:     tdsfake.Config{Fault: tdsfake.SilentQueries},
			want:    triage.SQLLogin{OK: true},
			maxTime: 2 * timeout, // the first query times out; the others are not tried
		},
		{
			name: "malformed query answers",
			cfg:  tdsfake.Config{Fault: tdsfake.GarbageQueryReply},
			want: triage.SQLLogin{OK: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := tdsfake.Start(t, tt.cfg)
			c := newChecker(t, timeout)
			start := time.Now()
			got := c.Logins(t.Context(), target(fake.Port()))
			took := time.Since(start)

			// The bound catches a limit that is not applied (a wait for the server
			// that only the test's own timeout would end), not a slow machine: a
			// loaded one takes a multiple of the limit, a missing limit forever.
			if max := 5 * cmpOr(tt.maxTime, timeout); took > max {
				t.Errorf("Logins took %v; want at most %v", took, max)
			}
			if len(got) != 1 {
				t.Fatalf("Logins returned %d results; want 1", len(got))
			}
			if (tt.wantErr == "") != (got[0].Err == "") || tt.wantErr != "*" && !strings.Contains(got[0].Err, tt.wantErr) {
				t.Errorf("Err = %q; want it to contain %q", got[0].Err, tt.wantErr)
			}
			want := tt.want
			want.Instance = "MSSQLSERVER:" + strconv.Itoa(fake.Port())
			want.Address = fake.Addr()
			want.Connected = true // every case reaches the fake
			opts := cmp.Options{cmpopts.IgnoreFields(triage.SQLLogin{}, "Err", "ReadAt")}
			if diff := cmp.Diff(want, got[0], opts); diff != "" {
				t.Errorf("Logins (-want +got):\n%s", diff)
			}
			if got[0].OK && !got[0].ServerTime.IsZero() && got[0].ReadAt.Sub(start).Abs() > time.Minute {
				t.Errorf("ReadAt = %v; want the checker's clock near %v", got[0].ReadAt, start)
			}
		})
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d != 0 {
		return d
	}
	return def
}

// TestLoginsSendsIntegratedLogin checks what the fake read: an integrated login with an
// SSPI token, to master, as authtriage.
func TestLoginsSendsIntegratedLogin(t *testing.T) {
	fake := tdsfake.Start(t, tdsfake.Config{})
	got := newChecker(t, 5*time.Second).Logins(t.Context(), target(fake.Port()))
	if !got[0].OK {
		t.Fatalf("Logins = %+v; want OK", got[0])
	}
	logins := fake.Logins()
	if len(logins) != 1 {
		t.Fatalf("fake saw %d logins; want 1", len(logins))
	}
	l := logins[0]
	if !l.IntegratedSecurity || !strings.HasPrefix(string(l.SSPI), "NTLMSSP\x00") {
		t.Errorf("login IntegratedSecurity=%v SSPI=%.8q; want integrated with an NTLM token", l.IntegratedSecurity, l.SSPI)
	}
	if l.UserName != "" {
		t.Errorf("login UserName = %q; want none with integrated security", l.UserName)
	}
	if l.AppName != "authtriage" || l.Database != "master" || l.ServerName != "127.0.0.1" || l.Library != "go-mssqldb" {
		t.Errorf("login AppName=%q Database=%q ServerName=%q Library=%q; want authtriage, master, 127.0.0.1, go-mssqldb",
			l.AppName, l.Database, l.ServerName, l.Library)
	}
}

// TestLoginsInstances checks that each instance gets its result, in order, and that
// the logins run at the same time.
func TestLoginsInstances(t *testing.T) {
	ok := tdsfake.Start(t, tdsfake.Config{AuthScheme: "KERBEROS"})
	refused := tdsfake.Start(t, tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error { return tdsfake.LoginFailed(`CORP\x`) }})
	silent := tdsfake.Start(t, tdsfake.Config{Fault: tdsfake.Silent})
	tg := triage.Target{Host: "sql01", FQDN: "127.0.0.1", Instances: []triage.Instance{
		{Name: "SALES", Port: ok.Port()}, {Port: refused.Port()}, {Name: "HR", Port: silent.Port()},
	}}
	const timeout = time.Second
	start := time.Now()
	got := newChecker(t, timeout).Logins(t.Context(), tg)
	if took := time.Since(start); took > timeout+500*time.Millisecond {
		t.Errorf("Logins took %v; want about one timeout, the logins running at once", took)
	}
	var summary []string
	for _, l := range got {
		summary = append(summary, l.Instance+" "+strconv.FormatBool(l.OK)+" "+strconv.Itoa(l.Number)+" "+l.AuthScheme)
	}
	want := []string{
		"SALES:" + strconv.Itoa(ok.Port()) + " true 0 KERBEROS",
		"MSSQLSERVER:" + strconv.Itoa(refused.Port()) + " false 18456 ",
		"HR:" + strconv.Itoa(silent.Port()) + " false 0 ",
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("Logins (-want +got):\n%s", diff)
	}
}

func TestLoginsConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	got := newChecker(t, 5*time.Second).Logins(t.Context(), target(port))
	if got[0].OK || got[0].Number != 0 || !strings.Contains(got[0].Err, "refused") || got[0].Connected {
		t.Errorf("Logins = %+v; want Err saying the connection was refused, and no connection", got[0])
	}
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); got[0].Address != want {
		t.Errorf("Address = %q; want %q", got[0].Address, want)
	}
}

// TestLoginsEncryptRequired checks that a client that requires TLS reports a server
// that offers none as a failure before the login.
func TestLoginsEncryptRequired(t *testing.T) {
	fake := tdsfake.Start(t, tdsfake.Config{})
	c, err := sqlserver.New(sqlserver.Config{Encrypt: "true", Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sqlserver.SetAuth(c, ntlm)
	got := c.Logins(t.Context(), target(fake.Port()))
	if got[0].OK || !strings.Contains(got[0].Err, "encryption") {
		t.Errorf("Logins = %+v; want Err about encryption", got[0])
	}
}

// TestLoginsContextCanceled checks that the caller's context bounds the login too.
func TestLoginsContextCanceled(t *testing.T) {
	fake := tdsfake.Start(t, tdsfake.Config{Fault: tdsfake.Silent})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := newChecker(t, time.Minute).Logins(ctx, target(fake.Port()))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Logins took %v after its context ended after 200ms", took)
	}
	if got[0].OK || got[0].Err == "" {
		t.Errorf("Logins = %+v; want Err", got[0])
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  sqlserver.Config
		want string
	}{
		{"negative timeout", sqlserver.Config{Timeout: -time.Second}, "negative timeout"},
		{"unknown encrypt", sqlserver.Config{Encrypt: "yes"}, `encrypt "yes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlserver.New(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%v) = %v; want an error containing %q", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestConfigHidesPassword(t *testing.T) {
	cfg := sqlserver.Config{Principal: "authtriage_ro", Password: "s3cret!"}
	if s := cfg.String(); strings.Contains(s, "s3cret") {
		t.Errorf("String() = %s; shows the password", s)
	}
	if s := cfg.LogValue().String(); strings.Contains(s, "s3cret") {
		t.Errorf("LogValue() = %s; shows the password", s)
	}
}
