package config

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/internal/human"
)

// Defaults are the settings a triage uses unless a command overrides them.
type Defaults struct {
	Since        time.Duration // how far back to read logs; > 0 and at most 90 days
	CheckTimeout time.Duration // how long one check may run; > 0
	Deadline     time.Duration // how long a whole triage may run; >= CheckTimeout
	// IncidentWindow is how far back a front end correlates the stored reports
	// of several hosts into incidents (defaults.incident_window); 0 (or absent)
	// means DefaultIncidentWindow, else > 0 and at most a day. See Incidents.
	IncidentWindow time.Duration
}

// The values of Defaults when the file does not set them.
const (
	DefaultSince        = 24 * time.Hour
	DefaultCheckTimeout = 30 * time.Second
	DefaultDeadline     = 60 * time.Second
	// DefaultIncidentWindow is Defaults.IncidentWindow's value when it is 0.
	DefaultIncidentWindow = 30 * time.Minute
)

// maxIncidentWindow bounds Defaults.IncidentWindow.
const maxIncidentWindow = 24 * time.Hour

// Incidents returns the window within which a front end correlates reports:
// IncidentWindow, or DefaultIncidentWindow when it is 0.
func (d Defaults) Incidents() time.Duration {
	if d.IncidentWindow == 0 {
		return DefaultIncidentWindow
	}
	return d.IncidentWindow
}

// maxSince bounds Defaults.Since.
const maxSince = 90 * 24 * time.Hour

func defaultDefaults() Defaults {
	return Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline}
}

func decodeDefaults(d *decoder, n *yaml.Node, path string) Defaults {
	def := defaultDefaults()
	d.mapping(n, path, fields{
		"since":           d.duration(&def.Since),
		"check_timeout":   d.duration(&def.CheckTimeout),
		"deadline":        d.duration(&def.Deadline),
		"incident_window": d.duration(&def.IncidentWindow),
	})
	return def
}

func validateDefaults(r *reporter, path string, def Defaults) {
	switch {
	case def.Since <= 0:
		r.add(field(path, "since"), "must be longer than 0")
	case def.Since > maxSince:
		r.add(field(path, "since"), "%s is longer than %s", human.Span(def.Since), human.Span(maxSince))
	}
	if def.CheckTimeout <= 0 {
		r.add(field(path, "check_timeout"), "must be longer than 0")
	} else if def.Deadline < def.CheckTimeout {
		r.add(field(path, "deadline"), "%s is shorter than check_timeout %s", human.Span(def.Deadline), human.Span(def.CheckTimeout))
	}
	switch {
	case def.IncidentWindow < 0:
		r.add(field(path, "incident_window"), "must be longer than 0")
	case def.IncidentWindow > maxIncidentWindow:
		r.add(field(path, "incident_window"), "%s is longer than %s", human.Span(def.IncidentWindow), human.Span(maxIncidentWindow))
	}
}

// parseDuration parses a Go duration ("90s", "1h30m") or a whole number of
// days ("7d"), which Go durations lack.
func parseDuration(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		const maxDays = 100_000 // far beyond any sensible value, far below overflow
		n, err := strconv.Atoi(days)
		if err != nil || n > maxDays || n < -maxDays {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	v, err := time.ParseDuration(s)
	return v, err == nil
}
