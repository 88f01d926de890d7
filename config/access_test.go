package config

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllows(t *testing.T) {
	const (
		dba    = "C0DBA0001"
		ops    = "G0OPS0001"
		alice  = "U0ALICE01"
		bob    = "W0BOB0001"
		oncall = "S0ONCALL1"
		dm     = "D0DM00001"
	)
	inOncall := func(g string) bool { return g == oncall }
	tests := []struct {
		name    string
		rule    AccessRule
		verb    string
		channel string
		user    string
		inGroup func(string) bool
		want    bool
	}{
		{"open rule allows its verb", AccessRule{Commands: []string{"check"}}, "check", dba, alice, nil, true},
		{"open rule refuses other verbs", AccessRule{Commands: []string{"check"}}, "history", dba, alice, nil, false},
		{"* allows every verb", AccessRule{Commands: []string{AnyCommand}}, "share", ops, bob, nil, true},
		{"an empty verb is never allowed", AccessRule{Commands: []string{AnyCommand}}, "", dba, alice, nil, false},
		{"no commands allow nothing", AccessRule{}, "check", dba, alice, nil, false},
		{"listed channel", AccessRule{Commands: []string{"check"}, Channels: []string{dba}}, "check", dba, alice, nil, true},
		{"unlisted channel", AccessRule{Commands: []string{"check"}, Channels: []string{dba}}, "check", ops, alice, nil, false},
		{"dm is not a channel ID", AccessRule{Commands: []string{"check"}, Channels: []string{dba}}, "check", dm, alice, nil, false},
		{"dm matches a direct message", AccessRule{Commands: []string{"check"}, Channels: []string{DirectMessages}}, "check", dm, alice, nil, true},
		{"dm matches no channel", AccessRule{Commands: []string{"check"}, Channels: []string{DirectMessages}}, "check", dba, alice, nil, false},
		{"the channel named dm is no direct message", AccessRule{Commands: []string{"check"}, Channels: []string{DirectMessages}}, "check", "dm", alice, nil, false},
		{"channel IDs are compared exactly", AccessRule{Commands: []string{"check"}, Channels: []string{dba}}, "check", "c0dba0001", alice, nil, false},
		{"listed user", AccessRule{Commands: []string{"check"}, Users: []string{alice}}, "check", dba, alice, nil, true},
		{"unlisted user", AccessRule{Commands: []string{"check"}, Users: []string{alice}}, "check", dba, bob, nil, false},
		{"an empty user is never listed", AccessRule{Commands: []string{"check"}, Users: []string{""}}, "check", dba, "", nil, false},
		{"user in a group", AccessRule{Commands: []string{"check"}, UserGroups: []string{oncall}}, "check", dba, bob, inOncall, true},
		{"user in no group", AccessRule{Commands: []string{"check"}, UserGroups: []string{oncall}}, "check", dba, bob, func(string) bool { return false }, false},
		{"nil inGroup means no group", AccessRule{Commands: []string{"check"}, UserGroups: []string{oncall}}, "check", dba, bob, nil, false},
		{"listed user or group member", AccessRule{Commands: []string{"check"}, Users: []string{alice}, UserGroups: []string{oncall}}, "check", dba, bob, inOncall, true},
		{"all three must match", AccessRule{Commands: []string{"check"}, Channels: []string{dba}, UserGroups: []string{oncall}}, "check", ops, bob, inOncall, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Allows(tt.verb, tt.channel, tt.user, tt.inGroup); got != tt.want {
				t.Errorf("%+v.Allows(%q, %q, %q) = %v, want %v", tt.rule, tt.verb, tt.channel, tt.user, got, tt.want)
			}
		})
	}
}

func TestAllowsAsksGroupsOnlyWhenNeeded(t *testing.T) {
	rule := AccessRule{Commands: []string{"check"}, Channels: []string{"C0DBA0001"}, Users: []string{"U0ALICE01"}, UserGroups: []string{"S0AAAAAA1", "S0BBBBBB1"}}
	tests := []struct {
		name, verb, channel, user string
		want                      []string // groups asked about, in order
	}{
		{"other verb", "show", "C0DBA0001", "U0BOB0001", nil},
		{"other channel", "check", "C0OPS0001", "U0BOB0001", nil},
		{"listed user", "check", "C0DBA0001", "U0ALICE01", nil},
		{"member of the first group", "check", "C0DBA0001", "U0A0000001", []string{"S0AAAAAA1"}},
		{"member of none", "check", "C0DBA0001", "U0BOB0001", []string{"S0AAAAAA1", "S0BBBBBB1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			rule.Allows(tt.verb, tt.channel, tt.user, func(g string) bool {
				asked = append(asked, g)
				return tt.user == "U0A0000001" && g == "S0AAAAAA1"
			})
			if !slices.Equal(asked, tt.want) {
				t.Errorf("asked about %q, want %q", asked, tt.want)
			}
		})
	}
}

func TestAccessSection(t *testing.T) {
	src := `
access:
  - commands: [check]
    channels: [C0DBA0001, dm]
    user_groups: [S0ONCALL1]
  - commands: ["*"]
    users: [U0ALICE01, W0BOB0001]
  - commands: [history, show, share, help]
`
	got := parseOK(t, src, nil, nil).Access
	want := []AccessRule{
		{Commands: []string{"check"}, Channels: []string{"C0DBA0001", "dm"}, UserGroups: []string{"S0ONCALL1"}, Line: 3},
		{Commands: []string{"*"}, Users: []string{"U0ALICE01", "W0BOB0001"}, Line: 6},
		{Commands: []string{"history", "show", "share", "help"}, Line: 8},
	}
	if diff := cmp.Diff(want, got, ignoreIndex); diff != "" {
		t.Errorf("Access mismatch (-want +got):\n%s", diff)
	}
}

func TestAccessProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "a rule needs commands",
			src:  "access:\n  - channels: [C0DBA0001]\n",
			want: []string{`t.yaml:2: access[0].commands: is required: the commands the rule allows (check, incident, history, show, share, help), or "*" for all`},
		},
		{
			name: "unknown, misspelt, repeated commands and * with others",
			src:  "access:\n  - commands: [chek, Check, deploy, check, check]\n  - commands: [check, '*']\n",
			want: []string{
				`t.yaml:2: access[0].commands[0]: "chek" is not a command, did you mean "check"?`,
				`t.yaml:2: access[0].commands[1]: "Check" is not a command, did you mean "check"?`,
				`t.yaml:2: access[0].commands[2]: "deploy" is not a command; the commands are check, incident, history, show, share, help and "*"`,
				`t.yaml:2: access[0].commands[4]: "check" is given twice`,
				`t.yaml:3: access[1].commands[1]: "*" allows every command; list no other`,
			},
		},
		{
			name: "channels",
			src: "access:\n  - commands: [check]\n    channels:\n      - '#dba'\n      - DM\n      - D0DM00001\n      - c0dba0001\n" +
				"      - C0DBA\n      - U0ALICE01\n      - C0DBA0001\n      - C0DBA0001\n",
			want: []string{
				`t.yaml:4: access[0].channels[0]: "#dba": Slack channel names change and are not unique; use the channel ID such as C0123ABCD, shown in the channel's details`,
				`t.yaml:5: access[0].channels[1]: "DM": write "dm" for direct messages`,
				`t.yaml:6: access[0].channels[2]: "D0DM00001" is one direct message conversation; write "dm" to allow direct messages`,
				`t.yaml:7: access[0].channels[3]: "c0dba0001": Slack IDs are upper case`,
				`t.yaml:8: access[0].channels[4]: "C0DBA" is not a Slack channel ID such as C0123ABCD, shown in the channel's details, or "dm"`,
				`t.yaml:9: access[0].channels[5]: "U0ALICE01" is not a Slack channel ID such as C0123ABCD, shown in the channel's details, or "dm"`,
				`t.yaml:11: access[0].channels[7]: "C0DBA0001" is given twice`,
			},
		},
		{
			name: "users and groups",
			src: "access:\n  - commands: [check]\n    users: ['@alice', S0ONCALL1, u0alice01, U0ALICE01, U0ALICE01]\n" +
				"    user_groups: ['@oncall', U0ALICE01, s0oncall1, 'S0ON CALL', S0ONCALL1]\n",
			want: []string{
				`t.yaml:3: access[0].users[0]: "@alice": user names change; use the member ID such as U0123ABCD (the user's profile, ⋮, Copy member ID)`,
				`t.yaml:3: access[0].users[1]: "S0ONCALL1" is a user group; list it under user_groups`,
				`t.yaml:3: access[0].users[2]: "u0alice01": Slack IDs are upper case`,
				`t.yaml:3: access[0].users[4]: "U0ALICE01" is given twice`,
				`t.yaml:4: access[0].user_groups[0]: "@oncall": user group handles change; use the group's ID such as S0123ABCD`,
				`t.yaml:4: access[0].user_groups[1]: "U0ALICE01" is a user; list it under users`,
				`t.yaml:4: access[0].user_groups[2]: "s0oncall1": Slack IDs are upper case`,
				`t.yaml:4: access[0].user_groups[3]: "S0ON CALL" is not a Slack user group ID such as S0123ABCD`,
			},
		},
		{
			name: "wrong shapes",
			src:  "access:\n  commands: [check]\n",
			want: []string{`t.yaml:2: access: expected a list, got a mapping`},
		},
		{
			name: "unknown key",
			src:  "access:\n  - commands: [check]\n    user_group: [S0ONCALL1]\n",
			want: []string{`t.yaml:3: access[0].user_group: unknown key, did you mean "user_groups"?`},
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

func TestValidateAccessInCode(t *testing.T) {
	cfg := &Config{Defaults: defaultDefaults(), Store: defaultStore(), Access: []AccessRule{
		{Commands: []string{"check"}, Line: 7},
		{Commands: []string{"nope"}, Line: 9},
	}}
	err := cfg.Validate()
	want := `line 9: access[1].commands[0]: "nope" is not a command; the commands are check, incident, history, show, share, help and "*"`
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

func TestAllowsUser(t *testing.T) {
	inOncall := func(g string) bool { return g == "S0ONCALL1" }
	tests := []struct {
		name string
		rule AccessRule
		user string
		want bool
	}{
		{"a channel rule allows its users anywhere it applies", AccessRule{Commands: []string{"history"}, Channels: []string{"C0DBA0001"}}, "U0ALICE01", true},
		{"another command", AccessRule{Commands: []string{"check"}}, "U0ALICE01", false},
		{"a user rule, another user", AccessRule{Commands: []string{"*"}, Users: []string{"U0BOB0001"}}, "U0ALICE01", false},
		{"a group rule, a member", AccessRule{Commands: []string{"*"}, UserGroups: []string{"S0ONCALL1"}}, "U0ALICE01", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.AllowsUser("history", tt.user, inOncall); got != tt.want {
				t.Errorf("AllowsUser = %v; want %v", got, tt.want)
			}
		})
	}
}
