package kerberos

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on an SPN's parts. A DNS name has at most 253 bytes in labels of at most 63; a
// SQL Server instance name has at most 16 characters.
const (
	maxSPNLen      = 320
	maxServiceLen  = 64
	maxHostLen     = 253
	maxLabelLen    = 63
	maxInstanceLen = 16
)

// CheckSPN reports whether spn is a service principal name of the form
// service/host[:port] or service/host:instance, the forms SQL Server registers
// ("MSSQLSvc/sql01.corp.example:1433", "MSSQLSvc/sql01.corp.example:SALES"), in ASCII
// (a host in punycode), without control characters, a realm ("@CORP.EXAMPLE") or a
// third part, and at most 320 bytes long. It does not look the host up.
func CheckSPN(spn string) error {
	if err := checkSPN(spn); err != nil {
		q := spn
		if len(q) > 80 {
			q = q[:80] + "..."
		}
		return fmt.Errorf("SPN %q: %w", q, err)
	}
	return nil
}

func checkSPN(spn string) error {
	switch {
	case spn == "":
		return errors.New("empty")
	case len(spn) > maxSPNLen:
		return fmt.Errorf("%d bytes long; at most %d", len(spn), maxSPNLen)
	}
	for i := 0; i < len(spn); i++ {
		switch c := spn[i]; {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("control character at byte %d", i)
		case c >= 0x80:
			return errors.New("not ASCII; give the host name in punycode")
		case c == ' ':
			return errors.New("contains a space")
		case c == '@':
			return errors.New("contains '@'; give the SPN without a realm")
		case c == '\\':
			return errors.New(`contains '\'`)
		}
	}
	service, rest, ok := strings.Cut(spn, "/")
	if !ok {
		return errors.New("no '/'; want service/host[:port]")
	}
	if strings.Contains(rest, "/") {
		return errors.New("more than one '/'; want service/host[:port]")
	}
	if err := checkService(service); err != nil {
		return err
	}
	host, suffix, hasSuffix := strings.Cut(rest, ":")
	if err := checkHost(host); err != nil {
		return err
	}
	if hasSuffix {
		return checkPortOrInstance(suffix)
	}
	return nil
}

// checkService accepts a service class: "MSSQLSvc", "HTTP", "RestrictedKrbHost".
func checkService(s string) error {
	if s == "" {
		return errors.New("empty service class before '/'")
	}
	if len(s) > maxServiceLen {
		return fmt.Errorf("service class longer than %d bytes", maxServiceLen)
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.' {
			return fmt.Errorf("service class %q has %q", s, s[i])
		}
	}
	return nil
}

// checkHost accepts a DNS name or IPv4 address, with or without its domain.
func checkHost(h string) error {
	if h == "" {
		return errors.New("empty host after '/'")
	}
	if len(h) > maxHostLen {
		return fmt.Errorf("host longer than %d bytes", maxHostLen)
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" {
			return fmt.Errorf("host %q has an empty label", h)
		}
		if len(label) > maxLabelLen {
			return fmt.Errorf("host %q has a label longer than %d bytes", h, maxLabelLen)
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' && label[i] != '_' {
				return fmt.Errorf("host %q has %q", h, label[i])
			}
		}
	}
	return nil
}

// checkPortOrInstance accepts what follows the host's ':': a TCP port or a SQL Server
// instance name.
func checkPortOrInstance(s string) error {
	if s == "" {
		return errors.New("empty port or instance after ':'")
	}
	if isDigits(s) {
		if p, err := strconv.Atoi(s); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("port %s out of range 1-65535", s)
		}
		return nil
	}
	if len(s) > maxInstanceLen {
		return fmt.Errorf("instance name %q longer than %d characters", s, maxInstanceLen)
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune("_$#&-", rune(s[i])) {
			return fmt.Errorf("instance name %q has %q", s, s[i])
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
