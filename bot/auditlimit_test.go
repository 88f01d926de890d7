package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authtriage/authtriage/store"
)

// TestRefusedFloodIsBounded is the reproduction of a flood of refused requests:
// 300 signed slash commands of about a megabyte each (a tenth of that under the
// race detector), from a channel where no rule allows anything. Each is
// answered with its refusal, and the audit log grows by a few entries of
// bounded size instead of 300 megabytes.
func TestRefusedFloodIsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, func(o *Options) { o.Metrics = NewMetrics(reg) })
	const n = 300
	size := 1_000_000 // bytes of each request
	if raceEnabled {
		size = 100_000 // as far over every limit, ten times faster
	}
	kinds := []string{
		strings.Repeat("a", size),                      // an unknown command
		"check sqlhost01 " + strings.Repeat("a", size), // bad input
		"check sqlhost01" + strings.Repeat(" ", size),  // a command the channel may not run
	}
	began := time.Now()
	for i := range n {
		text := kinds[i%len(kinds)]
		code, body := h.slash(dba, elsewhere, text)
		var reply struct{ Text string }
		want := fmt.Sprintf("That is %d bytes long", len(text))
		if err := json.Unmarshal([]byte(body), &reply); code != 200 || err != nil || !strings.Contains(reply.Text, want) {
			t.Fatalf("request %d answered %d %.200q; want 200 with %q", i, code, body, want)
		}
	}
	took := time.Since(began)
	h.stop() // the audit log is written

	es, err := h.db.AuditLog(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var stored, limited, text int
	for _, e := range es {
		text += len(e.Command) + len(e.Detail)
		if len(e.Command) > store.MaxAuditText || len(e.Detail) > store.MaxAuditText {
			t.Errorf("entry %+.80v holds %d bytes of command, %d of detail; want at most %d each", e, len(e.Command), len(e.Detail), store.MaxAuditText)
		}
		switch e.Result {
		case "limited":
			limited++
		case "rejected":
			if e.CommandBytes < size {
				t.Errorf("rejected entry records %d bytes of command; want its length as sent, over %d", e.CommandBytes, size)
			}
			stored++
		default:
			stored++
		}
	}
	// The user's bucket: 10 at once, then one a minute; one limited entry per 10 minutes.
	maxStored := userBurst + int(took/userEvery) + 1
	maxLimited := 1 + int(took/limitWindow)
	if stored > maxStored || limited < 1 || limited > maxLimited {
		t.Errorf("%d refused requests stored and %d limited entries in %s; want at most %d and 1 to %d", stored, limited, took, maxStored, maxLimited)
	}
	if max := (maxStored + maxLimited) * 2 * store.MaxAuditText; text > max {
		t.Errorf("the audit log holds %d bytes of text; want at most %d", text, max)
	}
	if got, want := counter(t, reg, "authtriage_audit_suppressed_total", "user"), float64(n-stored); got != want {
		t.Errorf("suppressed refusals counted %v; want %v (every request not stored as itself)", got, want)
	}
	t.Logf("%d requests in %s: %d stored, %d limited entries, %d bytes of text", n, took, stored, limited, text)
}

// counter returns the value of the counter name with the given label value,
// 0 when it has none.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestAuditLimiter follows the buckets of a user, a channel and the bot through
// refused requests on a fake clock.
func TestAuditLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	type step struct {
		name        string
		at          time.Duration // since t0
		user, chann string
		n           int    // requests made
		stored      int    // of them stored as themselves
		limited     int    // "limited" entries stored
		kind        string // the limit they were over
		detail      string // in the last limited entry
	}
	steps := []step{
		{name: "a user's burst is stored", user: "U1", chann: "C1", n: 10, stored: 10},
		{name: "past it, one limited entry stands for the rest", user: "U1", chann: "C1", n: 5, limited: 1, kind: "user",
			detail: "user U1 is over its limit of refused requests stored (10, then one every 1m0s): until 2026-11-24T09:10:00Z its refused requests are counted, not stored; this one was denied: no access rule allows it"},
		{name: "another user in the channel is stored", user: "U2", chann: "C1", n: 1, stored: 1},
		{name: "a minute later, one more token", at: time.Minute, user: "U1", chann: "C1", n: 2, stored: 1},
		{name: "after the window, a new limited entry counts what was not stored", at: 11 * time.Minute, user: "U1", chann: "C1", n: 12, stored: 10, limited: 1, kind: "user",
			detail: "until 2026-11-24T09:21:00Z its refused requests are counted, not stored; 5 were not stored since the previous limited entry"},
		{name: "a channel's burst, from many users", at: 2 * time.Hour, user: "many", chann: "C2", n: 31, stored: 30, limited: 1, kind: "channel",
			detail: "channel C2 is over its limit"},
		{name: "the bot's burst, from many users in many channels", at: 3 * time.Hour, user: "many", chann: "many", n: 101, stored: 100, limited: 1, kind: "all",
			detail: "the bot is over its limit of refused requests stored (100, then one every 6s)"},
		{name: "the clock set back adds no tokens", at: 3*time.Hour - time.Minute, user: "many", chann: "many", n: 1, kind: "all"},
	}
	var l auditLimiter
	i := 0
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var stored, limited int
			var last store.AuditEntry
			suppressed := map[string]int{}
			for range s.n {
				i++
				e := store.AuditEntry{
					Time: t0.Add(s.at), User: s.user, Channel: s.chann, Origin: "slash",
					Command: "check sqlhost01", Result: "denied", Detail: "no access rule allows it",
				}
				if s.user == "many" {
					e.User = fmt.Sprintf("U%d", i)
				}
				if s.chann == "many" {
					e.Channel = fmt.Sprintf("C%d", i)
				}
				got, ok := l.admit(e.Bounded(), func(kind string) { suppressed[kind]++ })
				switch {
				case !ok:
				case got.Result == "limited":
					limited++
					last = got
					if got.Command != e.Command || got.User != e.User || got.Channel != e.Channel {
						t.Errorf("limited entry %+v; want the request's command, user and channel", got)
					}
				default:
					stored++
					if got != e.Bounded() {
						t.Errorf("stored %+v; want the request's entry %+v", got, e.Bounded())
					}
				}
			}
			if stored != s.stored || limited != s.limited {
				t.Errorf("%d requests: %d stored, %d limited entries; want %d, %d", s.n, stored, limited, s.stored, s.limited)
			}
			if s.kind != "" && suppressed[s.kind] != s.n-s.stored {
				t.Errorf("suppressed %v; want %d over the %s limit", suppressed, s.n-s.stored, s.kind)
			}
			if s.detail != "" && !strings.Contains(last.Detail, s.detail) {
				t.Errorf("limited entry's detail %q; want it to contain %q", last.Detail, s.detail)
			}
		})
	}
}

// TestAuditLimiterForgets: buckets full again are forgotten, and however many
// users and channels appear at once, the limiter holds a bounded number.
func TestAuditLimiterForgets(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var l auditLimiter
	for i := range maxLimitKeys {
		l.admit(store.AuditEntry{Time: t0, User: fmt.Sprintf("U%d", i), Channel: fmt.Sprintf("C%d", i), Result: "rejected"}, func(string) {})
	}
	if n := len(l.buckets); n > maxLimitKeys+2 {
		t.Errorf("%d buckets after %d users and channels; want at most %d", n, maxLimitKeys, maxLimitKeys+2)
	}
	l.admit(store.AuditEntry{Time: t0.Add(time.Hour), User: "U1", Channel: "C1", Result: "rejected"}, func(string) {})
	if n := len(l.buckets); n > 3 {
		t.Errorf("%d buckets an hour later; want those of the last request", n)
	}
}

// TestOnlyRefusalsAreLimited: ok, busy and error entries are always stored.
func TestOnlyRefusalsAreLimited(t *testing.T) {
	b := &Bot{metrics: NewMetrics(prometheus.NewRegistry())}
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for _, result := range []string{"ok", "busy", "error"} {
		for i := range 3 * overallBurst {
			if _, ok := b.limitAudit(store.AuditEntry{Time: t0, User: "U1", Channel: "C1", Result: result}); !ok {
				t.Fatalf("%s entry %d not stored", result, i)
			}
		}
	}
	stored := 0
	for range 2 * userBurst {
		if e, ok := b.limitAudit(store.AuditEntry{Time: t0, User: "U1", Channel: "C1", Result: "rejected"}); ok && e.Result == "rejected" {
			stored++
		}
	}
	if stored != userBurst {
		t.Errorf("%d rejected entries stored after the others; want the user's burst, %d", stored, userBurst)
	}
}

// TestLongTextIsNotParsed: a text over maxCommandText is refused unparsed; one
// of that length is parsed.
func TestLongTextIsNotParsed(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		text, want string
	}{
		{"check " + strings.Repeat("a", maxCommandText-6), "is not a host name"},
		{"check " + strings.Repeat("a", maxCommandText-5), "That is 4097 bytes long; no command is longer than 4096."},
	} {
		code, body := h.slash(dba, incident, tt.text)
		if code != 200 || !strings.Contains(body, tt.want) {
			t.Errorf("%d bytes answered %d %.300q; want %q", len(tt.text), code, body, tt.want)
		}
	}
}
