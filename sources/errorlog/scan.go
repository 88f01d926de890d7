package errorlog

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/authtriage/authtriage/triage"
)

// tuning sets the sizes of the forward scan. Tests make chunks small to put entries
// across their boundaries.
type tuning struct {
	chunk   int // bytes owned by one chunk; even
	back    int // bytes read before a chunk, to find the header of a message at its start; at least maxLook+maxEntry
	fwd     int // bytes read after a chunk, for entries that cross its end and their messages; at least maxLook+maxEntry
	workers int // chunks scanned at once
}

// defaultTuning reads 2 MiB chunks: each read (back and fwd included) fits in the
// caches of one core while it is scanned, and its buffers cost the process fewer page
// faults than larger ones, for about 5% of the bytes read twice. Chunks are read with
// pread, not mapped: on the virtual machines measured, scanning mapped page-cache
// pages cost several times the CPU of copying them first.
func defaultTuning() tuning {
	return tuning{chunk: 2 << 20, back: 32 << 10, fwd: 64 << 10, workers: min(runtime.GOMAXPROCS(0), 4)}
}

// regionChunk is the chunk size of the scan for the start-up's SPN messages, which
// usually needs little more than the head.
const regionChunk = 256 << 10

// A scanJob is one forward scan of part of a file.
type scanJob struct {
	from, to int64    // the entries that start in [from, to) are looked at
	needles  []needle // what every entry of interest holds
	keep     func(*triage.LogEntry) bool
	lastTime bool // report each chunk's last timestamp
}

// A chunkResult is what the scan of one chunk found.
type chunkResult struct {
	found []found
	last  stamp // timestamp of the chunk's last entry, when asked for
	err   error
}

// scan runs j over s, in chunks read in parallel, and calls emit with each chunk's
// result in file order from the calling goroutine. emit returns false to stop the scan.
// scan returns when every goroutine it started has finished.
func (s *source) scan(ctx context.Context, t tuning, j scanJob, emit func(chunkResult) bool) error {
	if j.from >= j.to {
		return nil
	}
	nchunks := int((j.to - j.from + int64(t.chunk) - 1) / int64(t.chunk))
	workers := max(1, min(t.workers, nchunks))

	// A buffer per chunk in flight, handed out in file order and given back in file
	// order, so the oldest chunk never waits for a buffer a newer one holds. One more
	// than the workers keeps them busy while this goroutine handles a result.
	type slot struct {
		buf []byte
		n   int64 // bytes read into it
	}
	inflight := workers + 1
	free := make(chan *slot, inflight)
	// A chunk reads at most its bytes, which a short scan has fewer of than t.chunk,
	// and those around it; +1: its start is rounded down to even.
	size := min(min(int64(t.chunk), j.to-j.from)+int64(t.back+t.fwd)+1, s.size)
	for range inflight {
		free <- &slot{buf: make([]byte, 0, size)}
	}
	var wg sync.WaitGroup
	defer wg.Wait()

	type pending struct {
		res  chan chunkResult
		slot *slot
	}
	var queue []pending
	next := j.from
	launch := func() {
		a := next
		b := min(a+int64(t.chunk), j.to)
		next = b
		p := pending{res: make(chan chunkResult, 1), slot: <-free}
		queue = append(queue, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res chunkResult
			res, p.slot.n = s.chunk(ctx, t, j, a, b, p.slot.buf)
			p.res <- res
		}()
	}
	for len(queue) < inflight && next < j.to {
		launch()
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		res := <-p.res
		s.bytes += p.slot.n
		free <- p.slot
		if res.err != nil {
			return res.err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", s.path, err)
		}
		if !emit(res) {
			return nil
		}
		if next < j.to {
			launch()
		}
	}
	return nil
}

// chunk scans the entries that start in [a, b). It reads into buf's backing array and
// returns the number of bytes read. It runs on its own goroutine, so it must not
// touch s.bytes.
func (s *source) chunk(ctx context.Context, t tuning, j scanJob, a, b int64, buf []byte) (chunkResult, int64) {
	if err := ctx.Err(); err != nil {
		return chunkResult{err: fmt.Errorf("read %s: %w", s.path, err)}, 0
	}
	start := max(0, a-int64(t.back)) &^ 1
	end := min(b+int64(t.fwd), s.size)
	buf = buf[:end-start]
	n, fresh, err := s.pread(buf, start)
	var read int64 // bytes to count: none when the head already held them
	if fresh {
		read = int64(n)
	}
	if err != nil {
		return chunkResult{err: err}, read
	}
	buf = buf[:n-n%s.c.unit] // short only if the file shrank since its size was taken
	v := s.view(buf, start)
	lo := int(a - start)
	hi := int(min(b-start, int64(len(buf))))
	if lo >= hi {
		return chunkResult{}, read
	}
	res := chunkResult{found: v.find(lo, hi, j.needles, j.keep)}
	if j.lastTime {
		res.last, _ = v.lastStamp(lo, hi)
	}
	return res, read
}
