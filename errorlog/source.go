package errorlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// A source is one file of the log: its bytes and what has been learnt about it.
type source struct {
	path string // as given, for errors and Summary.Files
	log  string // base name, for LogEvent.Log
	r    io.ReaderAt
	size int64
	open func() (*os.File, error) // nil when r is given
	file *os.File

	c     codec
	head  *head
	zone  *time.Location
	last  *stamp // the newest entry, once the tail has been read; zero stamp if none
	bytes int64  // bytes read

	// The last block of the file, kept once read: the newest entry and the start of
	// a short window are both found in it.
	tail    []byte
	tailOff int64
}

// readAt reads len(p) bytes at off, or fewer at the end of the file, and counts them.
// A file that shrank since its size was taken reads as ending early.
func (s *source) readAt(p []byte, off int64) (int, error) {
	n, fresh, err := s.pread(p, off)
	if fresh {
		s.bytes += int64(n)
	}
	return n, err
}

// pread reads len(p) bytes at off, or fewer at the end of the file, from the head
// already read when it holds them (fresh is false), else from the file. It does not
// count the bytes, so chunk scans can call it concurrently.
func (s *source) pread(p []byte, off int64) (n int, fresh bool, err error) {
	if s.head != nil && off+int64(len(p)) <= int64(len(s.head.buf)) {
		return copy(p, s.head.buf[off:]), false, nil
	}
	if s.tail != nil && off >= s.tailOff && off+int64(len(p)) <= s.tailOff+int64(len(s.tail)) {
		return copy(p, s.tail[off-s.tailOff:]), false, nil
	}
	n, err = s.r.ReadAt(p, off)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		return n, true, fmt.Errorf("read %s: %w", s.path, err)
	}
	return n, true, nil
}

// ensureOpen opens the file if it is not open yet.
func (s *source) ensureOpen() error {
	if s.r != nil {
		return nil
	}
	f, err := s.open()
	if err != nil {
		return err // *PathError, which names the file
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if fi.IsDir() {
		f.Close()
		return fmt.Errorf("read %s: is a directory", s.path)
	}
	s.file, s.r, s.size = f, f, fi.Size()
	return nil
}

func (s *source) close() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// readHead reads the start of the file: its encoding and start-up facts.
func (s *source) readHead(ctx context.Context) error {
	if s.head != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	if err := s.ensureOpen(); err != nil {
		return err
	}
	hs := int64(headSize)
	if s.size <= smallFile {
		hs = s.size // read a small file at once
	}
	buf := make([]byte, hs)
	n, err := s.readAt(buf, 0)
	if err != nil {
		return err
	}
	if n < len(buf) {
		s.size = int64(n) // the file is shorter than it said
	}
	buf = buf[:n]
	s.c = detect(buf)
	s.size -= s.size % int64(s.c.unit) // a last odd byte of UTF-16 is no character
	buf = buf[:min(int64(n), s.size)]
	v := &view{c: s.c, buf: buf, top: min(s.c.bom, len(buf))}
	h, err := parseHead(v, s.size)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.head = &h
	return nil
}

// view returns a view of buf, read from offset off.
func (s *source) view(buf []byte, off int64) *view {
	v := &view{c: s.c, buf: buf, off: off, top: -1, zone: s.zone}
	if off == 0 {
		v.top = min(s.c.bom, len(buf))
	}
	return v
}

// Sizes of the blocks read backwards from the end of a file: the first is small, as a
// tail read usually needs little, and each next one is twice as large.
const (
	firstBlock = 64 << 10
	maxBlock   = 4 << 20
)

// backwards reads the file in blocks from the end towards the start, calling fn with
// each block's view and the part of it that holds whole lines not seen before; a
// little of the next block is read again so that a line cut by the block's end is
// whole in the block before. fn returns true to stop.
func (s *source) backwards(ctx context.Context, fn func(v *view, lo, hi int) bool) error {
	end := s.size
	blk := int64(firstBlock)
	for end > int64(s.c.bom) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", s.path, err)
		}
		start := max(0, end-blk) &^ 1
		over := min(s.size-end, int64(2*stampLen*s.c.unit)) // enough to hold a timestamp
		buf := make([]byte, end+over-start)
		n, err := s.readAt(buf, start)
		if err != nil {
			return err
		}
		buf = buf[:n-n%s.c.unit]
		if s.tail == nil && end == s.size {
			s.tail, s.tailOff = buf, start
		}
		v := s.view(buf, start)
		lo := v.top
		if lo < 0 {
			// The first line may have begun in the block before: skip it.
			if lo = v.c.lineEnd(buf, 0); lo >= len(buf) {
				lo = len(buf)
			}
		}
		hi := int(min(end-start, int64(len(buf))))
		if fn(v, lo, hi) {
			return nil
		}
		if start == 0 {
			return nil
		}
		end = start
		if lo < hi {
			end += int64(lo) // the skipped line is read whole next time
		}
		blk = min(2*blk, maxBlock)
	}
	return nil
}

// newest returns the timestamp of the file's newest entry, read from its tail, and
// false for a file without entries.
func (s *source) newest(ctx context.Context) (stamp, error) {
	if s.last != nil {
		return *s.last, nil
	}
	var last stamp
	if !s.head.empty {
		err := s.backwards(ctx, func(v *view, lo, hi int) bool {
			var ok bool
			last, ok = v.lastStamp(lo, hi)
			return ok
		})
		if err != nil {
			return stamp{}, err
		}
		if last.isZero() {
			last = s.head.first
		}
	}
	s.last = &last
	return last, nil
}

// windowStart returns the offset of the entry to start a forward scan from to see
// every entry at or after from: the last entry older than from, found by reading
// backwards from the end. Entries are in time order, give or take the odd entry of
// another thread written a moment late.
func (s *source) windowStart(ctx context.Context, from time.Time) (int64, error) {
	if !s.head.first.in(s.zone).Before(from) {
		return 0, nil
	}
	var at int64 = -1
	err := s.backwards(ctx, func(v *view, lo, hi int) bool {
		cand := -1
		for p := lo; p < hi; p = v.c.lineEnd(v.buf, p) {
			st, ok := v.stampAt(p)
			if !ok {
				continue
			}
			if !st.in(s.zone).Before(from) {
				break
			}
			cand = p
		}
		if cand >= 0 {
			at = v.off + int64(cand)
			return true
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	return max(at, 0), nil
}
