package eventlog

import (
	"fmt"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// A collector keeps the relevant events of one read that fall in its window.
//
// With the window's end given, entries go straight into the grouper, so memory grows
// with the number of groups only. Without it, the end is the newest event of the whole
// input, known only at the end: entries wait in buf until then, each as small as it can
// be, and those that fell more than since behind the newest event so far are dropped
// as the read goes on.
type collector struct {
	name   string
	since  time.Duration
	end    time.Time // zero: the newest event's time
	newest time.Time // newest TimeCreated seen
	total  int       // events read

	grouper triage.LogGrouper

	// Only without an end:
	groups  map[groupKey]int32
	protos  []triage.LogEvent // one per group: the fields that identify it
	texts   []string          // per group: the text of its last entry, shared by equal texts
	buf     []pending
	pruneAt int // prune buf when it gets this long
	limit   int // most entries buf may keep after pruning
}

// groupKey is what triage.LogGrouper groups by; Source is always SourceEventlog here.
type groupKey struct {
	log, provider            string
	id, state                int
	code, login, spn, reason string
}

// pending is a relevant entry waiting for the window's end to be known.
type pending struct {
	time   time.Time
	group  int32
	millis int
	client string
	text   string
}

func newCollector(name string, since time.Duration, end time.Time) *collector {
	if !end.IsZero() {
		end = end.UTC()
	}
	return &collector{name: name, since: since, end: end, pruneAt: 4096, limit: maxBuffered}
}

// add counts one event and keeps it if it is relevant and may fall in the window. It
// fails only when too many relevant entries wait for the end of an open window.
func (c *collector) add(ev *event) error {
	c.total++
	t, ok := eventTime(ev)
	if !ok {
		return nil
	}
	if t.After(c.newest) {
		c.newest = t
	}
	e, relevant := classify(ev, c.name)
	if !relevant {
		return nil
	}
	e.Time = t
	if !c.end.IsZero() {
		if !t.Before(c.end.Add(-c.since)) && !t.After(c.end) {
			c.grouper.Add(e)
		}
		return nil
	}
	if t.Before(c.newest.Add(-c.since)) {
		return nil
	}
	c.hold(e)
	if len(c.buf) < c.pruneAt {
		return nil
	}
	c.prune()
	if len(c.buf) > c.limit {
		return fmt.Errorf("%s: more than %d relevant events within %s of the newest event; stopped after event %d: "+
			"export a shorter time range, or give the window's end", c.name, c.limit, human.Span(c.since), c.total)
	}
	c.pruneAt = max(2*len(c.buf), min(4096, c.limit)) // so buf never holds more than 2*limit
	return nil
}

// hold adds e to buf.
func (c *collector) hold(e triage.LogEntry) {
	k := groupKey{e.Log, e.Provider, e.ID, e.State, e.Code, e.Login, e.SPN, e.Reason}
	g, ok := c.groups[k]
	if !ok {
		if c.groups == nil {
			c.groups = make(map[groupKey]int32)
		}
		g = int32(len(c.protos))
		c.groups[k] = g
		proto := e.LogEvent
		proto.Text, proto.Millis = "", 0
		c.protos = append(c.protos, proto)
		c.texts = append(c.texts, e.Text)
	}
	text := e.Text
	if text == c.texts[g] {
		text = c.texts[g] // share one copy of repeated texts
	} else {
		c.texts[g] = text
	}
	c.buf = append(c.buf, pending{time: e.Time, group: g, millis: e.Millis, client: e.Client, text: text})
}

// prune drops the entries that fell out of the window.
func (c *collector) prune() {
	from := c.newest.Add(-c.since)
	kept := c.buf[:0]
	for _, p := range c.buf {
		if !p.time.Before(from) {
			kept = append(kept, p)
		}
	}
	clear(c.buf[len(kept):])
	c.buf = kept
}

// summary returns what the read found; call it once, at the end.
func (c *collector) summary() Summary {
	s := Summary{Total: c.total}
	switch {
	case !c.end.IsZero():
		s.From, s.To = c.end.Add(-c.since), c.end
	case !c.newest.IsZero():
		s.From, s.To = c.newest.Add(-c.since), c.newest
		for _, p := range c.buf {
			if p.time.Before(s.From) {
				continue
			}
			e := triage.LogEntry{LogEvent: c.protos[p.group], Time: p.time, Client: p.client}
			e.Text, e.Millis = p.text, p.millis
			c.grouper.Add(e)
		}
		c.buf = nil
	}
	s.Events = c.grouper.Events()
	return s
}
