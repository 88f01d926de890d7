package errorlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// A source is one file of the log: its bytes and what has been learnt about it.
type source struct {
	path string // as given, for errors and Summary.Files
	log  string // base name, for LogEvent.Log
	r    io.ReaderAt
	size int64
	open func(context.Context) (*os.File, error) // nil when r is given
	file *os.File
	seen *openedFiles // the files this read has opened, shared by its sources; nil when r is given
	dup  *source      // the source already read that is the same file as this one, if any

	c     codec
	head  *head
	zone  *time.Location
	last  *stamp // the newest entry, once the tail has been read; zero stamp if none
	bytes int64  // bytes read

	// What the tail read found, for Summary.Notes: the file does not end with a line
	// end; its last entry, earlier than the newest when the clock went back; the first
	// entry found that was too late to count (see maxSetback).
	cut       bool
	lastEntry stamp
	beyond    stamp

	// The last block of the file, kept once read: the newest entry and the start of
	// a short window are both found in it.
	tail    []byte
	tailOff int64

	// Where newest stopped reading backwards: a scan from walkStart sees every entry
	// at or after walkFrom, so windowStart need not read again for a later start.
	walkFrom  time.Time
	walkStart int64
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

// ensureOpen opens the file if it is not open yet. A file that another source of the
// read has opened already (the same path twice, a symbolic or hard link to it) is
// closed again and its source marked as a duplicate of that one.
func (s *source) ensureOpen(ctx context.Context) error {
	if s.r != nil || s.dup != nil {
		return nil
	}
	f, err := s.open(ctx)
	if err != nil {
		return err // names the file
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if s.seen != nil {
		if s.dup = s.seen.same(fi); s.dup != nil {
			f.Close()
			return nil
		}
		s.seen.add(s, fi)
	}
	s.file, s.r, s.size = f, f, fi.Size()
	return nil
}

// openedFiles are the files one read has opened, by identity.
type openedFiles struct {
	srcs  []*source
	infos []fs.FileInfo
}

// same returns the source that opened the file fi describes, or nil.
func (o *openedFiles) same(fi fs.FileInfo) *source {
	for i, seen := range o.infos {
		if os.SameFile(seen, fi) {
			return o.srcs[i]
		}
	}
	return nil
}

func (o *openedFiles) add(s *source, fi fs.FileInfo) {
	o.srcs, o.infos = append(o.srcs, s), append(o.infos, fi)
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
	if err := s.ensureOpen(ctx); err != nil {
		return err
	}
	if s.dup != nil { // read as the source it duplicates: here it holds nothing
		s.c, s.head = newCodec(encUTF8, 0), &head{empty: true}
		return nil
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
	if odd := s.size % int64(s.c.unit); odd != 0 {
		s.size -= odd // a last odd byte of UTF-16 is no character, but the end of one cut short
		s.cut = true
	}
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

// maxSetback is how far back the clock may go and the window still end at the latest
// time written. Entry times are civil times in the server's zone (see stamp), so when
// its clock goes back (a daylight-saving change, by an hour; a time sync), entries
// written later carry earlier times.
// The reader reads this much of a file's end beyond the window for later times, and
// an entry more than this later than the file's last entry does not count: a corrupt
// line, or one forged through a name a client chose, would otherwise move the window
// away from every real entry.
const (
	maxSetback     = time.Hour
	maxSetbackText = "an hour" // maxSetback in words, for Summary.Notes
)

// minSetback is the smallest step back in time worth a note: smaller ones are entries
// of other threads written a moment late.
const minSetback = time.Minute

// newest returns the latest entry time of the file, zero for a file without entries.
// It reads the file backwards from the end, once, for two things: entries later than
// the last one (the clock went back since they were written), back to an entry
// written maxSetback before the latest seen; and where a scan must start to see every
// entry at or after from, or latest-since when from is zero (see windowStart). On the
// way it notes whether the file ends with a line end.
func (s *source) newest(ctx context.Context, since time.Duration, from time.Time) (stamp, error) {
	if s.last != nil {
		return *s.last, nil
	}
	if s.head.empty {
		s.last = &stamp{}
		return *s.last, nil
	}
	w := tailWalk{s: s, since: since, from: from, start: -1}
	if err := s.backwards(ctx, w.block); err != nil {
		return stamp{}, err
	}
	if w.newest.isZero() { // no entry found, which the head says there is
		w.last, w.newest, w.newestAt = s.head.first, s.head.first, s.head.first.in(s.zone)
	}
	s.last, s.lastEntry, s.beyond = &w.newest, w.last, w.beyond
	s.walkFrom, s.walkStart = w.windowFrom(), max(w.start, 0)
	return w.newest, nil
}

// A tailWalk is the state of newest's read backwards, one block at a time.
type tailWalk struct {
	s     *source
	since time.Duration
	from  time.Time // the window's start; zero for newestAt-since

	last     stamp     // the file's last entry
	limit    time.Time // a later entry does not count
	newest   stamp
	newestAt time.Time
	key      []byte // newest's timestamp as encoded in the file: a line that starts with one not above it is not later
	beyond   stamp  // the first entry found later than limit
	settled  bool   // no entry before the blocks read can be later than newest
	start    int64  // offset of the entry to scan from; -1 until found
}

func (w *tailWalk) windowFrom() time.Time {
	if !w.from.IsZero() {
		return w.from
	}
	return w.newestAt.Add(-w.since)
}

// block handles one block, [lo, hi) of v, and reports whether the walk is done.
func (w *tailWalk) block(v *view, lo, hi int) bool {
	s := w.s
	if w.key == nil && !bytes.HasSuffix(v.buf[:hi], v.c.nl) { // the end of the file
		s.cut = true
	}
	first, f := -1, stamp{}
	for p := lo; p < hi; p = v.c.lineEnd(v.buf, p) {
		if st, ok := v.stampAt(p); ok {
			first, f = p, st
			break
		}
	}
	if first < 0 {
		return false
	}
	if w.key == nil {
		p, st := v.lastEntry(first, hi)
		w.last, w.newest, w.newestAt = st, st, st.in(s.zone)
		w.limit = w.newestAt.Add(maxSetback)
		w.key = bytes.Clone(v.buf[p : p+stampLen*v.c.unit])
	}
	if !w.settled {
		for p := first; p < hi; p = v.c.lineEnd(v.buf, p) {
			if p+len(w.key) > len(v.buf) || bytes.Compare(v.buf[p:p+len(w.key)], w.key) <= 0 {
				continue
			}
			st, ok := v.stampAt(p)
			if !ok {
				continue
			}
			switch t := st.in(s.zone); {
			case t.After(w.limit):
				if w.beyond.isZero() {
					w.beyond = st
				}
			case t.After(w.newestAt):
				w.newest, w.newestAt = st, t
				w.key = append(w.key[:0], v.buf[p:p+len(w.key)]...)
				w.start = -1 // the clock went back: the entries before the start found may not be older than the window
			}
		}
		// An entry written before f is at most maxSetback later than f.
		w.settled = !f.in(s.zone).Add(maxSetback).After(w.newestAt)
	}
	if w.start < 0 {
		// As windowStart: the entry before the block's first one in the window.
		from := w.windowFrom()
		if !s.head.first.in(s.zone).Before(from) {
			w.start = 0
		} else if cand := s.lastBefore(v, first, hi, from); cand >= 0 {
			w.start = v.off + int64(cand)
		}
	}
	return w.settled && w.start >= 0
}

// lastBefore returns the position in v.buf of the last entry in [lo, hi) that is older
// than from, stopping at the first one that is not, or -1 when there is none.
func (s *source) lastBefore(v *view, lo, hi int, from time.Time) int {
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
	return cand
}

// windowStart returns the offset of the entry to start a forward scan from to see
// every entry at or after from: the last entry older than from, found by reading
// backwards from the end. Entries are in time order, give or take the odd entry of
// another thread written a moment late. newest must have been called.
func (s *source) windowStart(ctx context.Context, from time.Time) (int64, error) {
	if !s.head.first.in(s.zone).Before(from) {
		return 0, nil
	}
	if !from.Before(s.walkFrom) {
		return s.walkStart, nil // the scan start newest found holds for any later from
	}
	var at int64 = -1
	err := s.backwards(ctx, func(v *view, lo, hi int) bool {
		if cand := s.lastBefore(v, lo, hi, from); cand >= 0 {
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
