//go:build unix

package safefile

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/safefile/safefiletest"

	"golang.org/x/sys/unix"
)

// TestBoundThreads hangs real opens, each holding an OS thread in the kernel (a
// blocking open of a FIFO with no writer), and shows that many callers past their
// deadline add no more threads than the limit.
func TestBoundThreads(t *testing.T) {
	const limit = 4
	fifo := safefiletest.FIFO(t)
	o := NewOpener(limit)
	o.open = func(path string) (*os.File, error) { return os.Open(path) } // blocks until a writer opens
	before := safefiletest.Threads(t)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			if f, err := o.Open(ctx, fifo); err == nil {
				f.Close()
				t.Error("Open of a FIFO with no writer succeeded")
			}
		})
	}
	wg.Wait()
	after := safefiletest.Threads(t)
	// Let the hung opens return: open the FIFO for writing until every slot is back.
	w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err == nil {
		defer w.Close()
	}
	for range limit {
		o.slots <- struct{}{}
	}
	if after > before+limit+4 {
		t.Errorf("threads: %d before, %d after 50 opens that hung (limit %d)", before, after, limit)
	}
}
