package plan

import (
	"context"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/sources/browser"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/sources/hostlocal"
	"github.com/authtriage/authtriage/triage"
)

// A checkSpec is one check of a triage and how it is built where it runs.
type checkSpec struct {
	name string
	// onHost says the check reads what only the SQL Server host has: it runs in an
	// agent, never in a client without one.
	onHost bool
	// live says the check is listed only when the triage has a live source (see
	// builder.live): offline, from files alone, it would have nothing to ask.
	live  bool
	build func(b *builder) (triage.Check, error)
}

// checkList is the one list of a triage's checks, in the order reports show them.
// A client runs them here, or has the host's agent run them (but those whose source a
// request overrides with files); an agent runs them all here.
func checkList() []checkSpec {
	return []checkSpec{
		{name: "errorlog", build: (*builder).errorLog},
		{name: "eventlog", build: (*builder).eventLog},
		{name: "instances", live: true, build: (*builder).instances},
		{name: "spn", build: (*builder).spn},
		{name: "account", build: (*builder).account},
		{name: "kerberos", build: (*builder).kerberos},
		{name: "clock", build: (*builder).clock},
		{name: "dc", build: (*builder).dc},
		{name: "dns", build: (*builder).dns},
		{name: "sql", build: (*builder).sql},
		{name: "delegation", build: (*builder).delegation},
		{name: "lsa", onHost: true, build: (*builder).lsa},
		{name: "keytab", onHost: true, build: (*builder).keytab},
	}
}

// A builder builds the checks of one plan.
type builder struct {
	p           *Planner
	ctx         context.Context // for the adapters' files, read when first needed
	t           triage.Target
	h           config.Host // the inventory's entry, when inInventory
	inInventory bool
	since       time.Duration
	o           Overrides
	remote      bool // an agent serves the host (client side)
	ldif        *directory.LDIF
}

// overridden reports whether the request's files replace the source of the check name.
func (b *builder) overridden(name string) bool {
	switch name {
	case "errorlog":
		return len(b.o.ErrorLogs) > 0
	case "eventlog":
		return len(b.o.Events) > 0
	case "spn", "account":
		return b.o.LDIF != ""
	case "delegation": // users to check are the request's, which an agent is not told
		return b.o.LDIF != "" || len(b.o.Users) > 0
	}
	return false
}

// loadLDIF reads the request's LDIF export, if any.
func (b *builder) loadLDIF() error {
	if b.o.LDIF == "" {
		return nil
	}
	l, err := OpenLDIF(b.ctx, b.o.LDIF)
	if err != nil {
		return inputError(err)
	}
	b.ldif = l
	return nil
}

// hasSource reports whether a client's triage has any source of evidence: files, a
// directory (live or exported), a KDC or an agent.
func (b *builder) hasSource() bool {
	cfg := b.p.cfg
	return b.remote || len(b.o.ErrorLogs) > 0 || len(b.o.Events) > 0 || b.o.LDIF != "" ||
		(b.inInventory && b.h.ErrorLog != "" && b.h.ErrorLog != config.ErrorLogSQL) || (b.inInventory && len(b.h.Events) > 0) ||
		(cfg != nil && (cfg.Directory != nil || cfg.Kerberos != nil))
}

// live reports whether the triage has a live source to discover the host's instances
// from: the agent itself, an agent serving the host, or a directory or Kerberos
// configuration (the network it names). A triage from files alone has none, and
// touches no network.
func (b *builder) live() bool {
	cfg := b.p.cfg
	return b.p.o.Agent || b.remote || (cfg != nil && (cfg.Directory != nil || cfg.Kerberos != nil))
}

// listed reports whether the plan lists the check c.
func (b *builder) listed(c checkSpec) bool {
	return (!c.onHost || b.p.o.Agent || b.remote) && (!c.live || b.live())
}

// onHost reports whether the agent runs on the target host itself.
func (b *builder) onHost() bool {
	local := b.p.o.LocalHost
	return b.p.o.Agent && local != "" && strings.EqualFold(b.t.ShortName(), strings.SplitN(local, ".", 2)[0])
}

// none says what source of evidence a host lacks: "no ERRORLOG source for sqlhost01"
// and why, for a host of the inventory.
func (b *builder) none(what, inventoryNames string) string {
	msg := "no " + what + " source for " + b.t.Host
	switch {
	case b.p.o.Agent:
		msg += ": the inventory names " + inventoryNames + " and the agent does not run on it"
	case b.inInventory:
		msg += ": the inventory names " + inventoryNames + " and no agent serves it"
	}
	return msg
}

func (b *builder) errorLog() (triage.Check, error) {
	c := checks.ErrorLog{Since: b.since, Now: b.p.o.Now, Progress: b.o.Progress}
	switch {
	case len(b.o.ErrorLogs) > 0:
		c.Files, c.Copied = b.o.ErrorLogs, true
	case !b.inInventory:
	case b.h.ErrorLog == config.ErrorLogSQL && b.p.o.Agent:
		sql, err := b.p.ad.SQL()
		if err != nil {
			return nil, err
		}
		return checks.SQLErrorLog{Server: sql, Since: b.since}, nil
	case b.h.ErrorLog == config.ErrorLogSQL:
		c.NoSource = "the ERRORLOG of " + b.t.Host + " is read through sp_readerrorlog, which only an agent does, and no agent serves it"
	case b.h.ErrorLog != "":
		c.Files = []string{b.h.ErrorLog}
	case b.onHost():
		instance := ""
		if len(b.t.Instances) > 0 {
			instance = b.t.Instances[0].Name
		}
		p, err := hostlocal.ErrorLogPath(instance)
		if err != nil {
			c.NoSource = "no ERRORLOG source for " + b.t.Host + ": " + err.Error()
		} else {
			c.Files = []string{p}
		}
	default:
		c.NoSource = b.none("ERRORLOG", "none")
	}
	return c, nil
}

func (b *builder) eventLog() (triage.Check, error) {
	c := checks.EventLog{Since: b.since, Now: b.p.o.Now}
	switch {
	case len(b.o.Events) > 0:
		c.Files, c.Copied = b.o.Events, true
	case !b.inInventory:
	case len(b.h.Events) > 0:
		c.Files = b.h.Events
	case b.onHost() && runtime.GOOS == "windows":
		c.Files, c.Export = []string{"System", "Application"}, hostlocal.EventLog
	case b.onHost():
		c.NoSource = "no event-log source for " + b.t.Host + ": the inventory names no export, and live event logs are read only on Windows"
	default:
		c.NoSource = b.none("event-log", "no export")
	}
	return c, nil
}

// offline is why the checks that ask a domain controller or the KDC are skipped when
// the directory is an LDIF export.
const offline = "offline triage from an LDIF export: not contacted"

// noDirectory is why the directory checks are skipped without a directory.
const noDirectory = "no directory source: no domain controller or LDIF export"

// directory returns the live directory client, nil without one.
func (b *builder) directory() (*directory.Client, error) { return b.p.ad.Directory(b.ctx) }

func (b *builder) spn() (triage.Check, error) {
	if b.ldif != nil {
		return checks.SPN{Dir: b.ldif}, nil
	}
	d, err := b.directory()
	if d == nil || err != nil {
		return checks.SPN{NoSource: noDirectory}, err
	}
	return checks.SPN{Dir: d}, nil
}

func (b *builder) account() (triage.Check, error) {
	c := checks.Account{NotFound: directory.ErrNotFound}
	if b.ldif != nil {
		c.Dir = b.ldif
		return c, nil
	}
	d, err := b.directory()
	if d == nil || err != nil {
		c.NoSource = noDirectory
		return c, err
	}
	c.Dir = d
	return c, nil
}

func (b *builder) kerberos() (triage.Check, error) {
	if b.ldif != nil {
		return checks.Kerberos{NoSource: offline}, nil
	}
	k, err := b.p.ad.KDC(b.ctx)
	if k == nil || err != nil {
		return checks.Kerberos{NoSource: "no Kerberos settings for the checker"}, err
	}
	return checks.Kerberos{KDC: k}, nil
}

func (b *builder) clock() (triage.Check, error) {
	if b.ldif != nil {
		return checks.Clock{NoSource: offline}, nil
	}
	d, err := b.directory()
	if d == nil || err != nil {
		return checks.Clock{NoSource: noDirectory}, err
	}
	return checks.Clock{DC: d}, nil
}

func (b *builder) dc() (triage.Check, error) {
	if b.ldif != nil {
		return checks.DC{NoSource: offline}, nil
	}
	d, err := b.directory()
	if d == nil || err != nil {
		return checks.DC{NoSource: noDirectory}, err
	}
	return checks.DC{Dir: d}, nil
}

func (b *builder) dns() (triage.Check, error) {
	if b.ldif != nil {
		return checks.DNS{NoSource: offline}, nil
	}
	d, err := b.directory()
	if d == nil || err != nil {
		return checks.DNS{NoSource: noDirectory}, err
	}
	return checks.DNS{Resolver: b.p.ad.Resolver(), Dir: d}, nil
}

func (b *builder) sql() (triage.Check, error) {
	if !b.p.sqlLogins() {
		return checks.SQL{NoSource: "no Kerberos settings for the checker's SQL Server logins"}, nil
	}
	s, err := b.p.ad.SQL()
	if err != nil {
		return nil, err
	}
	return checks.SQL{Server: s}, nil
}

// instances builds the discovery of the host's instances: SQL Server Browser and DNS
// through the configured resolver, SQL Server's own view where the checker logs in,
// and the configured ports when the agent runs on the host. Offline, from an LDIF
// export, nothing is contacted.
func (b *builder) instances() (triage.Check, error) {
	if b.ldif != nil {
		return checks.Instances{NoSource: offline}, nil
	}
	r := b.p.ad.Resolver()
	c := checks.Instances{Browser: browser.Client{Resolver: r}, NoAnswer: browser.ErrNoAnswer, Resolver: r, Since: b.since, Now: b.p.o.Now}
	if b.p.sqlLogins() {
		s, err := b.p.ad.SQL()
		if err != nil {
			return nil, err
		}
		c.Inspector, c.Logins = s, s
	}
	if b.onHost() {
		c.Configured = hostlocal.ConfiguredPorts
	}
	return c, nil
}

func (b *builder) lsa() (triage.Check, error) {
	c := checks.LSA{NoSource: "the LSA is probed only by an agent running on the Windows SQL Server host"}
	if b.onHost() && runtime.GOOS == "windows" {
		c.Probe = hostlocal.ProbeLSA
	}
	return c, nil
}

// linuxKeytab is where mssql-conf setup-ad-keytab puts SQL Server on Linux's keytab.
const linuxKeytab = "/var/opt/mssql/secrets/mssql.keytab"

func (b *builder) keytab() (triage.Check, error) {
	c := checks.Keytab{NoSource: "the keytab is read only by an agent running on the Linux SQL Server host"}
	if b.onHost() && runtime.GOOS == "linux" {
		if _, err := os.Stat(linuxKeytab); err == nil {
			c.Path, c.Read = linuxKeytab, hostlocal.ReadKeytab
		}
	}
	return c, nil
}
