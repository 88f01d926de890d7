package safefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBound opens through an open function that hangs, as an open on a hung network
// mount does: no more than the limit run at once, callers return at their deadline,
// and the files of abandoned opens are closed when the opens return.
func TestBound(t *testing.T) {
	const limit = 2
	o := NewOpener(limit)
	dir := t.TempDir()
	file := filepath.Join(dir, "ERRORLOG")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 100)
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	var opened []*os.File
	o.open = func(string) (*os.File, error) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		entered <- struct{}{}
		<-release
		inFlight.Add(-1)
		f, err := os.Open(file)
		mu.Lock()
		opened = append(opened, f)
		mu.Unlock()
		return f, err
	}

	ctx, cancel := context.WithCancel(t.Context())
	const callers = 10
	errs := make(chan error, callers)
	for range callers {
		go func() {
			f, err := o.Open(ctx, "/mnt/hung/ERRORLOG")
			if err == nil {
				f.Close()
			}
			errs <- err
		}()
	}
	for range limit {
		<-entered
	}
	cancel()
	for range callers {
		err := <-errs
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Open on a hung file system: %v; want context.Canceled", err)
		}
	}
	if len(entered) != 0 || peak.Load() != limit {
		t.Errorf("%d opens ran at once; want %d", peak.Load()+int32(len(entered)), limit)
	}

	// With every slot held by a hung open, the next caller gives up at its deadline.
	short, cancelShort := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancelShort()
	_, err := o.Open(short, "/mnt/hung/ERRORLOG.1")
	if want := "gave up at the deadline waiting behind 2 opens"; err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open with every slot held: %v; want %q and context.DeadlineExceeded", err, want)
	}

	close(release)
	for range limit { // the slots come back once the abandoned opens have closed their files
		o.slots <- struct{}{}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(opened) != limit {
		t.Fatalf("%d opens returned; want %d", len(opened), limit)
	}
	for _, f := range opened {
		if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("the file of an abandoned open is still open (Stat: %v)", err)
		}
	}
}
