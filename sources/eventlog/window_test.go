package eventlog

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

func netlogonAt(t time.Time) *event {
	ev := &event{}
	ev.System.Provider.Name = "NETLOGON"
	ev.System.EventID = "5719"
	ev.System.Channel = "System"
	ev.System.TimeCreated.SystemTime = t.Format(time.RFC3339Nano)
	ev.EventData.Data = []datum{{Value: "CORP"}}
	return ev
}

func TestCollectorPrunes(t *testing.T) {
	start := time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)
	c := newCollector("x.xml", 10*time.Minute, time.Time{})
	c.pruneAt, c.limit = 4, 20
	for i := range 100 { // one a minute, oldest first
		if err := c.add(netlogonAt(start.Add(time.Duration(i) * time.Minute))); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
		if len(c.buf) > 2*c.limit {
			t.Fatalf("after %d events %d entries are held, want at most %d", i+1, len(c.buf), 2*c.limit)
		}
	}
	want := Summary{
		Events: []triage.LogEvent{{
			Source: triage.SourceEventlog, Log: "System", Provider: "NETLOGON", ID: 5719, State: -1, Text: "CORP",
			Count: 11, First: start.Add(89 * time.Minute), Last: start.Add(99 * time.Minute),
		}},
		From: start.Add(89 * time.Minute), To: start.Add(99 * time.Minute), Total: 100,
	}
	if diff := cmp.Diff(want, c.summary()); diff != "" {
		t.Errorf("summary mismatch (-want +got):\n%s", diff)
	}
}

func TestCollectorStopsWhenTooManyWait(t *testing.T) {
	start := time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)
	c := newCollector("x.xml", time.Hour, time.Time{})
	c.pruneAt, c.limit = 4, 5
	var err error
	n := 0
	for err == nil && n < 100 { // one a second: none falls out of the window
		err = c.add(netlogonAt(start.Add(time.Duration(n) * time.Second)))
		n++
	}
	want := "x.xml: more than 5 relevant events within 1h of the newest event; stopped after event 8: export a shorter time range, or give the window's end"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if s := c.summary(); s.Total != 8 || len(s.Events) != 1 || s.Events[0].Count != 8 {
		t.Errorf("summary after stopping = %+v, want the 8 events read so far", s)
	}
}

func TestCollectorFixedEnd(t *testing.T) {
	start := time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)
	c := newCollector("x.xml", 2*time.Minute, start.Add(5*time.Minute))
	for i := range 10 {
		if err := c.add(netlogonAt(start.Add(time.Duration(i) * time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.buf) != 0 {
		t.Errorf("%d entries held with a fixed end, want none", len(c.buf))
	}
	s := c.summary()
	if len(s.Events) != 1 || s.Events[0].Count != 3 || !s.Events[0].First.Equal(start.Add(3*time.Minute)) {
		t.Errorf("got %+v, want the 3 events from minute 3 to 5", s.Events)
	}
}
