package config

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/internal/human"
)

// A Schedule triages a set of hosts at set times and posts a summary to a
// Slack channel.
type Schedule struct {
	Name        string         // unique; 1 to 64 lower-case letters, digits, '_' or '-'
	Cron        string         // five cron fields ("0 8 * * 1-5") or a descriptor (@hourly, @daily, @every 30m, at least 1m)
	TimeZone    string         // IANA name Cron is read in; default "UTC". Across clock changes a daily time fires once: in the spring gap at its end, in the repeated hour the first time
	Location    *time.Location // TimeZone loaded; set by Validate (and so by Parse and Load)
	Channel     string         // Slack channel ID (C..., G...) to post to
	Hosts       []string       // inventory hosts by name or FQDN, each in the hosts section
	Tags        []string       // hosts with any of these tags; each tag is some host's
	Quiet       bool           // post only when something changed since the previous run
	Concurrency int            // hosts triaged at once; default 16, 1 to 256
	Deadline    time.Duration  // for the whole run; default 10m, at least defaults.deadline
	Line        int            // line of the file where the schedule is defined; 0 if unknown
}

// The values of a Schedule when the file does not set them.
const (
	DefaultScheduleConcurrency = 16
	DefaultScheduleDeadline    = 10 * time.Minute
)

// ScheduleHosts returns the hosts s runs on: those s.Hosts names (by name or
// FQDN, ignoring case, as Host finds them) and those with one of s.Tags, or
// every host when both are empty. The hosts come in inventory order, each once,
// and share nothing with c.
func (c *Config) ScheduleHosts(s Schedule) []Host {
	all := len(s.Hosts) == 0 && len(s.Tags) == 0
	var out []Host
	for _, h := range c.Hosts {
		named := slices.ContainsFunc(s.Hosts, func(n string) bool {
			return strings.EqualFold(h.Name, n) || (h.FQDN != "" && strings.EqualFold(h.FQDN, n))
		})
		tagged := slices.ContainsFunc(s.Tags, func(t string) bool { return slices.Contains(h.Tags, t) })
		if all || named || tagged {
			out = append(out, h.clone())
		}
	}
	return out
}

func decodeSchedules(d *decoder, n *yaml.Node, path string) []Schedule {
	var list []Schedule
	d.sequence(n, path, func(n *yaml.Node, path string) {
		s := Schedule{TimeZone: "UTC", Concurrency: DefaultScheduleConcurrency, Deadline: DefaultScheduleDeadline, Line: n.Line}
		d.mapping(n, path, fields{
			"name":        d.str(&s.Name),
			"cron":        d.str(&s.Cron),
			"time_zone":   d.str(&s.TimeZone),
			"channel":     d.str(&s.Channel),
			"hosts":       d.strs(&s.Hosts),
			"tags":        d.strs(&s.Tags),
			"quiet":       d.boolean(&s.Quiet),
			"concurrency": d.integer(&s.Concurrency),
			"deadline":    d.duration(&s.Deadline),
		})
		list = append(list, s)
	})
	return list
}

// validateSchedules checks the schedules against the inventory and sets each
// one's Location, or nil when its TimeZone is not valid.
func validateSchedules(r *reporter, path string, list []Schedule, hosts []Host, def Defaults) {
	names := map[string]int{}  // name -> index of the schedule that has it
	known := map[string]bool{} // lower-case host names and FQDNs
	var hostNames []string
	tags := map[string]bool{}
	for _, h := range hosts {
		known[strings.ToLower(h.Name)] = true
		if h.FQDN != "" {
			known[strings.ToLower(h.FQDN)] = true
		}
		hostNames = append(hostNames, h.Name)
		for _, t := range h.Tags {
			tags[t] = true
		}
	}
	for i := range list {
		s := &list[i]
		p := index(path, i)
		r.record(p, s.Line)
		switch j, dup := names[s.Name]; {
		case !validName(s.Name, 64, false):
			r.add(field(p, "name"), "is required: 1 to 64 lower-case letters, digits, '_' or '-'")
		case dup:
			r.add(field(p, "name"), "%s is already used by %s", quote(s.Name), index(path, j))
		default:
			names[s.Name] = i
		}
		if msg := cronProblem(s.Cron); msg != "" {
			r.add(field(p, "cron"), "%s", msg)
		}
		s.Location = nil
		switch {
		case s.TimeZone == "":
			r.add(field(p, "time_zone"), "is required: an IANA time zone such as Europe/Berlin, or UTC")
		case strings.EqualFold(s.TimeZone, "Local"):
			r.add(field(p, "time_zone"), "%s depends on the machine; give an IANA time zone such as Europe/Berlin", quote(s.TimeZone))
		default:
			loc, err := time.LoadLocation(s.TimeZone)
			if err != nil {
				r.add(field(p, "time_zone"), "%s is not a time zone this machine knows; give an IANA name such as Europe/Berlin", quote(s.TimeZone))
			}
			s.Location = loc
		}
		if s.Channel == "" {
			r.add(field(p, "channel"), "is required: the ID of the channel to post to, such as C0123ABCD, shown in the channel's details")
		} else if msg := channelProblem(s.Channel, false); msg != "" {
			r.add(field(p, "channel"), "%s", msg)
		}
		eachOnce(r, field(p, "hosts"), s.Hosts, func(h string) string {
			if known[strings.ToLower(h)] {
				return ""
			}
			msg := quote(h) + " is not in the hosts section"
			if near := suggest(h, hostNames, 1); len(near) > 0 {
				msg += ", did you mean " + quote(near[0]) + "?"
			}
			return msg
		})
		eachOnce(r, field(p, "tags"), s.Tags, func(t string) string {
			switch {
			case !validName(t, 32, false):
				return quote(t) + " is not a valid tag: use 1 to 32 lower-case letters, digits, '_' or '-'"
			case !tags[t]:
				return quote(t) + " matches nothing: no host has this tag"
			}
			return ""
		})
		if len(s.Hosts) == 0 && len(s.Tags) == 0 && len(hosts) == 0 {
			r.add(p, "runs on every host, but the hosts section is empty")
		}
		if s.Concurrency < 1 || s.Concurrency > 256 {
			r.add(field(p, "concurrency"), "must be from 1 to 256")
		}
		switch {
		case s.Deadline <= 0:
			r.add(field(p, "deadline"), "must be longer than 0")
		case s.Deadline < def.Deadline:
			r.add(field(p, "deadline"), "%s is shorter than defaults.deadline %s, the time one host's triage may take",
				human.Span(s.Deadline), human.Span(def.Deadline))
		}
	}
}

// cronProblem returns what is wrong with a schedule's cron, or "".
func cronProblem(spec string) string {
	const how = `write five fields (minute hour day-of-month month day-of-week) such as "0 8 * * 1-5", or @hourly, @daily, @every 30m`
	switch {
	case strings.TrimSpace(spec) == "":
		return "is required: " + how
	case strings.Contains(spec, "TZ="):
		return "give the time zone under time_zone, not in cron"
	case hasControl(spec):
		return quote(spec) + " contains a control character"
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return quote(spec) + " is not a cron schedule (" + err.Error() + "); " + how
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay < time.Minute {
		return quote(spec) + " runs more often than once a minute"
	}
	// Next searches five years ahead; from a leap day's year, any date that
	// exists comes up.
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return quote(spec) + " never runs: that day does not occur in those months"
	}
	return ""
}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }
