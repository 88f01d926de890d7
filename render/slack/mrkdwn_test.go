package slackrender

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

func TestEsc(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a & b", "a &amp; b"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"<http://evil|ok>", "&lt;http://evil|ok&gt;"},
		{"&amp;", "&amp;amp;"},
		{"CORP\\svc_sql", "CORP\\svc_sql"},
		{"```code```", "`\u200b`\u200b`code`\u200b`\u200b`"},
		{"``", "`\u200b`"},
		{"`one`", "`one`"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if c, m := measureRaw(tt.in), measure(Escape(tt.in)); c.units < m.units || c.bytes < m.bytes {
			t.Errorf("measureRaw(%q) = %+v, less than the escaped text's %+v", tt.in, c, m)
		}
	}
}

func TestOneLine(t *testing.T) {
	got := oneLine("a\r\nb\rc\td\x00e\x1b[0m\u202eevil\u2066x\xff")
	want := `a b\rc d\x00e\x1b[0m\u202eevil\u2066x` + "\uFFFD"
	if got != want {
		t.Errorf("oneLine = %q; want %q", got, want)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		b    budget
		want string
		cut  bool
	}{
		{"short", budget{10, 100}, "short", false},
		{"one two three four", budget{12, 100}, "one two thr…", true},
		{"one two three", budget{9, 100}, "one two…", true}, // a space near the end is a better cut
		{"&&&&&", budget{12, 100}, "&&…", true},             // each & is 5 once escaped
		{"ééééé", budget{100, 7}, "éé…", true},              // 2 bytes each, … is 3
		{"abcdefghijklmnop", budget{5, 100}, "abcd…", true},
	}
	for _, tt := range tests {
		got, cut := clip(tt.in, tt.b)
		if got != tt.want || cut != tt.cut {
			t.Errorf("clip(%q, %+v) = %q, %v; want %q, %v", tt.in, tt.b, got, cut, tt.want, tt.cut)
		}
		if m := measureRaw(got); !tt.b.fits(m) {
			t.Errorf("clip(%q, %+v) = %q costs %+v", tt.in, tt.b, got, m)
		}
	}
}

func TestLinkable(t *testing.T) {
	for u, want := range map[string]bool{
		"https://learn.microsoft.com/sql/x": true,
		"http://example.com/a?b=c":          true,
		"https://example.com/a|b":           false,
		"https://example.com/a>b":           false,
		"https://example.com/a b":           false,
		"https://example.com/a&b":           false,
		"javascript:alert(1)":               false,
		"https://exämple.com":               false,
	} {
		if got := linkable(u); got != want {
			t.Errorf("linkable(%q) = %v; want %v", u, got, want)
		}
	}
}

// TestEscaping renders user-controlled text (a host name, log messages, logins,
// clients, commands, check details) full of Slack markup and checks that none of it
// reaches Slack as markup.
func TestEscaping(t *testing.T) {
	rep := hostileReport()
	msgs, err := Thread(rep, ThreadOptions{Buttons: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		for _, s := range append(mrkdwnTexts(m), m.Text) {
			if err := checkMrkdwn(s); err != nil {
				t.Errorf("message %d: %v in %q", i, err, s)
			}
			for _, raw := range []string{"<!channel>", "<!here>", "<@U0BOSS>", "<http://evil.example|", "<#C0GENERAL>", "<!subteam"} {
				if strings.Contains(s, raw) {
					t.Errorf("message %d: %q reaches Slack unescaped in %q", i, raw, s)
				}
			}
		}
	}
	all := allText(msgs)
	for _, want := range []string{
		"sql<!channel>&host", // host name
		"Login failed for user 'CORP\\<script>' & <!here>", // summary with a login
		"'<@U0BOSS>': state 8 & <!subteam^S123>",           // log message
		"<#C0GENERAL>, a&b",                                // clients
		"setspn -Q <SPN> && klist get MSSQLSvc/<FQDN>",     // command, inside a code block
		"read <ERRORLOG> & more",                           // check detail
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the reader does not see %q", want)
		}
	}
	if !strings.Contains(all, `\x1b[31mred`) || strings.Contains(all, "\x1b") || strings.Contains(all, "\u202e") {
		t.Error("control characters or bidirectional overrides reach Slack")
	}
	if !msgs[len(msgs)-1].Truncated {
		t.Error("a command Slack cannot show did not mark the thread Truncated")
	}
	if md := Markdown(rep); !strings.Contains(md, "Write-Host ```x```") {
		t.Error("Markdown lacks the command Slack could not show")
	}
}

// TestThreadWorstCase renders a report whose every field is as large and as costly
// to escape as the budgets allow, and checks that it fits.
func TestThreadWorstCase(t *testing.T) {
	heavy := func(n int) string { return strings.Repeat("&<>\"\u2028🔴`", n/7+1)[:n] }
	var clients []string
	for range 100 {
		clients = append(clients, heavy(500))
	}
	f := triage.Finding{
		Cause: triage.CauseID(heavy(300)), Severity: triage.Severity(-1 << 62), Summary: heavy(10000),
		Links: []string{heavy(5000), "https://" + strings.Repeat("a", 4000)},
	}
	for range 30 {
		f.Evidence = append(f.Evidence, triage.Evidence{Text: heavy(20000), Clients: clients, MoreClients: 1 << 40, Count: 1 << 40})
		f.Remediation = append(f.Remediation, triage.Step{Text: heavy(5000), Command: strings.Repeat("&<>🔴\n", 2000)})
	}
	rep := triage.Report{ID: heavy(255), Host: heavy(1000), Status: "x", Findings: []triage.Finding{f, f, f}}
	for range 100 {
		rep.Checks = append(rep.Checks, triage.CheckResult{Name: heavy(300), Status: triage.CheckStatus(heavy(300)), Detail: heavy(5000)})
	}
	for _, opt := range []ThreadOptions{{}, {Buttons: true}, {Progress: true}, {MaxMessages: 3}} {
		msgs, err := Thread(rep, opt)
		if err != nil {
			t.Fatalf("Thread(%+v): %v", opt, err)
		}
		checkThread(t, rep, opt, msgs)
		if !msgs[len(msgs)-1].Truncated {
			t.Errorf("Thread(%+v): not Truncated", opt)
		}
	}
}
