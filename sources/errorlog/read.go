package errorlog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/triage"
)

// ErrNotLog is returned, wrapped with the file's name, for a file that is not a SQL
// Server error log.
var ErrNotLog = errors.New("not a SQL Server error log")

// ErrEmpty is returned, wrapped with the files' names and what they hold, when no file
// read holds an entry (0 bytes, only blank lines): such a log can neither show a
// failure nor rule one out.
var ErrEmpty = errors.New("holds nothing")

// Options control which part of the log is read.
type Options struct {
	// Since is the length of the time window; 0 means 24 hours.
	Since time.Duration
	// End is the end of the window. Zero means the time of the newest entry in the
	// files, which suits copied logs; callers pass time.Now() for live logs. The newest
	// entry is the latest time written, which is not the last entry's when the clock
	// went back (a daylight-saving change, a time sync) since it was written; an entry
	// more than an hour later than its file's last entry does not count.
	End time.Time
	// Location is the zone of entry times when the log has no "UTC adjustment" line;
	// nil means UTC.
	Location *time.Location
	// Progress, if not nil, is called now and then during long scans, from the
	// goroutine that called Read or ReadFiles, with the bytes read so far and the
	// bytes the read expects to read in all.
	Progress func(done, total int64)
}

// Summary is what a read found.
type Summary struct {
	// Events are the entries of interest in the window, grouped by triage.LogGrouper,
	// in the order of their first entry. The SPN registration messages of the newest
	// start-up are included even when the start-up is older than the window, since
	// they describe the running process.
	Events []triage.LogEvent
	// Server holds the facts of the newest start-up found, nil if none was seen. When
	// only a log cycled by sp_cycle_errorlog repeats them, StartedAt is zero.
	Server *triage.ServerInfo
	// Files are the files read, newest first.
	Files []string
	// From and To are the window used: entries written in [From, To] were counted.
	From, To time.Time
	// Trend counts the 17806, 18452 and 18456 entries of the window per hour, over the
	// hours of the last day of the window (see triage.NewTrend: they end with the hour
	// holding To); nil when the window holds none.
	Trend *triage.Trend
	// Bytes is the number of bytes read, which shows how little of a large log a
	// short window needs.
	Bytes int64
	// Notes say, one sentence each naming its file, what limits what the files show:
	// a file that holds nothing or was read already through another path, one that
	// ends in the middle of a line, a "UTC adjustment" that does not parse, the clock
	// going back.
	Notes []string
}

// startupSpan bounds the start-up: SPN messages written more than this long after the
// first entry of the newest start-up count only when they are in the window.
const startupSpan = 15 * time.Minute

// maxRollover is the highest number of ERRORLOG.n that SQL Server keeps.
const maxRollover = 99

// ReadFiles reads the error log files at paths. A path whose base name is ERRORLOG
// (in any case, without extension) stands for the whole set SQL Server rotates:
// ERRORLOG, ERRORLOG.1, ERRORLOG.2 ... in the same directory, up to the first number
// missing; older files of the set are read only while they can hold entries of the
// window. Other paths are read as given. A file reached through two paths (the same
// path twice, a symbolic or hard link) is read once, through the first.
//
// Files are opened with safefile.Open under ctx, so a path that is not a regular file
// (a FIFO, a device) is refused without blocking, and an open that the file system
// does not answer ends at ctx's deadline. Errors name the file. A file that is not an
// error log yields an error that wraps ErrNotLog, one that is not a regular file one
// that wraps safefile.ErrNotRegular, and a read whose files hold no entry at all one
// that wraps ErrEmpty.
func ReadFiles(ctx context.Context, paths []string, opt Options) (Summary, error) {
	groups := expand(paths)
	defer func() {
		for _, g := range groups {
			for _, s := range g.files {
				s.close()
			}
		}
	}()
	return read(ctx, groups, opt, defaultTuning())
}

// Read reads one error log file's content, size bytes from r, as ReadFiles reads a
// single file; name is the file's name, as errors, Summary.Files and Summary.Notes
// show it.
func Read(ctx context.Context, r io.ReaderAt, size int64, name string, opt Options) (Summary, error) {
	return readOne(ctx, r, size, name, opt, defaultTuning())
}

func readOne(ctx context.Context, r io.ReaderAt, size int64, name string, opt Options, t tuning) (Summary, error) {
	if size < 0 {
		return Summary{}, fmt.Errorf("read %s: negative size %d", name, size)
	}
	s := &source{path: name, log: logName(name), r: r, size: size}
	return read(ctx, []group{{files: []*source{s}}}, opt, t)
}

// A group is the files of one path given: a rotated set, newest first, or one file.
type group struct {
	files    []*source
	rollover bool
}

// expand turns the paths given into groups of files, each path once; the sources
// share what they open, to read each file once.
func expand(paths []string) []group {
	opened := &openedFiles{}
	seen := map[string]bool{}
	add := func(g *group, path string) {
		key := filepath.Clean(path)
		if abs, err := filepath.Abs(path); err == nil {
			key = abs
		}
		if seen[key] {
			return
		}
		seen[key] = true
		g.files = append(g.files, &source{path: path, log: logName(path), seen: opened, open: func(ctx context.Context) (*os.File, error) {
			return safefile.Open(ctx, path)
		}})
	}
	var groups []group
	for _, p := range paths {
		var g group
		add(&g, p)
		if strings.EqualFold(filepath.Base(p), "errorlog") {
			g.rollover = true
			for n := 1; n <= maxRollover; n++ {
				q := p + "." + strconv.Itoa(n)
				if _, err := os.Stat(q); errors.Is(err, fs.ErrNotExist) {
					break
				}
				add(&g, q) // an unreadable file is reported when it is opened
			}
		}
		if len(g.files) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}

// logName returns the name a file is shown by in LogEvent.Log: its base name.
func logName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		path = path[i+1:]
	}
	return path
}

// A run is the state of one read.
type run struct {
	opt       Options
	t         tuning
	since     time.Duration
	loc       *time.Location
	from, end time.Time
	groups    []group
	total     int64 // bytes the read expects to read, for Progress
	trend     *triage.Trend
	counted   int // entries counted in trend
}

// read reads groups as ReadFiles describes: the heads of the newest files for the
// zone and the start-up, the window, the files that overlap it, then their scans.
func read(ctx context.Context, groups []group, opt Options, t tuning) (Summary, error) {
	if opt.Since < 0 {
		return Summary{}, fmt.Errorf("negative time window %s", opt.Since)
	}
	since := cmp.Or(opt.Since, 24*time.Hour)
	r := &run{opt: opt, t: t, since: since, loc: cmp.Or(opt.Location, time.UTC), groups: groups}

	// The heads of the newest files, and of older ones up to the newest start-up.
	for gi := range groups {
		g := &groups[gi]
		n := 1
		if g.rollover {
			n = len(g.files)
		}
		for _, s := range g.files[:n] {
			if err := s.readHead(ctx); err != nil {
				return Summary{}, err
			}
			if s.head.startup {
				break
			}
		}
		r.zones(g)
	}
	if err := r.holdsSomething(); err != nil {
		return Summary{}, err
	}

	// The window.
	r.end = opt.End
	if r.end.IsZero() {
		for gi := range groups {
			last, err := r.newestIn(ctx, &groups[gi])
			if err != nil {
				return Summary{}, err
			}
			if last.After(r.end) {
				r.end = last
			}
		}
	}
	if r.end.IsZero() { // no entries at all
		return r.summary(nil, nil), nil
	}
	r.from = r.end.Add(-since)
	r.trend = triage.NewTrend(r.from, r.end)

	work, inWindow, err := r.overlapping(ctx)
	if err != nil {
		return Summary{}, err
	}

	// The newest start-up.
	up, info := r.startup()
	if up != nil && !inWindow[up] {
		work = append(work, up)
	}
	slices.SortStableFunc(work, func(a, b *source) int { return r.first(a).Compare(r.first(b)) })

	// Where each scan starts, then the scans, oldest file first so that the groups
	// come out in time order.
	scanFrom := map[*source]int64{}
	for _, s := range work {
		at := s.size
		if inWindow[s] {
			if at, err = s.windowStart(ctx, r.from); err != nil {
				return Summary{}, err
			}
		}
		scanFrom[s] = at
		r.total += s.size - at
	}
	r.total += r.read()
	var grouper triage.LogGrouper
	for _, s := range work {
		if err := r.scanFile(ctx, s, s == up, info, inWindow[s], scanFrom[s], &grouper); err != nil {
			return Summary{}, err
		}
	}
	return r.summary(grouper.Events(), info), nil
}

// overlapping returns the files that may hold entries of the window, reading their
// heads and tails to tell, and the set of them.
func (r *run) overlapping(ctx context.Context) ([]*source, map[*source]bool, error) {
	var work []*source
	inWindow := map[*source]bool{}
	for gi := range r.groups {
		g := &r.groups[gi]
		var prev *source
		for i, s := range g.files {
			if prev != nil && g.rollover && r.first(prev).Before(r.from) {
				break // older files end before the window starts
			}
			if err := s.readHead(ctx); err != nil {
				return nil, nil, err
			}
			if s.zone == nil { // a file older than those read for the start-up
				s.zone = r.loc
				if s.head.zone != nil {
					s.zone = s.head.zone
				} else if i > 0 && g.files[i-1].zone != nil {
					s.zone = g.files[i-1].zone
				}
			}
			if s.head.empty {
				continue
			}
			last, err := s.newest(ctx, r.since, r.from)
			if err != nil {
				return nil, nil, err
			}
			if last.in(s.zone).Before(r.from) {
				if g.rollover {
					break
				}
				continue
			}
			prev = s
			if !r.first(s).After(r.end) {
				inWindow[s] = true
				work = append(work, s)
			}
		}
	}
	return work, inWindow, nil
}

// scanFile adds to g the entries of interest of s from offset from on, if s holds
// part of the window, and, if s holds the newest start-up described by info, the SPN
// messages of the start-up.
func (r *run) scanFile(ctx context.Context, s *source, isUp bool, info *triage.ServerInfo, inWindow bool, from int64, g *triage.LogGrouper) error {
	var sspi triage.LogEntry // the last 17806, which the 18452 written with it follows
	add := func(fs []found) {
		for _, f := range fs {
			f.entry.Source, f.entry.Log = triage.SourceErrorlog, s.log
			switch f.entry.ID {
			case triage.Msg17806:
				sspi = f.entry
			case triage.Msg18452:
				if sspi.ID != 0 && f.entry.Time.Equal(sspi.Time) && f.entry.Client == sspi.Client {
					f.entry.Code = sspi.Code
				}
			}
			g.Add(f.entry)
			if r.trend.Add(f.entry.ID, f.entry.Time) {
				r.counted++
			}
		}
	}
	var upTo time.Time // SPN messages up to this time belong to the start-up
	if isUp {
		upTo = info.StartedAt.Add(startupSpan)
		if err := r.startupSPN(ctx, s, from, upTo, add); err != nil {
			return err
		}
	}
	if !inWindow {
		return nil
	}
	job := scanJob{
		from: from, to: s.size,
		needles: []needle{s.c.needle("Error: ", 0, 5), spn(s.c)},
		keep: func(e *triage.LogEntry) bool {
			return !e.Time.Before(r.from) && !e.Time.After(r.end) ||
				isUp && IsSPNMessage(e.ID) && !e.Time.After(upTo)
		},
	}
	return s.scan(ctx, r.t, job, func(res chunkResult) bool {
		add(res.found)
		r.progress()
		return true
	})
}

// spn returns the needle for what every SPN registration message says, anchored on
// the P of Principal, which is rarer than the S, and the ( of (SPN).
func spn(c codec) needle { return c.needle("Service Principal Name (SPN)", 8, 23) }

// startupSPN finds the SPN registration messages of the start-up at the top of s that
// are before offset before (the window's scan finds those after it): those written up
// to upTo, first in the head already read, then further on while the entries are not
// yet later than upTo.
func (r *run) startupSPN(ctx context.Context, s *source, before int64, upTo time.Time, add func([]found)) error {
	keep := func(e *triage.LogEntry) bool { return IsSPNMessage(e.ID) && !e.Time.After(upTo) }
	needles := []needle{spn(s.c)}
	v := s.view(s.head.buf, 0)
	hi := int(min(s.head.end, int64(len(v.buf))))
	var fs []found
	for _, f := range v.find(v.top, hi, needles, keep) {
		if f.off < before {
			fs = append(fs, f)
		}
	}
	add(fs)
	if last, ok := v.lastStamp(v.top, hi); s.head.end >= before || ok && last.in(s.zone).After(upTo) {
		return nil
	}
	t := r.t
	t.chunk = min(t.chunk, regionChunk)
	job := scanJob{from: s.head.end, to: before, needles: needles, keep: keep, lastTime: true}
	return s.scan(ctx, t, job, func(res chunkResult) bool {
		add(res.found)
		r.progress()
		return res.last.isZero() || !res.last.in(s.zone).After(upTo)
	})
}

// zones sets the zone of each file of g whose head has been read: its own "UTC
// adjustment", else that of the nearest older file read that has one (a log cycled
// without a banner), else the caller's.
func (r *run) zones(g *group) {
	var older *time.Location
	for i := len(g.files) - 1; i >= 0; i-- {
		s := g.files[i]
		if s.head == nil {
			continue
		}
		if s.head.zone != nil {
			older = s.head.zone
		}
		if s.zone == nil {
			s.zone = cmp.Or(s.head.zone, older, r.loc)
		}
	}
}

// newestIn returns the time of the newest entry of g, zero if it has none.
func (r *run) newestIn(ctx context.Context, g *group) (time.Time, error) {
	for _, s := range g.files {
		if s.head == nil || s.head.empty {
			continue
		}
		last, err := s.newest(ctx, r.since, time.Time{})
		if err != nil {
			return time.Time{}, err
		}
		return last.in(s.zone), nil // the newest file of a set holds its newest entry
	}
	return time.Time{}, nil
}

// first returns the time of the first entry of s.
func (r *run) first(s *source) time.Time { return s.head.first.in(s.zone) }

// startup returns the file with the newest start-up and its facts, or nil. Without
// a start-up, the facts a cycled log repeats are returned without a file.
func (r *run) startup() (*source, *triage.ServerInfo) {
	var up, banner *source
	for _, g := range r.groups {
		for _, s := range g.files {
			switch {
			case s.head == nil || !s.head.banner:
			case s.head.startup:
				if up == nil || r.first(s).After(r.first(up)) {
					up = s
				}
			default:
				if banner == nil || r.first(s).After(r.first(banner)) {
					banner = s
				}
			}
		}
	}
	switch {
	case up != nil:
		info := up.head.info
		info.StartedAt = r.first(up)
		return up, &info
	case banner != nil:
		info := banner.head.info
		return nil, &info
	}
	return nil, nil
}

// read returns the bytes read so far.
func (r *run) read() int64 {
	var n int64
	for _, g := range r.groups {
		for _, s := range g.files {
			n += s.bytes
		}
	}
	return n
}

func (r *run) progress() {
	if r.opt.Progress != nil {
		done := r.read()
		r.opt.Progress(done, max(done, r.total))
	}
}

func (r *run) summary(events []triage.LogEvent, info *triage.ServerInfo) Summary {
	sum := Summary{Events: events, Server: info, From: r.from, To: r.end, Bytes: r.read()}
	if r.counted > 0 {
		sum.Trend = r.trend
	}
	var files []*source
	for _, g := range r.groups {
		for _, s := range g.files {
			if s.head != nil {
				files = append(files, s)
			}
		}
	}
	// Newest first: by the newest entry where the tail was read, else the first.
	at := func(s *source) time.Time {
		if s.last != nil && !s.last.isZero() {
			return s.last.in(s.zone)
		}
		if s.head.empty {
			return time.Time{}
		}
		return r.first(s)
	}
	slices.SortStableFunc(files, func(a, b *source) int { return at(b).Compare(at(a)) })
	for _, s := range files {
		if s.dup != nil {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s is the same file as %s, read once", s.path, s.dup.path))
			continue
		}
		sum.Files = append(sum.Files, s.path)
		sum.Notes = append(sum.Notes, r.notes(s)...)
	}
	return sum
}

// notes returns what limits what s shows, for Summary.Notes.
func (r *run) notes(s *source) []string {
	var out []string
	if s.head.empty {
		out = append(out, fmt.Sprintf("%s %s: %s", s.path, ErrEmpty, s.emptyWhy()))
	}
	if s.head.badZone != "" {
		out = append(out, fmt.Sprintf("%s: the line %q does not give the server's UTC offset; its times are read as %s, which may not be the server's zone",
			s.path, clip(s.head.badZone, 60), cmp.Or(s.zone, r.loc)))
	}
	if s.last != nil && s.last.in(time.UTC).Sub(s.lastEntry.in(time.UTC)) > minSetback {
		out = append(out, fmt.Sprintf("%s: the entry written at %s is followed by entries with earlier times, down to the last at %s: the clock was set back (a daylight-saving change or a time sync); the window ends at the latest time written",
			s.path, written(*s.last), written(s.lastEntry)))
	}
	if !s.beyond.isZero() {
		out = append(out, fmt.Sprintf("%s: the entry written at %s is more than %s later than the last, at %s, and does not count for the window",
			s.path, written(s.beyond), maxSetbackText, written(s.lastEntry)))
	}
	if s.cut {
		out = append(out, fmt.Sprintf("%s ends in the middle of a line (cut short, or still being written): its last entry may be incomplete", s.path))
	}
	return out
}

// holdsSomething returns an error that wraps ErrEmpty when no file whose head has
// been read holds an entry. The heads of a set are read down to its newest start-up,
// so every file of a set without entries has been read.
func (r *run) holdsSomething() error {
	var empty []*source
	for _, g := range r.groups {
		for _, s := range g.files {
			switch {
			case s.head == nil || s.dup != nil:
			case !s.head.empty:
				return nil
			default:
				empty = append(empty, s)
			}
		}
	}
	if len(empty) == 0 {
		return nil
	}
	err := fmt.Errorf("%s %w: %s", empty[0].path, ErrEmpty, empty[0].emptyWhy())
	switch rest := empty[1:]; len(rest) {
	case 0:
	case 1:
		err = fmt.Errorf("%w; so does %s", err, rest[0].path)
	default:
		names := make([]string, len(rest))
		for i, s := range rest {
			names[i] = s.path
		}
		err = fmt.Errorf("%w; so do %s", err, strings.Join(names, ", "))
	}
	return err
}

// written formats st as the log writes it, to the second.
func written(st stamp) string { return st.in(time.UTC).Format(time.DateTime) }

// emptyWhy says what a file without entries holds.
func (s *source) emptyWhy() string {
	switch {
	case s.size == 0:
		return "0 bytes"
	case s.size <= int64(s.c.bom):
		return "only a byte-order mark"
	}
	return "only blank lines"
}

// clip returns s cut to at most n runes, with an ellipsis when cut.
func clip(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}
