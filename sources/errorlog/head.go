package errorlog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// headSize is how much of the start of each file is read for the start-up facts;
// a file of up to smallFile bytes is read whole.
const (
	headSize  = 64 << 10
	smallFile = 1 << 20
)

var (
	reUTCAdjust   = regexp.MustCompile(`^UTC adjustment: (-?)(\d{1,2}):(\d{2})\s*$`)
	reAccount     = regexp.MustCompile(`^The service account is '(.*?)'\.`)
	reAuthMode    = regexp.MustCompile(`^Authentication mode is ([A-Za-z-]+)`)
	reInstanceArg = regexp.MustCompile(`(?m)^\s*-s\s*"?([^"\s]+)"?\s*$`)
)

// A head is what the first headSize bytes of a file say.
type head struct {
	buf   []byte // the bytes read, kept to find the start-up's SPN messages once the zone is known
	empty bool   // the file holds no entry
	first stamp  // time of the first entry
	end   int64  // offset of the first entry not wholly in buf; the file's size when buf holds all

	// banner reports a start-up banner ("Microsoft SQL Server 2022 ...") at the top;
	// startup that the file begins with it, which a start of the service does, while
	// a log cycled by sp_cycle_errorlog writes "The error log has been reinitialized"
	// before it.
	banner, startup bool
	info            triage.ServerInfo // StartedAt is left for the caller, who knows the zone
	zone            *time.Location    // from "UTC adjustment", nil if the head has none
	badZone         string            // the "UTC adjustment" line when it does not parse
}

// parseHead reads the start-up facts from v, which holds the start of a file. It
// returns an error only when the file is not an error log.
func parseHead(v *view, size int64) (head, error) {
	h := head{buf: v.buf, end: size}
	// Skip blank lines; the first other line must start an entry.
	p := v.top
	for p < len(v.buf) {
		end := v.c.lineEnd(v.buf, p)
		if strings.TrimSpace(v.c.decode(v.buf[p:end])) != "" {
			break
		}
		p = end
	}
	if p >= len(v.buf) {
		if int64(len(v.buf)) < size {
			return h, fmt.Errorf("%w: no text in the first %d KiB", ErrNotLog, headSize>>10)
		}
		h.empty = true
		return h, nil
	}
	if !v.isEntry(p) {
		return h, fmt.Errorf("%w: first line has no timestamp", ErrNotLog)
	}
	// The last entry may be cut by the end of buf; a later scan reads it whole.
	limit := len(v.buf)
	if int64(len(v.buf)) < size {
		if last := v.entryStart(len(v.buf) - v.c.unit); last > p {
			limit = last
		} else {
			limit = p
		}
		h.end = v.off + int64(limit)
	}
	h.first, _ = v.stampAt(p)
	for i := 0; p < limit && i < maxHeadEntries; i++ {
		end := min(v.entryEnd(p), limit)
		if l, ok := v.entry(p, end); ok {
			h.fact(i, l)
		}
		p = end
	}
	return h, nil
}

// maxHeadEntries is how many entries at the top of a file are read for the start-up
// facts, which SQL Server writes within its first few dozen.
const maxHeadEntries = 500

// fact records what the i-th entry says about the start-up, if anything.
func (h *head) fact(i int, l line) {
	text := l.text
	switch {
	case strings.HasPrefix(text, "Microsoft SQL Server ") && i <= 1 && !h.banner:
		h.banner, h.startup = true, i == 0
		h.info.Version = strings.TrimSpace(firstLineOf(text))
	case strings.HasPrefix(text, "UTC adjustment: ") && h.zone == nil && h.badZone == "":
		if h.zone = utcAdjustment(text); h.zone == nil {
			h.badZone = firstLineOf(text)
		}
	case strings.HasPrefix(text, "The service account is '") && h.info.ServiceAccount == "":
		if m := reAccount.FindStringSubmatch(text); m != nil {
			h.info.ServiceAccount = m[1]
		}
	case strings.HasPrefix(text, "Authentication mode is ") && h.info.AuthMode == "":
		if m := reAuthMode.FindStringSubmatch(text); m != nil {
			h.info.AuthMode = m[1]
		}
	case strings.HasPrefix(text, "Command Line Startup Parameters:") && h.info.Instance == "":
		if m := reInstanceArg.FindStringSubmatch(text); m != nil {
			h.info.Instance = m[1]
		}
	}
}

// utcAdjustment returns the zone of "UTC adjustment: -5:00", which means local time is
// UTC plus the adjustment, or nil when the text does not parse.
func utcAdjustment(text string) *time.Location {
	m := reUTCAdjust.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return nil
	}
	h, _ := strconv.Atoi(m[2])
	mins, _ := strconv.Atoi(m[3])
	if h > 14 || mins > 59 {
		return nil
	}
	secs := (h*60 + mins) * 60
	sign := "+"
	if m[1] == "-" {
		secs, sign = -secs, "-"
	}
	return time.FixedZone(fmt.Sprintf("UTC%s%02d:%02d", sign, h, mins), secs)
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
