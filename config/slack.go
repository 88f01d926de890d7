package config

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Slack configures the connection to Slack of `authtriage serve`: the app's
// tokens, how events arrive, and how much work the bot takes on. Nil when the
// file has no slack section; only serve needs it.
type Slack struct {
	Mode              string // SlackSocket (the default) or SlackHTTP
	BotToken          Secret // the Bot User OAuth Token, "xoxb-..."; required
	AppToken          Secret // an app-level token, "xapp-..." with connections:write; required in socket mode
	SigningSecret     Secret // the app's Signing Secret; required in http mode
	Listen            string // http mode: host:port of the Slack endpoints; default ":3000"
	APIURL            string // Slack Web API base URL, http(s) and ending in "/"; default "https://slack.com/api/"
	OpsListen         string // host:port of /healthz, /readyz and /metrics, or OpsOff; default ":9090"
	Workers           int    // triages run at once; default 8, 1 to 256
	Queue             int    // triages waiting for a worker; default 64, 0 to 10000
	MaxThreadMessages int    // messages the bot writes in one diagnosis thread; default 20, 3 to 50
	Line              int    // line of the file where the section starts; 0 if unknown
}

// The values of Slack.Mode.
const (
	SlackSocket = "socket" // Socket Mode: the bot dials Slack; needs no public endpoint
	SlackHTTP   = "http"   // Slack sends HTTP requests to Listen, signed with the Signing Secret
)

// OpsOff as Slack.OpsListen turns off the operations endpoints.
const OpsOff = "off"

// Format prints s as fmt prints a pointer to a struct at the top level, with
// any verb, wherever s is. Without it, fmt would print a *Slack held by another
// value with a verb it refuses for pointers, such as %s, field by field without
// calling the fields' methods, and so show the tokens.
func (s *Slack) Format(f fmt.State, verb rune) { formatPointer(f, verb, s) }

// Format prints c as fmt prints a pointer to a struct at the top level, with
// any verb, wherever c is; see Slack.Format.
func (c *Config) Format(f fmt.State, verb rune) { formatPointer(f, verb, c) }

// formatPointer prints p as fmt prints a pointer to a struct at the top level,
// so that the struct's fields are printed through their own methods (Secret's
// redaction) for every verb.
func formatPointer[T any](f fmt.State, verb rune, p *T) {
	switch {
	case p == nil && verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "(%T)(nil)", p)
	case p == nil:
		io.WriteString(f, "<nil>")
	default:
		io.WriteString(f, "&")
		fmt.Fprintf(f, fmt.FormatString(f, verb), *p) // a T, which has no Format method
	}
}

func decodeSlack(d *decoder, n *yaml.Node, path string) *Slack {
	s := &Slack{
		Mode:              SlackSocket,
		Listen:            ":3000",
		APIURL:            "https://slack.com/api/",
		OpsListen:         ":9090",
		Workers:           8,
		Queue:             64,
		MaxThreadMessages: 20,
		Line:              n.Line,
	}
	d.mapping(n, path, fields{
		"mode":                d.str(&s.Mode),
		"bot_token":           d.secret(&s.BotToken),
		"app_token":           d.secret(&s.AppToken),
		"signing_secret":      d.secret(&s.SigningSecret),
		"listen":              d.str(&s.Listen),
		"api_url":             d.str(&s.APIURL),
		"ops_listen":          d.str(&s.OpsListen),
		"workers":             d.integer(&s.Workers),
		"queue":               d.integer(&s.Queue),
		"max_thread_messages": d.integer(&s.MaxThreadMessages),
	})
	if s.APIURL != "" && !strings.HasSuffix(s.APIURL, "/") {
		s.APIURL += "/"
	}
	return s
}

// validateSlack checks the section. Its messages never show a token or the
// signing secret, not even in part beyond Slack's public prefixes.
func validateSlack(r *reporter, path string, s *Slack) {
	if s == nil {
		return
	}
	r.record(path, s.Line)
	switch s.Mode {
	case SlackSocket, SlackHTTP:
	default:
		// The value is not shown: a token pasted one line too high must not leak.
		msg := `must be "socket" or "http"`
		if c := closest(s.Mode, []string{SlackSocket, SlackHTTP}); c != "" {
			msg += ", did you mean " + quote(c) + "?"
		}
		r.add(field(path, "mode"), "%s", msg)
	}
	validateToken(r, path, "bot_token", s.BotToken, "xoxb-",
		"the Bot User OAuth Token (OAuth & Permissions)", true)
	validateToken(r, path, "app_token", s.AppToken, "xapp-",
		"an app-level token with connections:write (Basic Information, App-Level Tokens)", s.Mode == SlackSocket)
	switch sec := s.SigningSecret.Reveal(); {
	case sec == "" && s.Mode == SlackHTTP:
		r.add(field(path, "signing_secret"), "is required in http mode: the Signing Secret from the app's Basic Information page (or signing_secret_file)")
	case sec == "":
	case tokenKind(sec) != "":
		r.add(field(path, "signing_secret"), "holds %s, not the Signing Secret from the app's Basic Information page", tokenKind(sec))
	case hasSpaceOrControl(sec):
		r.add(field(path, "signing_secret"), "contains white space or a control character")
	}
	if s.Mode == SlackHTTP {
		validateListen(r, field(path, "listen"), s.Listen, ":3000")
	}
	switch s.OpsListen {
	case OpsOff:
	case "":
		r.add(field(path, "ops_listen"), `is required: host:port such as ":9090", or "off" to serve no health and metrics endpoints`)
	default:
		validateListen(r, field(path, "ops_listen"), s.OpsListen, ":9090")
		if s.Mode == SlackHTTP && sameListener(s.Listen, s.OpsListen) {
			r.add(field(path, "ops_listen"), "%s is also listen's address; give each its own port", quote(s.OpsListen))
		}
	}
	if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || !strings.HasSuffix(s.APIURL, "/") {
		// Not quoted: a URL with user information would show a password.
		r.add(field(path, "api_url"), `must be an http:// or https:// URL ending in "/", such as "https://slack.com/api/", without user, query or fragment`)
	} else if u.Scheme == "http" && !loopback(u.Hostname()) {
		r.add(field(path, "api_url"), "must be https:// unless its host is this machine (localhost, 127.0.0.1, ::1): the bot token goes with every call")
	}
	if s.Workers < 1 || s.Workers > 256 {
		r.add(field(path, "workers"), "must be from 1 to 256")
	}
	if s.Queue < 0 || s.Queue > 10000 {
		r.add(field(path, "queue"), "must be from 0 to 10000")
	}
	if s.MaxThreadMessages < 3 || s.MaxThreadMessages > 50 {
		r.add(field(path, "max_thread_messages"), "must be from 3 to 50")
	}
}

// validateToken checks that the Slack token under key starts with prefix. what
// says where the right token is found. Messages name kinds of tokens, never
// values.
func validateToken(r *reporter, section, key string, t Secret, prefix, what string, required bool) {
	path := field(section, key)
	v := t.Reveal()
	switch {
	case v == "" && required:
		r.add(path, "is required: %s, starting with %q (or %s_file)", what, prefix, key)
	case v == "":
	case !strings.HasPrefix(v, prefix) && tokenKind(v) != "":
		r.add(path, "holds %s; give %s, starting with %q", tokenKind(v), what, prefix)
	case !strings.HasPrefix(v, prefix):
		r.add(path, "does not start with %q: give %s", prefix, what)
	case hasSpaceOrControl(v):
		r.add(path, "contains white space or a control character")
	}
}

// tokenKind names the kind of Slack token v is by its public prefix, or
// returns "" for anything else.
func tokenKind(v string) string {
	for _, k := range []struct{ prefix, kind string }{
		{"xoxb-", `a bot token ("xoxb-")`},
		{"xapp-", `an app-level token ("xapp-")`},
		{"xoxp-", `a user token ("xoxp-")`},
		{"xoxe", `a refresh or configuration token ("xoxe")`},
		{"xox", `a Slack token ("xox")`},
	} {
		if strings.HasPrefix(v, k.prefix) {
			return k.kind
		}
	}
	return ""
}

func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// validateListen checks a listen address: host:port with a port number, the
// host optional.
func validateListen(r *reporter, path, addr, example string) {
	_, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 || strings.HasPrefix(port, "+") {
		r.add(path, "%s is not host:port (%q listens on every address)", quote(addr), example)
	}
}

// sameListener reports whether two listen addresses would take the same port:
// the same port on the same host, or on every address. Port 0, a port the
// system picks, is never the same.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
