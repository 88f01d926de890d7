package slackrender

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/triage"
)

var (
	fleetZone = time.FixedZone("", -5*3600)
	fleetTick = time.Date(2026, 11, 25, 7, 0, 0, 0, fleetZone)
)

func hostState(host, id string, status triage.Status, causes ...triage.CauseID) triage.HostState {
	return triage.HostState{Host: host, ReportID: id, Status: status, Causes: causes, StartedAt: fleetTick.Add(time.Second)}
}

// typicalSummary is a nightly run in which one host got worse, one better, and
// one could not be reached.
func typicalSummary() schedule.Summary {
	prev := triage.FleetRun{Schedule: "nightly-prod", Tick: fleetTick.Add(-24 * time.Hour), Hosts: []triage.HostState{
		hostState("sqlhost01", "a1b2c3d4", triage.StatusOK),
		hostState("sqlhost02", "e5f6g7h8", triage.StatusCritical, triage.SPNDuplicate),
		hostState("sqlhost03", "j9k2m3n4", triage.StatusOK),
		hostState("sqlhost04", "p5q6r7s8", triage.StatusWarning, triage.ClockSkew),
		hostState("sqlhost05", "t9u2v3w4", triage.StatusOK),
	}}
	cur := triage.FleetRun{
		Schedule: "nightly-prod", Tick: fleetTick, Started: fleetTick, Finished: fleetTick.Add(42 * time.Second),
		Hosts: []triage.HostState{
			hostState("sqlhost01", "7kq2m9xd", triage.StatusCritical, triage.SPNDuplicate, triage.DCUnreachable),
			hostState("sqlhost02", "x2y3z4a5", triage.StatusOK),
			{Host: "sqlhost03", Status: triage.StatusUnknown, StartedAt: fleetTick, Error: schedule.DeadlineError},
			hostState("sqlhost04", "b6c7d8e9", triage.StatusWarning, triage.ClockSkew),
			hostState("sqlhost05", "f2g3h4j5", triage.StatusOK),
		},
	}
	s := schedule.Diff(&prev, cur)
	s.Schedule = schedule.Schedule{Name: "nightly-prod", Spec: "0 7 * * *", Channel: "C0FLEET"}
	return s
}

func TestSummaryThread(t *testing.T) {
	msgs, err := SummaryThread(typicalSummary(), fleetZone)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, goldenFile(t, "summary.golden.json"), threadJSON(t, msgs))
}

func TestSummaryThreadStates(t *testing.T) {
	first := typicalSummary()
	first.Previous, first.Worse, first.Better, first.New, first.Resolved = nil, nil, nil, nil, nil
	unchanged := typicalSummary()
	unchanged.Changed, unchanged.Worse, unchanged.Better, unchanged.New, unchanged.Resolved = false, nil, nil, nil, nil
	failed := typicalSummary()
	failed.Problems = []string{"triage of sqlhost09<!channel> & panicked: an internal error (reference 3f9a1c in the bot's log)",
		"1 of 4 reports could not be saved: an internal error (reference 7d0e21 in the bot's log)"}
	bare := typicalSummary()
	bare.Run.Hosts = nil
	empty := schedule.Diff(nil, triage.FleetRun{Schedule: "empty", Tick: fleetTick})
	empty.Schedule.Name = "empty"

	tests := []struct {
		name     string
		s        schedule.Summary
		replies  int
		want     []string // in the parent's sections
		dontWant []string
	}{
		{name: "typical", s: typicalSummary(), replies: 1,
			want: []string{"*Got worse*", "*sqlhost01* ok → critical", "*Got better*", "*sqlhost02* critical → ok",
				"*Not checked*\n• :large_purple_circle: *sqlhost03* ok → not checked",
				"*New causes*", "*sqlhost01*: `dc.unreachable`", "*Resolved*", "*sqlhost02*: `spn.duplicate`"},
			dontWant: []string{"*sqlhost03* ok → unknown"}},
		{name: "first run", s: first, replies: 1, want: []string{"First run of this schedule"}, dontWant: []string{"Got worse"}},
		{name: "unchanged", s: unchanged, replies: 1, want: []string{"No change since the run of 2026-11-24 07:00:00 -05:00."}},
		{name: "failed", s: failed, replies: 1,
			want: []string{":warning: *This run did not go as planned:* triage of sqlhost09&lt;!channel&gt; &amp; panicked: an internal error (reference 3f9a1c in the bot's log); 1 of 4 reports could not be saved: an internal error (reference 7d0e21 in the bot's log)"}},
		{name: "bare", s: bare, replies: 0, want: []string{"*2* ok"}, dontWant: []string{"each host in the thread"}},
		{name: "no hosts", s: empty, replies: 0, want: []string{"No hosts in this run."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := SummaryThread(tt.s, fleetZone)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(msgs) - 1; got != tt.replies {
				t.Errorf("%d replies; want %d", got, tt.replies)
			}
			parent := strings.Join(sectionTexts(msgs[0]), "\n")
			for _, w := range tt.want {
				if !strings.Contains(parent, w) {
					t.Errorf("parent lacks %q:\n%s", w, parent)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(parent, w) {
					t.Errorf("parent has %q:\n%s", w, parent)
				}
			}
		})
	}
}

// sectionTexts returns the texts of a message's sections and context elements.
func sectionTexts(m Message) []string {
	var out []string
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			out = append(out, b.Text.Text)
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					out = append(out, t.Text)
				}
			}
		}
	}
	return out
}

// randomFleet returns a summary of n hosts with names, causes and errors of every
// size and alphabet, markup among them; hostile makes every list of the parent
// full and every name as long as can be.
func randomFleet(r *rand.Rand, n int, hostile bool) schedule.Summary {
	statuses := []triage.Status{triage.StatusOK, triage.StatusWarning, triage.StatusUnknown, triage.StatusCritical, "bogus"}
	causes := []triage.CauseID{triage.SPNDuplicate, triage.DCUnreachable, triage.ClockSkew, "<!here>&`x`", triage.CauseID(strings.Repeat("ü", 120))}
	name := func(i int) string {
		base := fmt.Sprintf("sqlhost%05d", i)
		switch k := r.IntN(6); {
		case hostile || k == 0:
			return base + strings.Repeat("<&>", 100+r.IntN(100))
		case k == 1:
			return base + "-数据库服务器" + strings.Repeat("😀", r.IntN(80))
		case k == 2:
			return base + "\n\t`x`\u202e"
		}
		return base + ".corp.example.com"
	}
	var prev, cur triage.FleetRun
	prev.Tick, cur.Tick = fleetTick.Add(-time.Hour), fleetTick
	cur.Started, cur.Finished = fleetTick, fleetTick.Add(time.Duration(r.IntN(600))*time.Second)
	for i := range n {
		h := name(i)
		st := func() triage.HostState {
			s := triage.HostState{Host: h, ReportID: triage.NewID(), Status: statuses[r.IntN(len(statuses))], StartedAt: fleetTick}
			for range r.IntN(8) {
				s.Causes = append(s.Causes, causes[r.IntN(len(causes))])
			}
			if s.Status == triage.StatusUnknown && r.IntN(2) == 0 {
				s.ReportID, s.Causes = "", nil
				s.Error = strings.Repeat("dial tcp <10.0.0.1>: refused & ", 1+r.IntN(200))
			}
			return s
		}
		p, c := st(), st()
		if hostile { // every list of the parent full
			p.ReportID, p.Error = triage.NewID(), ""
			c.ReportID, c.Error = triage.NewID(), ""
			switch i % 3 {
			case 0: // worse, with new causes
				p.Status, p.Causes = triage.StatusOK, nil
				c.Status, c.Causes = triage.StatusCritical, causes
			case 1: // better, with resolved causes
				p.Status, p.Causes = triage.StatusCritical, causes
				c.Status, c.Causes = triage.StatusOK, nil
			case 2: // not checked
				p.Status, p.Causes = triage.StatusCritical, causes
				c.Status, c.Causes, c.ReportID = triage.StatusUnknown, nil, ""
				c.Error = strings.Repeat("dial tcp <10.0.0.1>: refused & ", 200)
			}
		}
		prev.Hosts = append(prev.Hosts, p)
		cur.Hosts = append(cur.Hosts, c)
	}
	s := schedule.Diff(&prev, cur)
	s.Schedule.Name = "fleet " + strings.Repeat("<big>&", r.IntN(60))
	if hostile || r.IntN(3) == 0 {
		s.Problems = []string{strings.Repeat("store: <!channel> & disk full\n", 500), "1 of 2 reports could not be saved"}
	}
	return s
}

// moreHosts matches the note of a summary's last reply that says how many hosts
// are only in the attached file.
var moreHosts = regexp.MustCompile(`^:page_facing_up: (?:\d+ more incidents? and )?(\d+) more hosts? did not fit`)

// TestSummaryThreadProperties renders fleets of 0 to 5000 hosts and checks that
// every message passes Validate and that every host has exactly one line.
func TestSummaryThreadProperties(t *testing.T) {
	sizes := []int{0, 1, 2, 1000, 5000}
	for _, n := range sizes {
		for _, hostile := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d hosts hostile=%v", n, hostile), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(n), 0x5eed))
				s := randomFleet(r, n, hostile)
				msgs, err := SummaryThread(s, fleetZone)
				if err != nil {
					t.Fatal(err) // includes every Validate failure
				}
				lines := 0
				for i, m := range msgs {
					if err := Validate(m); err != nil {
						t.Errorf("message %d: %v", i, err)
					}
					if i == 0 {
						continue
					}
					if m.Truncated && i != len(msgs)-1 {
						t.Errorf("message %d is Truncated; only the last may be", i)
					}
					for _, b := range m.Blocks {
						if sb, ok := b.(*slack.SectionBlock); ok {
							if m := moreHosts.FindStringSubmatch(sb.Text.Text); m != nil {
								more, _ := strconv.Atoi(m[1])
								lines += more // in the attached file
								continue
							}
							lines += strings.Count(sb.Text.Text, "\n") + 1
						}
					}
				}
				if lines != n {
					t.Errorf("%d host lines in the replies and the file; want %d", lines, n)
				}
				if len(msgs)-1 > maxSummaryReplies {
					t.Errorf("%d replies; want at most %d", len(msgs)-1, maxSummaryReplies)
				}
				if last := msgs[len(msgs)-1]; last.Truncated {
					md := SummaryMarkdown(s, fleetZone)
					_, every, _ := strings.Cut(md, "## Every host\n\n")
					if rows := strings.Count(every, "\n") - 2; rows != n {
						t.Errorf("the attached file has %d hosts; want %d", rows, n)
					}
				}
				if n > 0 && len(msgs) < 2 {
					t.Errorf("%d messages; want the parent and replies", len(msgs))
				}
				if hostile && n >= 1000 {
					parent := strings.Join(sectionTexts(msgs[0]), "\n")
					for _, title := range []string{"*Got worse*", "*Got better*", "*Not checked*", "*New causes*", "*Resolved*"} {
						if !strings.Contains(parent, title+"\n") {
							t.Errorf("the parent has no list %s", title)
						}
					}
					if got := strings.Count(parent, " more."); got != 5 {
						t.Errorf("%d lists of the parent are cut; want all 5", got)
					}
					size, err := messageSize(msgs[0])
					t.Logf("parent: %d bytes of JSON (%v)", size, err)
				}
				t.Logf("%d hosts: %d messages", n, len(msgs))
			})
		}
	}
}

func TestSummaryRepliesAreWorstFirst(t *testing.T) {
	msgs, err := SummaryThread(typicalSummary(), fleetZone)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(sectionTexts(msgs[1]), "\n")
	order := []string{"*sqlhost01*", "*sqlhost03*", "*sqlhost04*", "*sqlhost02*", "*sqlhost05*"}
	last := -1
	for _, h := range order {
		i := strings.Index(text, h)
		if i < last {
			t.Errorf("%s is not after the hosts before it in %v:\n%s", h, order, text)
		}
		last = i
	}
	if !strings.Contains(text, ":large_purple_circle: *sqlhost03* · could not triage: "+schedule.DeadlineError) {
		t.Errorf("the unknown host's line does not say why:\n%s", text)
	}
}
