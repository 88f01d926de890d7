package agent_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/triage"
)

func okChecks() []triage.Check {
	return []triage.Check{returns("errorlog", logResult("ERRORLOG: 3 entries", 17806), nil)}
}

// TestRefusals: every request the agent must refuse is refused with a clear status,
// runs nothing, and is logged.
func TestRefusals(t *testing.T) {
	p := newPKI(t, "bot", "intruder")
	other := newPKI(t, "bot") // another CA, with a client of an allowed name
	a := startAgent(t, p, okChecks, func(c *agent.ServerConfig) { c.Burst = 100 })

	tests := []struct {
		name        string
		certs       pki
		client      string // "" for no client certificate
		method      string
		path        string
		contentType string
		body        io.Reader
		wantStatus  int    // 0: refused in the TLS handshake
		wantError   string // in the error body
		wantLog     string // in the log
	}{
		{name: "no client certificate", certs: p, client: "",
			method: "GET", path: agent.PathHealth, wantLog: "TLS handshake error"},
		{name: "certificate from another CA", certs: other, client: "bot",
			method: "GET", path: agent.PathHealth, wantLog: "TLS handshake error"},
		{name: "CA-signed but unknown identity", certs: p, client: "intruder",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost01"}`),
			wantStatus: 403, wantError: `client "intruder" is not allowed`, wantLog: `"client":"intruder"`},
		{name: "host not in the inventory", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost99"}`),
			wantStatus: 404, wantError: `host "sqlhost99" is not in this agent's inventory`, wantLog: `"host":"sqlhost99"`},
		{name: "bad host name", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost01;rm -rf"}`),
			wantStatus: 400, wantError: "is not allowed in a host name", wantLog: `"status":400`},
		{name: "oversized body", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost01","since":"` + strings.Repeat("1", 5000) + `"}`),
			wantStatus: 413, wantError: "larger than 4096 bytes", wantLog: `"status":413`},
		{name: "oversized body without a length", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: io.MultiReader(strings.NewReader(`{"host":"`), strings.NewReader(strings.Repeat("a", 5000))),
			wantStatus: 413, wantError: "larger than 4096 bytes", wantLog: `"status":413`},
		{name: "malformed JSON", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":`),
			wantStatus: 400, wantError: "malformed request", wantLog: `"status":400`},
		{name: "unknown field", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost01","command":"setspn -D"}`),
			wantStatus: 400, wantError: `unknown field "command"`, wantLog: `"status":400`},
		{name: "two objects", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost01"}{"host":"sqlhost01"}`),
			wantStatus: 400, wantError: "data after the JSON object", wantLog: `"status":400`},
		{name: "since too long", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost01","since":"2161h"}`),
			wantStatus: 400, wantError: "at most 2160h (90 days)", wantLog: `"status":400`},
		{name: "since not a duration", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, body: strings.NewReader(`{"host":"sqlhost01","since":"yesterday"}`),
			wantStatus: 400, wantError: `since "yesterday"`, wantLog: `"status":400`},
		{name: "not JSON", certs: p, client: "bot",
			method: "POST", path: agent.PathTriage, contentType: "text/plain", body: strings.NewReader(`host=sqlhost01`),
			wantStatus: 415, wantError: "application/json", wantLog: `"status":415`},
		{name: "wrong method", certs: p, client: "bot",
			method: "GET", path: agent.PathTriage,
			wantStatus: 405, wantError: "takes POST", wantLog: `"status":405`},
		{name: "unknown endpoint", certs: p, client: "bot",
			method: "GET", path: "/v1/exec",
			wantStatus: 404, wantError: "no such endpoint", wantLog: `"path":"/v1/exec"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(a.log.records("request"))
			req, err := http.NewRequest(tt.method, a.url+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != nil {
				req.Header.Set("Content-Type", cmp.Or(tt.contentType, agent.ContentJSON))
			}
			resp, err := rawClient(t, p, tt.certs, tt.client).Do(req)
			if tt.wantStatus == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("%s %s = %s; want the TLS handshake refused", tt.method, tt.path, resp.Status)
				}
				if !strings.Contains(err.Error(), "tls") {
					t.Errorf("error = %v; want a TLS error", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %s (%s); want %d", resp.Status, body, tt.wantStatus)
				}
				var e struct{ Error string }
				if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, tt.wantError) {
					t.Errorf("body = %s; want an error containing %q", body, tt.wantError)
				}
				if got := len(waitRequests(t, a.log, before+1)); got != before+1 {
					t.Errorf("%d new audit records; want 1", got-before)
				}
			}
			waitLog(t, a.log, tt.wantLog, func(log string) bool { return strings.Contains(log, tt.wantLog) })
			if n := a.calls.Load(); n != 0 {
				t.Errorf("the agent built checks %d times; want none run", n)
			}
		})
	}
	if s := a.log.String(); strings.Contains(s, "PRIVATE KEY") {
		t.Errorf("the log holds key material:\n%s", s)
	}
}

// post sends a triage request for host with client certificate name and returns the
// response with its body read.
func post(t *testing.T, a *testAgent, name, host string) (*http.Response, string) {
	t.Helper()
	resp, err := rawClient(t, a.pki, a.pki, name).Post(a.url+agent.PathTriage, agent.ContentJSON,
		strings.NewReader(`{"host":"`+host+`","since":"24h"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestTriageStream: the stream has one line per check, then the end marker, and the
// audit names the client, the host, the status and how each check ended.
func TestTriageStream(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, func() []triage.Check {
		return []triage.Check{
			returns("errorlog", logResult("ERRORLOG: 3 entries", 17806), nil),
			returns("spn", triage.Result{}, triage.Skip("no directory")),
		}
	}, nil)
	resp, body := post(t, a, "bot", "SQLHOST01") // inventory names match ignoring case
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != agent.ContentNDJSON {
		t.Fatalf("status %s, type %q; want 200 %s", resp.Status, resp.Header.Get("Content-Type"), agent.ContentNDJSON)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 3 || lines[2] != `{"done":true}` {
		t.Fatalf("stream:\n%s\nwant two checks and the end marker", body)
	}
	seen := map[string]triage.CheckStatus{}
	for _, l := range lines[:2] {
		got, err := agent.DecodeLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		seen[got.Check.Name] = got.Check.Status
		if got.Check.Name == "errorlog" && (got.Observations == nil || len(got.Observations.Logs) != 1) {
			t.Errorf("errorlog line %s; want its log event", l)
		}
	}
	if seen["errorlog"] != triage.CheckPass || seen["spn"] != triage.CheckSkipped {
		t.Errorf("statuses %v; want errorlog pass, spn skipped", seen)
	}
	rec := waitRequests(t, a.log, 1)[0]
	for k, want := range map[string]any{"client": "bot", "host": "SQLHOST01", "status": 200.0, "reason": "complete", "path": agent.PathTriage} {
		if rec[k] != want {
			t.Errorf("audit %s = %v; want %v (record %v)", k, rec[k], want, rec)
		}
	}
	if c, _ := rec["checks"].(string); !strings.Contains(c, "errorlog=pass") || !strings.Contains(c, "spn=skipped") {
		t.Errorf("audit checks = %q; want each check's status", c)
	}
}

// TestRateLimit: a client that exceeds its rate gets 429 with Retry-After; another
// client is not affected.
func TestRateLimit(t *testing.T) {
	p := newPKI(t, "bot", "bot2")
	a := startAgent(t, p, okChecks, func(c *agent.ServerConfig) { c.RatePerMinute, c.Burst = 1, 2 })
	for i := range 2 {
		if resp, body := post(t, a, "bot", "sqlhost01"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %s %s; want 200 within the burst", i+1, resp.Status, body)
		}
	}
	resp, body := post(t, a, "bot", "sqlhost01")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request: %s %s; want 429", resp.Status, body)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After = %q; want 1 to 60 seconds", resp.Header.Get("Retry-After"))
	}
	if resp, body := post(t, a, "bot2", "sqlhost01"); resp.StatusCode != 200 {
		t.Errorf("another client: %s %s; want 200", resp.Status, body)
	}
	recs := waitRequests(t, a.log, 4)
	if recs[2]["status"] != 429.0 || recs[2]["client"] != "bot" {
		t.Errorf("audit of the refused request = %v; want client bot, status 429", recs[2])
	}
	if n := a.calls.Load(); n != 3 {
		t.Errorf("checks built %d times; want 3 (not for the refused request)", n)
	}
}

// TestConcurrencyLimit: a triage beyond MaxConcurrent gets 503 with Retry-After.
func TestConcurrencyLimit(t *testing.T) {
	p := newPKI(t, "bot")
	b := newBlocker("slow")
	a := startAgent(t, p, func() []triage.Check { return []triage.Check{b} }, func(c *agent.ServerConfig) { c.MaxConcurrent = 1 })
	first := make(chan int, 1)
	go func() {
		resp, _ := post(t, a, "bot", "sqlhost01")
		first <- resp.StatusCode
	}()
	<-b.started
	resp, body := post(t, a, "bot", "sqlhost01")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second triage: %s (Retry-After %q) %s; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	close(b.release)
	if code := <-first; code != 200 {
		t.Errorf("first triage: %d; want 200", code)
	}
	if n := a.calls.Load(); n != 1 {
		t.Errorf("checks built %d times; want 1", n)
	}
}

// TestClientGoneCancelsChecks: when the client goes away mid-stream the agent cancels
// the checks still running.
func TestClientGoneCancelsChecks(t *testing.T) {
	p := newPKI(t, "bot")
	b := newBlocker("slow")
	a := startAgent(t, p, func() []triage.Check {
		return []triage.Check{returns("fast", triage.Result{Detail: "done"}, nil), b}
	}, nil)
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	err := c.Triage(ctx, "sqlhost01", 0, func(agent.Line) { cancel() })
	if err == nil {
		t.Fatal("Triage = nil; want an error after the cancel")
	}
	await(t, "the check to be canceled", b.canceled)
	rec := waitRequests(t, a.log, 1)[0]
	if r, _ := rec["reason"].(string); !strings.HasPrefix(r, "stream cut") && !strings.HasPrefix(r, "canceled") {
		t.Errorf("audit reason = %q; want the stream cut or canceled", r)
	}
}

// TestServeShutdown: when its context ends, Serve stops accepting, lets the running
// triage finish and returns nil.
func TestServeShutdown(t *testing.T) {
	p := newPKI(t, "bot")
	b := newBlocker("slow")
	a := startAgent(t, p, func() []triage.Check { return []triage.Check{b} }, nil)
	c := newClient(t, p, a.url, "bot", 10*time.Second)
	got := make(chan error, 1)
	go func() { got <- c.Triage(t.Context(), "sqlhost01", 0, func(agent.Line) {}) }()
	<-b.started
	a.stop()
	await(t, "the listener to close", a.ln.closed) // the shutdown has begun
	close(b.release)
	if err := <-got; err != nil {
		t.Errorf("Triage during shutdown = %v; want it finished", err)
	}
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("Serve = %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(a.url, "https://"), time.Second); err == nil {
		t.Error("the agent still accepts connections after shutdown")
	}
	a.done <- nil // for the cleanup
}

func TestServeRefusesTLSWithoutClientCertificates(t *testing.T) {
	p := newPKI(t, "bot")
	srv, err := agent.NewServer(agent.ServerConfig{
		Hosts: map[string]triage.Target{"h": {Host: "h"}}, Checks: func(triage.Target, time.Duration) []triage.Check { return nil },
		AllowedClients: []string{"bot"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := p.serverTLS(t)
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	if err := srv.Serve(t.Context(), ln, cfg); err == nil || !strings.Contains(err.Error(), "client certificates") {
		t.Errorf("Serve with optional client certificates = %v; want a refusal", err)
	}
}

func TestNewServerErrors(t *testing.T) {
	checks := func(triage.Target, time.Duration) []triage.Check { return nil }
	tests := []struct {
		name string
		cfg  agent.ServerConfig
		want []string
	}{
		{"empty", agent.ServerConfig{}, []string{"no checks", "no hosts", "no allowed clients"}},
		{"bad host", agent.ServerConfig{Checks: checks, AllowedClients: []string{"bot"},
			Hosts: map[string]triage.Target{"bad host": {}}}, []string{`"bad host"`}},
		{"hosts equal ignoring case", agent.ServerConfig{Checks: checks, AllowedClients: []string{"bot"},
			Hosts: map[string]triage.Target{"sql01": {}, "SQL01": {}}}, []string{"listed twice"}},
		{"negative limits", agent.ServerConfig{Checks: checks, AllowedClients: []string{"bot"},
			Hosts: map[string]triage.Target{"h": {}}, Deadline: -1, MaxConcurrent: -1}, []string{"deadline is negative", "max concurrent is negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agent.NewServer(tt.cfg, nil)
			if err == nil {
				t.Fatal("NewServer = nil error; want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("NewServer error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestHealthAndVersion: an allowed client gets health and version.
func TestHealthAndVersion(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, nil)
	c := newClient(t, p, a.url, "bot", 5*time.Second)
	if err := c.Health(t.Context()); err != nil {
		t.Errorf("Health = %v", err)
	}
	v, err := c.Version(t.Context())
	if err != nil || v.Version != "test-1" || v.API != "v1" {
		t.Errorf("Version = %+v, %v; want test-1, v1", v, err)
	}
	recs := waitRequests(t, a.log, 2)
	if recs[0]["path"] != agent.PathHealth || recs[0]["client"] != "bot" {
		t.Errorf("audit = %v; want the health request by bot", recs[0])
	}
}
