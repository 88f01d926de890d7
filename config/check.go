package config

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/certtext"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/internal/safefile"
)

// CheckOptions say how Check judges what a configuration refers to.
type CheckOptions struct {
	// Account is the account the command will run as, which must be able to read
	// the files; nil means this process, which then reads them (see Account).
	Account *Account
	// Now is when certificates must be valid; zero means the time Check runs.
	Now time.Time
	// ExpiryWarning is how close to its end a certificate's validity is a
	// warning; zero means DefaultExpiryWarning.
	ExpiryWarning time.Duration
}

// DefaultExpiryWarning is CheckOptions.ExpiryWarning when it is zero.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// A Result is one configuration file as Check found it.
type Result struct {
	File     string
	Role     Role      // the role the file was checked as; RoleAuto resolved
	Config   *Config   // nil when the file has an error
	Problems []Problem // errors and warnings, sorted by line
}

// Errors returns how many of the problems are errors, not warnings.
func (r Result) Errors() int {
	n := 0
	for _, p := range r.Problems {
		if !p.Warning {
			n++
		}
	}
	return n
}

// Check loads each file as LoadAs does for role (RoleAuto: each file for the role
// its sections show) and, as far as the file could be decoded, looks past it at
// what it names, reporting every problem of every file at once, each with its
// file and line:
//
//   - every file the role reads (certificates, keys, CA bundles, the keytab,
//     krb5.conf, the files X_file keys name, and evidence files read on this
//     machine) exists, is a regular file, and is readable by o.Account or, when it
//     is nil, by this process; the SQLite store's folder is writable;
//   - certificates and keys parse, each key belongs to its certificate,
//     certificates are valid at o.Now and for their use (the agent's for TLS
//     servers with a DNS name or IP address, a client's for TLS clients with an
//     identity); one within o.ExpiryWarning of its end is a warning;
//   - a certificate verifies against a CA bundle of the same file when that
//     bundle holds its issuer;
//   - agents no host uses, and two agents with one URL, are warnings;
//   - when both an agent's file and a file with agents (the bot's, the CLI's) are
//     given, for the agent the other file dials (the only one, or the one whose
//     certificate names the URL's host or server_name): the client's identity
//     is in allowed_clients, the client's certificate verifies against the
//     agent's client CA, the agent's certificate verifies against ca_path for the
//     name dialled, the ports agree, and the hosts sent to the agent are in its
//     inventory.
//
// Missing or unreadable evidence files (errorlog, events) are warnings: a triage
// reports them for its host, and the other hosts still work. A file that cannot
// be read at all is a problem without a line.
func Check(ctx context.Context, files []string, role Role, getenv func(string) string, o CheckOptions) []Result {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ExpiryWarning == 0 {
		o.ExpiryWarning = DefaultExpiryWarning
	}
	var checked []*fileCheck
	for _, f := range files {
		checked = append(checked, checkOne(ctx, f, role, getenv, o))
	}
	for _, a := range checked {
		for _, b := range checked {
			if a.agentTLS != nil && b != a && len(b.agents) > 0 {
				crossCheck(b, a)
			}
		}
	}
	results := make([]Result, len(checked))
	for i, c := range checked {
		results[i] = Result{File: c.file, Role: c.role}
		if err := c.r.err(); err != nil {
			results[i].Problems = err.(*Error).Problems
		}
		if results[i].Errors() == 0 {
			results[i].Config = c.cfg
		}
	}
	return results
}

// fileCheck is one configuration file being checked.
type fileCheck struct {
	file     string
	role     Role
	cfg      *Config
	r        *reporter
	o        CheckOptions
	agentTLS *serverTLS  // the agent section's certificates, when they loaded
	agents   []clientTLS // the agents section's, one per agent, zero where they did not load
}

// serverTLS is what an agent's file says about its TLS.
type serverTLS struct {
	chain    []*x509Cert // the agent's certificate first
	clientCA []*x509Cert // the CAs that sign its clients
}

// clientTLS is what one agents[] entry says about its TLS.
type clientTLS struct {
	ok    bool
	chain []*x509Cert // the client's certificate first
	ca    []*x509Cert // the CAs trusted for the agent's certificate
}

func checkOne(ctx context.Context, file string, role Role, getenv func(string) string, o CheckOptions) *fileCheck {
	c := &fileCheck{file: file, role: role, o: o}
	data, err := readLimited(ctx, file)
	if err != nil {
		c.r = newReporter(file)
		msg := "cannot be read: " + err.Error()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg = "no such file"
		case errors.Is(err, fs.ErrPermission):
			msg = "permission denied to " + processUser()
		}
		c.r.at(0, "", "%s", msg)
		return c
	}
	cfg, r, decoded := parseConfig(data, file, getenv, fileReader(ctx, file), role)
	c.r = r
	if cfg != nil {
		c.role = cfg.Role
	}
	if !decoded || cfg == nil {
		return c
	}
	c.cfg = cfg
	c.checkFiles(ctx, r.files)
	c.checkDirectory(ctx)
	c.checkKerberos(ctx)
	c.checkDelegation(ctx)
	c.checkAgentServer(ctx)
	c.checkAgents(ctx)
	c.checkEvidence(ctx)
	c.checkStore()
	return c
}

// plainError returns the message of a file error without Go's "open NAME:" when it
// names the file, for messages that name it themselves.
func plainError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// read reads a file the configuration names at path (a schema path such as
// "agent.cert_path"), reporting at path why it cannot be used; ok is false then.
func (c *fileCheck) read(ctx context.Context, path, name string) ([]byte, bool) {
	if c.r.skip(path) {
		return nil, false
	}
	data, err := safefile.ReadFile(ctx, name, maxFileSize)
	if err != nil {
		c.r.add(path, "%s", fileProblem(name, err))
		return nil, false
	}
	if c.o.Account != nil {
		if err := c.o.Account.canRead(name); err != nil {
			c.r.add(path, "%v", err)
			return nil, false
		}
	}
	return data, true
}

// fileProblem says why a file cannot be read, in a user's words.
func fileProblem(name string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return quotePath(name) + ": no such file"
	case errors.Is(err, fs.ErrPermission):
		return quotePath(name) + ": permission denied to " + processUser()
	case errors.Is(err, safefile.ErrNotRegular):
		return err.Error()
	}
	return plainError(err)
}

// checkFiles checks that the account can read the files X_file keys named: this
// process has read them already.
func (c *fileCheck) checkFiles(_ context.Context, refs []fileRef) {
	if c.o.Account == nil {
		return
	}
	for _, f := range refs {
		if err := c.o.Account.canRead(resolveFile(c.file, f.name)); err != nil && !c.r.skip(f.path) {
			c.r.at(f.line, f.path, "%v", err)
		}
	}
}

// checkDirectory checks the CA bundle the directory's certificates are verified with.
func (c *fileCheck) checkDirectory(ctx context.Context) {
	if d := c.cfg.Directory; d != nil && d.CAPath != "" {
		c.caBundle(ctx, "directory.ca_path", d.CAPath)
	}
}

// checkKerberos checks that krb5.conf is readable and that the keytab parses and
// holds a key for the principal in the realm.
func (c *fileCheck) checkKerberos(ctx context.Context) {
	k := c.cfg.Kerberos
	if k == nil {
		return
	}
	if k.Krb5Conf != "" {
		c.read(ctx, "kerberos.krb5_conf", k.Krb5Conf)
	}
	if k.Keytab == "" {
		return
	}
	data, ok := c.read(ctx, "kerberos.keytab", k.Keytab)
	if !ok {
		return
	}
	kt := keytab.New()
	if err := kt.Unmarshal(data); err != nil {
		c.r.add("kerberos.keytab", "%s is not a keytab: %v", quotePath(k.Keytab), err)
		return
	}
	for _, e := range kt.Entries {
		if strings.Join(e.Principal.Components, "/") == k.Principal && e.Principal.Realm == k.Realm { // as gokrb5 looks keys up: case matters
			return
		}
	}
	c.r.add("kerberos.keytab", "%s holds no key for %s@%s (the principal and realm above)", quotePath(k.Keytab), k.Principal, k.Realm)
}

func (c *fileCheck) checkAgentServer(ctx context.Context) {
	a := c.cfg.Agent
	if a == nil || !c.role.uses("agent") {
		return
	}
	chain, key := c.keyPair(ctx, "agent.cert_path", a.CertPath, "agent.key_path", a.KeyPath)
	ca := c.caBundle(ctx, "agent.client_ca_path", a.ClientCAPath)
	if chain == nil || key == nil {
		return
	}
	leaf := chain[0]
	switch {
	case !leaf.usableFor(extServerAuth):
		c.r.add("agent.cert_path", "%s is not issued for %s: clients refuse it", quotePath(a.CertPath), certtext.Usage(extServerAuth))
	case certtext.Names(leaf.Certificate) == "":
		c.r.add("agent.cert_path", "%s names no DNS name or IP address (subject alternative name): clients cannot verify it", quotePath(a.CertPath))
	default:
		if ca != nil {
			c.verifyIfIssued("agent.cert_path", a.CertPath, chain, ca, "client_ca_path", extServerAuth)
		}
		c.agentTLS = &serverTLS{chain: chain, clientCA: ca}
	}
}

func (c *fileCheck) checkAgents(ctx context.Context) {
	if !c.role.uses("agents") {
		return
	}
	used := map[string]bool{}
	for _, h := range c.cfg.Hosts {
		used[strings.ToLower(h.Agent)] = true
	}
	urls := map[string]int{}
	c.agents = make([]clientTLS, len(c.cfg.Agents))
	for i, a := range c.cfg.Agents {
		p := index("agents", i)
		if !used[strings.ToLower(a.Name)] {
			c.r.warn(field(p, "name"), "no host names agent %s (hosts[].agent)", quote(a.Name))
		}
		if j, dup := urls[strings.ToLower(a.URL)]; dup {
			c.r.warn(field(p, "url"), "%s is also the URL of agents[%d]", quote(a.URL), j)
		}
		urls[strings.ToLower(a.URL)] = i
		chain, key := c.keyPair(ctx, field(p, "cert_path"), a.CertPath, field(p, "key_path"), a.KeyPath)
		ca := c.caBundle(ctx, field(p, "ca_path"), a.CAPath)
		if chain == nil || key == nil {
			continue
		}
		leaf := chain[0]
		switch {
		case !leaf.usableFor(extClientAuth):
			c.r.add(field(p, "cert_path"), "%s is not issued for %s: the agent refuses it", quotePath(a.CertPath), certtext.Usage(extClientAuth))
			continue
		case leaf.identity() == "":
			c.r.add(field(p, "cert_path"), "%s names no identity (no common name, no DNS name): the agent refuses it", quotePath(a.CertPath))
			continue
		}
		if ca != nil {
			c.verifyIfIssued(field(p, "cert_path"), a.CertPath, chain, ca, "ca_path", extClientAuth)
		}
		c.agents[i] = clientTLS{ok: ca != nil, chain: chain, ca: ca}
	}
}

// checkEvidence checks the ERRORLOG and event-log files this machine reads: every
// host's in an agent's file, those of hosts without an agent otherwise. Paths of
// another system's form (C:\ on Unix) are not checked. Problems are warnings.
func (c *fileCheck) checkEvidence(ctx context.Context) {
	for i, h := range c.cfg.Hosts {
		if c.role != RoleAgent && h.Agent != "" && c.role.uses("agents") {
			continue // the agent reads them
		}
		p := index("hosts", i)
		if h.ErrorLog != "" && h.ErrorLog != ErrorLogSQL {
			c.evidence(ctx, field(p, "errorlog"), h.ErrorLog)
		}
		for j, e := range h.Events {
			c.evidence(ctx, index(field(p, "events"), j), e)
		}
	}
}

func (c *fileCheck) evidence(ctx context.Context, path, name string) {
	if !filepath.IsAbs(name) || c.r.skip(path) {
		return
	}
	f, err := safefile.Open(ctx, name)
	if err != nil {
		c.r.warn(path, "%s; the checks that read it will fail", fileProblem(name, err))
		return
	}
	f.Close()
	if c.o.Account != nil {
		if err := c.o.Account.canRead(name); err != nil {
			c.r.warn(path, "%v; the checks that read it will fail", err)
		}
	}
}

// checkStore checks that the SQLite store's folder exists and that the account can
// write it, and the database file, if there is one.
func (c *fileCheck) checkStore() {
	s := c.cfg.Store
	if !c.role.uses("store") || s.Driver != StoreSQLite || s.Path == "" || c.r.skip("store.path") {
		return
	}
	path, err := filepath.Abs(s.Path)
	if err != nil {
		return
	}
	dir := filepath.Dir(path)
	where := ""
	if !filepath.IsAbs(s.Path) {
		where = " (relative to the working directory, here " + filepath.Dir(path) + ")"
	}
	if err := writableDir(dir, c.o.Account); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			c.r.warn("store.path", "folder %s does not exist yet%s: create it for the bot (install -d -o USER), or let systemd create it (StateDirectory=)", quotePath(dir), where)
			return
		}
		c.r.add("store.path", "%v%s", err, where)
		return
	}
	if err := writableFile(path, c.o.Account); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.r.add("store.path", "%v", err)
	}
}

// keyPair reads and checks a certificate and its key; it returns them when both
// parse and match.
func (c *fileCheck) keyPair(ctx context.Context, certPath, certFile, keyPath, keyFile string) ([]*x509Cert, any) {
	chain := c.certs(ctx, certPath, certFile, false)
	data, ok := c.read(ctx, keyPath, keyFile)
	if !ok {
		return chain, nil
	}
	key, err := parseKey(data)
	if err != nil {
		c.r.add(keyPath, "%s: %v", quotePath(keyFile), err)
		return chain, nil
	}
	if chain == nil {
		return nil, key
	}
	if !publicKeyOf(key).Equal(chain[0].PublicKey) {
		c.r.add(keyPath, "%s is not the key of the certificate in %s (%s)", quotePath(keyFile), lastKey(certPath), quotePath(certFile))
		return chain, nil
	}
	return chain, key
}

// caBundle reads the CA certificates of a bundle; nil when it has none usable.
func (c *fileCheck) caBundle(ctx context.Context, path, name string) []*x509Cert {
	return c.certs(ctx, path, name, true)
}

// certs reads the PEM certificates of a file and checks their validity; for a CA
// bundle, that they are CAs.
func (c *fileCheck) certs(ctx context.Context, path, name string, ca bool) []*x509Cert {
	data, ok := c.read(ctx, path, name)
	if !ok {
		return nil
	}
	list, err := parseCerts(data)
	if err != nil {
		c.r.add(path, "%s: %v", quotePath(name), err)
		return nil
	}
	var valid []*x509Cert
	var invalid []string
	for i, cert := range list {
		what := quotePath(name)
		if len(list) > 1 {
			what = fmt.Sprintf("certificate %d of %s (%s)", i+1, quotePath(name), quote(cert.Subject.CommonName))
		}
		if v := certtext.Validity(cert.Certificate, c.o.Now); v != "" {
			invalid = append(invalid, what+" "+v)
			continue
		}
		if left := cert.NotAfter.Sub(c.o.Now); left < c.o.ExpiryWarning {
			c.r.warn(path, "%s expires on %s, in %s: renew it", what, certtext.Time(cert.NotAfter), formatDays(left))
		}
		if ca && !cert.IsCA {
			c.r.warn(path, "%s is not a CA certificate (basic constraints): it can only be trusted as itself", what)
		}
		valid = append(valid, cert)
	}
	switch {
	case len(invalid) > 0 && (!ca || len(valid) == 0):
		// A chain is as good as its worst certificate; a bundle needs one good CA.
		c.r.add(path, "%s", strings.Join(invalid, "; "))
		return nil
	case len(invalid) > 0:
		for _, msg := range invalid {
			c.r.warn(path, "%s; the other CAs of the file are used", msg)
		}
		return valid
	}
	return list
}

// verifyIfIssued verifies chain against the CAs when they hold its issuer (by
// name), reporting at path why it does not verify; a chain issued by another CA
// is left to the other side.
func (c *fileCheck) verifyIfIssued(path, name string, chain, cas []*x509Cert, caKey string, usage extUsage) {
	if !slices.ContainsFunc(cas, func(ca *x509Cert) bool { return issuedBy(chain, ca) }) {
		return
	}
	if err := verify(chain, cas, "", usage, c.o.Now); err != nil {
		c.r.add(path, "%s does not verify against %s: %v", quotePath(name), caKey, verifyError(err, chain, cas))
	}
}

// crossCheck checks a file with agents (b) against an agent's file (a).
func crossCheck(b, a *fileCheck) {
	srv := a.agentTLS
	var matched []int
	for i, ag := range b.cfg.Agents {
		if b.agents[i].chain == nil {
			continue
		}
		if len(b.cfg.Agents) == 1 || srv.chain[0].VerifyHostname(dialName(ag)) == nil {
			matched = append(matched, i)
		}
	}
	if len(matched) == 0 {
		if len(b.cfg.Agents) > 1 {
			b.r.warn("agents", "none of the agents is the one %s configures: its certificate names %s",
				a.file, certtext.Names(srv.chain[0].Certificate))
		}
		return
	}
	for _, i := range matched {
		ag, cl := b.cfg.Agents[i], b.agents[i]
		p := index("agents", i)
		id := cl.chain[0].identity()
		if !slices.ContainsFunc(a.cfg.Agent.AllowedClients, func(s string) bool { return strings.EqualFold(s, id) }) {
			b.r.add(field(p, "cert_path"), "identity %s of %s is not in allowed_clients of the agent (%s): it refuses this client",
				quote(id), quotePath(ag.CertPath), a.at("agent.allowed_clients"))
		} else if srv.clientCA != nil {
			if err := verify(cl.chain, srv.clientCA, "", extClientAuth, b.o.Now); err != nil {
				b.r.add(field(p, "cert_path"), "%s does not verify against the agent's client_ca_path (%s): %v",
					quotePath(ag.CertPath), a.at("agent.client_ca_path"), verifyError(err, cl.chain, srv.clientCA))
			}
		}
		if cl.ca != nil {
			if err := verify(srv.chain, cl.ca, dialName(ag), extServerAuth, b.o.Now); err != nil {
				b.r.add(field(p, "ca_path"), "the agent's certificate (%s) does not verify against %s for %s: %v",
					a.at("agent.cert_path"), quotePath(ag.CAPath), quote(dialName(ag)), verifyError(err, srv.chain, cl.ca))
			}
		}
		if port, listen := urlPort(ag.URL), listenPort(a.cfg.Agent.Listen); port != "" && listen != "" && port != listen && listen != "0" {
			b.r.warn(field(p, "url"), "port %s, but the agent listens on port %s (%s); fine only behind a proxy", port, listen, a.at("agent.listen"))
		}
		for j, h := range b.cfg.Hosts {
			if !strings.EqualFold(h.Agent, ag.Name) {
				continue
			}
			if _, ok := a.cfg.Host(h.Name); !ok {
				b.r.add(field(index("hosts", j), "agent"), "%s is not in the inventory of the agent (%s): it refuses to triage it", quote(h.Name), a.file)
			}
		}
	}
}

// quotePath quotes a file name for a message whole (quote cuts what it quotes):
// the configuration has refused control characters and names over 4096 bytes.
func quotePath(s string) string {
	if len(s) > 4096 {
		return quote(s)
	}
	return strconv.Quote(s)
}

// at names a path of this file for a message about another: "agent.yaml:12".
func (c *fileCheck) at(path string) string {
	if l := c.r.line(path); l > 0 {
		return fmt.Sprintf("%s:%d", c.file, l)
	}
	return c.file
}

// dialName is the name a client verifies in the agent's certificate.
func dialName(a Agent) string {
	if a.ServerName != "" {
		return a.ServerName
	}
	if u, err := url.Parse(a.URL); err == nil {
		return u.Hostname()
	}
	return ""
}

func urlPort(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return cmp.Or(u.Port(), "443")
}

func listenPort(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

// lastKey returns the last key of a path: "cert_path" of "agents[0].cert_path".
func lastKey(path string) string {
	return path[strings.LastIndexAny(path, ".")+1:]
}

// formatDays shows a duration as whole days, or hours under two days.
func formatDays(d time.Duration) string {
	if d < 48*time.Hour {
		return human.Count(int(d.Hours()), "hour", "hours")
	}
	return human.Count(int(d.Hours()/24), "day", "days")
}
