package config

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// An AccessRule says who may run which commands where. A request is allowed
// when at least one rule of Config.Access allows it (see Allows); with no rule,
// nothing is allowed but help, which the bot allows everyone.
type AccessRule struct {
	Commands   []string // verbs (check, incident, history, show, share, help) or AnyCommand; at least one
	Channels   []string // Slack channel IDs (C..., G...) or DirectMessages; empty means any channel
	Users      []string // Slack user IDs (U..., W...)
	UserGroups []string // Slack user group IDs (S...); Users and UserGroups both empty means anyone
	Line       int      // line of the file where the rule is defined; 0 if unknown
}

// AnyCommand in AccessRule.Commands allows every command.
const AnyCommand = "*"

// DirectMessages in AccessRule.Channels matches every direct message with the
// bot: channel IDs starting with "D".
const DirectMessages = "dm"

// accessVerbs returns the commands a rule may name, as package commands spells them.
func accessVerbs() []string { return []string{"check", "incident", "history", "show", "share", "help"} }

// Allows reports whether the rule lets user run verb in channel. It does when
//   - Commands lists verb or AnyCommand, and
//   - Channels is empty, lists channel, or lists DirectMessages and channel is
//     a direct message (its ID starts with "D"), and
//   - Users and UserGroups are both empty, or Users lists user, or inGroup
//     reports that user is in one of UserGroups.
//
// IDs are compared exactly. inGroup is called only when the answer depends on
// it, for the groups in the order of UserGroups until one says yes; nil means
// user is in no group.
func (r AccessRule) Allows(verb, channel, user string, inGroup func(group string) bool) bool {
	if verb == "" || !(slices.Contains(r.Commands, verb) || slices.Contains(r.Commands, AnyCommand)) {
		return false
	}
	if len(r.Channels) > 0 && !slices.ContainsFunc(r.Channels, func(c string) bool {
		if c == DirectMessages {
			return strings.HasPrefix(channel, "D")
		}
		return c == channel
	}) {
		return false
	}
	if (len(r.Users) == 0 && len(r.UserGroups) == 0) || (user != "" && slices.Contains(r.Users, user)) {
		return true
	}
	if user == "" || inGroup == nil {
		return false
	}
	return slices.ContainsFunc(r.UserGroups, inGroup)
}

// AllowsUser reports whether the rule lets user run verb in some channel: Allows
// with the channels left out. The App Home, which belongs to no channel, uses it.
func (r AccessRule) AllowsUser(verb, user string, inGroup func(group string) bool) bool {
	r.Channels = nil
	return r.Allows(verb, "", user, inGroup)
}

func decodeAccess(d *decoder, n *yaml.Node, path string) []AccessRule {
	var rules []AccessRule
	d.sequence(n, path, func(n *yaml.Node, path string) {
		a := AccessRule{Line: n.Line}
		d.mapping(n, path, fields{
			"commands":    d.strs(&a.Commands),
			"channels":    d.strs(&a.Channels),
			"users":       d.strs(&a.Users),
			"user_groups": d.strs(&a.UserGroups),
		})
		rules = append(rules, a)
	})
	return rules
}

func validateAccess(r *reporter, path string, rules []AccessRule) {
	verbs := accessVerbs()
	for i, rule := range rules {
		p := index(path, i)
		r.record(p, rule.Line)
		if len(rule.Commands) == 0 {
			r.add(field(p, "commands"), `is required: the commands the rule allows (%s), or "*" for all`, strings.Join(verbs, ", "))
		}
		eachOnce(r, field(p, "commands"), rule.Commands, func(c string) string {
			switch {
			case c == AnyCommand && len(rule.Commands) > 1:
				return `"*" allows every command; list no other`
			case c == AnyCommand || slices.Contains(verbs, c):
				return ""
			case closest(c, verbs) != "":
				return quote(c) + " is not a command, did you mean " + quote(closest(c, verbs)) + "?"
			}
			return quote(c) + ` is not a command; the commands are ` + strings.Join(verbs, ", ") + ` and "*"`
		})
		eachOnce(r, field(p, "channels"), rule.Channels, func(c string) string { return channelProblem(c, true) })
		eachOnce(r, field(p, "users"), rule.Users, userProblem)
		eachOnce(r, field(p, "user_groups"), rule.UserGroups, groupProblem)
	}
}

// eachOnce reports problem(v) for every element v of list that has one, and
// elements given twice.
func eachOnce(r *reporter, path string, list []string, problem func(string) string) {
	seen := map[string]bool{}
	for i, v := range list {
		if msg := problem(v); msg != "" {
			r.add(index(path, i), "%s", msg)
		} else if seen[v] {
			r.add(index(path, i), "%s is given twice", quote(v))
		}
		seen[v] = true
	}
}

// slackID reports whether s is a Slack ID starting with one of the letters in
// prefixes: that letter, then 6 to 31 upper-case letters and digits.
func slackID(s, prefixes string) bool {
	if len(s) < 7 || len(s) > 32 || !strings.ContainsRune(prefixes, rune(s[0])) {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// channelProblem returns what is wrong with c as a channel of a rule (dm true,
// which may also be DirectMessages) or a schedule, or "".
func channelProblem(c string, dm bool) string {
	const where = "such as C0123ABCD, shown in the channel's details"
	switch {
	case dm && c == DirectMessages, slackID(c, "CG"):
		return ""
	case dm && strings.EqualFold(c, DirectMessages):
		return quote(c) + `: write "dm" for direct messages`
	case strings.HasPrefix(c, "#"):
		return quote(c) + ": Slack channel names change and are not unique; use the channel ID " + where
	case slackID(c, "D") && dm:
		return quote(c) + ` is one direct message conversation; write "dm" to allow direct messages`
	case slackID(c, "D"):
		return quote(c) + " is a direct message conversation; give a channel ID " + where
	case slackID(strings.ToUpper(c), "CG"):
		return quote(c) + ": Slack IDs are upper case"
	case dm:
		return quote(c) + ` is not a Slack channel ID ` + where + `, or "dm"`
	}
	return quote(c) + " is not a Slack channel ID " + where
}

// userProblem returns what is wrong with u as a Slack user ID, or "".
func userProblem(u string) string {
	switch {
	case slackID(u, "UW"):
		return ""
	case strings.HasPrefix(u, "@"):
		return quote(u) + ": user names change; use the member ID such as U0123ABCD (the user's profile, ⋮, Copy member ID)"
	case slackID(u, "S"):
		return quote(u) + " is a user group; list it under user_groups"
	case slackID(strings.ToUpper(u), "UW"):
		return quote(u) + ": Slack IDs are upper case"
	}
	return quote(u) + " is not a Slack user ID such as U0123ABCD"
}

// groupProblem returns what is wrong with g as a Slack user group ID, or "".
func groupProblem(g string) string {
	switch {
	case slackID(g, "S"):
		return ""
	case strings.HasPrefix(g, "@"):
		return quote(g) + ": user group handles change; use the group's ID such as S0123ABCD"
	case slackID(g, "UW"):
		return quote(g) + " is a user; list it under users"
	case slackID(strings.ToUpper(g), "S"):
		return quote(g) + ": Slack IDs are upper case"
	}
	return quote(g) + " is not a Slack user group ID such as S0123ABCD"
}
