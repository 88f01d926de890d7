package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSummarize feeds the events of a package with a passing, a failing and a
// skipped test, and a package that did not build.
func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`wrapper: starting the test domain`,
		`{"Action":"start","Package":"a"}`,
		`{"Action":"run","Package":"a","Test":"TestOK"}`,
		`{"Action":"output","Package":"a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"pass","Package":"a","Test":"TestOK"}`,
		`{"Action":"output","Package":"a","Test":"TestSkip","Output":"=== RUN   TestSkip\n"}`,
		`{"Action":"output","Package":"a","Test":"TestSkip","Output":"    x_test.go:9: needs root: run make test\n"}`,
		`{"Action":"output","Package":"a","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}`,
		`{"Action":"skip","Package":"a","Test":"TestSkip"}`,
		`{"Action":"output","Package":"a","Test":"TestBad","Output":"=== RUN   TestBad\n"}`,
		`{"Action":"output","Package":"a","Test":"TestBad","Output":"    x_test.go:12: got 1, want 2\n"}`,
		`{"Action":"output","Package":"a","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}`,
		`{"Action":"fail","Package":"a","Test":"TestBad"}`,
		`{"Action":"output","Package":"a","Output":"FAIL\n"}`,
		`{"Action":"output","Package":"a","Output":"FAIL\ta\t0.01s\n"}`,
		`{"Action":"fail","Package":"a"}`,
		`{"Action":"build-output","ImportPath":"b","Output":"b/b.go:3:1: syntax error\n"}`,
		`{"Action":"build-fail","ImportPath":"b"}`,
		`{"Action":"output","Package":"c","Output":"PASS\n"}`,
		`{"Action":"output","Package":"c","Output":"ok  \tc\t0.02s\n"}`,
	}, "\n")
	var out bytes.Buffer
	failed, skips, err := summarize(strings.NewReader(in), &out)
	if err != nil || !failed {
		t.Fatalf("summarize = %v, %v; want failed", failed, err)
	}
	printSkips(&out, skips)
	want := "wrapper: starting the test domain\n" +
		"=== RUN   TestBad\n    x_test.go:12: got 1, want 2\n--- FAIL: TestBad (0.00s)\n" +
		"FAIL\nFAIL\ta\t0.01s\n" +
		"b/b.go:3:1: syntax error\n" +
		"ok  \tc\t0.02s\n" +
		"\nSkipped tests (1), and why:\n  a TestSkip: x_test.go:9: needs root: run make test\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestSummarizeNothing(t *testing.T) {
	if _, _, err := summarize(strings.NewReader("go: cannot find main module\n"), &bytes.Buffer{}); err == nil {
		t.Error("no event is not an error")
	}
}
