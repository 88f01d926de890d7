// Package shelltest reads back the command lines authtriage writes, for tests: small
// tokenizers for exactly the subset of PowerShell, cmd.exe, POSIX sh and T-SQL that
// triage.Command.Render emits. Anything outside that subset (an operator, an
// expansion, a second line, an escape the renderer never writes) is an error, so a
// test that reads a command back proves it is one command whose arguments are
// exactly the values meant.
//
// Only tests import this package.
package shelltest

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A Word is one argument of a command line as the shell reads it.
type Word struct {
	Text string
	Bare bool // written without quotes
}

// PowerShell returns the commands of a PowerShell pipeline line ("a x | b y" is two
// commands), each as its words: bare words, '...' strings (a doubled single-quote
// character stands for one; PowerShell takes U+2018, U+2019, U+201A and U+201B for
// single quotes) and "..." strings (whose only escapes are a backtick before $ or
// before another backtick). Words are separated by one space; commands by " | ". A
// bare word may hold ',' (a literal array such as AES128,AES256): callers check that
// a word from a value was not written so. The bare words $true and $false are
// PowerShell's Boolean constants.
//
// A quoted string followed by ',' and more quoted strings is an array ('a','b'), and
// @{'KEY'=ARRAY} a hashtable of one key whose value is an array of one or more quoted
// strings: each is one word, whose Text is the strings joined by a line feed (which
// no string of the one line can hold), after @{'KEY'= and before } for a hashtable.
func PowerShell(line string) ([][]Word, error) {
	if err := oneLine(line); err != nil {
		return nil, err
	}
	var cmds [][]Word
	var words []Word
	i := 0
	for i < len(line) {
		r, _ := utf8.DecodeRuneInString(line[i:])
		var w Word
		switch {
		case isPSSingleQuote(r) || isPSDoubleQuote(r):
			elems, end, err := psArray(line, i)
			if err != nil {
				return nil, err
			}
			w, i = Word{Text: strings.Join(elems, "\n")}, end
		case strings.HasPrefix(line[i:], "@{"):
			key, end, err := psQuoted(line, i+2)
			if err != nil || !strings.HasPrefix(line[end:], "=") {
				return nil, fmt.Errorf("a hashtable at %d without 'KEY'=", i)
			}
			elems, end, err := psArray(line, end+1)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(line[end:], "}") {
				return nil, fmt.Errorf("a hashtable at %d not closed after its one value", i)
			}
			w, i = Word{Text: "@{'" + key + "'=" + strings.Join(elems, "\n") + "}"}, end+1
		case r == '|':
			if len(words) == 0 {
				return nil, fmt.Errorf("a pipe with no command before it at %d", i)
			}
			if !strings.HasPrefix(line[i:], "| ") {
				return nil, fmt.Errorf("a pipe not followed by a space at %d", i)
			}
			cmds = append(cmds, words)
			words = nil
			i += 2
			continue
		default:
			end := i
			for end < len(line) && line[end] != ' ' {
				end++
			}
			w = Word{Text: line[i:end], Bare: true}
			if err := psBare(w.Text); err != nil {
				return nil, fmt.Errorf("word %q at %d: %w", w.Text, i, err)
			}
			i = end
		}
		words = append(words, w)
		switch {
		case i == len(line):
		case line[i] == ' ' && i+1 < len(line) && line[i+1] != ' ':
			i++
		default:
			return nil, fmt.Errorf("word at %d not followed by one space", i)
		}
	}
	if len(words) == 0 {
		return nil, errors.New("no command")
	}
	return append(cmds, words), nil
}

// psBare accepts a bare word PowerShell passes as it is: ASCII letters, digits,
// . _ - / : \ and ',' (a literal array such as AES128,AES256), a '$' only at its end,
// starting with a letter, '/' or '-' (a parameter or switch).
func psBare(w string) error {
	if w == "" {
		return errors.New("empty word")
	}
	if strings.EqualFold(w, "$true") || strings.EqualFold(w, "$false") {
		return nil
	}
	c := w[0]
	if !(isLetter(c) || c == '/' || c == '-') {
		return errors.New("starts with a character PowerShell may not read as text")
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case isLetter(c) || isDigit(c):
		case strings.IndexByte(`._-/:\,`, c) >= 0:
		case c == '$' && i == len(w)-1:
		default:
			return fmt.Errorf("%q outside quotes", c)
		}
	}
	return nil
}

// psArray reads the quoted strings from i on, separated by ',' with no space.
func psArray(line string, i int) ([]string, int, error) {
	var elems []string
	for {
		s, end, err := psQuoted(line, i)
		if err != nil {
			return nil, 0, err
		}
		elems = append(elems, s)
		if end >= len(line) || line[end] != ',' {
			return elems, end, nil
		}
		i = end + 1
	}
}

// psQuoted reads the '...' or "..." string that starts at i.
func psQuoted(line string, i int) (string, int, error) {
	r, n := utf8.DecodeRuneInString(line[i:])
	switch {
	case i < len(line) && isPSSingleQuote(r):
		return psSingle(line, i+n)
	case i < len(line) && isPSDoubleQuote(r):
		return psDouble(line, i+n)
	}
	return "", 0, fmt.Errorf("not a quoted string at %d", i)
}

func psSingle(line string, i int) (string, int, error) {
	var b strings.Builder
	for i < len(line) {
		r, n := utf8.DecodeRuneInString(line[i:])
		i += n
		if isPSSingleQuote(r) {
			r2, n2 := utf8.DecodeRuneInString(line[i:])
			if i < len(line) && isPSSingleQuote(r2) {
				b.WriteRune(r2)
				i += n2
				continue
			}
			return b.String(), i, nil
		}
		b.WriteRune(r)
	}
	return "", 0, errors.New("unterminated '...' string")
}

func psDouble(line string, i int) (string, int, error) {
	var b strings.Builder
	for i < len(line) {
		r, n := utf8.DecodeRuneInString(line[i:])
		i += n
		switch {
		case isPSDoubleQuote(r):
			if r2, _ := utf8.DecodeRuneInString(line[i:]); i < len(line) && isPSDoubleQuote(r2) {
				return "", 0, errors.New(`a doubled quote inside "...", which the renderer never writes`)
			}
			return b.String(), i, nil
		case r == '`':
			if i < len(line) && (line[i] == '$' || line[i] == '`') {
				b.WriteByte(line[i])
				i++
				continue
			}
			return "", 0, errors.New("a backtick escape other than `$ or `` inside \"...\"")
		case r == '$':
			return "", 0, errors.New(`an unescaped $ inside "...", which PowerShell may expand`)
		}
		b.WriteRune(r)
	}
	return "", 0, errors.New(`unterminated "..." string`)
}

func isPSSingleQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b'
}

func isPSDoubleQuote(r rune) bool {
	return r == '"' || r == '\u201c' || r == '\u201d' || r == '\u201e'
}

// CmdInert checks what cmd.exe would do with line if it were pasted at its prompt:
// it returns the operators (& | < > ^) cmd.exe would act on, outside double quotes,
// and an error for what no quoting protects: % or ! anywhere, an unbalanced quote.
// A PowerShell command is inert in cmd.exe when its operators are those of its
// template (a catalog pipeline's own '|'), never more.
func CmdInert(line string) ([]byte, error) {
	if err := oneLine(line); err != nil {
		return nil, err
	}
	var ops []byte
	in := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			in = !in
		case c == '%' || c == '!':
			return nil, fmt.Errorf("%q at %d, which cmd.exe expands", c, i)
		case !in && strings.IndexByte("&|<>^", c) >= 0:
			ops = append(ops, c)
		}
	}
	if in {
		return nil, errors.New("an unbalanced double quote")
	}
	return ops, nil
}

// Cmd returns the words of a cmd.exe command line: bare words of ASCII letters,
// digits, . _ - / : \ and a final $, and "..." words, which hold no " % or !; words
// are separated by one space.
func Cmd(line string) ([]string, error) {
	ops, err := CmdInert(line)
	if err != nil {
		return nil, err
	}
	if len(ops) > 0 {
		return nil, fmt.Errorf("operators %q outside quotes", ops)
	}
	var words []string
	for i := 0; i < len(line); {
		var w string
		if line[i] == '"' {
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			w = line[i+1 : i+1+end]
			i += end + 2
		} else {
			end := i
			for end < len(line) && line[end] != ' ' {
				end++
			}
			w = line[i:end]
			for j := 0; j < len(w); j++ {
				c := w[j]
				if !(isLetter(c) || isDigit(c) || strings.IndexByte(`._-/:\`, c) >= 0 || c == '$' && j == len(w)-1) {
					return nil, fmt.Errorf("%q outside quotes in %q", c, w)
				}
			}
			i = end
		}
		words = append(words, w)
		switch {
		case i == len(line):
		case line[i] == ' ' && i+1 < len(line) && line[i+1] != ' ':
			i++
		default:
			return nil, fmt.Errorf("word at %d not followed by one space", i)
		}
	}
	return words, nil
}

// Sh returns the words of a POSIX sh command line: each word a run of bare
// characters (ASCII letters, digits, . _ - / : @ % + = ,), '...' strings and the
// escaped quote \' (as an apostrophe in a quoted word is written); words are
// separated by one space.
func Sh(line string) ([]string, error) {
	if err := oneLine(line); err != nil {
		return nil, err
	}
	var words []string
	var b strings.Builder
	started := false
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ':
			if !started || i+1 == len(line) || line[i+1] == ' ' {
				return nil, fmt.Errorf("a space at %d that does not separate two words", i)
			}
			words = append(words, b.String())
			b.Reset()
			started = false
			i++
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated '...' string")
			}
			b.WriteString(line[i+1 : i+1+end])
			i += end + 2
			started = true
		case c == '\\':
			if i+1 == len(line) || line[i+1] != '\'' {
				return nil, fmt.Errorf("a backslash escape other than \\' at %d", i)
			}
			b.WriteByte('\'')
			i += 2
			started = true
		case isLetter(c) || isDigit(c) || strings.IndexByte("._-/:@%+=,", c) >= 0:
			b.WriteByte(c)
			i++
			started = true
		default:
			return nil, fmt.Errorf("%q outside quotes at %d", c, i)
		}
	}
	if !started {
		return nil, errors.New("no word at the end")
	}
	return append(words, b.String()), nil
}

// A Token is one token of a T-SQL statement: a keyword or other word, a [delimited]
// identifier, an N'...' string, or punctuation (= , ;).
type Token struct {
	Kind byte   // 'w' word, 'i' identifier, 's' string, 'p' punctuation
	Text string // the identifier or string without its quoting
}

// TSQL returns the tokens of one T-SQL statement ending with ';': words, [identifiers]
// (]] for ]), N'strings' (a doubled quote for one), = and , separated by one space, with the final ';'
// right after the last token. A comment, a second statement or a bare quote is an
// error.
func TSQL(line string) ([]Token, error) {
	if err := oneLine(line); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(line, ";") {
		return nil, errors.New("does not end with ';'")
	}
	body := line[:len(line)-1]
	var toks []Token
	for i := 0; i < len(body); {
		var t Token
		switch c := body[i]; {
		case c == '[':
			v, end, ok := delimited(body, i+1, ']')
			if !ok {
				return nil, errors.New("unterminated [identifier]")
			}
			t, i = Token{'i', v}, end
		case c == 'N' && i+1 < len(body) && body[i+1] == '\'':
			v, end, ok := delimited(body, i+2, '\'')
			if !ok {
				return nil, errors.New("unterminated N'string'")
			}
			t, i = Token{'s', v}, end
		case c == '=' || c == ',':
			t, i = Token{'p', string(c)}, i+1
		case isLetter(c) || c == '_':
			j := i
			for j < len(body) && (isLetter(body[j]) || isDigit(body[j]) || body[j] == '_') {
				j++
			}
			t, i = Token{'w', body[i:j]}, j
		default:
			return nil, fmt.Errorf("%q outside quotes at %d", c, i)
		}
		toks = append(toks, t)
		switch {
		case i == len(body):
		case body[i] == ' ' && i+1 < len(body) && body[i+1] != ' ':
			i++
		default:
			return nil, fmt.Errorf("token at %d not followed by one space", i)
		}
	}
	return append(toks, Token{'p', ";"}), nil
}

// delimited reads a T-SQL delimited value from s[from:] up to its closing delimiter
// delim, a doubled delimiter standing for one: the value, the index just past the
// closing delimiter, and false when there is none.
func delimited(s string, from int, delim byte) (string, int, bool) {
	var b strings.Builder
	for j := from; j < len(s); j++ {
		if s[j] == delim {
			if j+1 < len(s) && s[j+1] == delim {
				b.WriteByte(delim)
				j++
				continue
			}
			return b.String(), j + 1, true
		}
		b.WriteByte(s[j])
	}
	return "", len(s), false
}

// oneLine refuses a line with a control or line-break character, or invalid UTF-8.
func oneLine(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("control character U+%04X at %d", r, i)
		}
	}
	return nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
