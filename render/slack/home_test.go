package slackrender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

var homeNow = time.Date(2026, 11, 25, 9, 14, 0, 0, time.UTC)

func entry(host, id string, status triage.Status, ago time.Duration, causes ...triage.CauseID) store.Entry {
	return store.Entry{HostState: triage.HostState{Host: host, ReportID: id, Status: status, Causes: causes,
		StartedAt: homeNow.Add(-ago)}}
}

func typicalHome() []store.Entry {
	return []store.Entry{
		entry("sqlhost05", "f2g3h4j5", triage.StatusOK, 12*time.Minute),
		entry("sqlhost01", "7kq2m9xd", triage.StatusCritical, 3*time.Hour, triage.SPNDuplicate, triage.DCUnreachable),
		entry("sqlhost04", "b6c7d8e9", triage.StatusWarning, 30*time.Second, triage.ClockSkew),
		{HostState: triage.HostState{Host: "sqlhost03", Status: triage.StatusUnknown, StartedAt: homeNow.Add(-50 * time.Hour),
			Error: "an internal error (reference 3f9a1c in the bot's log)"}},
		entry("sqlhost02", "x2y3z4a5", triage.StatusOK, 12*time.Minute),
		// an older triage of sqlhost01: the later one counts
		entry("sqlhost01", "oldoldol", triage.StatusOK, 30*time.Hour),
	}
}

func viewJSON(t *testing.T, v slack.HomeTabViewRequest) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHomeView(t *testing.T) {
	v := HomeView(typicalHome(), homeNow, time.FixedZone("", -5*3600))
	golden.Check(t, goldenFile(t, "home.golden.json"), viewJSON(t, v))
	checkHome(t, v)
}

// checkHome checks what every Home view must satisfy: type home, at most
// MaxHomeBlocks blocks, each within Slack's limits.
func checkHome(t *testing.T, v slack.HomeTabViewRequest) {
	t.Helper()
	if v.Type != slack.VTHomeTab {
		t.Errorf("view type %q; want %q", v.Type, slack.VTHomeTab)
	}
	blocks := v.Blocks.BlockSet
	if len(blocks) > MaxHomeBlocks {
		t.Errorf("%d blocks; at most %d", len(blocks), MaxHomeBlocks)
	}
	for i, b := range blocks {
		for _, err := range validateBlock(b) {
			t.Errorf("block %d (%s): %v", i, b.BlockType(), err)
		}
	}
	if _, err := json.Marshal(v); err != nil {
		t.Errorf("view does not encode: %v", err)
	}
}

func homeTexts(v slack.HomeTabViewRequest) []string {
	return sectionTexts(Message{Blocks: v.Blocks.BlockSet})
}

func TestHomeViewOrderAndLatest(t *testing.T) {
	v := HomeView(typicalHome(), homeNow, time.UTC)
	var hosts []string
	for _, s := range homeTexts(v) {
		if i := strings.Index(s, " *sqlhost"); i >= 0 {
			hosts = append(hosts, s[i+2:i+11])
		}
	}
	want := []string{"sqlhost01", "sqlhost03", "sqlhost04", "sqlhost02", "sqlhost05"}
	if strings.Join(hosts, " ") != strings.Join(want, " ") {
		t.Errorf("hosts in order %v; want %v (worst first, then by name, each once)", hosts, want)
	}
	all := strings.Join(homeTexts(v), "\n")
	for _, w := range []string{
		"`spn.duplicate` and 1 more", "last triaged 3 h ago (2026-11-25 06:14:00 +00:00) · Report `7kq2m9xd`",
		"could not triage: an internal error (reference 3f9a1c in the bot's log)", "last triaged 2 days ago", "last triaged just now",
		"*1* critical", "*2* ok", "5 hosts",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("view lacks %q:\n%s", w, all)
		}
	}
	if strings.Contains(all, "oldoldol") {
		t.Error("view shows the older triage of sqlhost01")
	}
}

func TestHomeViewBlockLimit(t *testing.T) {
	for _, n := range []int{0, 1, 95, 96, 97, 1000, 5000} {
		t.Run(fmt.Sprintf("%d hosts", n), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(n), 1))
			statuses := []triage.Status{triage.StatusOK, triage.StatusOK, triage.StatusOK, triage.StatusWarning, triage.StatusCritical, triage.StatusUnknown}
			entries := make([]store.Entry, n)
			for i := range entries {
				host := fmt.Sprintf("sqlhost%05d", i)
				if r.IntN(10) == 0 {
					host += strings.Repeat("<&>", 100)
				}
				entries[i] = entry(host, triage.NewID(), statuses[r.IntN(len(statuses))], time.Duration(r.IntN(1e6))*time.Second,
					triage.ClockSkew, triage.CauseID(strings.Repeat("x", r.IntN(300))))
			}
			v := HomeView(entries, homeNow, time.UTC)
			checkHome(t, v)
			room := MaxHomeBlocks - homeFixedBlocks
			want := n // hosts shown
			if n > room {
				want = room - 1 // and a block for the rest
				texts := homeTexts(v)
				more := fmt.Sprintf("%d more hosts not shown: ", n-want)
				if last := texts[len(texts)-1]; !strings.HasPrefix(last, more) {
					t.Errorf("last block %q; want it to start %q", last, more)
				}
			}
			if shown := strings.Count(strings.Join(homeTexts(v), "\n"), "last triaged"); shown != want {
				t.Errorf("%d hosts shown; want %d", shown, want)
			}
		})
	}
}

func TestHomeViewMoreAllOK(t *testing.T) {
	var entries []store.Entry
	for i := range 200 {
		st := triage.StatusOK
		if i < 10 {
			st = triage.StatusCritical
		}
		entries = append(entries, entry(fmt.Sprintf("h%03d", i), "r", st, time.Minute))
	}
	texts := homeTexts(HomeView(entries, homeNow, time.UTC))
	if last, want := texts[len(texts)-1], "105 more hosts not shown: all ok."; last != want {
		t.Errorf("last block %q; want %q", last, want)
	}
}

func TestTimeAgo(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "just now"},
		{59 * time.Second, "just now"},
		{time.Minute, "1 min ago"},
		{12*time.Minute + 59*time.Second, "12 min ago"},
		{time.Hour, "1 h ago"},
		{47 * time.Hour, "47 h ago"},
		{48 * time.Hour, "2 days ago"},
		{400 * 24 * time.Hour, "400 days ago"},
	}
	for _, tt := range tests {
		if got := timeAgo(tt.d); got != tt.want {
			t.Errorf("timeAgo(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}
