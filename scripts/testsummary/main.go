// Command testsummary reads `go test -json` on stdin and prints what `go test` prints
// without -v (each package's result line, and the whole output of failed tests and of
// builds that failed), then every skipped test with the reason it gave. It exits 1 when
// a test or a build failed, or when the input had no test event at all. Lines that are
// not test events (a wrapper's messages) are printed as they come.
//
//	go test -json ./... | go run ./scripts/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is one skipped test and why.
type skip struct {
	pkg, test, reason string
}

func main() {
	failed, skips, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	printSkips(os.Stdout, skips)
	if failed {
		os.Exit(1)
	}
}

// summarize copies r's results to w as go test prints them and returns whether
// anything failed, and the skipped tests.
func summarize(r io.Reader, w io.Writer) (failed bool, skips []skip, err error) {
	out := map[string][]string{} // package + "\x00" + test -> its output so far
	events := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
			fmt.Fprintln(w, line)
			continue
		}
		events++
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "output":
			if e.Test == "" {
				if o := strings.TrimRight(e.Output, "\n"); o != "PASS" && !strings.HasPrefix(o, "=== ") {
					fmt.Fprint(w, e.Output) // ok/FAIL lines, package-level messages
				}
				continue
			}
			out[key] = append(out[key], e.Output)
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			failed = true
		case "fail":
			failed = true
			fmt.Fprint(w, strings.Join(out[key], ""))
			delete(out, key)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, reason(out[key])})
			}
			delete(out, key)
		case "pass":
			delete(out, key)
		}
	}
	if err := sc.Err(); err != nil {
		return true, skips, err
	}
	if events == 0 {
		return true, skips, fmt.Errorf("no test ran (no go test -json event on the input)")
	}
	return failed, skips, nil
}

// reason returns what a skipped test logged, without go test's own lines.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " / ")
}

// printSkips lists the skipped tests by package and name.
func printSkips(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "\nNo test skipped.")
		return
	}
	slices.SortFunc(skips, func(a, b skip) int {
		return strings.Compare(a.pkg+"\x00"+a.test, b.pkg+"\x00"+b.test)
	})
	fmt.Fprintf(w, "\nSkipped tests (%d), and why:\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
	}
}
