package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// An Error lists every problem found in a configuration file, sorted by line.
// Parse, Load and Validate return it as a *Error; it always holds at least one
// problem.
type Error struct {
	Problems []Problem
}

// Error returns the problems one per line, as Problem.String formats them.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// A Problem is one thing wrong in a configuration file. Line is 1-based and 0
// when unknown; Path names the field as in "hosts[1].fqdn" and is empty for
// problems with the file as a whole, such as a YAML syntax error. Msg never
// contains the value of a secret. Only Check reports warnings: what works now
// but will not for long (a certificate about to expire), or what fails one
// host's checks rather than the command (an ERRORLOG that is not there).
type Problem struct {
	File    string
	Line    int
	Path    string
	Msg     string
	Warning bool
}

// String formats the problem as "file:line: path: message", or
// "file:line: warning: path: message" for a warning, leaving out the parts that
// are unknown.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line) + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// A reporter collects the problems of one file. Decoding records the line of
// every path it visits, so that validation, which works on typed values, can
// still report lines. At most one problem is kept per path: once a path (or one
// of its parents) has a problem, later problems about it are consequences and
// are dropped.
type reporter struct {
	file     string
	problems []Problem
	lines    map[string]int  // path -> line where it is defined
	failed   map[string]bool // paths that already have a problem
	files    []fileRef       // the files X_file keys named
}

func newReporter(file string) *reporter {
	return &reporter{file: file, lines: map[string]int{}, failed: map[string]bool{}}
}

// at reports a problem at a known line, unconditionally.
func (r *reporter) at(line int, path, format string, args ...any) {
	r.problems = append(r.problems, Problem{File: r.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	r.fail(path)
}

// add reports a problem found by validation, at the line recorded for path or
// its nearest parent, unless the path or a parent already has a problem.
func (r *reporter) add(path, format string, args ...any) {
	if !r.skip(path) {
		r.at(r.line(path), path, format, args...)
	}
}

// warn reports a warning at the line recorded for path or its nearest parent,
// unless the path or a parent already has a problem. A warning does not stop
// later problems about the path.
func (r *reporter) warn(path, format string, args ...any) {
	if !r.skip(path) {
		r.problems = append(r.problems, Problem{File: r.file, Line: r.line(path), Path: path, Msg: fmt.Sprintf(format, args...), Warning: true})
	}
}

// skip reports whether path or one of its parents already has a problem.
func (r *reporter) skip(path string) bool {
	for p := path; p != ""; p = parent(p) {
		if r.failed[p] {
			return true
		}
	}
	return false
}

// fail marks path as having a problem without reporting one, because the
// problem was reported under another path.
func (r *reporter) fail(path string) {
	if path != "" {
		r.failed[path] = true
	}
}

// record remembers the line of path; the first record wins.
func (r *reporter) record(path string, line int) {
	if _, ok := r.lines[path]; !ok && line > 0 {
		r.lines[path] = line
	}
}

// line returns the line of path or of its nearest parent that has one, or 0.
func (r *reporter) line(path string) int {
	for p := path; p != ""; p = parent(p) {
		if l, ok := r.lines[p]; ok {
			return l
		}
	}
	return 0
}

// err returns the problems sorted by line as a *Error, or nil if there are none.
func (r *reporter) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	ps := slices.Clone(r.problems)
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	seen := map[Problem]bool{} // an aliased node can give the same problem twice
	ps = slices.DeleteFunc(ps, func(p Problem) bool {
		dup := seen[p]
		seen[p] = true
		return dup
	})
	return &Error{Problems: ps}
}

// field returns the path of key inside the mapping at path. Keys that are not
// plain identifiers are quoted, so that a key can never forge a path or a line
// of the error output.
func field(path, key string) string {
	if !plainKey(key) {
		return path + "[" + quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// index returns the path of the i-th element of the list at path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// parent returns the path of the mapping or list that holds path, or "". It is
// meant for paths of schema fields, whose keys are never quoted.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if !(r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// quote quotes a user-supplied string for a message: Go syntax, so that control
// characters and newlines show as escapes, and cut to 64 bytes.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return strconv.Quote(s)
}
