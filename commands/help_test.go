package commands_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/commands"
	"github.com/authtriage/authtriage/internal/golden"
)

// TestHelpGolden keeps the help people read in files under testdata: the overview
// and each command's (go test -update rewrites them).
func TestHelpGolden(t *testing.T) {
	golden.Check(t, filepath.Join("testdata", "help", "overview.txt"), []byte(commands.Help("")))
	for _, v := range commands.Verbs() {
		golden.Check(t, filepath.Join("testdata", "help", string(v)+".txt"), []byte(commands.Help(string(v))))
	}
}

func TestHelp(t *testing.T) {
	overview := commands.Help("")
	for _, v := range commands.Verbs() {
		if !strings.Contains(overview, string(v)+" ") && !strings.Contains(overview, string(v)+"\n") {
			t.Errorf("Help(\"\") does not mention %q:\n%s", v, overview)
		}
		h := commands.Help(string(v))
		if !strings.HasPrefix(h, string(v)) {
			t.Errorf("Help(%q) = %q; want it to start with the usage", v, h)
		}
		// Every example in the help parses, as the verb it documents.
		_, examples, _ := strings.Cut(h, "Examples:\n")
		for _, line := range strings.Split(strings.TrimSpace(examples), "\n") {
			ex := strings.TrimSpace(line)
			c, err := commands.Parse(ex)
			if err != nil {
				t.Errorf("Help(%q) example %q does not parse: %v", v, ex, err)
			} else if c.Verb != v {
				t.Errorf("Help(%q) example %q parses as %q", v, ex, c.Verb)
			}
		}
	}
	if got := commands.Help("CHECK"); got != commands.Help("check") {
		t.Errorf("Help ignores case: Help(%q) = %q", "CHECK", got)
	}
	if got := commands.Help("nonsense"); got != overview {
		t.Errorf("Help(%q) = %q; want the overview", "nonsense", got)
	}
}

// TestHelpIsMrkdwnSafe checks that help reads the same in Slack mrkdwn as in plain
// text: no escapes needed and no formatting marks.
func TestHelpIsMrkdwnSafe(t *testing.T) {
	for _, v := range append([]string{""}, verbs()...) {
		h := commands.Help(v)
		if i := strings.IndexAny(h, "&<>*_~`"); i >= 0 {
			t.Errorf("Help(%q) contains %q, which Slack mrkdwn would interpret:\n%s", v, h[i], h)
		}
	}
}

// TestUsageErrorsAreMrkdwnSafe checks the usage part the same way (the problem part
// quotes the user and is escaped by the caller).
func TestUsageErrorsAreMrkdwnSafe(t *testing.T) {
	for _, in := range []string{"check", "history", "show", "share", "help a b", "incident a:1", "incident !"} {
		_, err := commands.Parse(in)
		if err == nil {
			t.Fatalf("Parse(%q): no error", in)
		}
		if i := strings.IndexAny(err.Error(), "&<>*_~`"); i >= 0 {
			t.Errorf("Parse(%q) error %q contains %q", in, err, err.Error()[i])
		}
	}
}

func verbs() []string {
	var out []string
	for _, v := range commands.Verbs() {
		out = append(out, string(v))
	}
	return out
}

func TestHelpAllowed(t *testing.T) {
	onlyCheck := func(v commands.Verb) bool { return v == commands.VerbCheck }
	got := commands.HelpAllowed("", onlyCheck)
	for _, want := range []string{"check HOST", "help", "not listed"} {
		if !strings.Contains(got, want) {
			t.Errorf("HelpAllowed overview lacks %q:\n%s", want, got)
		}
	}
	for _, hidden := range []string{"history HOST", "share ID"} {
		if strings.Contains(got, hidden) {
			t.Errorf("HelpAllowed overview lists %q, which the caller may not run:\n%s", hidden, got)
		}
	}
	if all := commands.HelpAllowed("", nil); all != commands.Help("") || strings.Contains(all, "not listed") {
		t.Errorf("HelpAllowed with nil differs from Help:\n%s", all)
	}
}
