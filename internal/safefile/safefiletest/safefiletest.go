// Package safefiletest gives tests the files that block an ordinary open, and a count
// of the process's threads to show that nothing is left waiting on them.
package safefiletest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
)

// FIFO creates a named pipe with no writer in a temporary directory and returns its
// path; an ordinary open of it for reading blocks. It skips the test where named pipes
// cannot be made.
func FIFO(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(path); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	return path
}

// Threads returns the number of OS threads of the process: the Threads line of
// /proc/self/status where there is one, else the number of threads the runtime has
// created (which only grows).
func Threads(t testing.TB) int {
	t.Helper()
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					t.Fatalf("/proc/self/status: %q: %v", sc.Text(), err)
				}
				return n
			}
		}
	}
	return pprof.Lookup("threadcreate").Count()
}
