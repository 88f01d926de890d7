package slackrender

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// The second hop: a report's delegation paths (triage.Report.Delegation), each with
// what the directory said of its accounts and what the KDC answered when asked for
// a ticket through it, and, for a back end, its front ends' latest reports
// (ThreadOptions.FrontEnds). Thread shows them in a reply of their own, Markdown in
// a section.
//
// The wording follows Microsoft's: "Use any authentication protocol" (protocol
// transition, TRUSTED_TO_AUTH_FOR_DELEGATION) and "Account is sensitive and cannot be
// delegated" (NOT_DELEGATED) are the labels of Active Directory Users and Computers
// ("Troubleshooting Kerberos constrained delegation issues",
// https://learn.microsoft.com/troubleshoot/windows-server/windows-security/troubleshoot-kerberos-constrained-delegation-issues);
// members of Protected Users get no forwardable tickets ("Protected Users Security
// Group",
// https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group).
// The flags and attributes themselves are cited in package triage (delegation.go).

// A FrontEnd is a front end of a second hop whose back end a report's host is, when
// the front end is an inventory host, with its latest stored report as the bot
// found it.
type FrontEnd struct {
	Host string // its inventory name
	// ReportID and Status are its latest report's; ReportID is "" when it has
	// none: it was not triaged yet.
	ReportID string
	Status   triage.Status
	// Link is the permalink of that report's thread; "" when not known.
	Link string
	// Unread is set when its reports could not be read from the store; the thread
	// then says so, and nothing of the error.
	Unread bool
}

// Limits of the second-hop reply. What is left out is in the Markdown report, but
// for front ends, which only the thread shows.
const (
	maxHopPaths   = 10 // paths shown
	maxHopProofs  = 4  // KDC answers shown per path
	maxHopUsers   = 10 // users shown
	maxLinkLength = 300
)

// MaxFrontEnds is the number of ThreadOptions.FrontEnds a thread names; it counts
// the others ("and 3 more front ends").
const MaxFrontEnds = 10

var (
	hopNameBudget = budget{100, 300}  // a name from the evidence: host, account, SPN, user
	hopTextBudget = budget{700, 2000} // a reason: a directory error, why the KDC cannot prove
)

// hopPath is one path of a report, with what was said of it.
type hopPath struct {
	path  triage.DelegationPath
	front *triage.DelegationAccount // nil when not read
	back  *triage.DelegationAccount // the back end's service account; nil when not read or not known
	// spns are the SPNs the back end's clients ask for, TCP form first; nil when its
	// FQDN is not known.
	spns   []string
	proofs []triage.DelegationProof
}

// A hopGroup is the paths of one role of the report's host.
type hopGroup struct {
	title string // plain text
	paths []hopPath
}

// hopGroups returns the report's paths in groups: those whose front end the host
// is, those whose back end it is, and any others; each path once.
func hopGroups(rep triage.Report) []hopGroup {
	d := rep.Delegation
	if d == nil {
		return nil
	}
	var front, back, other []hopPath
	var seen []triage.DelegationPath
	for _, p := range d.Paths {
		if slices.Contains(seen, p) {
			continue
		}
		seen = append(seen, p)
		h := hopPath{path: p, front: d.Find(triage.RoleFrontEnd, p.Account)}
		if p.BackEndAccount != "" {
			h.back = d.Find(triage.RoleBackEnd, p.BackEndAccount)
		}
		if p.BackEndFQDN != "" {
			bt := triage.Target{FQDN: p.BackEndFQDN, Instances: []triage.Instance{p.Instance}}
			h.spns = bt.RequiredSPNs()
		}
		for _, pr := range d.Proofs {
			if pr.Path == p {
				h.proofs = append(h.proofs, pr)
			}
		}
		switch {
		case sameHost(p.FrontEnd, rep.Host):
			front = append(front, h)
		case sameHost(p.BackEnd, rep.Host):
			back = append(back, h)
		default:
			other = append(other, h)
		}
	}
	host := oneLine(rep.Host)
	var out []hopGroup
	for _, g := range []hopGroup{
		{"Paths " + host + " must serve as a front end", front},
		{"Paths to " + host + " as a back end", back},
		{"Other delegation paths", other},
	} {
		if len(g.paths) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// sameHost reports whether a path's name for a host names the report's host: the
// same name, or the same first label when either is a single label.
func sameHost(name, host string) bool {
	if name == "" || host == "" {
		return false
	}
	if strings.EqualFold(name, host) {
		return true
	}
	n, _, ndot := strings.Cut(name, ".")
	h, _, hdot := strings.Cut(host, ".")
	return (!ndot || !hdot) && strings.EqualFold(n, h)
}

// hopUsers returns the users the checks read, each once.
func hopUsers(d *triage.DelegationFacts) []triage.DelegationAccount {
	if d == nil {
		return nil
	}
	var out []triage.DelegationAccount
	for _, a := range d.Accounts {
		if a.Role == triage.RoleUser && !slices.ContainsFunc(out, func(o triage.DelegationAccount) bool { return strings.EqualFold(o.Name, a.Name) }) {
			out = append(out, a)
		}
	}
	return out
}

// A hopWriter words the second hop as plain text; name and text shorten what comes
// from the evidence (Thread clips it, Markdown keeps it whole).
type hopWriter struct {
	name func(string) string // a name: host, account, SPN, user
	text func(string) string // a reason: an error, why the KDC cannot prove
}

// title returns "FRONT (ACCOUNT) -> BACK[\INSTANCE]", as triage.DelegationPath.String.
func (w hopWriter) title(p triage.DelegationPath) string {
	front := w.name(p.Account)
	if p.FrontEnd != "" {
		front = w.name(p.FrontEnd) + " (" + front + ")"
	}
	back := p.BackEnd
	if !p.Instance.IsDefault() {
		back += `\` + p.Instance.Name
	}
	return front + " -> " + w.name(back)
}

// via says how the path is known: "inventory", "linked server NAME".
func (w hopWriter) via(p triage.DelegationPath) string {
	if p.Via == "" {
		return "known from: (not said)"
	}
	return "known from: " + w.name(p.Via)
}

// directory returns what the directory said of the path's front end and back end:
// constrained delegation to the back end's SPN forms, protocol transition,
// unconstrained delegation, resource-based delegation.
func (w hopWriter) directory(h hopPath) []string {
	var out []string
	account := w.name(h.path.Account)
	var fa *triage.Account
	switch f := h.front; {
	case f == nil:
		out = append(out, account+" was not read")
	case f.Err != "":
		out = append(out, account+" could not be read: "+w.text(f.Err))
	case f.Account == nil:
		out = append(out, account+" is not in the directory")
	default:
		fa = f.Account
		out = append(out, w.constrained(h))
		ta := fa.UAC&triage.UACTrustedToAuthForDelegation != 0
		switch {
		case ta:
			out = append(out, "protocol transition allowed (Use any authentication protocol)")
		case len(f.AllowedToDelegateTo) > 0:
			out = append(out, "no protocol transition (Use Kerberos only)")
		}
		if fa.UAC&triage.UACTrustedForDelegation != 0 {
			out = append(out, "trusted for unconstrained delegation")
		}
	}
	return append(out, w.resourceBased(h, fa))
}

// constrained says whether the front end's msDS-AllowedToDelegateTo holds the back
// end's SPN forms, compared whole and ignoring case.
func (w hopWriter) constrained(h hopPath) string {
	allowed := h.front.AllowedToDelegateTo
	if len(allowed) == 0 {
		return "no constrained delegation (msDS-AllowedToDelegateTo is empty)"
	}
	if len(h.spns) == 0 {
		return fmt.Sprintf("constrained delegation to %s; the back end's FQDN is not known, so neither are the SPNs to compare",
			human.Count(len(allowed), "SPN", "SPNs"))
	}
	var in, out []string
	for _, spn := range h.spns {
		if slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(strings.TrimSpace(a), spn) }) {
			in = append(in, w.name(spn))
		} else {
			out = append(out, w.name(spn))
		}
	}
	switch {
	case len(out) == 0:
		return "constrained delegation to " + human.List(in)
	case len(in) > 0:
		return "constrained delegation to " + human.List(in) + ", not to " + human.List(out)
	}
	return fmt.Sprintf("constrained delegation to %s only, not to %s",
		human.Count(len(allowed), "other SPN", "other SPNs"), strings.Join(out, " or "))
}

// resourceBased says whether the back end's service account allows the front end's
// (msDS-AllowedToActOnBehalfOfOtherIdentity), comparing SIDs; fa is nil when the
// front end's account was not read.
func (w hopWriter) resourceBased(h hopPath, fa *triage.Account) string {
	if h.path.BackEndAccount == "" {
		return "resource-based delegation not read: the back end's service account is not known"
	}
	account := w.name(h.path.BackEndAccount)
	b := h.back
	switch {
	case b == nil:
		return "resource-based delegation not read: " + account + " was not read"
	case b.Err != "":
		return "resource-based delegation not read: " + account + " could not be read: " + w.text(b.Err)
	case b.Account == nil:
		return "resource-based delegation not read: " + account + " is not in the directory"
	}
	is := func(p triage.Principal) bool { return fa != nil && fa.SID != "" && strings.EqualFold(p.SID, fa.SID) }
	switch {
	case slices.ContainsFunc(b.DeniedToActOnBehalf, is):
		return "resource-based delegation denied to it by " + account
	case slices.ContainsFunc(b.AllowedToActOnBehalf, is):
		return "resource-based delegation allowed by " + account
	case len(b.AllowedToActOnBehalf) > 0 && fa == nil:
		return "resource-based delegation: " + account + " allows " + human.Count(len(b.AllowedToActOnBehalf), "principal", "principals")
	case len(b.AllowedToActOnBehalf) > 0:
		return "no resource-based delegation: " + account + " allows " + human.Count(len(b.AllowedToActOnBehalf), "other principal", "other principals")
	}
	return "no resource-based delegation on " + account
}

// An answer is what the KDC said to one request through a path, as a mark (an
// emoji) and plain text.
type answer struct{ mark, text string }

// answer words a proof: issued, refused at a step with the error's name, cannot be
// proven and why, or not asked and why.
func (w hopWriter) answer(p triage.DelegationProof) answer {
	who := w.name(cmp.Or(p.User, "(no user)")) + " to " + w.name(cmp.Or(p.SPN, "(no SPN)"))
	refusal := ""
	if p.Step != "" {
		refusal = fmt.Sprintf("refused at %s with %s", stepName(w.name(p.Step)), w.name(errorName(p)))
		if p.NTStatus != "" {
			refusal += ", " + w.name(p.NTStatus)
		}
	}
	switch {
	case p.ProxyIssued:
		return answer{":white_check_mark:", "issued: " + who}
	case p.Unprovable != "":
		s := "cannot be proven: " + who
		if refusal != "" {
			s += ", " + refusal
		}
		return answer{":grey_question:", s + ": " + w.text(p.Unprovable)}
	case refusal != "":
		s := refusal + ": " + who
		if p.Step == "s4u2proxy" && p.SelfIssued && !p.SelfForwardable {
			s += "; the S4U2self ticket was not forwardable"
		}
		return answer{":x:", s}
	case p.Err != "":
		return answer{":exclamation:", "not asked: " + who + ": " + w.text(p.Err)}
	}
	return answer{":grey_question:", "no ticket and no refusal recorded: " + who}
}

func stepName(s string) string {
	switch s {
	case "s4u2self":
		return "S4U2self"
	case "s4u2proxy":
		return "S4U2proxy"
	}
	return s
}

func errorName(p triage.DelegationProof) string {
	switch {
	case p.ErrorName != "":
		return p.ErrorName
	case p.KDCError != 0:
		return fmt.Sprintf("Kerberos error %d", p.KDCError)
	}
	return "an error not named"
}

// user says what the directory said of a user whose identity travels.
func (w hopWriter) user(u triage.DelegationAccount) string {
	name := u.Name
	if u.Account != nil {
		name = u.Account.Name()
	}
	name = w.name(name)
	switch {
	case u.Err != "":
		return name + " could not be read: " + w.text(u.Err)
	case u.Account == nil:
		return name + " is not in the directory"
	}
	sensitive := u.Account.UAC&triage.UACNotDelegated != 0
	switch {
	case sensitive && u.ProtectedUser:
		return name + " cannot be delegated: Account is sensitive and cannot be delegated, and a member of Protected Users"
	case sensitive:
		return name + " cannot be delegated: Account is sensitive and cannot be delegated"
	case u.ProtectedUser:
		return name + " cannot be delegated: a member of Protected Users"
	}
	return name + " can be delegated"
}

// secondHop renders the second-hop reply's content: a header, the front ends of
// the host as a back end, the paths and the users; nil when there is none of it.
func (r *renderer) secondHop() []slack.Block {
	groups := hopGroups(r.rep)
	if len(groups) == 0 && len(r.opt.FrontEnds) == 0 {
		return nil
	}
	w := hopWriter{name: r.clipper(hopNameBudget), text: r.clipper(hopTextBudget)}
	blocks := []slack.Block{header("Second hop")}
	if fes := r.opt.FrontEnds; len(fes) > 0 {
		var lines []string
		for i, fe := range fes {
			if i == MaxFrontEnds {
				lines = append(lines, fmt.Sprintf("…and %d more front ends.", len(fes)-i))
				break
			}
			lines = append(lines, r.frontEnd(w, fe))
		}
		blocks = append(blocks, sections("*Front ends of this back end*", lines)...)
	}
	shown := 0
	for _, g := range groups {
		var lines []string
		for i, h := range g.paths {
			if shown == maxHopPaths {
				lines = append(lines, fmt.Sprintf("…and %d more paths, in the attached report.", len(g.paths)-i))
				r.truncated = true
				break
			}
			shown++
			lines = append(lines, r.hopPath(w, h)...)
		}
		if len(lines) > 0 {
			blocks = append(blocks, sections("*"+Escape(w.name(g.title))+"*", lines)...)
		}
	}
	if users := hopUsers(r.rep.Delegation); len(users) > 0 {
		var lines []string
		for i, u := range users {
			if i == maxHopUsers {
				lines = append(lines, fmt.Sprintf("…and %d more users, in the attached report.", len(users)-i))
				r.truncated = true
				break
			}
			lines = append(lines, "• "+Escape(w.user(u)))
		}
		blocks = append(blocks, sections("*Users whose identity travels*", lines)...)
	}
	return blocks
}

// clipper returns a function that shortens report text to b, marking the thread
// truncated when it does.
func (r *renderer) clipper(b budget) func(string) string {
	return func(s string) string {
		s, cut := clip(oneLine(s), b)
		r.truncated = r.truncated || cut
		return s
	}
}

// hopPath renders a path as lines of mrkdwn: the path and how it is known with what
// the directory said, then one line per answer of the KDC.
func (r *renderer) hopPath(w hopWriter, h hopPath) []string {
	head := fmt.Sprintf("• *%s* · %s\n      Directory: %s", Escape(w.title(h.path)), Escape(w.via(h.path)),
		Escape(strings.Join(w.directory(h), "; ")))
	lines := []string{head}
	for i, p := range h.proofs {
		if i == maxHopProofs {
			lines = append(lines, fmt.Sprintf("      …and %d more answers of the KDC, in the attached report.", len(h.proofs)-i))
			r.truncated = true
			break
		}
		a := w.answer(p)
		lines = append(lines, fmt.Sprintf("      KDC: %s %s", a.mark, Escape(a.text)))
	}
	return lines
}

// frontEnd renders a front end of the host as a back end: its latest report's
// verdict, ID and thread, or why there is none.
func (r *renderer) frontEnd(w hopWriter, fe FrontEnd) string {
	host := "*" + Escape(w.name(cmp.Or(fe.Host, "(no name)"))) + "*"
	switch {
	case fe.Unread:
		return "• " + host + ": its reports could not be read from the store"
	case fe.ReportID == "":
		return "• " + host + ": not triaged yet"
	}
	emoji, word := statusLook(fe.Status)
	id, cut := clip(oneLine(fe.ReportID), budget{64, 200})
	r.truncated = r.truncated || cut
	s := fmt.Sprintf("• %s %s %s · report %s", emoji, host, word, codeSpan(id))
	if fe.Link != "" && len(fe.Link) <= maxLinkLength && linkable(fe.Link) {
		s += " · <" + fe.Link + "|its thread>"
	}
	return s
}

// secondHopMessage renders the second-hop reply from its content.
func (r *renderer) secondHopMessage(content []slack.Block) Message {
	groups := hopGroups(r.rep)
	n := 0
	for _, g := range groups {
		n += len(g.paths)
	}
	text := "Second hop of " + r.host
	var parts []string
	if n > 0 {
		parts = append(parts, human.Count(n, "delegation path", "delegation paths"))
	}
	if fes := len(r.opt.FrontEnds); fes > 0 {
		parts = append(parts, human.Count(fes, "front end", "front ends"))
	}
	if len(parts) > 0 {
		text += ": " + strings.Join(parts, ", ")
	}
	msgs := r.pack(text, nil, nil, content, []string{r.host, "second hop"}, 1,
		"…and more of the second hop, in the attached report.")
	return msgs[0]
}

// markdownSecondHop writes the second hop's section of Markdown: every path, every
// answer of the KDC and every user, nothing shortened.
func markdownSecondHop(b *strings.Builder, rep triage.Report) {
	groups := hopGroups(rep)
	if len(groups) == 0 {
		return
	}
	w := hopWriter{name: oneLine, text: oneLine}
	b.WriteString("## Second hop\n\n")
	for _, g := range groups {
		fmt.Fprintf(b, "### %s\n\n", mdText(g.title))
		for _, h := range g.paths {
			fmt.Fprintf(b, "- **%s**, %s\n", mdText(w.title(h.path)), mdText(w.via(h.path)))
			fmt.Fprintf(b, "  - Directory: %s\n", mdText(strings.Join(w.directory(h), "; ")))
			for _, p := range h.proofs {
				fmt.Fprintf(b, "  - KDC: %s\n", mdText(w.answer(p).text))
			}
		}
		b.WriteString("\n")
	}
	if users := hopUsers(rep.Delegation); len(users) > 0 {
		b.WriteString("### Users whose identity travels\n\n")
		for _, u := range users {
			fmt.Fprintf(b, "- %s\n", mdText(w.user(u)))
		}
		b.WriteString("\n")
	}
}
