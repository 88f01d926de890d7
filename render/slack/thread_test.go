package slackrender

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/triage"
)

// goldenFile is the path of the running test's golden file: testdata/<test name>/<file>.
func goldenFile(t *testing.T, file string) string {
	return filepath.Join("testdata", filepath.FromSlash(t.Name()), file)
}

// goldenMessage is a message as the golden files hold it: readable, indented JSON.
type goldenMessage struct {
	Text      string        `json:"text"`
	Truncated bool          `json:"truncated,omitempty"`
	Blocks    []slack.Block `json:"blocks"`
}

func threadJSON(t *testing.T, msgs []Message) []byte {
	t.Helper()
	gm := make([]goldenMessage, len(msgs))
	for i, m := range msgs {
		gm[i] = goldenMessage{m.Text, m.Truncated, m.Blocks}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(gm); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func loadReport(t testing.TB, path string) triage.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep triage.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

var (
	zone    = time.FixedZone("", -5*3600)
	started = time.Date(2026, 11, 25, 7, 0, 0, 0, zone)
)

func okReport() triage.Report {
	return triage.Report{
		ID: "7kq2m9xd", Host: "sqlhost02", Status: triage.StatusOK, StartedAt: started, Duration: 1840 * time.Millisecond,
		Findings: []triage.Finding{},
		Checks: []triage.CheckResult{
			{Name: "errorlog", Status: triage.CheckPass, Duration: 120 * time.Millisecond, Detail: "ERRORLOG: 41,210 entries, 24h window"},
			{Name: "spn", Status: triage.CheckPass, Duration: 310 * time.Millisecond, Detail: "MSSQLSvc/sqlhost02.corp.example:1433: CORP\\svc_sql02"},
			{Name: "kerberos", Status: triage.CheckPass, Duration: 1700 * time.Millisecond, Detail: "ticket for MSSQLSvc/sqlhost02.corp.example:1433, aes256-cts-hmac-sha1-96"},
		},
	}
}

func unknownReport() triage.Report {
	f := triage.NewFinding(triage.AgentUnreachable, map[string]string{triage.PHHost: "SQLHOST03"})
	f.Summary = "The agent for sqlhost03 did not answer: dial tcp 10.1.2.3:7443: connect: connection refused"
	f.Evidence = []triage.Evidence{{Check: "agent", Source: triage.SourceAgent, Text: "agent dc-east (https://agent-east.corp.example:7443): connection refused; checks errorlog, eventlog never arrived"}}
	return triage.Report{
		ID: "p4w8zr2c", Host: "sqlhost03", Status: triage.StatusUnknown, StartedAt: started, Duration: 5 * time.Second,
		Findings: []triage.Finding{f},
		Checks: []triage.CheckResult{
			{Name: "errorlog", Status: triage.CheckError, Duration: 5 * time.Second, Detail: "did not finish within the 5s deadline"},
			{Name: "eventlog", Status: triage.CheckError, Duration: 5 * time.Second, Detail: "agent dc-east: connection refused"},
			{Name: "spn", Status: triage.CheckPass, Duration: 90 * time.Millisecond},
			{Name: "dns", Status: triage.CheckSkipped, Detail: "no FQDN configured"},
		},
	}
}

// hostileReport carries text that would be Slack markup if it were not escaped: a
// channel mention, a disguised link, an ampersand, a login with angle brackets, and
// a command with backquotes Slack cannot show.
func hostileReport() triage.Report {
	return triage.Report{
		ID: "h7st1l3x", Host: "sql<!channel>&host", Status: triage.StatusCritical, StartedAt: started, Duration: time.Second,
		Findings: []triage.Finding{{
			Cause: triage.LoginFailed, Severity: triage.Critical,
			Summary: "Login failed for user 'CORP\\<script>' & <!here> from <http://evil.example|sqlhost01>",
			Evidence: []triage.Evidence{
				{Source: triage.SourceErrorlog, Text: "18456 Login failed for user '<@U0BOSS>': state 8 & <!subteam^S123>\r\nsecond line\twith tab \x1b[31mred\x1b[0m \u202eevil",
					Time: started, First: started.Add(-time.Hour), Count: 3,
					Clients: []string{"10.0.0.1", "<#C0GENERAL>", "a&b"}, MoreClients: 2},
			},
			Remediation: []triage.Step{
				{Text: "Run both & compare <output>", Command: "setspn -Q <SPN> && klist get MSSQLSvc/<FQDN>"},
				{Text: "A command Slack cannot show", Command: "Write-Host ```x```"},
				{Text: "A PowerShell line continuation is fine", Command: "Get-ADUser svc_sql `\n  -Properties msDS-SupportedEncryptionTypes"},
			},
			Links: []string{"https://learn.microsoft.com/ok", "https://evil.example/a|b>", "javascript:alert(1)"},
		}},
		Checks: []triage.CheckResult{{Name: "errorlog", Status: triage.CheckFail, Detail: "read <ERRORLOG> & more"}},
	}
}

// longReport has a finding whose evidence needs more than one message, and more
// findings than a thread of 6 messages holds.
func longReport() triage.Report {
	rep := triage.Report{ID: "l9ngr3pt", Host: "sqlhost04", Status: triage.StatusCritical, StartedAt: started, Duration: 3 * time.Second}
	big := triage.NewFinding(triage.SSPIHandshakeFailed, map[string]string{triage.PHHost: "sqlhost04", triage.PHCode: "0x8009030C"})
	big.Severity = triage.Critical
	for i := range 12 {
		big.Evidence = append(big.Evidence, triage.Evidence{
			Source: triage.SourceErrorlog,
			Text:   strings.Repeat("SSPI handshake failed with error code 0x8009030c, state 14 while establishing a connection with integrated security. ", 11+i%3),
			Time:   started, First: started.Add(-time.Duration(i) * time.Minute), Count: 100 + i,
		})
	}
	rep.Findings = append(rep.Findings, big)
	for _, id := range []triage.CauseID{triage.ClockSkew, triage.SPNMissing, triage.DNSMismatch, triage.AccountDisabled, triage.KeytabStale} {
		rep.Findings = append(rep.Findings, triage.NewFinding(id, map[string]string{triage.PHHost: "SQLHOST04"}))
	}
	rep.Checks = []triage.CheckResult{{Name: "errorlog", Status: triage.CheckFail, Duration: time.Second}}
	return rep
}

func TestThread(t *testing.T) {
	tests := []struct {
		name string
		rep  func(t *testing.T) triage.Report
		opt  ThreadOptions
	}{
		{"demo", func(t *testing.T) triage.Report { return loadReport(t, "testdata/demo.json") }, ThreadOptions{Buttons: true}},
		{"ok", func(*testing.T) triage.Report { return okReport() }, ThreadOptions{Buttons: true}},
		{"unknown", func(*testing.T) triage.Report { return unknownReport() }, ThreadOptions{}},
		{"progress", func(*testing.T) triage.Report {
			rep := unknownReport()
			rep.Checks = rep.Checks[2:]
			return rep
		}, ThreadOptions{Buttons: true, Progress: true}},
		{"hostile", func(*testing.T) triage.Report { return hostileReport() }, ThreadOptions{Buttons: true}},
		{"long", func(*testing.T) triage.Report { return longReport() }, ThreadOptions{MaxMessages: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.rep(t)
			msgs, err := Thread(rep, tt.opt)
			if err != nil {
				t.Fatalf("Thread: %v", err)
			}
			checkThread(t, rep, tt.opt, msgs)
			golden.Check(t, goldenFile(t, "thread.json"), threadJSON(t, msgs))
			golden.Check(t, goldenFile(t, "thread.txt"), []byte(ThreadText(msgs)))
			golden.Check(t, goldenFile(t, "report.md"), []byte(Markdown(rep)))
		})
	}
}

func TestBlocksJSON(t *testing.T) {
	rep := loadReport(t, "testdata/demo.json")
	msgs, err := Thread(rep, ThreadOptions{Buttons: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := BlocksJSON(&buf, msgs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(msgs) {
		t.Fatalf("BlocksJSON wrote %d lines for %d messages", len(lines), len(msgs))
	}
	for i, l := range lines {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %d is not a JSON object: %v", i, err)
		}
		if len(obj) != 1 || obj["blocks"] == nil {
			t.Errorf("line %d has keys %v; want only \"blocks\"", i, keys(obj))
		}
		// slack-go reads every block back as the type it wrote.
		var msg struct {
			Blocks slack.Blocks `json:"blocks"`
		}
		if err := json.Unmarshal([]byte(l), &msg); err != nil {
			t.Fatalf("line %d: slack.Blocks: %v", i, err)
		}
		bs := msg.Blocks
		if len(bs.BlockSet) != len(msgs[i].Blocks) {
			t.Errorf("line %d: %d blocks read back; want %d", i, len(bs.BlockSet), len(msgs[i].Blocks))
		}
		for j, b := range bs.BlockSet {
			if b.BlockType() != msgs[i].Blocks[j].BlockType() {
				t.Errorf("line %d block %d: read back as %s; want %s", i, j, b.BlockType(), msgs[i].Blocks[j].BlockType())
			}
		}
	}
	golden.Check(t, goldenFile(t, "demo.jsonl"), buf.Bytes())
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestThreadButtons(t *testing.T) {
	rep := okReport()
	msgs, err := Thread(rep, ThreadOptions{Buttons: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range msgs[0].Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				btn := e.(*slack.ButtonBlockElement)
				got = append(got, btn.ActionID+"="+btn.Value)
			}
		}
	}
	want := []string{"rerun=7kq2m9xd", "share=7kq2m9xd", "raw_evidence=7kq2m9xd", "fix_script=7kq2m9xd", "export=7kq2m9xd"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parent buttons (-want +got):\n%s", diff)
	}
	for i, m := range msgs[1:] {
		for _, b := range m.Blocks {
			if b.BlockType() == slack.MBTAction {
				t.Errorf("reply %d has buttons; only the parent should", i+1)
			}
		}
	}
	for _, opt := range []ThreadOptions{{}, {Buttons: true, Progress: true}} {
		msgs, _ := Thread(rep, opt)
		for _, b := range msgs[0].Blocks {
			if b.BlockType() == slack.MBTAction {
				t.Errorf("Thread(%+v): parent has buttons", opt)
			}
		}
	}
}

func TestThreadErrors(t *testing.T) {
	rep := okReport()
	rep.ID = ""
	if _, err := Thread(rep, ThreadOptions{}); err == nil {
		t.Error("Thread of a report without ID: no error")
	}
	rep.ID = strings.Repeat("x", 256)
	if _, err := Thread(rep, ThreadOptions{Buttons: true}); err == nil {
		t.Error("Thread with buttons of a report with a 256-character ID: no error")
	}
	if _, err := Thread(rep, ThreadOptions{}); err != nil {
		t.Errorf("Thread without buttons of a report with a 256-character ID: %v", err)
	}
}

// TestThreadSplitsLongFinding checks that a finding too long for one message
// continues in the next under the same header, and that a thread with more findings
// than it may hold lists the rest and asks for the attachment.
func TestThreadSplitsLongFinding(t *testing.T) {
	rep := longReport()
	msgs, err := Thread(rep, ThreadOptions{MaxMessages: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 6 {
		t.Fatalf("%d messages; want 6 (MaxMessages)", len(msgs))
	}
	h1, h2 := headerText(msgs[1]), headerText(msgs[2])
	if !strings.Contains(h1, "sspi.handshake_failed") || h2 != h1+" (continued)" {
		t.Errorf("headers of replies 1 and 2 = %q, %q; want the finding, then the same continued", h1, h2)
	}
	if !strings.Contains(contextText(msgs[2]), "continued") {
		t.Errorf("context of reply 2 = %q; want it to say continued", contextText(msgs[2]))
	}
	if !msgs[len(msgs)-1].Truncated {
		t.Error("last message not Truncated, though findings were left out")
	}
	for i, m := range msgs[:len(msgs)-1] {
		if m.Truncated {
			t.Errorf("message %d is Truncated; only the last one should be", i)
		}
	}
	all := allText(msgs)
	if !strings.Contains(all, MarkdownFileName(rep.ID)) {
		t.Errorf("thread does not name the attachment %s", MarkdownFileName(rep.ID))
	}
	for _, f := range rep.Findings {
		if !strings.Contains(all, string(f.Cause)) {
			t.Errorf("cause %s appears nowhere in the thread", f.Cause)
		}
	}
}

func TestThreadMaxMessages(t *testing.T) {
	rep := longReport()
	for _, limit := range []int{-1, 1, 3, 4, 7, 100} {
		msgs, err := Thread(rep, ThreadOptions{MaxMessages: limit})
		if err != nil {
			t.Fatal(err)
		}
		if want := max(limit, 3); len(msgs) > want {
			t.Errorf("MaxMessages %d: %d messages; want at most %d", limit, len(msgs), want)
		}
		checkThread(t, rep, ThreadOptions{MaxMessages: limit}, msgs)
	}
}

func headerText(m Message) string {
	for _, b := range m.Blocks {
		if h, ok := b.(*slack.HeaderBlock); ok {
			return h.Text.Text
		}
	}
	return ""
}

func contextText(m Message) string {
	c, ok := m.Blocks[len(m.Blocks)-1].(*slack.ContextBlock)
	if !ok {
		return ""
	}
	var parts []string
	for _, e := range c.ContextElements.Elements {
		if t, ok := e.(*slack.TextBlockObject); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, " · ")
}

func TestMarkdownFileName(t *testing.T) {
	for in, want := range map[string]string{
		"7kq2m9xd":   "authtriage-7kq2m9xd.md",
		"../etc/pw":  "authtriage-___etc_pw.md",
		"a b\x00<c>": "authtriage-a_b__c_.md",
	} {
		if got := MarkdownFileName(in); got != want {
			t.Errorf("MarkdownFileName(%q) = %q; want %q", in, got, want)
		}
	}
}
