package diagnosis

import (
	"net"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// namedDC returns the domain controllers the evidence of cause names, for
// triage.PHDC: for dc.unreachable those that did not answer the checker, for
// dc.certificate those whose certificate failed verification, for
// computer.secure_channel those NETLOGON 3210 or 5721 name ("This computer could not
// authenticate with \\dc01.corp.example, a Windows domain controller for domain
// CORP", see eventCause). Names are without port, lower case, sorted and joined by
// ", " (plainHost takes no ',' nor ' ', so correlate splits the fact back into one DC
// each); "" when the evidence names none. NETLOGON 5719 and the SSPI codes name only
// the domain, so they name no DC here.
func namedDC(cause triage.CauseID, t triage.Target, obs triage.Observations) string {
	var dcs []string
	switch cause {
	case triage.DCUnreachable, triage.DCCertificate:
		if obs.Directory == nil {
			return ""
		}
		for _, dc := range obs.Directory.DCs {
			down := dc.Cert == "" && (dc.Err != "" || dc.KDCError != "")
			if cause == triage.DCCertificate {
				down = dc.Cert != ""
			}
			if down {
				dcs = append(dcs, dcHost(dc.Address))
			}
		}
	case triage.SecureChannelBroken:
		for _, e := range obs.Logs {
			if m, ok := eventCause(e, t); !ok || m.cause != cause || e.Source != triage.SourceEventlog {
				continue
			}
			if name := dcInText(e.Text); name != "" {
				dcs = append(dcs, name)
			}
		}
	}
	dcs = slices.DeleteFunc(dcs, func(s string) bool { return s == "" })
	slices.Sort(dcs)
	return strings.Join(slices.Compact(dcs), ", ")
}

// dcHost returns the host of a DCProbe address ("dc2.corp.example:389"), lower case,
// or "" when it is not a plain host name.
func dcHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	return plainHost(addr)
}

// dcInText returns the first \\NAME an event's text names, lower case, or "" when it
// names none or the name is not a plain host name (evidence is hostile: a name with
// spaces, quotes or control characters is not taken).
func dcInText(text string) string {
	_, rest, ok := strings.Cut(text, `\\`)
	if !ok {
		return ""
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if end >= 0 {
		rest = rest[:end]
	}
	return plainHost(strings.TrimSuffix(rest, "."))
}

// plainHost returns s in lower case when it is a host name of letters, digits, '-',
// '_' and '.' (at most 253 bytes), else "".
func plainHost(s string) string {
	if s == "" || len(s) > 253 {
		return ""
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return ""
		}
	}
	return strings.ToLower(s)
}
