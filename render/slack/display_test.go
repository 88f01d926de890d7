package slackrender

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// termPayload is what a client can put in the login name SQL Server writes to its
// ERRORLOG: it sets a terminal's window title and clears the screen. With a
// right-to-left override, a CR that would overwrite the line, a NUL and an invisible
// tag character.
const termPayload = "svc\x1b]0;pwned\x07\x1b[2J\u202eexe.lmth\rCRITICAL\x00\U000e0041"

// controlReport carries termPayload in every field that can come from evidence.
func controlReport() triage.Report {
	return triage.Report{
		ID: "c0ntr0lx", Host: "sqlhost01" + termPayload, Status: triage.StatusCritical, StartedAt: started, Duration: time.Second,
		Findings: []triage.Finding{{
			Cause: triage.CauseID("login.failed" + termPayload), Severity: triage.Critical,
			Title:   "A login " + termPayload,
			Summary: "Login failed for user 'CORP\\" + termPayload + "'",
			Evidence: []triage.Evidence{{
				Source: triage.Source("errorlog" + termPayload), Time: started, First: started.Add(-time.Hour), Count: 3,
				Text:    "18456 Login failed for user '" + termPayload + "'.\r\nReason: " + termPayload + "\n\t# Fixed: nothing to do",
				Clients: []string{"10.0.0.5", termPayload},
			}},
			Remediation: []triage.Step{{Text: "Ask the owner of " + termPayload, Command: "klist purge " + termPayload}},
			Links:       []string{"https://learn.microsoft.com/" + termPayload},
		}},
		Checks: []triage.CheckResult{
			{Name: "errorlog" + termPayload, Status: triage.CheckFail, Detail: "read " + termPayload},
			{Name: "dns", Status: triage.CheckError, Detail: "lookup sqlhost01" + termPayload + ": timeout"},
		},
	}
}

// unsafeRune reports whether r must never be shown raw: a control character other
// than LF and tab, a bidirectional control, or another format character but the
// zero-width space Escape puts between backquotes.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n', r == '\t', r == '\u200b':
		return false
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// assertShown fails t when out holds a character unsafeRune refuses.
func assertShown(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if unsafeRune(r) {
			t.Errorf("%s: %U at byte %d reaches the reader:\n%s", what, r, i, out)
			return
		}
	}
}

// messageStrings returns every string of msgs as Slack receives them: the JSON
// encoded and decoded again, so that what JSON escapes is checked as Slack shows it.
func messageStrings(t *testing.T, msgs []Message) []string {
	t.Helper()
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for _, m := range msgs {
		j, err := json.Marshal(struct {
			Text   string `json:"text"`
			Blocks any    `json:"blocks"`
		}{m.Text, m.Blocks})
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(j, &v); err != nil {
			t.Fatal(err)
		}
		walk(v)
	}
	return out
}

func TestHostileControlsAreEscaped(t *testing.T) {
	rep := controlReport()
	msgs, err := Thread(rep, ThreadOptions{Buttons: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range messageStrings(t, msgs) {
		assertShown(t, "Slack blocks", s)
	}
	text := ThreadText(msgs)
	assertShown(t, "Slack text", text)
	md := Markdown(rep)
	assertShown(t, "Markdown", md)

	escaped := `svc\x1b]0;pwned\x07\x1b[2J\u202eexe.lmth\rCRITICAL\x00\U000e0041`
	for what, out := range map[string]string{"Slack text": text, "Markdown": strings.NewReplacer(`\[`, "[", `\]`, "]").Replace(md)} {
		for _, want := range []string{"sqlhost01" + escaped, "Reason: " + escaped, "klist purge " + escaped} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the reader does not see %q:\n%s", what, want, out)
			}
		}
	}
	if !strings.Contains(md, `\# Fixed: nothing to do`) {
		t.Errorf("Markdown: a tab-indented evidence line is read as a heading:\n%s", md)
	}

	progress, err := Thread(rep, ThreadOptions{Progress: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range messageStrings(t, progress) {
		assertShown(t, "Slack blocks in progress", s)
	}
}

func TestHostileControlsAreEscapedInFleetViews(t *testing.T) {
	host := "sqlhost01" + termPayload
	state := triage.HostState{Host: host, ReportID: "r1" + termPayload, Status: triage.StatusCritical,
		Causes: []triage.CauseID{triage.CauseID("login.failed" + termPayload)}, StartedAt: fleetTick}
	failed := triage.HostState{Host: "sqlhost02" + termPayload, Status: triage.StatusUnknown,
		Error: "agent " + termPayload + " did not answer", StartedAt: fleetTick}
	prev := triage.FleetRun{Tick: fleetTick.Add(-time.Hour)}
	s := schedule.Summary{
		Schedule: schedule.Schedule{Name: "nightly" + termPayload},
		Run:      triage.FleetRun{Tick: fleetTick, Hosts: []triage.HostState{state, failed}},
		Previous: &prev, Changed: true,
		Worse:      []schedule.Change{{Host: host, From: triage.StatusOK, To: triage.StatusCritical}},
		NotChecked: []schedule.Change{{Host: failed.Host, From: triage.StatusOK, To: triage.StatusUnknown}},
		New:        []schedule.CauseChange{{Host: host, Cause: triage.CauseID("login.failed" + termPayload)}},
		Problems:   []string{"store " + termPayload + "\nnot reachable"},
	}
	msgs, err := SummaryThread(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range messageStrings(t, msgs) {
		assertShown(t, "fleet summary", s)
	}
	assertShown(t, "fleet summary as text", ThreadText(msgs))

	view := HomeView([]store.Entry{{HostState: state}, {HostState: failed}}, fleetTick.Add(time.Hour), nil)
	for _, s := range messageStrings(t, []Message{{Blocks: view.Blocks.BlockSet}}) {
		assertShown(t, "Home view", s)
	}
}
