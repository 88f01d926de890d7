package directory

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSteadyStateBindsNothing: a Client used as one triage uses it (several calls at
// once on the domain controllers, one on the global catalog) binds once per connection
// the first time, and not at all the next times; Stats counts what the server saw.
func TestSteadyStateBindsNothing(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	c := newTestClient(t, fake)
	const parallel = 3 // at most maxIdleConns
	round := func() {
		t.Helper()
		// Every call holds its connection until all of them have one.
		var inside sync.WaitGroup
		inside.Add(parallel)
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				err := c.do(t.Context(), c.dc, func(*session) error {
					inside.Done()
					inside.Wait()
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if _, err := c.FindSPN(t.Context(), "MSSQLSvc/sqlok.corp.example:1433"); err != nil {
			t.Fatal(err)
		}
	}
	round()
	first := c.Stats()
	if first.Dials != parallel+1 || first.Binds != parallel+1 {
		t.Fatalf("first round: %+v; want %d dials and binds", first, parallel+1)
	}
	for range 5 {
		round()
	}
	if got := c.Stats(); got != first {
		t.Errorf("after 5 more rounds: %+v; want %+v, nothing new", got, first)
	}
	if _, binds, _ := fake.stats(); int64(binds) != first.Binds {
		t.Errorf("the server saw %d binds; Stats says %d", binds, first.Binds)
	}
}

// TestIdleLimits: idle connections are reused for maxIdle at most, and a pool keeps
// maxIdleConns of them.
func TestIdleLimits(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	c := newTestClient(t, fake)
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	c.now = func() time.Time { return time.Unix(0, now.Load()) }

	const parallel = maxIdleConns + 2
	var inside sync.WaitGroup
	inside.Add(parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			if err := c.do(t.Context(), c.dc, func(*session) error { inside.Done(); inside.Wait(); return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(c.dc.idle); n != maxIdleConns {
		t.Errorf("%d idle connections after %d calls at once; want %d", n, parallel, maxIdleConns)
	}

	before := c.Stats().Binds
	if _, err := c.CurrentTime(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Binds; got != before {
		t.Errorf("a call with idle connections bound again (%d binds, %d before)", got, before)
	}
	now.Add(int64(maxIdle + time.Second))
	if _, err := c.CurrentTime(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Binds; got != before+1 {
		t.Errorf("binds = %d after the idle connections expired; want %d", got, before+1)
	}
	if n := len(c.dc.idle); n != 1 {
		t.Errorf("%d idle connections after the expired ones were dropped; want 1", n)
	}
}

// TestDiscoveryKept: servers found through SRV records are kept for srvLifetime, then
// looked up again; when every server found fails, they are looked up again at once.
func TestDiscoveryKept(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	_, portText, _ := net.SplitHostPort(fake.ln.Addr().String())
	port, _ := strconv.Atoi(portText)
	dns := newFakeDNS(t, map[string][]net.SRV{
		"_ldap._tcp.dc._msdcs.corp.example": {{Target: "dc1.corp.example.", Port: uint16(port)}},
	})
	c := newTestClient(t, fake, func(cfg *Config) {
		cfg.URLs, cfg.GCURLs = nil, nil
		cfg.Domain = "corp.example"
		cfg.Resolver = dns.resolver()
		cfg.Timeout = 2 * time.Second
	})
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	c.now = func() time.Time { return time.Unix(0, now.Load()) }

	for range 3 {
		if _, err := c.Account(t.Context(), "svc_sqlok"); err != nil {
			t.Fatal(err)
		}
		c.ProbeDCs(t.Context())
	}
	if got := c.Stats(); got.Lookups != 1 || got.Binds != 1 || got.Probes != 3 {
		t.Errorf("3 calls and 3 probes: %+v; want 1 lookup, 1 bind, 3 probes", got)
	}
	now.Add(int64(srvLifetime + time.Second))
	if _, err := c.Account(t.Context(), "svc_sqlok"); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Lookups; got != 2 {
		t.Errorf("lookups = %d after the records' lifetime; want 2", got)
	}

	// Every server found refuses: the next call looks the records up again.
	dead := refusingURL(t)
	_, deadPort, _ := net.SplitHostPort(strings.TrimPrefix(dead, "ldap://"))
	p, _ := strconv.Atoi(deadPort)
	gone := newFakeDNS(t, map[string][]net.SRV{
		"_ldap._tcp.dc._msdcs.corp.example": {{Target: "dc1.corp.example.", Port: uint16(p)}},
	})
	c2 := newTestClient(t, fake, func(cfg *Config) {
		cfg.URLs, cfg.GCURLs = nil, nil
		cfg.Domain = "corp.example"
		cfg.Resolver = gone.resolver()
		cfg.Timeout = 2 * time.Second
	})
	for range 2 {
		if _, err := c2.Account(t.Context(), "svc_sqlok"); err == nil {
			t.Fatal("Account through a refusing DC: no error")
		}
	}
	if got := c2.Stats(); got.Lookups != 2 || got.Dials != 2 || got.Binds != 0 {
		t.Errorf("two calls to a refusing DC: %+v; want 2 lookups, 2 dials, no bind", got)
	}
}
