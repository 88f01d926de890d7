package agent_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/triage"
)

// handlerRequest is a triage request as the TLS server hands it to the handler, from
// a verified client certificate with CN cn.
func handlerRequest(cn, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://agent.test"+agent.PathTriage, strings.NewReader(body))
	r.Header.Set("Content-Type", agent.ContentJSON)
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert}}}
	return r
}

// serveStream runs one triage request through the handler of a server with the given
// checks and returns the decoded lines.
func serveStream(t *testing.T, cfg agent.ServerConfig, checks ...triage.Check) ([]agent.Line, *logBuffer) {
	t.Helper()
	cfg.Hosts = map[string]triage.Target{"sqlhost01": {Host: "sqlhost01"}}
	cfg.AllowedClients = []string{"bot"}
	cfg.Checks = func(triage.Target, time.Duration) []triage.Check { return checks }
	log := &logBuffer{}
	srv, err := agent.NewServer(cfg, newLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, handlerRequest("bot", `{"host":"sqlhost01"}`))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var lines []agent.Line
	for _, s := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n") {
		l, err := agent.DecodeLine([]byte(s))
		if err != nil {
			t.Fatalf("line %q: %v", s, err)
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 || !lines[len(lines)-1].Done {
		t.Fatalf("stream %s does not end with the end marker", rec.Body)
	}
	return lines[:len(lines)-1], log
}

// TestStream: each check's line comes as it finishes, with triage.Runner's statuses:
// skipped, error (with what the check saw), panics recovered, a check that ignores its
// context abandoned at its timeout.
func TestStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		start := time.Now()
		lines, log := serveStream(t, agent.ServerConfig{CheckTimeout: 5 * time.Second},
			fakeCheck{"slow", func(ctx context.Context) (triage.Result, error) {
				select {
				case <-time.After(2 * time.Second):
					return logResult("slow read", 18456), nil
				case <-ctx.Done():
					return triage.Result{}, ctx.Err()
				}
			}},
			fakeCheck{"stuck", func(context.Context) (triage.Result, error) {
				<-release // ignores its context
				return triage.Result{}, nil
			}},
			returns("fast", logResult("fast read", 17806), nil),
			returns("skipped", triage.Result{}, triage.Skip("no directory: give --ldif FILE")),
			returns("failing", logResult("half read", 17806), errBoom),
			fakeCheck{"panics", func(context.Context) (triage.Result, error) { panic("kaboom") }},
		)
		if took := time.Since(start); took != 5*time.Second+250*time.Millisecond {
			t.Errorf("the stream took %s of the bubble's clock; want the 5s check timeout and its grace", took)
		}
		type want struct {
			status   triage.CheckStatus
			detail   string
			duration time.Duration
			obs      bool
		}
		wants := map[string]want{
			"fast":    {triage.CheckPass, "fast read", 0, true},
			"skipped": {triage.CheckSkipped, "no directory: give --ldif FILE", 0, false},
			"failing": {triage.CheckError, "boom: access denied", 0, true},
			"panics":  {triage.CheckError, "internal error: kaboom", 0, false},
			"slow":    {triage.CheckPass, "slow read", 2 * time.Second, true},
			"stuck":   {triage.CheckError, "did not finish within its 5s timeout", 5*time.Second + 250*time.Millisecond, false},
		}
		if len(lines) != len(wants) {
			t.Fatalf("%d lines; want %d", len(lines), len(wants))
		}
		var order []string
		for _, l := range lines {
			c := l.Check
			order = append(order, c.Name)
			w := wants[c.Name]
			if c.Status != w.status || c.Detail != w.detail || c.Duration != w.duration || (l.Observations != nil) != w.obs {
				t.Errorf("line %s = %+v, observations %v; want %+v", c.Name, *c, l.Observations != nil, w)
			}
		}
		if got := strings.Join(order[4:], ","); got != "slow,stuck" {
			t.Errorf("order %v; want the immediate checks first, then slow, then stuck", order)
		}
		if !strings.Contains(log.String(), "check panicked") {
			t.Errorf("log does not record the panic:\n%s", log)
		}
	})
}

// TestStreamDeadline: the request's deadline ends checks whose own timeout is longer.
func TestStreamDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		start := time.Now()
		lines, _ := serveStream(t, agent.ServerConfig{CheckTimeout: time.Hour, Deadline: 3 * time.Second},
			fakeCheck{"waits", func(ctx context.Context) (triage.Result, error) {
				<-ctx.Done()
				return triage.Result{}, ctx.Err()
			}},
			fakeCheck{"stuck", func(context.Context) (triage.Result, error) {
				<-release
				return triage.Result{}, nil
			}},
		)
		if took := time.Since(start); took != 3*time.Second+250*time.Millisecond {
			t.Errorf("the stream took %s of the bubble's clock; want the 3s deadline and its grace", took)
		}
		got := map[string]string{}
		for _, l := range lines {
			got[l.Check.Name] = string(l.Check.Status) + ": " + l.Check.Detail
		}
		if !strings.HasPrefix(got["waits"], "error: timed out") {
			t.Errorf("waits = %q; want a timeout error", got["waits"])
		}
		if got["stuck"] != "error: did not finish within the 3s deadline" {
			t.Errorf("stuck = %q; want abandoned at the deadline", got["stuck"])
		}
	})
}

// TestHandlerWithoutVerifiedCertificate: a request that reaches the handler without a
// verified client certificate is refused with 401.
func TestHandlerWithoutVerifiedCertificate(t *testing.T) {
	srv, err := agent.NewServer(agent.ServerConfig{
		Hosts:          map[string]triage.Target{"sqlhost01": {}},
		AllowedClients: []string{"bot"},
		Checks:         func(triage.Target, time.Duration) []triage.Check { t.Error("checks built"); return nil },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*http.Request){
		"no TLS":            func(r *http.Request) { r.TLS = nil },
		"no certificate":    func(r *http.Request) { r.TLS.PeerCertificates = nil },
		"not verified":      func(r *http.Request) { r.TLS.VerifiedChains = nil },
		"no name in it":     func(r *http.Request) { r.TLS.PeerCertificates[0] = &x509.Certificate{} },
		"an unknown client": nil,
	} {
		t.Run(name, func(t *testing.T) {
			r := handlerRequest("bot", `{"host":"sqlhost01"}`)
			want := http.StatusUnauthorized
			if mutate == nil {
				r = handlerRequest("mallory", `{"host":"sqlhost01"}`)
				want = http.StatusForbidden
			} else {
				mutate(r)
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, r)
			if rec.Code != want {
				t.Errorf("status %d %s; want %d", rec.Code, rec.Body, want)
			}
		})
	}
}

// TestIdentityFromDNSName: a certificate without a CN is known by its first DNS name.
func TestIdentityFromDNSName(t *testing.T) {
	srv, err := agent.NewServer(agent.ServerConfig{
		Hosts:          map[string]triage.Target{"sqlhost01": {}},
		AllowedClients: []string{"bot.corp.example"},
		Checks:         func(triage.Target, time.Duration) []triage.Check { return nil },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "https://agent.test"+agent.PathHealth, nil)
	cert := &x509.Certificate{DNSNames: []string{"BOT.corp.example", "other.corp.example"}}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert}}}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Errorf("status %d %s; want 200", rec.Code, rec.Body)
	}
}
