package config

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// syntaxError turns an error of the YAML parser into a line and a message.
//
// The parser puts "line N: " in its messages, but not always usefully: errors
// of its parser stage count lines from 0 and name the line where the enclosing
// block or bracket starts, which this function turns into a 1-based line;
// errors on the first line and errors about the characters of the file carry
// no line, which this function finds itself.
func syntaxError(err error, data []byte) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, text
			}
		}
	}
	switch {
	case parserProblem(msg):
		line++
		msg += "; check the indentation and brackets from this line on"
	case strings.HasPrefix(msg, "unknown anchor '"):
		line = lineOf(data, "*"+between(msg, "'", "'"))
	case strings.HasPrefix(msg, "anchor '"):
		line = lineOf(data, "&"+between(msg, "'", "'"))
	case line == 0:
		if l := badCharLine(data); l > 0 {
			line = l
		} else {
			line = 1
		}
	}
	return line, "syntax error: " + strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, msg)
}

// parserProblem reports whether msg comes from the parser stage of the YAML
// parser (parserc.go in go.yaml.in/yaml/v3), whose line numbers start at 0.
func parserProblem(msg string) bool {
	switch msg {
	case "did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"did not find expected '-' indicator",
		"did not find expected <document start>",
		"did not find expected <stream-start>",
		"did not find expected key",
		"did not find expected node content",
		"found duplicate %TAG directive",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

// between returns the text between the first open and the next close in s.
func between(s, open, close string) string {
	_, after, _ := strings.Cut(s, open)
	inner, _, _ := strings.Cut(after, close)
	return inner
}

// lineOf returns the line of the first occurrence of token in data that is not
// followed by another character of a YAML anchor name, or 0.
func lineOf(data []byte, token string) int {
	s := string(data)
	for off := 0; ; {
		i := strings.Index(s[off:], token)
		if i < 0 || len(token) < 2 {
			return 0
		}
		end := off + i + len(token)
		if end == len(s) || strings.ContainsRune(" \t\r\n,]}", rune(s[end])) {
			return 1 + strings.Count(s[:off+i], "\n")
		}
		off = end
	}
}

// badCharLine returns the line of the first character YAML does not allow
// (invalid UTF-8 or a control character other than tab, CR and LF), or 0.
func badCharLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		ok := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || r == 0x85 ||
			(r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || r >= 0x10000
		if (r == utf8.RuneError && size == 1) || !ok {
			return line
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return 0
}
