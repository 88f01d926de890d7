package triage

import (
	"fmt"
	"time"
)

// TrendHours is the number of hours a Trend covers at most: the clock hours a
// day's window touches (24, and the partial hour it starts in).
const TrendHours = 25

// TrendErrors returns the SQL Server errors a Trend counts, in the order reports show
// them: 17806 (SSPI handshake failed), 18452 (login from an untrusted domain) and
// 18456 (login failed).
func TrendErrors() []int { return []int{17806, 18452, 18456} }

// A Trend counts the authentication failures in a host's ERRORLOG per hour
// over the last day of the time window read, so that responders see when they
// started and whether they go on. Its JSON form is part of the report's contract.
//
// Hours are whole hours of UTC: each runs from its Start, on the hour, for one hour,
// start included. The newest is the hour holding End and is counted up to End only.
// There are at most TrendHours of them, one after the other, oldest first; fewer when
// the window read began less than TrendHours hours before End, and then the oldest is
// counted only from the window's start. Entries of the window older than the oldest
// hour are not counted.
type Trend struct {
	End   time.Time   `json:"end"` // the end of the window counted, in UTC
	Hours []HourCount `json:"hours"`
}

// An HourCount is how many entries of each error ERRORLOG holds for one hour.
type HourCount struct {
	Start           time.Time `json:"start"`            // on the hour, in UTC
	SSPIHandshake   int       `json:"sspi_handshake"`   // 17806: SSPI handshake failed
	UntrustedDomain int       `json:"untrusted_domain"` // 18452: login from an untrusted domain
	LoginFailed     int       `json:"login_failed"`     // 18456: login failed
}

// NewTrend returns a trend with nothing counted for a time window from from to end:
// the hours from the one holding from to the one holding end, at most TrendHours of
// them, the newest holding end; a day's window gets all its hours. A zero from
// means a window of more than a day.
func NewTrend(from, end time.Time) *Trend {
	end = end.UTC()
	last := end.Truncate(time.Hour) // Truncate works on absolute time: UTC hours
	first := last.Add(-(TrendHours - 1) * time.Hour)
	if f := from.UTC().Truncate(time.Hour); f.After(first) {
		first = minTime(f, last)
	}
	t := &Trend{End: end}
	for h := first; !h.After(last); h = h.Add(time.Hour) {
		t.Hours = append(t.Hours, HourCount{Start: h})
	}
	return t
}

// Add counts one entry of error id written at time at, and reports whether it did:
// it does not count other errors, or times before the oldest hour or after End.
func (t *Trend) Add(id int, at time.Time) bool {
	if len(t.Hours) == 0 || at.Before(t.Hours[0].Start) || at.After(t.End) {
		return false
	}
	i := int(at.Sub(t.Hours[0].Start) / time.Hour)
	if i >= len(t.Hours) {
		return false
	}
	n := t.Hours[i].counter(id)
	if n == nil {
		return false
	}
	*n++
	return true
}

// Count returns the number of entries of error id in the hour; 0 for an error a
// Trend does not count.
func (h HourCount) Count(id int) int {
	if n := h.counter(id); n != nil {
		return *n
	}
	return 0
}

func (h *HourCount) counter(id int) *int {
	switch id {
	case 17806:
		return &h.SSPIHandshake
	case 18452:
		return &h.UntrustedDomain
	case 18456:
		return &h.LoginFailed
	}
	return nil
}

// Counts returns the number of entries of error id in each hour, oldest first.
func (t Trend) Counts(id int) []int {
	out := make([]int, len(t.Hours))
	for i, h := range t.Hours {
		out[i] = h.Count(id)
	}
	return out
}

// MergeTrends returns the sum of two trends, either of which may be nil: its End is
// the later of theirs and its hours those of either within the TrendHours hours that
// end with the one holding End; counts of older hours, and of hours not on the hour,
// are dropped. It returns nil when both are nil and modifies neither.
func MergeTrends(a, b *Trend) *Trend {
	var end, from time.Time
	found := false
	for _, t := range []*Trend{a, b} {
		if t == nil {
			continue
		}
		if !found || t.End.After(end) {
			end = t.End
		}
		if len(t.Hours) > 0 && (!found || from.IsZero() || t.Hours[0].Start.Before(from)) {
			from = t.Hours[0].Start
		}
		found = true
	}
	if !found {
		return nil
	}
	if from.IsZero() {
		from = end
	}
	out := NewTrend(from, end)
	first := out.Hours[0].Start
	for _, t := range []*Trend{a, b} {
		if t == nil {
			continue
		}
		for _, h := range t.Hours {
			d := h.Start.Sub(first)
			i := int(d / time.Hour)
			if d < 0 || d%time.Hour != 0 || i >= len(out.Hours) {
				continue
			}
			o := &out.Hours[i]
			o.SSPIHandshake += h.SSPIHandshake
			o.UntrustedDomain += h.UntrustedDomain
			o.LoginFailed += h.LoginFailed
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Validate reports what is wrong with a trend that came from elsewhere (an
// agent): more than TrendHours hours, hours not on the hour or not one after
// the other, oldest first, negative counts, or an End outside the newest hour.
func (t *Trend) Validate() error {
	if len(t.Hours) > TrendHours {
		return fmt.Errorf("%d hours; at most %d", len(t.Hours), TrendHours)
	}
	for i, h := range t.Hours {
		switch {
		case !h.Start.Equal(h.Start.Truncate(time.Hour)):
			return fmt.Errorf("hour %d starts at %s, not on the hour", i, h.Start.Format(time.RFC3339))
		case i > 0 && !h.Start.Equal(t.Hours[i-1].Start.Add(time.Hour)):
			return fmt.Errorf("hour %d does not follow hour %d", i, i-1)
		case h.SSPIHandshake < 0 || h.UntrustedDomain < 0 || h.LoginFailed < 0:
			return fmt.Errorf("hour %d has a negative count", i)
		}
	}
	if n := len(t.Hours); n > 0 {
		if last := t.Hours[n-1].Start; t.End.Before(last) || !t.End.Before(last.Add(time.Hour)) {
			return fmt.Errorf("end %s is not in the newest hour", t.End.Format(time.RFC3339))
		}
	}
	return nil
}
