package commands

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authtriage/authtriage/triage"
)

// Parse reads one command from plain text as a person typed it:
//
//	check HOST [INSTANCE]    check sqlhost01, check sqlhost01 SALES, check sqlhost01 :1433
//	incident [TAG|HOST...]   incident prod, incident sqlhost01 sqlhost02; alone: every host
//	history HOST
//	show ID
//	share ID #channel        a channel picked from the chat's list is <#C0123ABCD|dba>
//	help [COMMAND]
//
// It tolerates what people paste: the verb may be in any case, any run of spaces
// (non-breaking ones too) separates words, zero-width characters are ignored, and
// text wrapped in backticks is unwrapped. A host may also carry its instance the way
// SQL Server clients write it: sqlhost01\SALES, sqlhost01,1433 or sqlhost01:1433.
// A chat's markup is not read here: the bot decodes Slack's before calling Parse.
//
// Empty text is a request for help: Parse returns Command{Verb: VerbHelp}.
//
// Errors are sentences for the user (see UsageError and UnknownCommandError).
func Parse(text string) (Command, error) {
	words := unwrapCode(tokenize(clean(text)))
	if len(words) == 0 {
		return Command{Verb: VerbHelp}, nil
	}
	first := words[0]
	verb := Verb(strings.ToLower(first))
	if !verb.known() {
		return Command{}, &UnknownCommandError{Word: first, Suggestion: closestVerb(string(verb))}
	}
	args := words[1:]
	c := Command{Verb: verb}
	switch verb {
	case VerbCheck:
		if len(args) == 0 {
			return Command{}, usageErr(VerbCheck, "tell me which host to check, for example: check sqlhost01")
		}
		if len(args) > 2 {
			return Command{}, tooMany(VerbCheck, "a host name and, if you like, an instance", args[2:])
		}
		host, inst, hasInst, err := parseHost(VerbCheck, args[0])
		if err != nil {
			return Command{}, err
		}
		c.Host = host
		if len(args) == 2 {
			if hasInst {
				return Command{}, usageErr(VerbCheck, "the instance is given twice: in %s and as %s; give it once",
					quote(args[0]), quote(args[1]))
			}
			inst, err = parseInstance(args[1])
			if err != nil {
				return Command{}, err
			}
		}
		c.Instance = inst
	case VerbIncident:
		scope, err := parseScope(args)
		if err != nil {
			return Command{}, err
		}
		c.Scope = scope
	case VerbHistory:
		if len(args) == 0 {
			return Command{}, usageErr(VerbHistory, "tell me which host's history to show, for example: history sqlhost01")
		}
		if len(args) > 1 {
			return Command{}, tooMany(VerbHistory, "one host name", args[1:])
		}
		host, _, hasInst, err := parseHost(VerbHistory, args[0])
		if err != nil {
			return Command{}, err
		}
		if hasInst {
			return Command{}, usageErr(VerbHistory, "history is kept per host, not per instance: leave out the instance in %s", quote(args[0]))
		}
		c.Host = host
	case VerbShow:
		if len(args) == 0 {
			return Command{}, usageErr(VerbShow, "tell me which report to show: its ID is in every message of the report's thread, for example: show 7kq2m9xd")
		}
		if len(args) > 1 {
			return Command{}, tooMany(VerbShow, "one report ID", args[1:])
		}
		id, err := parseReportID(VerbShow, args[0])
		if err != nil {
			return Command{}, err
		}
		c.ReportID = id
	case VerbShare:
		if len(args) < 2 {
			return Command{}, usageErr(VerbShare, "tell me which report to share and where, for example: share 7kq2m9xd #dba")
		}
		if len(args) > 2 {
			return Command{}, tooMany(VerbShare, "a report ID and a channel", args[2:])
		}
		id, err := parseReportID(VerbShare, args[0])
		if err != nil {
			return Command{}, err
		}
		ch, err := parseChannel(args[1])
		if err != nil {
			return Command{}, err
		}
		c.ReportID, c.Channel = id, ch
	case VerbHelp:
		if len(args) > 1 {
			return Command{}, tooMany(VerbHelp, "at most the name of one command", args[1:])
		}
		if len(args) == 1 {
			w := args[0]
			topic := Verb(strings.ToLower(w))
			if !topic.known() {
				return Command{}, &UnknownCommandError{Word: w, Suggestion: closestVerb(string(topic))}
			}
			c.Topic = topic
		}
	}
	return c, nil
}

func tooMany(v Verb, takes string, extra []string) error {
	what := "is one word too many"
	if len(extra) > 1 {
		what = "are more words than it takes"
	}
	return usageErr(v, "the %s command takes %s; %s %s", v, takes, quote(strings.Join(extra, " ")), what)
}

// clean drops invalid UTF-8 and zero-width characters, which come with text pasted
// from documents and web pages.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF':
			return -1
		}
		return r
	}, s)
}

// tokenize splits s at runs of white space (unicode.IsSpace, which includes
// non-breaking spaces). A reference <...> is one word even when it contains
// spaces, as a label can.
func tokenize(s string) []string {
	var words []string
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		start := i
		if r == '<' {
			if j := strings.IndexByte(s[i:], '>'); j > 0 {
				i += j + 1
				words = append(words, s[start:i])
				continue
			}
		}
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				break
			}
			i += n
		}
		words = append(words, s[start:i])
	}
	return words
}

// unwrapCode undoes `check sqlhost01` and ```check sqlhost01```: people paste
// commands from documentation with their code marks.
func unwrapCode(words []string) []string {
	if len(words) == 0 {
		return words
	}
	first, last := words[0], words[len(words)-1]
	n := len(first) - len(strings.TrimLeft(first, "`"))
	if n == 0 || n != len(last)-len(strings.TrimRight(last, "`")) {
		return words
	}
	if len(words) == 1 && len(first) <= 2*n {
		return nil
	}
	out := append([]string(nil), words...)
	out[0] = first[n:]
	out[len(out)-1] = out[len(out)-1][:len(out[len(out)-1])-n]
	// Drop words that were only the code marks: ``` check sqlhost01 ```.
	kept := out[:0]
	for _, w := range out {
		if w != "" {
			kept = append(kept, w)
		}
	}
	return kept
}

// isReference reports whether w is a reference <...>, such as a channel picked
// from a list.
func isReference(w string) bool {
	return len(w) >= 2 && w[0] == '<' && w[len(w)-1] == '>'
}

// parseHost reads HOST, HOST\INSTANCE, HOST,PORT or HOST:PORT.
func parseHost(v Verb, s string) (host string, inst triage.Instance, hasInst bool, err error) {
	if isReference(s) {
		return "", triage.Instance{}, false, usageErr(v, "%s is not a host name", quote(s))
	}
	host = s
	if i := strings.IndexAny(s, `\,:`); i >= 0 {
		host = s[:i]
		rest := s[i+1:]
		if s[i] != '\\' {
			rest = ":" + rest // a port on the default instance
		}
		inst, err = triage.ParseInstance(rest)
		if err != nil {
			return "", triage.Instance{}, false, usageErr(v, "in %s, %s", quote(s), instanceProblem(rest))
		}
		hasInst = true
	}
	if err := triage.ValidHostName(host); err != nil {
		return "", triage.Instance{}, false, usageErr(v, "%s is not a host name I can check: %s", quote(host), hostProblem(host))
	}
	return strings.ToLower(host), inst, hasInst, nil
}

// parseScope reads the names of an incident command: at most MaxScopeNames, each
// a host name or a tag, lower-cased, repeats dropped.
func parseScope(args []string) (string, error) {
	if len(args) > MaxScopeNames {
		return "", usageErr(VerbIncident, "that is %d names; an incident takes at most %d hosts and tags: name a tag for a larger set", len(args), MaxScopeNames)
	}
	var names []string
	seen := map[string]bool{}
	for _, w := range args {
		if isReference(w) {
			return "", usageErr(VerbIncident, "%s is not a host name or tag", quote(w))
		}
		if strings.ContainsAny(w, `\,:`) {
			return "", usageErr(VerbIncident, "an incident checks every instance of its hosts: leave out the instance in %s", quote(w))
		}
		n := strings.ToLower(w)
		if ValidTag(n) != nil && triage.ValidHostName(n) != nil {
			return "", usageErr(VerbIncident, "%s is neither a host name (%s) nor a tag (1 to 32 lower-case letters, digits, dashes or underscores)", quote(w), hostProblem(w))
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return strings.Join(names, " "), nil
}

// ValidTag checks a tag as the inventory writes them: 1 to 32 lower-case letters,
// digits, '_' or '-'.
func ValidTag(t string) error {
	if t == "" || len(t) > 32 {
		return fmt.Errorf("a tag has 1 to 32 characters")
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%q is not allowed in a tag, which has lower-case letters, digits, '_' and '-'", r)
		}
	}
	return nil
}

func parseInstance(s string) (triage.Instance, error) {
	in, err := triage.ParseInstance(s)
	if err != nil {
		return triage.Instance{}, usageErr(VerbCheck, "%s is not an instance: %s", quote(s), instanceProblem(s))
	}
	return in, nil
}

// hostProblem says what is wrong with a name triage.ValidHostName rejects, without
// repeating the name (the caller quotes it, shortened).
func hostProblem(h string) string {
	switch {
	case h == "":
		return "the name is empty"
	case len(h) > 253:
		return "a host name has at most 253 characters"
	}
	for _, label := range strings.Split(h, ".") {
		switch {
		case label == "":
			return "it has an empty part between dots"
		case len(label) > 63:
			return "a part between dots has more than 63 characters"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "a part between dots starts or ends with '-'"
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Sprintf("%q is not allowed in a host name, which has letters, digits, '-' and dots", r)
			}
		}
	}
	return "it is not a DNS host name"
}

// instanceProblem says what is wrong with an instance triage.ParseInstance rejects.
func instanceProblem(s string) string {
	name, port, hasPort := strings.Cut(s, ":")
	if hasPort {
		if _, err := triage.ParsePort(port); err != nil {
			return "the port must be a number from 1 to 65535"
		}
	}
	switch {
	case name == "" && !hasPort:
		return "it is empty"
	case utf8.RuneCountInString(name) > 16:
		return "an instance name has at most 16 characters"
	}
	return "an instance name has letters, digits, '_' and '$' and starts with a letter or '_'; " +
		"write an instance as NAME, NAME:PORT or :PORT"
}

// idAlphabet is the alphabet of triage.NewID.
const idAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// parseReportID reads a report ID, ignoring case.
func parseReportID(v Verb, w string) (string, error) {
	s := strings.ToLower(w)
	if n := utf8.RuneCountInString(s); n != 8 {
		return "", usageErr(v, "%s is not a report ID: report IDs are 8 letters and digits, like 7kq2m9xd, and this has %d", quote(w), n)
	}
	for _, r := range s {
		if !strings.ContainsRune(idAlphabet, r) {
			why := "only letters and digits"
			if strings.ContainsRune("01ilo", r) {
				why = "no 0, 1, i, l or o, which are easy to confuse"
			}
			return "", usageErr(v, "%s is not a report ID: it has %q, and report IDs have %s", quote(w), r, why)
		}
	}
	return s, nil
}

// parseChannel reads <#C0123ABCD|name>, <#C0123ABCD>, #name or name.
func parseChannel(w string) (Channel, error) {
	if isReference(w) && strings.HasPrefix(w, "<#") {
		id, name, _ := strings.Cut(w[2:len(w)-1], "|")
		if !validChannelID(id) {
			return Channel{}, usageErr(VerbShare, "%s is not a channel reference", quote(w))
		}
		name = strings.ToLower(name)
		if name != "" && !validChannelName(name) {
			return Channel{}, usageErr(VerbShare, "%s is not a channel name", quote(name))
		}
		return Channel{ID: id, Name: name}, nil
	}
	name := strings.ToLower(strings.TrimPrefix(w, "#"))
	if !validChannelName(name) {
		return Channel{}, usageErr(VerbShare,
			"%s is not a channel: write #name, where a channel name is at most 80 lower-case letters, digits, '-' and '_'", quote(w))
	}
	return Channel{Name: name}, nil
}

// validChannelID accepts the IDs of public and private channels as Slack writes
// them: C or G, then upper-case letters and digits.
func validChannelID(id string) bool {
	if len(id) < 3 || len(id) > 32 || (id[0] != 'C' && id[0] != 'G') {
		return false
	}
	for _, r := range id[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// validChannelName applies the rules for channel names (Slack's): at most 80 characters,
// lower-case letters (of any script), digits, '-' and '_'.
func validChannelName(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 80 {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) && !unicode.IsUpper(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
