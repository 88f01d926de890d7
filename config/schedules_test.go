package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sameLocation compares *time.Locations by name, as their fields are unexported.
var sameLocation = cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })

const scheduleHosts = `
hosts:
  - name: sqlhost01
    fqdn: sqlhost01.corp.example
    tags: [prod, finance]
  - name: sqlhost02
    tags: [prod]
  - name: sqlhost03
    tags: [test]
  - name: sqlhost04
`

func TestScheduleSection(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	src := scheduleHosts + `
schedules:
  - name: morning
    cron: 0 8 * * 1-5
    time_zone: Europe/Berlin
    channel: C0DBA0001
    tags: [prod]
    hosts: [SQLHOST03]
    concurrency: 4
    deadline: 30m
  - name: hourly-quiet
    cron: "@hourly"
    channel: G0OPS0001
    quiet: yes
`
	got := parseOK(t, src, nil, nil).Schedules
	want := []Schedule{
		{
			Name: "morning", Cron: "0 8 * * 1-5", TimeZone: "Europe/Berlin", Location: berlin, Channel: "C0DBA0001",
			Tags: []string{"prod"}, Hosts: []string{"SQLHOST03"}, Concurrency: 4, Deadline: 30 * time.Minute, Line: 13,
		},
		{
			Name: "hourly-quiet", Cron: "@hourly", TimeZone: "UTC", Location: time.UTC, Channel: "G0OPS0001", Quiet: true,
			Concurrency: DefaultScheduleConcurrency, Deadline: DefaultScheduleDeadline, Line: 21,
		},
	}
	if diff := cmp.Diff(want, got, sameLocation, ignoreIndex); diff != "" {
		t.Errorf("Schedules mismatch (-want +got):\n%s", diff)
	}
}

func TestValidateSetsLocation(t *testing.T) {
	cfg := &Config{Defaults: defaultDefaults(), Store: defaultStore(), Hosts: []Host{{Name: "h"}}, Schedules: []Schedule{
		{Name: "a", Cron: "@daily", TimeZone: "America/New_York", Channel: "C0DBA0001", Concurrency: 1, Deadline: time.Hour},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if loc := cfg.Schedules[0].Location; loc == nil || loc.String() != "America/New_York" {
		t.Errorf("Location = %v, want America/New_York", loc)
	}
	cfg.Schedules[0].TimeZone = "Mars/Olympus_Mons"
	if err := cfg.Validate(); err == nil || cfg.Schedules[0].Location != nil {
		t.Errorf("Validate with an unknown zone = %v, Location %v; want a problem and nil", err, cfg.Schedules[0].Location)
	}
}

func TestScheduleProblems(t *testing.T) {
	const ok = "    cron: '@daily'\n    channel: C0DBA0001\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "an empty schedule",
			src:  scheduleHosts + "schedules:\n  - {}\n",
			want: []string{
				`t.yaml:12: schedules[0].name: is required: 1 to 64 lower-case letters, digits, '_' or '-'`,
				`t.yaml:12: schedules[0].cron: is required: write five fields (minute hour day-of-month month day-of-week) such as "0 8 * * 1-5", or @hourly, @daily, @every 30m`,
				`t.yaml:12: schedules[0].channel: is required: the ID of the channel to post to, such as C0123ABCD, shown in the channel's details`,
			},
		},
		{
			name: "names",
			src:  scheduleHosts + "schedules:\n  - name: Morning\n" + ok + "  - name: a\n" + ok + "  - name: a\n" + ok,
			want: []string{
				`t.yaml:12: schedules[0].name: is required: 1 to 64 lower-case letters, digits, '_' or '-'`,
				`t.yaml:18: schedules[2].name: "a" is already used by schedules[1]`,
			},
		},
		{
			name: "cron",
			src: scheduleHosts + "schedules:\n" +
				"  - {name: a, channel: C0DBA0001, cron: 'CRON_TZ=Europe/Berlin 0 8 * * *'}\n" +
				"  - {name: b, channel: C0DBA0001, cron: '0 0 8 * * *'}\n" +
				"  - {name: c, channel: C0DBA0001, cron: '@every 30s'}\n" +
				"  - {name: d, channel: C0DBA0001, cron: '0 8 31 2 *'}\n" +
				"  - {name: e, channel: C0DBA0001, cron: '@weekdays'}\n" +
				"  - {name: f, channel: C0DBA0001, cron: '60 8 * * *'}\n",
			want: []string{
				`t.yaml:12: schedules[0].cron: give the time zone under time_zone, not in cron`,
				`t.yaml:13: schedules[1].cron: "0 0 8 * * *" is not a cron schedule (expected exactly 5 fields, found 6: [0 0 8 * * *]); write five fields (minute hour day-of-month month day-of-week) such as "0 8 * * 1-5", or @hourly, @daily, @every 30m`,
				`t.yaml:14: schedules[2].cron: "@every 30s" runs more often than once a minute`,
				`t.yaml:15: schedules[3].cron: "0 8 31 2 *" never runs: that day does not occur in those months`,
				`t.yaml:16: schedules[4].cron: "@weekdays" is not a cron schedule (unrecognized descriptor: @weekdays); write five fields (minute hour day-of-month month day-of-week) such as "0 8 * * 1-5", or @hourly, @daily, @every 30m`,
				`t.yaml:17: schedules[5].cron: "60 8 * * *" is not a cron schedule (end of range (60) above maximum (59): 60); write five fields (minute hour day-of-month month day-of-week) such as "0 8 * * 1-5", or @hourly, @daily, @every 30m`,
			},
		},
		{
			name: "time zones",
			src: scheduleHosts + "schedules:\n" +
				"  - {name: a, channel: C0DBA0001, cron: '@daily', time_zone: Local}\n" +
				"  - {name: b, channel: C0DBA0001, cron: '@daily', time_zone: Europe/Berlln}\n" +
				"  - {name: c, channel: C0DBA0001, cron: '@daily', time_zone: ''}\n",
			want: []string{
				`t.yaml:12: schedules[0].time_zone: "Local" depends on the machine; give an IANA time zone such as Europe/Berlin`,
				`t.yaml:13: schedules[1].time_zone: "Europe/Berlln" is not a time zone this machine knows; give an IANA name such as Europe/Berlin`,
				`t.yaml:14: schedules[2].time_zone: is required: an IANA time zone such as Europe/Berlin, or UTC`,
			},
		},
		{
			name: "channels",
			src: scheduleHosts + "schedules:\n" +
				"  - {name: a, cron: '@daily', channel: '#dba'}\n" +
				"  - {name: b, cron: '@daily', channel: dm}\n" +
				"  - {name: c, cron: '@daily', channel: D0DM00001}\n",
			want: []string{
				`t.yaml:12: schedules[0].channel: "#dba": Slack channel names change and are not unique; use the channel ID such as C0123ABCD, shown in the channel's details`,
				`t.yaml:13: schedules[1].channel: "dm" is not a Slack channel ID such as C0123ABCD, shown in the channel's details`,
				`t.yaml:14: schedules[2].channel: "D0DM00001" is a direct message conversation; give a channel ID such as C0123ABCD, shown in the channel's details`,
			},
		},
		{
			name: "hosts and tags must match the inventory",
			src: scheduleHosts + "schedules:\n  - name: a\n" + ok +
				"    hosts: [sqlhost1, SQLHOST01.corp.example, sqlhost01, nothere]\n    tags: [prod, staging, Prod, prod]\n",
			want: []string{
				`t.yaml:15: schedules[0].hosts[0]: "sqlhost1" is not in the hosts section, did you mean "sqlhost01"?`,
				`t.yaml:15: schedules[0].hosts[3]: "nothere" is not in the hosts section`,
				`t.yaml:16: schedules[0].tags[1]: "staging" matches nothing: no host has this tag`,
				`t.yaml:16: schedules[0].tags[2]: "Prod" is not a valid tag: use 1 to 32 lower-case letters, digits, '_' or '-'`,
				`t.yaml:16: schedules[0].tags[3]: "prod" is given twice`,
			},
		},
		{
			name: "every host of an empty inventory",
			src:  "schedules:\n  - name: a\n" + ok,
			want: []string{`t.yaml:2: schedules[0]: runs on every host, but the hosts section is empty`},
		},
		{
			name: "limits",
			src: scheduleHosts + "schedules:\n" +
				"  - {name: a, cron: '@daily', channel: C0DBA0001, concurrency: 0, deadline: 0s}\n" +
				"  - {name: b, cron: '@daily', channel: C0DBA0001, concurrency: 257, deadline: 30s}\n" +
				"  - {name: c, cron: '@daily', channel: C0DBA0001, quiet: maybe, deadline: soon}\n",
			want: []string{
				`t.yaml:12: schedules[0].concurrency: must be from 1 to 256`,
				`t.yaml:12: schedules[0].deadline: must be longer than 0`,
				`t.yaml:13: schedules[1].concurrency: must be from 1 to 256`,
				`t.yaml:13: schedules[1].deadline: 30s is shorter than defaults.deadline 1m, the time one host's triage may take`,
				`t.yaml:14: schedules[2].quiet: "maybe" is not true or false`,
				`t.yaml:14: schedules[2].deadline: "soon" is not a duration; write e.g. 30s, 15m, 24h or 7d`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, problems(t, tt.src, nil), ignoreIndex); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleHosts(t *testing.T) {
	cfg := parseOK(t, scheduleHosts, nil, nil)
	tests := []struct {
		name  string
		hosts []string
		tags  []string
		want  []string
	}{
		{"neither hosts nor tags is every host", nil, nil, []string{"sqlhost01", "sqlhost02", "sqlhost03", "sqlhost04"}},
		{"by name, in inventory order", []string{"sqlhost04", "sqlhost02"}, nil, []string{"sqlhost02", "sqlhost04"}},
		{"by FQDN, ignoring case", []string{"SQLHOST01.Corp.Example"}, nil, []string{"sqlhost01"}},
		{"by tag", nil, []string{"prod"}, []string{"sqlhost01", "sqlhost02"}},
		{"by tags", nil, []string{"finance", "test"}, []string{"sqlhost01", "sqlhost03"}},
		{"names and tags, each host once", []string{"sqlhost01", "sqlhost04"}, []string{"prod"}, []string{"sqlhost01", "sqlhost02", "sqlhost04"}},
		{"nothing matches", []string{"absent"}, []string{"none"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, h := range cfg.ScheduleHosts(Schedule{Hosts: tt.hosts, Tags: tt.tags}) {
				got = append(got, h.Name)
			}
			if diff := cmp.Diff(tt.want, got, ignoreIndex); diff != "" {
				t.Errorf("ScheduleHosts mismatch (-want +got):\n%s", diff)
			}
		})
	}
	hosts := cfg.ScheduleHosts(Schedule{Tags: []string{"finance"}})
	hosts[0].Tags[0] = "changed"
	if cfg.Hosts[0].Tags[0] != "prod" {
		t.Errorf("changing a host from ScheduleHosts changed the Config")
	}
}

func TestCronProblem(t *testing.T) {
	good := []string{"0 8 * * 1-5", "*/15 * * * *", "0 0 29 2 *", "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@every 1m", "@every 1h30m", "0 8 * * MON-FRI", "0 8 1 JAN *"}
	for _, s := range good {
		if msg := cronProblem(s); msg != "" {
			t.Errorf("cronProblem(%q) = %q, want none", s, msg)
		}
	}
	bad := []string{"", "  ", "TZ=UTC 0 8 * * *", "0 8 * *", "0 8 * * * *", "@every 59s", "@every -1h", "@every", "0 8 31 4,6 *", "0 8 * * 8", "a b c d e", "0 8 * * 1\n", "0\t8 * * \x00"}
	for _, s := range bad {
		if msg := cronProblem(s); msg == "" {
			t.Errorf("cronProblem(%q) = none, want a problem", s)
		}
	}
}
