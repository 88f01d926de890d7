package errorlog

import (
	"strings"
	"time"
)

// stampLen is the length of the timestamp that starts every entry:
// "2025-06-01 09:22:45.87".
const stampLen = len("2006-01-02 15:04:05.00")

// A stamp is an entry's timestamp as written: a civil time in the server's zone,
// which is known only once the start-up's "UTC adjustment" line has been read.
type stamp struct {
	year, month, day, hour, min, sec, nsec int
}

func (s stamp) in(loc *time.Location) time.Time {
	return time.Date(s.year, time.Month(s.month), s.day, s.hour, s.min, s.sec, s.nsec, loc)
}

func (s stamp) isZero() bool { return s == stamp{} }

// parseStamp parses the timestamp at the start of b, "YYYY-MM-DD HH:MM:SS.cc", with
// two or more digits of fraction. It returns the number of bytes it used.
func parseStamp(b []byte) (stamp, int, bool) {
	if len(b) < stampLen {
		return stamp{}, 0, false
	}
	for i, c := range b[:stampLen] {
		var ok bool
		switch i {
		case 4, 7:
			ok = c == '-'
		case 10:
			ok = c == ' '
		case 13, 16:
			ok = c == ':'
		case 19:
			ok = c == '.'
		default:
			ok = '0' <= c && c <= '9'
		}
		if !ok {
			return stamp{}, 0, false
		}
	}
	num := func(i, j int) int {
		n := 0
		for _, c := range b[i:j] {
			n = 10*n + int(c-'0')
		}
		return n
	}
	s := stamp{
		year: num(0, 4), month: num(5, 7), day: num(8, 10),
		hour: num(11, 13), min: num(14, 16), sec: num(17, 19),
	}
	if s.month < 1 || s.month > 12 || s.day < 1 || s.day > 31 || s.hour > 23 || s.min > 59 || s.sec > 60 {
		return stamp{}, 0, false
	}
	n := 20
	scale := int(time.Second)
	for ; n < len(b) && '0' <= b[n] && b[n] <= '9'; n++ {
		if scale >= 10 {
			scale /= 10
			s.nsec += int(b[n]-'0') * scale
		}
	}
	return s, n, true
}

// A line is one decoded line that starts an entry: its timestamp, its process-info
// column ("Server", "spid57s", "Logon", "Backup") and the text after it.
type line struct {
	stamp stamp
	proc  string
	text  string
}

// parseLine splits a decoded line that starts with a timestamp.
func parseLine(s string) (line, bool) {
	st, n, ok := parseStamp([]byte(s[:min(len(s), stampLen+9)]))
	if !ok {
		return line{}, false
	}
	rest := s[n:]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return line{}, false
	}
	rest = strings.TrimLeft(rest, " \t")
	proc, text, _ := strings.Cut(rest, " ")
	return line{stamp: st, proc: proc, text: strings.TrimLeft(text, " \t")}, true
}
