package bot

import (
	"fmt"
	"sync"
	"time"

	"github.com/authtriage/authtriage/store"
)

// What the bot stores of refused requests (results denied and rejected: no
// access, bad input, an unknown command or host) is rate-limited, so that
// whoever can send requests cannot fill the store: each refused request takes
// a token from its user's bucket, its channel's and the bot's overall one, and
// is stored only when all three have one. Past a limit, refused requests are
// still answered and counted (authtriage_audit_suppressed_total), and one
// "limited" entry per limitWindow and limit stands for them in the audit log.
// Requests that are not refused (ok, busy, error) are always stored. The
// limits are fixed:
//
//   - a user: 10 refused requests at once, then one a minute;
//   - a channel: 30 at once, then one every 20 seconds;
//   - the bot overall: 100 at once, then one every 6 seconds.
const (
	userBurst, userEvery       = 10, time.Minute
	channelBurst, channelEvery = 30, 20 * time.Second
	overallBurst, overallEvery = 100, 6 * time.Second
)

// limitWindow is how long one "limited" audit entry stands for the refused
// requests over one limit that are not stored.
const limitWindow = 10 * time.Minute

// The buckets of users and channels are forgotten once full again (looked for
// at most every pruneEvery). Past maxLimitKeys buckets (Slack's IDs come in signed requests, but a holder of
// the signing secret may make them up), new users share one bucket, and new
// channels another.
const (
	maxLimitKeys = 1 << 16
	pruneEvery   = time.Minute
)

// A tokenRate is a token bucket's size and how often it gains a token.
type tokenRate struct {
	burst float64
	every time.Duration
}

// A bucket is the tokens of one user, one channel or the whole bot, and the
// state of its "limited" entries.
type bucket struct {
	kind    string // user, channel or all: the metric's label
	name    string // "user U…", "channel C…", "the bot": what the audit says
	limit   tokenRate
	tokens  float64
	at      time.Time // when tokens was brought up to date
	until   time.Time // the end of the window of the last "limited" entry
	dropped int       // refused requests not stored since that entry
}

// refill brings b's tokens up to date at now; a clock set back adds none.
func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(b.limit.burst, b.tokens+float64(d)/float64(b.limit.every))
		b.at = now
	}
}

// idle reports whether forgetting b changes nothing: it is full, and no
// "limited" window or uncounted request is pending.
func (b *bucket) idle(now time.Time) bool {
	return b.tokens >= b.limit.burst && !now.Before(b.until) && b.dropped == 0
}

// auditLimiter decides which refused requests are stored. Its zero value is
// ready to use; it is safe for concurrent use.
type auditLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket // by kind and ID
	pruned  time.Time
}

// get returns the bucket of kind's id, full when new.
func (l *auditLimiter) get(kind, id string, limit tokenRate, now time.Time) *bucket {
	key := kind + ":" + id
	if b, ok := l.buckets[key]; ok {
		return b
	}
	name := kind + " " + id
	switch {
	case kind == "all":
		name = "the bot"
	case len(l.buckets) >= maxLimitKeys:
		key, name = kind+":*", "every other "+kind
		if b, ok := l.buckets[key]; ok {
			return b
		}
	}
	b := &bucket{kind: kind, name: name, limit: limit, tokens: limit.burst, at: now}
	l.buckets[key] = b
	return b
}

// admit returns the entry to store for e, a refused request's bounded entry:
// e itself; or, past a limit, a "limited" entry that stands for e and for the
// refused requests over the same limit in the next limitWindow; or none
// (false) when such an entry was stored already. e.Time is the limiter's
// clock. suppressed is called with the limit's kind (user, channel, all) for
// each request not stored as itself.
func (l *auditLimiter) admit(e store.AuditEntry, suppressed func(kind string)) (store.AuditEntry, bool) {
	now := e.Time
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if d := now.Sub(l.pruned); d >= pruneEvery || d < 0 {
		for k, b := range l.buckets {
			if b.refill(now); b.idle(now) {
				delete(l.buckets, k)
			}
		}
		l.pruned = now
	}
	bs := [...]*bucket{
		l.get("user", e.User, tokenRate{userBurst, userEvery}, now),
		l.get("channel", e.Channel, tokenRate{channelBurst, channelEvery}, now),
		l.get("all", "", tokenRate{overallBurst, overallEvery}, now),
	}
	var over *bucket // the narrowest limit reached
	for _, b := range bs {
		if b.refill(now); b.tokens < 1 && over == nil {
			over = b
		}
	}
	if over == nil {
		for _, b := range bs {
			b.tokens--
		}
		return e, true
	}
	suppressed(over.kind)
	if now.Before(over.until) {
		over.dropped++
		return store.AuditEntry{}, false
	}
	over.until = now.Add(limitWindow)
	// What the limit says comes first: Bounded may cut the end of the reason.
	detail := fmt.Sprintf("%s is over its limit of refused requests stored (%.0f, then one every %s): until %s its refused requests are counted, not stored",
		over.name, over.limit.burst, over.limit.every, over.until.UTC().Format(time.RFC3339))
	if over.dropped > 0 {
		detail += fmt.Sprintf("; %d were not stored since the previous limited entry", over.dropped)
	}
	over.dropped = 0
	e.Detail = detail + "; this one was " + e.Result + ": " + e.Detail
	e.Result, e.DetailBytes = "limited", 0
	return e.Bounded(), true
}

// refusedResult reports whether an audit result is a refusal, whose storing
// is rate-limited.
func refusedResult(result string) bool { return result == "denied" || result == "rejected" }

// limitAudit returns the entry to store for e (see auditLimiter.admit), and
// false when none is stored.
func (b *Bot) limitAudit(e store.AuditEntry) (store.AuditEntry, bool) {
	if !refusedResult(e.Result) {
		return e, true
	}
	return b.refused.admit(e, func(limit string) { b.metrics.auditSuppressed.WithLabelValues(limit).Inc() })
}
