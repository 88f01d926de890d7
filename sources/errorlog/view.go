package errorlog

import (
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// Limits on how far the reader looks around a match. They bound the work done for
// any input, however malformed.
//
// A scan reads each chunk with maxLook+maxEntry bytes before and after it, so that
// what it finds does not depend on where the chunks end.
const (
	lookaround   = 8        // entries searched after a header for its message, and before a message for its header
	maxLook      = 8 << 10  // bytes searched after a header for its message, and before a message for its header
	maxContLines = 64       // continuation lines kept in one entry
	maxEntry     = 16 << 10 // bytes of one entry that are decoded; a needle further in is not looked at
)

// A view is a buffer holding part of a file, with the means to walk its lines and
// entries. An entry is a line that starts with a timestamp and the lines without one
// that follow it.
type view struct {
	c    codec
	buf  []byte
	off  int64          // file offset of buf[0]; even, so code units align
	top  int            // where the file's text starts in buf (after the BOM) if buf starts the file; else -1
	zone *time.Location // zone of the entry times
}

// lineStart returns the start of the line holding p, or -1 when it lies before buf
// or more than maxEntry bytes before p. The bound keeps the work for a match in a
// long line without line ends small.
func (v *view) lineStart(p int) int {
	return v.lineStartAfter(max(0, p-maxEntry), p, -1)
}

// lineStartAfter returns the start of the line holding p when it is after from, else
// the start known for from (-1 for none): it looks for a line end in [from, p) only.
func (v *view) lineStartAfter(from, p, known int) int {
	from -= from % v.c.unit
	if i := v.c.lineStart(v.buf[from:p], p-from); i >= 0 {
		return max(from+i, v.top)
	}
	if known < 0 && v.top >= from && p >= v.top {
		return v.top
	}
	return known
}

// isEntry reports whether the line at p starts with a timestamp.
func (v *view) isEntry(p int) bool {
	_, ok := v.stampAt(p)
	return ok
}

// stampAt parses the timestamp of the line at p.
func (v *view) stampAt(p int) (stamp, bool) {
	var a [stampLen]byte
	if p < 0 || !v.c.asciiPrefix(a[:], v.buf[p:]) {
		return stamp{}, false
	}
	st, _, ok := parseStamp(a[:])
	return st, ok
}

// entryStart returns the start of the entry holding p, or -1 when it is not in buf or
// is more than maxEntry bytes back, too far for p to be in its decoded text.
func (v *view) entryStart(p int) int {
	return v.entryOf(v.lineStart(p), p)
}

// entryOf returns the start of the entry holding p, whose line starts at l.
func (v *view) entryOf(l, p int) int {
	for range maxContLines {
		if l < p-maxEntry {
			return -1
		}
		if l < 0 || v.isEntry(l) {
			return l
		}
		if l == v.top || l == 0 {
			return -1
		}
		l = v.lineStart(l - v.c.unit)
	}
	return -1
}

// entryEnd returns the end of the entry that starts at p: the start of the next entry,
// or the end of buf.
func (v *view) entryEnd(p int) int {
	end := v.c.lineEnd(v.buf, p)
	for range maxContLines {
		if end >= len(v.buf) || v.isEntry(end) {
			break
		}
		end = v.c.lineEnd(v.buf, end)
	}
	return end
}

// firstLine decodes the first line of the entry at p.
func (v *view) firstLine(p int) (line, bool) {
	end := min(v.c.lineEnd(v.buf, p), p+maxEntry)
	return parseLine(v.c.decode(v.buf[p:end]))
}

// entry decodes the entry at [p, end): its first line, with the text of its
// continuation lines appended after newlines.
func (v *view) entry(p, end int) (line, bool) {
	end = min(end, p+maxEntry)
	e := v.c.lineEnd(v.buf, p)
	l, ok := parseLine(v.c.decode(v.buf[p:min(e, end)]))
	if !ok || e >= end {
		return l, ok
	}
	var b strings.Builder
	b.WriteString(l.text)
	for e < end {
		next := min(v.c.lineEnd(v.buf, e), end)
		b.WriteByte('\n')
		b.WriteString(v.c.decode(v.buf[e:next]))
		e = next
	}
	l.text = b.String()
	return l, true
}

// lastStamp returns the timestamp of the last entry that starts in [lo, hi).
func (v *view) lastStamp(lo, hi int) (stamp, bool) {
	p, st := v.lastEntry(lo, hi)
	return st, p >= 0
}

// lastEntry returns the start and timestamp of the last entry that starts in [lo, hi),
// or -1 when none does.
func (v *view) lastEntry(lo, hi int) (int, stamp) {
	p := hi
	for p > lo {
		l := v.lineStart(p - v.c.unit)
		if l < lo {
			return -1, stamp{}
		}
		if st, ok := v.stampAt(l); ok {
			return l, st
		}
		p = l
	}
	return -1, stamp{}
}

// A found is an entry of interest and the file offset where it starts.
type found struct {
	off   int64
	entry triage.LogEntry
}

// find returns the entries of interest that start in [lo, hi) of the buffer, in
// order, located through needles: every entry of interest holds one of them. A header
// line ("Error: 18456, Severity: 14, State: 8.") is paired with its message: the next
// entry with the same timestamp and process info among the following few. keep says
// which recognised entries to return; it sees each with its Time set.
func (v *view) find(lo, hi int, needles []needle, keep func(*triage.LogEntry) bool) []found {
	var out []found
	// A match more than maxEntry bytes into an entry is not in its decoded text, so
	// the search for entries that start before hi can stop there.
	buf := v.buf[:min(len(v.buf), hi+maxEntry)]
	lineAt, lineTo := -1, -1 // the line start of the last match, and the match
	done := -1               // start of the last entry handled
	var paired []int         // starts of messages already paired with their header
	var pm messages
	for p := v.c.indexAny(buf, lo, needles); p >= 0; p = v.c.indexAny(buf, p+v.c.unit, needles) {
		// Look for the line's start back to the last match only, so that many
		// matches in one long line cost no more than the line.
		if lineTo >= 0 && lineTo >= p-maxEntry {
			lineAt = v.lineStartAfter(lineTo, p, lineAt)
		} else {
			lineAt = v.lineStart(p)
		}
		lineTo = p
		start := v.entryOf(lineAt, p)
		if start >= hi {
			return out
		}
		if start < lo || start <= done {
			continue
		}
		done = start
		for len(paired) > 0 && paired[0] < start {
			paired = paired[1:]
		}
		if len(paired) > 0 && paired[0] == start {
			continue
		}
		end := v.entryEnd(start)
		l, ok := v.entry(start, end)
		if !ok || skipHeader(l.text) {
			continue
		}
		var e triage.LogEntry
		if num, state, isHeader := pm.header(l.text); isHeader {
			if !Interesting(num) {
				continue
			}
			var msgAt int
			e, msgAt = v.message(&pm, end, l, num)
			if msgAt >= 0 {
				paired = append(paired, msgAt)
			}
			e.State = state
		} else {
			if e, ok = pm.parse(l.text); !ok || v.hasHeader(&pm, start, l, e.ID) {
				continue
			}
		}
		e.Time = l.stamp.in(v.zone)
		if keep(&e) {
			out = append(out, found{off: v.off + int64(start), entry: e})
		}
	}
	return out
}

// message finds the message that belongs to the header h with number num, looking at
// the few entries that start within maxLook bytes from p, the end of the header. It returns the message recognised, or one made from the
// header alone when there is none, and where the message starts (-1 for none).
func (v *view) message(pm *messages, p int, h line, num int) (triage.LogEntry, int) {
	limit := p + maxLook
	for range lookaround {
		if p >= len(v.buf) || p >= limit {
			break
		}
		end := v.entryEnd(p)
		if l, ok := v.firstLine(p); ok && l.stamp == h.stamp && l.proc == h.proc {
			if _, _, isHeader := pm.header(l.text); !isHeader {
				m, _ := v.entry(p, end)
				if e, ok := pm.parse(m.text); ok && SameMessage(e.ID, num) {
					return e, p
				}
				break
			}
		}
		p = end
	}
	e := triage.LogEntry{}
	e.ID, e.State, e.Text = num, -1, h.text
	return e, -1
}

// hasHeader reports whether the message m with number num, at p, has a header among
// the few entries that start within maxLook bytes before it; the header's reading
// then accounts for it.
func (v *view) hasHeader(pm *messages, p int, m line, num int) bool {
	limit := p - maxLook
	for range lookaround {
		if p <= 0 {
			return false
		}
		p = v.entryStart(p - v.c.unit)
		if p < 0 || p < limit {
			return false
		}
		l, ok := v.firstLine(p)
		if !ok || l.stamp != m.stamp || l.proc != m.proc {
			continue
		}
		if n, _, isHeader := pm.header(l.text); isHeader {
			return SameMessage(n, num)
		}
	}
	return false
}

// skipHeader reports, faster than ParseHeader, whether text is the header of a
// message of no interest, such as "Error: 3041, Severity: 16, State: 1."
func skipHeader(text string) bool {
	rest, ok := strings.CutPrefix(text, "Error: ")
	if !ok {
		return false
	}
	n := 0
	for i := 0; i < len(rest) && i < 9 && '0' <= rest[i] && rest[i] <= '9'; i++ {
		n = 10*n + int(rest[i]-'0')
	}
	return !Interesting(n)
}

// Interesting reports whether a header's message number is one ParseMessage knows:
// readers of the log in other forms (sp_readerrorlog) keep the same entries.
func Interesting(num int) bool {
	switch num {
	case triage.Msg17806, triage.Msg17830, triage.Msg18452, triage.Msg18456,
		triage.Msg7303, triage.Msg7399, triage.Msg7412, triage.Msg7413:
		return true
	}
	return IsSPNMessage(num)
}

// IsSPNMessage reports whether num is one of the SPN registration messages of a
// start-up.
func IsSPNMessage(num int) bool {
	switch num {
	case triage.Msg26037, triage.Msg26059, triage.Msg26067, triage.Msg26076:
		return true
	}
	return false
}

// SameMessage reports whether a message recognised as id can be the one announced by a
// header with number num. ParseMessage tells 26037 from 26067 by the SPN text, which
// a header does not see, so the SPN messages count as one family.
func SameMessage(id, num int) bool {
	return id == num || (IsSPNMessage(id) && IsSPNMessage(num))
}

// messages is ParseMessage and ParseHeader with a memory. During an incident the log
// holds thousands of messages that differ only in the client address, and thousands
// of identical headers, and the regular expressions cost microseconds each, so each
// is recognised once per text, messages with the client cut out. The zero value is
// ready to use.
type messages struct {
	seen    map[string]parsed
	headers map[string]header
}

type header struct{ num, state int }

// header returns what ParseHeader returns for text, without the severity.
func (m *messages) header(text string) (num, state int, ok bool) {
	if !strings.HasPrefix(text, "Error: ") {
		return 0, 0, false
	}
	if h, seen := m.headers[text]; seen {
		return h.num, h.state, h.num != 0
	}
	num, _, state, ok = ParseHeader(text)
	if m.headers == nil {
		m.headers = make(map[string]header)
	}
	if len(m.headers) < maxRemembered {
		m.headers[text] = header{num, state} // num is 0 when not ok
	}
	return num, state, ok
}

type parsed struct {
	e  triage.LogEntry
	ok bool
}

// maxRemembered bounds the memory of one messages.
const maxRemembered = 256

// parse returns what ParseMessage returns for text.
func (m *messages) parse(text string) (triage.LogEntry, bool) {
	const tag = "[CLIENT: "
	text = strings.TrimSpace(text)
	i := strings.Index(text, tag)
	if i < 0 {
		return ParseMessage(text)
	}
	j := strings.IndexByte(text[i:], ']')
	if j < 0 {
		return ParseMessage(text)
	}
	key := text[:i+len(tag)] + text[i+j:]
	if p, ok := m.seen[key]; ok {
		p.e.Text, p.e.Client = text, strings.TrimSpace(text[i+len(tag):i+j])
		return p.e, p.ok
	}
	e, ok := ParseMessage(text)
	if m.seen == nil {
		m.seen = make(map[string]parsed)
	}
	if len(m.seen) < maxRemembered {
		m.seen[key] = parsed{e, ok}
	}
	return e, ok
}
