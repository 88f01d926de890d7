package triage

import (
	"strings"
)

// A Shell is the interpreter a remediation command is written for. The names are a
// public contract (the JSON field "shell" of a step): add new ones, never rename.
type Shell string

const (
	// ShellPowerShell is Windows PowerShell 5.1 or PowerShell 7. Every Windows
	// command in the catalog targets it: setspn, nltest, w32tm, klist and nslookup
	// run there as they do in cmd.exe, and the AD cmdlets only run there.
	ShellPowerShell Shell = "powershell"
	// ShellCmd is cmd.exe. No catalog command targets it; it is here for callers
	// that must write a command line for it.
	ShellCmd Shell = "cmd"
	// ShellTSQL is a Transact-SQL batch, run in SSMS or sqlcmd against the instance.
	ShellTSQL Shell = "tsql"
	// ShellSh is a POSIX shell on Linux (SQL Server on Linux's mssql-conf).
	ShellSh Shell = "sh"
)

// An Arg is one argument of a Command: literal text written as it is, or a slot
// that one value fills as exactly one argument.
//
// Literals are part of the catalog, never evidence: they are written verbatim, so
// a literal may hold operators of its shell (a PowerShell array "AES128,AES256", a
// T-SQL clause). A slot's value is checked for its kind (an SPN, an account name,
// ...) and quoted for the command's shell when it needs quoting.
type Arg struct {
	// Text is the literal, or for a slot the literal text the value follows in the
	// same argument ("/dsgetdc:" before the domain).
	Text string
	// Slot is a placeholder such as PHSPN; "" makes the Arg a literal.
	Slot string
	// Suffix is literal text written right after the slot's value: in T-SQL after
	// the quoted value ("];" of a statement's end), elsewhere as part of the same
	// argument.
	Suffix string
	// SQLString writes a T-SQL slot as a string literal N'...' instead of a
	// delimited identifier [...].
	SQLString bool
	// List makes the slot hold several values of its kind (see ListValue), written as
	// a PowerShell array of quoted strings, 'a','b', between Text and Suffix. Each
	// value is quoted, even one that could be bare, so that the array reads the same
	// as an argument and inside an expression such as @{'name'=...}, where a bare word
	// would be a command. Only PowerShell commands have list slots.
	List bool
}

// Lit returns a literal argument.
func Lit(s string) Arg { return Arg{Text: s} }

// Slot returns an argument filled by the value of placeholder ph.
func Slot(ph string) Arg { return Arg{Slot: ph} }

// Prefixed returns one argument made of the literal prefix followed by the value of
// placeholder ph, quoted as a whole when it needs quoting.
func Prefixed(prefix, ph string) Arg { return Arg{Text: prefix, Slot: ph} }

// Suffixed returns one argument made of the value of placeholder ph followed by the
// literal suffix.
func Suffixed(ph, suffix string) Arg { return Arg{Slot: ph, Suffix: suffix} }

// SQLString returns a T-SQL argument that writes the value of ph as N'...'.
func SQLString(ph string) Arg { return Arg{Slot: ph, SQLString: true} }

// ListSlot returns one PowerShell argument made of the literal prefix, the values of
// list placeholder ph as an array of quoted strings, and the literal suffix:
// ListSlot("@{'msDS-AllowedToDelegateTo'=", PHSPNs, "}").
func ListSlot(prefix, ph, suffix string) Arg {
	return Arg{Text: prefix, Slot: ph, Suffix: suffix, List: true}
}

// listSep separates the values of a list slot's value.
const listSep = "\n"

// ListValue returns the value of a list slot that holds vs, in order. A line feed
// inside one of vs is written as U+2028 LINE SEPARATOR, which checkChars refuses as a
// line break too: a hostile value is refused, never split into two values.
func ListValue(vs ...string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.ReplaceAll(v, listSep, "\u2028")
	}
	return strings.Join(out, listSep)
}

// listValues returns the values of a list slot's value.
func listValues(v string) []string { return strings.Split(v, listSep) }

// A Command is a remediation command as its shell sees it: a program and its
// arguments, each slot filled from evidence as one argument and quoted by Render,
// never pasted into a string. For T-SQL, Program and Args are the statement's
// pieces in order, joined by spaces.
type Command struct {
	Shell   Shell
	Program Arg
	Args    []Arg
	// Pipe, when set, is a command of the same shell that reads this one's output:
	// the two are written as one pipeline "a | b".
	Pipe *Command
}

// NewCommand returns the command program args... for shell sh.
func NewCommand(sh Shell, program string, args ...Arg) Command {
	return Command{Shell: sh, Program: Lit(program), Args: args}
}

// Render returns the command line with every slot filled from vars and quoted for
// c.Shell, on one line. A slot with no value in vars is written as its placeholder
// (such as "<SPN>"), for the reader to fill in. Render returns an
// *UnsafeValueError, never a command, when a value cannot be written so that the
// shell reads it as exactly that value and nothing more: a control, line-break,
// bidirectional or other invisible character, a character the value's kind cannot
// hold in Active Directory (see checkKind), a leading '-' or '/' a program would
// read as an option, or a character no quoting of the shell makes safe.
func (c Command) Render(vars map[string]string) (string, error) {
	var b strings.Builder
	for cmd := &c; cmd != nil; cmd = cmd.Pipe {
		if cmd != &c {
			b.WriteString(" | ")
		}
		s, err := renderArg(c.Shell, cmd.Program, vars, true)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		for _, a := range cmd.Args {
			s, err := renderArg(c.Shell, a, vars, false)
			if err != nil {
				return "", err
			}
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	return b.String(), nil
}

// Template returns the command with every slot written as its placeholder, as the
// catalog shows it: "setspn -S <SPN> <ACCOUNT>".
func (c Command) Template() string {
	s, _ := c.Render(nil) // placeholders are never refused
	return s
}

// NewStep returns the step that does text with cmd, its slots filled from vars.
// When a value cannot be written safely, the step has no command: Omitted says why,
// and so does the end of Text, for outputs that show only the text.
func NewStep(text string, cmd Command, vars map[string]string) Step {
	line, err := cmd.Render(vars)
	if err != nil {
		return Step{Text: text + ". The command is left out: " + err.Error(), Omitted: err.Error()}
	}
	return Step{Text: text, Command: line, Shell: cmd.Shell}
}

// renderArg writes one argument for shell sh: a literal as it is, a slot's value
// checked and quoted, an empty slot as its placeholder.
func renderArg(sh Shell, a Arg, vars map[string]string, program bool) (string, error) {
	if a.Slot == "" {
		return a.Text, nil
	}
	v := vars[a.Slot]
	if v == "" {
		return a.Text + a.Slot + a.Suffix, nil
	}
	unsafe := func(reason string) error { return &UnsafeValueError{Slot: a.Slot, Reason: reason} }
	if a.List {
		return renderList(sh, a, v)
	}
	if reason := checkValue(a.Slot, v); reason != "" {
		return "", unsafe(reason)
	}
	if sh != ShellTSQL && a.Text == "" {
		if r, _ := firstRune(v); r == '-' || r == '/' || isDash(r) {
			return "", unsafe("starts with " + describeRune(r) + ", which the program would read as an option")
		}
	}
	s := a.Text + v + a.Suffix
	// A value may begin with the <DOMAIN> placeholder when only the domain is not
	// known (DOMAIN\HOST$ of a virtual account): it is written as a placeholder, for
	// the reader to fill in, and quoting is chosen as if it were a plain name.
	plain := s
	if isAccountSlot(a.Slot) && strings.HasPrefix(v, PHDomain+`\`) {
		plain = strings.Replace(s, PHDomain, "DOMAIN", 1)
	}
	switch {
	case program:
		if !bare(sh, plain) {
			return "", unsafe("cannot be written as a command name")
		}
		return s, nil
	case sh == ShellTSQL && a.SQLString:
		return a.Text + "N'" + strings.ReplaceAll(v, "'", "''") + "'" + a.Suffix, nil
	case sh == ShellTSQL:
		return a.Text + "[" + strings.ReplaceAll(v, "]", "]]") + "]" + a.Suffix, nil
	case bare(sh, plain):
		return s, nil
	}
	q, reason := quote(sh, s, plain)
	if reason != "" {
		return "", unsafe(reason)
	}
	return q, nil
}

// renderList writes a list slot: each value checked for the slot's kind and quoted
// for PowerShell (quote), joined by commas between the slot's prefix and suffix.
func renderList(sh Shell, a Arg, v string) (string, error) {
	unsafe := func(reason string) error { return &UnsafeValueError{Slot: a.Slot, Reason: reason} }
	if sh != ShellPowerShell {
		return "", unsafe("is a list, which only a PowerShell command can hold")
	}
	var parts []string
	for _, e := range listValues(v) {
		if reason := checkValue(a.Slot, e); reason != "" {
			return "", unsafe(reason)
		}
		q, reason := quote(sh, e, e)
		if reason != "" {
			return "", unsafe(reason)
		}
		parts = append(parts, q)
	}
	return a.Text + strings.Join(parts, ",") + a.Suffix, nil
}

// An UnsafeValueError says why a command was left out: which value could not be
// written safely, and why. It never repeats the value, which may be hostile.
type UnsafeValueError struct {
	Slot   string // the placeholder whose value was refused, such as PHSPN
	Reason string // "contains a line break (U+000A)"
}

func (e *UnsafeValueError) Error() string { return slotNoun(e.Slot) + " " + e.Reason }

// slotNoun names the value of a placeholder in an explanation.
func slotNoun(ph string) string {
	switch ph {
	case PHSPN:
		return "the SPN"
	case PHAccount:
		return "the service account's name"
	case PHWrong:
		return "the name of the account that holds the SPN"
	case PHSam:
		return "the account's sAMAccountName"
	case PHDomain:
		return "the domain's name"
	case PHFQDN, PHHost:
		return "the host's name"
	case PHSetAD:
		return "the cmdlet's name"
	case PHLogin:
		return "the login's name"
	case PHSPNs:
		return "one of the SPNs"
	case PHPrincipals:
		return "one of the principals"
	case PHBackEndSam:
		return "the back end's sAMAccountName"
	case PHBackEndSetAD:
		return "the back end's cmdlet name"
	}
	return "a value"
}

// bare reports whether s can be written unquoted in shell sh and still be read as
// exactly s, one argument: only ASCII letters, digits and . _ - / : \ (for sh also
// @ % + = , but no backslash), and for PowerShell and cmd.exe a '$' that ends the
// argument, as a computer account's name does (DOMAIN\HOST$): PowerShell expands
// '$' in an argument only before a variable name, '(' or '{' (tokenizer.cs,
// ScanGenericToken and ScanDollarInStringExpandable), and the argument ends at the
// following space or end of line. For PowerShell the first character must be a
// letter or '/': a leading digit or '.' may be read as a number ("1kb" is 1024), a
// leading '-' as a parameter name.
func bare(sh Shell, s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '-' || c == '/' || c == ':':
		case c == '\\':
			if sh == ShellSh {
				return false
			}
		case c == '$':
			if sh == ShellSh || i != len(s)-1 {
				return false
			}
		case c == '@' || c == '%' || c == '+' || c == '=' || c == ',':
			if sh != ShellSh {
				return false
			}
		default:
			return false
		}
	}
	if sh == ShellPowerShell {
		c := s[0]
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '/'
	}
	return true
}

// Characters cmd.exe acts on in a command line pasted at its prompt: outside double
// quotes the operators & | < > and the escape ^; anywhere, quotes or not, %NAME%
// expansion, !NAME! expansion (when delayed expansion is on), and the double quote
// itself, which opens or closes quoting.
//
// Sources: "set", Microsoft Learn,
// https://learn.microsoft.com/windows-server/administration/windows-commands/set_1
// ("<, >, |, &, ^ are special command shell characters, and they must be preceded by
// the escape character (^) or enclosed in quotation marks"; %NAME% at the command
// prompt; delayed expansion with cmd /v), and "cmd",
// https://learn.microsoft.com/windows-server/administration/windows-commands/cmd
// (the exclamation point substitutes a variable under delayed expansion).
const cmdOperators = `&|<>^`

// quote returns s quoted for shell sh, or why it cannot be. plain is s with any
// placeholder replaced by a plain name; the choice of quoting is made on it.
//
// PowerShell: single quotes, with every single-quote character doubled; PowerShell
// takes U+2018, U+2019, U+201A and U+201B for single quotes too, and a doubled one
// stands for itself (tokenizer.cs, ScanStringLiteral, and CharTraits.cs,
// IsSingleQuote, in github.com/PowerShell/PowerShell; "about_Quoting_Rules",
// https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules).
// A PowerShell command is often pasted into cmd.exe by mistake, where single quotes
// mean nothing: a value holding a cmd.exe operator is double-quoted instead, which
// both shells honour, with PowerShell's $ and ` escaped by a backtick. A value that
// neither form keeps inert in cmd.exe (% or ! anywhere; a double quote) is refused.
//
// cmd.exe: double quotes, which make & | < > ^ literal; % ! and " are refused, as
// no quoting protects them.
//
// sh: single quotes; a ' inside is written as the four characters ' \ ' ' without
// the spaces: close the quotes, an escaped quote, open them again (POSIX "Shell
// Command Language", 2.2.1 Escape Character and 2.2.2 Single-Quotes).
//
// Quoted Windows arguments must not end with a backslash: a program reading its
// command line (CommandLineToArgvW) takes \" for a literal quote.
func quote(sh Shell, s, plain string) (string, string) {
	switch sh {
	case ShellSh:
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", ""
	case ShellCmd:
		if r, ok := firstOf(plain, `"%!`); ok {
			return "", "contains " + describeRune(r) + ", which cmd.exe reads even inside quotes"
		}
		if strings.HasSuffix(s, `\`) {
			return "", `ends with '\', which Windows programs misread before a closing quote`
		}
		return `"` + s + `"`, ""
	case ShellPowerShell:
		if strings.HasSuffix(s, `\`) {
			return "", `ends with '\', which Windows programs misread before a closing quote`
		}
		if r, ok := firstOf(plain, `%!`); ok {
			return "", "contains " + describeRune(r) + ", which cmd.exe expands even inside quotes if the command is pasted there"
		}
		if _, ok := firstOf(plain, cmdOperators+`"`); !ok {
			var b strings.Builder
			b.WriteByte('\'')
			for _, r := range s {
				b.WriteRune(r)
				if isSingleQuote(r) {
					b.WriteRune(r)
				}
			}
			b.WriteByte('\'')
			return b.String(), ""
		}
		for _, r := range plain {
			if isDoubleQuote(r) {
				return "", "contains " + describeRune(r) + " with characters cmd.exe acts on, which no quoting keeps to one argument in both PowerShell and cmd.exe"
			}
		}
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range s {
			if r == '$' || r == '`' {
				b.WriteByte('`')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
		return b.String(), ""
	}
	return "", "cannot be written for shell " + describeShell(sh)
}

func describeShell(sh Shell) string {
	if sh == "" {
		return "(none)"
	}
	return string(sh)
}

// isSingleQuote reports whether PowerShell reads r as a single quote.
func isSingleQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b'
}

// isDoubleQuote reports whether PowerShell reads r as a double quote.
func isDoubleQuote(r rune) bool {
	return r == '"' || r == '\u201c' || r == '\u201d' || r == '\u201e'
}

// isDash reports whether PowerShell reads r as the dash that starts a parameter:
// '-', and the en dash, em dash and horizontal bar (CharTraits.cs, IsDash).
func isDash(r rune) bool {
	return r == '-' || r == '\u2013' || r == '\u2014' || r == '\u2015'
}

// firstOf returns the first rune of s that is in set.
func firstOf(s, set string) (rune, bool) {
	if i := strings.IndexAny(s, set); i >= 0 {
		r, _ := firstRune(s[i:])
		return r, true
	}
	return 0, false
}
