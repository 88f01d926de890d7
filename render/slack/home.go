package slackrender

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// MaxHomeBlocks is Slack's limit on the blocks of a Home tab view
// (https://docs.slack.dev/surfaces/app-home, "up to 100 blocks").
const MaxHomeBlocks = 100

// homeFixedBlocks are the blocks of the Home view before the hosts: the header,
// the counts, the "updated" context and a divider.
const homeFixedBlocks = 4

// HomeView renders the App Home tab: a header, the hosts' count by status, and a
// section per host, worst first and then by name: its status emoji, the host, its
// worst cause (and how many more) or why it could not be triaged, when its last
// triage was ("12 min ago", and the time in zone, nil for UTC) and the report ID.
//
// entries are the hosts' latest states; when a host has several, the one started
// last counts. The view keeps within MaxHomeBlocks: with more hosts than fit, it
// shows the worst and ends with a context block counting the rest by status
// ("1204 more hosts: 3 warning, 1201 ok"). Every block passes Slack's limits as
// Validate checks them.
//
// Why a host could not be triaged (its Error) is shown as it is, escaped: it
// is words written for people (schedule.Notifier.Explain), never an error's
// raw text.
func HomeView(entries []store.Entry, now time.Time, zone *time.Location) slack.HomeTabViewRequest {
	if zone == nil {
		zone = time.UTC
	}
	hosts := latestByHost(entries)
	slices.SortStableFunc(hosts, func(a, b store.Entry) int {
		return cmp.Or(cmp.Compare(schedule.Rank(b.Status), schedule.Rank(a.Status)), cmp.Compare(a.Host, b.Host))
	})
	counts := map[triage.Status]int{}
	for _, h := range hosts {
		counts[h.Status]++
	}
	folded, total := countByStatus(counts)

	blocks := []slack.Block{header("SQL Server Windows-auth health")}
	if total == 0 {
		blocks = append(blocks, section("No host has been triaged yet."))
	} else {
		blocks = append(blocks, section(fmt.Sprintf("%s  ·  %s", countsMrkdwn(folded), human.Count(total, "host", "hosts"))))
	}
	blocks = append(blocks,
		slack.NewContextBlock("", mrkdwn("Updated "+Escape(formatTime(now, zone))+" · worst first, each host's latest triage")),
		slack.NewDividerBlock())

	room := MaxHomeBlocks - homeFixedBlocks
	shown := hosts
	if len(hosts) > room {
		shown = hosts[:room-1] // and a block for the rest
	}
	for _, h := range shown {
		blocks = append(blocks, section(homeHostText(h, now, zone)))
	}
	if rest := hosts[len(shown):]; len(rest) > 0 {
		c := map[triage.Status]int{}
		for _, h := range rest {
			c[h.Status]++
		}
		f, n := countByStatus(c)
		what := countsPlain(f)
		if f[triage.StatusOK] == n {
			what = "all ok"
		}
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(fmt.Sprintf("%d more %s not shown: %s.", n, human.Plural(n, "host", "hosts"), what))))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}

// latestByHost keeps the entry started last of each host.
func latestByHost(entries []store.Entry) []store.Entry {
	byHost := make(map[string]int, len(entries))
	var out []store.Entry
	for _, e := range entries {
		i, ok := byHost[e.Host]
		switch {
		case !ok:
			byHost[e.Host] = len(out)
			out = append(out, e)
		case e.StartedAt.After(out[i].StartedAt):
			out[i] = e
		}
	}
	return out
}

func homeHostText(h store.Entry, now time.Time, zone *time.Location) string {
	emoji, _ := statusLook(h.Status)
	host, _ := clip(oneLine(h.Host), hostLineHostBudget)
	if host == "" {
		host = "(no host)"
	}
	first := emoji + " *" + Escape(host) + "*"
	switch {
	case len(h.Causes) > 0:
		c, _ := clip(oneLine(string(h.Causes[0])), causeBudget)
		first += " · " + codeSpan(c)
		if n := len(h.Causes) - 1; n > 0 {
			first += fmt.Sprintf(" and %d more", n)
		}
	case h.Error != "":
		e, _ := clip(oneLine(h.Error), hostLineErrBudget)
		first += " · could not triage: " + Escape(e)
	default:
		first += " · " + statusWord(h.Status)
	}
	var second []string
	if !h.StartedAt.IsZero() {
		second = append(second, fmt.Sprintf("last triaged %s (%s)", timeAgo(now.Sub(h.StartedAt)), Escape(formatTime(h.StartedAt, zone))))
	}
	if id, _ := clip(oneLine(h.ReportID), reportIDBudget); id != "" {
		second = append(second, "Report "+codeSpan(id))
	}
	if len(second) == 0 {
		return first
	}
	return first + "\n" + strings.Join(second, " · ")
}

// timeAgo says roughly how long ago something was: "just now", "12 min ago",
// "3 h ago", "2 days ago". A time in the future (clocks differ) is "just now".
func timeAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}
