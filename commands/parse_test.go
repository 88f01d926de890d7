package commands_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/commands"
	"github.com/authtriage/authtriage/triage"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want commands.Command
	}{
		{"check host", "check sqlhost01", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}},
		{"check FQDN", "check sqlhost01.corp.example", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01.corp.example"}},
		{"host is lower-cased", "check SQLHOST01", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}},
		{"named instance", "check sqlhost01 SALES",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Name: "SALES"}}},
		{"instance with port", "check sqlhost01 SALES:50123",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Name: "SALES", Port: 50123}}},
		{"default instance by port", "check sqlhost01 :1433",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Port: 1433}}},
		{"default instance by name", "check sqlhost01 MSSQLSERVER",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Name: "MSSQLSERVER"}}},
		{"HOST\\INSTANCE", `check sqlhost01\SALES`,
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Name: "SALES"}}},
		{"HOST,PORT", "check sqlhost01,1433",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Port: 1433}}},
		{"HOST:PORT", "check sqlhost01:1433",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Port: 1433}}},
		{"verb in any case", "CHECK sqlhost01", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}},
		{"extra spaces", "   check \t  sqlhost01   ", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}},
		{"non-breaking spaces", "check\u00a0sqlhost01\u202fSALES",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Name: "SALES"}}},
		{"zero-width space inside a word", "check sql\u200bhost01", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}},
		{"backquoted", "`check sqlhost01`", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}},
		{"code block", "```check sqlhost01```", commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}},
		{"history", "history sqlhost01", commands.Command{Verb: commands.VerbHistory, Host: "sqlhost01"}},
		{"show", "show 7kq2m9xd", commands.Command{Verb: commands.VerbShow, ReportID: "7kq2m9xd"}},
		{"show upper-case ID", "show 7KQ2M9XD", commands.Command{Verb: commands.VerbShow, ReportID: "7kq2m9xd"}},
		{"share to typed channel", "share 7kq2m9xd #dba",
			commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{Name: "dba"}}},
		{"share to bare channel name", "share 7kq2m9xd dba-oncall",
			commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{Name: "dba-oncall"}}},
		{"share to picked channel", "share 7kq2m9xd <#C0123ABCD|dba>",
			commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{ID: "C0123ABCD", Name: "dba"}}},
		{"share to picked channel without name", "share 7kq2m9xd <#C0123ABCD|>",
			commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{ID: "C0123ABCD"}}},
		{"share to private channel", "share 7kq2m9xd <#G0123ABCD>",
			commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{ID: "G0123ABCD"}}},
		{"channel name is lower-cased", "share 7kq2m9xd #DBA",
			commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{Name: "dba"}}},
		{"help", "help", commands.Command{Verb: commands.VerbHelp}},
		{"help topic", "help Check", commands.Command{Verb: commands.VerbHelp, Topic: commands.VerbCheck}},
		{"empty is help", "", commands.Command{Verb: commands.VerbHelp}},
		{"spaces only is help", " \u00a0 ", commands.Command{Verb: commands.VerbHelp}},
		{"incident alone is the whole inventory", "incident", commands.Command{Verb: commands.VerbIncident}},
		{"incident of a tag", "incident prod", commands.Command{Verb: commands.VerbIncident, Scope: "prod"}},
		{"incident of hosts and tags, lower-cased, repeats dropped", "Incident SQLHOST01 prod_eu sqlhost01.corp.example PROD_EU",
			commands.Command{Verb: commands.VerbIncident, Scope: "sqlhost01 prod_eu sqlhost01.corp.example"}},
		{"incident of fifty names", "incident " + strings.Repeat("h ", 49) + "x", commands.Command{Verb: commands.VerbIncident, Scope: "h x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := commands.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %#v; want %#v", tt.in, got, tt.want)
			}
			again, err := commands.Parse(got.String())
			if err != nil || again != got {
				t.Errorf("Parse(%q) = %#v, %v; want %#v (round trip)", got.String(), again, err, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the message
	}{
		{"no host", "check", []string{"Tell me which host to check", "Usage: check HOST [INSTANCE]."}},
		{"bad host", "check sql_host01", []string{`"sql_host01" is not a host name`, "'_'"}},
		{"label too long", "check " + strings.Repeat("a", 64), []string{"more than 63 characters"}},
		{"bad instance", "check sqlhost01 1SALES", []string{`"1SALES" is not an instance`}},
		{"bad port", "check sqlhost01 :99999", []string{"port must be a number from 1 to 65535"}},
		{"bad port after host", "check sqlhost01,0", []string{"port must be"}},
		{"instance twice", `check sqlhost01\SALES HR`, []string{"instance is given twice"}},
		{"too many words for check", "check sqlhost01 SALES now please", []string{`"now please" are more words`}},
		{"history with instance", `history sqlhost01\SALES`, []string{"not per instance"}},
		{"history without host", "history", []string{"Usage: history HOST."}},
		{"show without ID", "show", []string{"which report"}},
		{"ID too short", "show 7kq2", []string{`"7kq2" is not a report ID`, "has 4"}},
		{"ID with confusable", "show 7kq2m9x0", []string{"'0'", "no 0, 1, i, l or o"}},
		{"ID with punctuation", "show 7kq2m9x!", []string{"'!'", "only letters and digits"}},
		{"share without channel", "share 7kq2m9xd", []string{"which report to share and where"}},
		{"share to bad channel", "share 7kq2m9xd #bad.name", []string{`"#bad.name" is not a channel`}},
		{"share to a user", "share 7kq2m9xd <@U0123ABCD>", []string{"is not a channel"}},
		{"share to bad channel ID", "share 7kq2m9xd <#x|dba>", []string{"is not a channel reference"}},
		{"a reference is no host", "check <http://sqlhost01|sqlhost01>", []string{"is not a host name"}},
		{"a mention is no command", "<@U0123ABCD> check sqlhost01", []string{"is not a command"}},
		{"help on unknown topic", "help nothing", []string{`"nothing" is not a command.`}},
		{"incident of an instance", `incident sqlhost01\SALES`, []string{"every instance", "Usage: incident [TAG|HOST...]."}},
		{"incident of a port", "incident sqlhost01:1433", []string{"leave out the instance"}},
		{"incident of a channel", "incident <#C0123ABCD|dba>", []string{"is not a host name or tag"}},
		{"incident of a bad name", "incident sql!host", []string{`"sql!host" is neither a host name`, "'!'"}},
		{"incident of a long tag with '_'", "incident " + strings.Repeat("a", 33) + "_", []string{"neither a host name"}},
		{"incident of too many names", "incident" + strings.Repeat(" h", commands.MaxScopeNames+1), []string{"51 names", "at most 50", "name a tag"}},
		{"long input is shortened", "check " + strings.Repeat("x", 300) + "_", []string{"…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := commands.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v; want an error", tt.in, got)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Parse(%q) error = %q; want it to contain %q", tt.in, msg, w)
				}
			}
			if !isSentence(msg) {
				t.Errorf("Parse(%q) error = %q; want a sentence (capital first, period last)", tt.in, msg)
			}
			if len(msg) > 400 {
				t.Errorf("Parse(%q) error is %d bytes long; want it short", tt.in, len(msg))
			}
			var ue *commands.UsageError
			var ce *commands.UnknownCommandError
			if !errors.As(err, &ue) && !errors.As(err, &ce) {
				t.Errorf("Parse(%q) error is %T; want *UsageError or *UnknownCommandError", tt.in, err)
			}
		})
	}
}

func TestParseUnknownCommand(t *testing.T) {
	tests := []struct {
		in      string
		suggest commands.Verb
	}{
		{"chek sqlhost01", commands.VerbCheck},
		{"chekc sqlhost01", commands.VerbCheck},
		{"Checks sqlhost01", commands.VerbCheck},
		{"hist sqlhost01", commands.VerbHistory},
		{"shwo 7kq2m9xd", commands.VerbShow},
		{"shar 7kq2m9xd #dba", commands.VerbShare},
		{"hlep", commands.VerbHelp},
		{"incidnet prod", commands.VerbIncident},
		{"inc prod", commands.VerbIncident},
		{"deploy sqlhost01", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		_, err := commands.Parse(tt.in)
		if !errors.Is(err, commands.ErrUnknownCommand) {
			t.Errorf("Parse(%q) error = %v; want ErrUnknownCommand", tt.in, err)
			continue
		}
		var ue *commands.UnknownCommandError
		if !errors.As(err, &ue) {
			t.Fatalf("Parse(%q) error is %T; want *UnknownCommandError", tt.in, err)
		}
		if ue.Suggestion != tt.suggest {
			t.Errorf("Parse(%q) suggestion = %q; want %q", tt.in, ue.Suggestion, tt.suggest)
		}
		msg := err.Error()
		if tt.suggest != "" && !strings.Contains(msg, `did you mean "`+string(tt.suggest)+`"?`) {
			t.Errorf("Parse(%q) error = %q; want it to suggest %q", tt.in, msg, tt.suggest)
		}
		if !isSentence(msg) {
			t.Errorf("Parse(%q) error = %q; want a sentence", tt.in, msg)
		}
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		c    commands.Command
		want string
	}{
		{commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01"}, "check sqlhost01"},
		{commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Port: 1433}}, "check sqlhost01 :1433"},
		{commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01", Instance: triage.Instance{Name: "SALES", Port: 5}}, "check sqlhost01 SALES:5"},
		{commands.Command{Verb: commands.VerbHistory, Host: "sqlhost01"}, "history sqlhost01"},
		{commands.Command{Verb: commands.VerbShow, ReportID: "7kq2m9xd"}, "show 7kq2m9xd"},
		{commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{Name: "dba"}}, "share 7kq2m9xd #dba"},
		{commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{ID: "C1AB", Name: "dba"}}, "share 7kq2m9xd <#C1AB|dba>"},
		{commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{ID: "C1AB"}}, "share 7kq2m9xd <#C1AB>"},
		{commands.Command{Verb: commands.VerbIncident}, "incident"},
		{commands.Command{Verb: commands.VerbIncident, Scope: "prod sqlhost01"}, "incident prod sqlhost01"},
		{commands.Command{Verb: commands.VerbHelp}, "help"},
		{commands.Command{Verb: commands.VerbHelp, Topic: commands.VerbShare}, "help share"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%#v.String() = %q; want %q", tt.c, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	c, err := commands.Parse("incident prod sqlhost01 prod")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Names(); len(got) != 2 || got[0] != "prod" || got[1] != "sqlhost01" {
		t.Errorf("Names() = %q; want [prod sqlhost01]", got)
	}
	if got := (commands.Command{Verb: commands.VerbIncident}).Names(); got != nil {
		t.Errorf("Names() of the whole inventory = %q; want nil", got)
	}
}

// isSentence reports whether s starts with a capital letter or a quote and ends with
// a period.
func isSentence(s string) bool {
	if s == "" || !strings.HasSuffix(s, ".") {
		return false
	}
	c := s[0]
	return c == '"' || (c >= 'A' && c <= 'Z')
}
