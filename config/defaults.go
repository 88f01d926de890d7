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
}

// The values of Defaults when the file does not set them.
const (
	DefaultSince        = 24 * time.Hour
	DefaultCheckTimeout = 30 * time.Second
	DefaultDeadline     = 60 * time.Second
)

// maxSince bounds Defaults.Since.
const maxSince = 90 * 24 * time.Hour

func defaultDefaults() Defaults {
	return Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline}
}

func decodeDefaults(d *decoder, n *yaml.Node, path string) Defaults {
	def := defaultDefaults()
	d.mapping(n, path, fields{
		"since":         d.duration(&def.Since),
		"check_timeout": d.duration(&def.CheckTimeout),
		"deadline":      d.duration(&def.Deadline),
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
