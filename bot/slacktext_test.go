package bot

import (
	"testing"

	"github.com/authtriage/authtriage/commands"
	"github.com/authtriage/authtriage/triage"
)

func TestCommandText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "check sqlhost01", "check sqlhost01"},
		{"mention of the bot", "<@U0123ABCD> check sqlhost01", "  check sqlhost01"},
		{"mention with a name", "  <@U0123ABCD|authtriage>   check sqlhost01", "      check sqlhost01"},
		{"mention without a space", "<@U0123ABCD>check sqlhost01", " check sqlhost01"},
		{"a later mention is kept", "share 7kq2m9xd <@U0123ABCD>", "share 7kq2m9xd <@U0123ABCD>"},
		{"link of a host name", "check <http://sqlhost01.corp.example|sqlhost01.corp.example>", "check sqlhost01.corp.example"},
		{"link without label", "check <http://sqlhost01.corp.example/>", "check sqlhost01.corp.example"},
		{"scheme in any case", "check <HTTPS://sqlhost01.corp.example>", "check sqlhost01.corp.example"},
		{"mail link", "check <mailto:svc@corp.example|svc@corp.example>", "check svc@corp.example"},
		{"escapes", "check a&amp;b &lt;x&gt; &amp;lt;", "check a&b <x> &lt;"},
		{"escapes in a label", "check <http://x|a&amp;b>", "check a&b"},
		{"picked channel kept", "share 7kq2m9xd <#C0123ABCD|dba>", "share 7kq2m9xd <#C0123ABCD|dba>"},
		{"unclosed", "check <http://x", "check <http://x"},
		{"lone closer", "check x> &gt;", "check x> >"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commandText(tt.in); got != tt.want {
				t.Errorf("commandText(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSlackCommands: what Slack sends parses as the command the person typed.
func TestSlackCommands(t *testing.T) {
	check := func(host string) commands.Command { return commands.Command{Verb: commands.VerbCheck, Host: host} }
	tests := []struct {
		name, in string
		want     commands.Command
	}{
		{"mention", "<@U0123ABCD> check sqlhost01", check("sqlhost01")},
		{"bare mention is help", "<@U0123ABCD>", commands.Command{Verb: commands.VerbHelp}},
		{"linked host name", "<@U0123ABCD> check <http://sqlhost01.corp.example|sqlhost01.corp.example>", check("sqlhost01.corp.example")},
		{"linked host and instance", "check <http://sqlhost01.corp.example|sqlhost01.corp.example> SALES",
			commands.Command{Verb: commands.VerbCheck, Host: "sqlhost01.corp.example", Instance: triage.Instance{Name: "SALES"}}},
		{"picked channel", "share 7kq2m9xd <#C0123ABCD|dba>",
			commands.Command{Verb: commands.VerbShare, ReportID: "7kq2m9xd", Channel: commands.Channel{ID: "C0123ABCD", Name: "dba"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := commands.Parse(commandText(tt.in))
			if err != nil || got != tt.want {
				t.Errorf("Parse(commandText(%q)) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzCommandText: decoding never panics, keeps valid UTF-8 valid, and never makes
// the text longer than Slack's escapes and a mention's space allow.
func FuzzCommandText(f *testing.F) {
	for _, s := range []string{"<@U1> check <http://a|b>", "&lt;<>&amp;", "<", ">", "<<>>", "<mailto:>", "<http://|>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := commandText(in)
		if len(out) > len(in)+1 {
			t.Errorf("commandText(%q) = %q, longer than its input", in, out)
		}
	})
}
