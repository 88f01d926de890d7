package testdomain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKDCDelegation asks the test domain's KDC each of Delegation.Proofs with MIT's client
// tools, independently of authtriage's own S4U code: as the front end, `kinit -f -k -t
// KEYTAB FRONT@REALM` (kinit -F for a PlainTGT proof), then `kvno -U USER -P SPN`
// (S4U2self, then S4U2proxy), then `klist -f` for the S4U2self ticket's flags. The KDC's
// error code comes from kvno's KRB5_TRACE. What kvno prints is logged: the S4U code
// maps the same answers.
//
// kvno(1) (krb5-user 1.20): "-U for_user Specifies that protocol transition (S4U2Self) is
// to be used to acquire a ticket on behalf of for_user"; "-P Specifies that the service1
// service2 ... arguments are to be treated as services for which credentials should be
// acquired using constrained delegation".
func TestKDCDelegation(t *testing.T) {
	d := Load(t)
	if d.Skewed {
		t.Skip("the KDC's clock is skewed (AUTHTRIAGE_TEST_SKEW=1): every AS exchange fails with KRB_AP_ERR_SKEW")
	}
	if len(d.Delegation.Proofs) == 0 {
		t.Fatal("the test domain has no delegation accounts: it was seeded by an older scripts/testdomain.sh")
	}
	requireMIT(t)
	for _, p := range d.Delegation.Proofs {
		t.Run(p.Name(), func(t *testing.T) {
			t.Parallel()
			got := askS4U(t, d, p)
			t.Logf("kvno -U %s -P %s as %s: exit %d, KDC answer %d\nstdout: %s\nstderr: %s\nS4U2self ticket flags: %q",
				p.User, p.SPN, p.FrontEnd, got.exit, got.proxy, got.stdout, got.stderr, got.selfFlags)
			if !got.selfIssued {
				t.Fatalf("no S4U2self ticket in the cache (klist -f):\n%s", got.klist)
			}
			if fwd := strings.Contains(got.selfFlags, "F"); fwd != p.SelfForwardable {
				t.Errorf("S4U2self ticket forwardable: %v (flags %q); want %v", fwd, got.selfFlags, p.SelfForwardable)
			}
			if got.proxy != p.Proxy {
				t.Errorf("S4U2proxy: KDC answer %d; want %d (%s)", got.proxy, p.Proxy, p.Why)
			}
			if p.Proxy == KDCErrBadOption {
				want := "KDC can't fulfill requested option " + p.SPN + "@" + d.Realm + ": constrained delegation failed"
				if !strings.Contains(got.stderr, want) {
					t.Errorf("kvno's stderr %q lacks %q", got.stderr, want)
				}
			}
		})
	}
}

// requireMIT skips the test (fails it with AUTHTRIAGE_REQUIRE_INTEGRATION=1) when MIT's
// client tools are missing.
func requireMIT(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"kinit", "kvno", "klist"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("MIT Kerberos client tools missing: %s (Debian package krb5-user; scripts/testdomain.sh deps installs it)",
		strings.Join(missing, ", "))
	if os.Getenv(EnvRequire) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

type s4uAnswer struct {
	exit           int    // kvno's exit status
	stdout, stderr string // what kvno printed, trimmed
	proxy          int    // KDCOK, or the KDC's error code in kvno's trace (-1: none found)
	klist          string // klist -f after kvno
	selfIssued     bool   // klist lists FRONT@REALM for USER@REALM
	selfFlags      string // that ticket's flags as klist -f prints them ("FRAT")
}

// askS4U runs kinit, kvno and klist for p with a private credential cache.
func askS4U(t *testing.T, d Domain, p Proof) s4uAnswer {
	t.Helper()
	f := d.FrontEnd(t, p.FrontEnd)
	dir := t.TempDir()
	trace := filepath.Join(dir, "kvno.trace")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	env := []string{"KRB5_CONFIG=" + d.Krb5Conf, "KRB5CCNAME=FILE:" + filepath.Join(dir, "cc")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") {
			env = append(env, kv)
		}
	}
	run := func(extraEnv []string, name string, args ...string) (stdout, stderr string, exit int) {
		var out, errOut bytes.Buffer
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(env, extraEnv...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			exit = ee.ExitCode()
		case err != nil:
			t.Fatalf("%s: %v", name, err)
		}
		return strings.TrimSpace(out.String()), strings.TrimSpace(errOut.String()), exit
	}

	fwd := "-f"
	if p.PlainTGT {
		fwd = "-F"
	}
	if _, stderr, exit := run(nil, "kinit", fwd, "-k", "-t", f.Keytab, f.Principal(d.Realm)); exit != 0 {
		t.Fatalf("kinit %s -k -t %s %s: exit %d: %s", fwd, f.Keytab, f.Principal(d.Realm), exit, stderr)
	}
	var a s4uAnswer
	a.stdout, a.stderr, a.exit = run([]string{"KRB5_TRACE=" + trace}, "kvno", "-U", p.User, "-P", p.SPN)
	a.proxy = KDCOK
	if a.exit != 0 {
		b, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		a.proxy = traceKDCError(string(b))
	}
	out, stderr, exit := run(nil, "klist", "-f")
	if exit != 0 {
		t.Fatalf("klist -f: exit %d: %s", exit, stderr)
	}
	a.klist = out
	for _, tk := range parseKlist(out) {
		if tk.service == f.Principal(d.Realm) && tk.client == p.User+"@"+d.Realm {
			a.selfIssued, a.selfFlags = true, tk.flags
		}
	}
	return a
}

// MIT's com_err codes for KDC errors are KRB5KDC_ERR_NONE (-1765328384) plus the
// protocol code, as its trace prints them ("Got cred; -1765328371/KDC can't fulfill
// requested option").
const mitKDCErrBase = -1765328384

var mitKDCCode = regexp.MustCompile(`-17653283[0-9]{2}\b`)

// traceKDCError is the first KDC error code in a KRB5_TRACE other than
// KDC_ERR_PREAUTH_REQUIRED (every AS exchange starts with it; kvno -U makes one for the
// user to find the user's realm), or -1 when there is none.
func traceKDCError(trace string) int {
	for _, m := range mitKDCCode.FindAllString(trace, -1) {
		n, err := strconv.Atoi(m)
		if err != nil {
			continue
		}
		if code := n - mitKDCErrBase; code >= 0 && code < 128 && code != KDCErrPreauthRequired {
			return code
		}
	}
	return -1
}

// klistTicket is one ticket klist -f lists.
type klistTicket struct {
	service string // its server principal
	client  string // "for client NAME", "" for the cache's default principal
	flags   string // "FRAT"
}

// parseKlist reads the tickets of `klist -f` (MIT): a line "START END SERVICE", then
// indented lines with "for client NAME," and "Flags: FLAGS".
func parseKlist(out string) []klistTicket {
	var tickets []klistTicket
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(tickets) == 0 {
				continue
			}
			tk := &tickets[len(tickets)-1]
			for part := range strings.SplitSeq(strings.TrimSpace(line), ", ") {
				if c, ok := strings.CutPrefix(part, "for client "); ok {
					tk.client = c
				} else if fl, ok := strings.CutPrefix(part, "Flags: "); ok {
					tk.flags = fl
				}
			}
			continue
		}
		// "12/06/26 05:14:15  12/06/26 15:14:15  svc_web@CORP.TEST": dates have no
		// spaces in MIT's default format; anything else is a header.
		fields := strings.Fields(line)
		if len(fields) == 5 && strings.Count(fields[0], "/") == 2 && strings.Contains(fields[4], "@") {
			tickets = append(tickets, klistTicket{service: fields[4]})
		}
	}
	return tickets
}

const klistSample = `Ticket cache: FILE:/td/cc
Default principal: svc_web@CORP.TEST

Valid starting     Expires            Service principal
12/06/26 05:14:15  12/06/26 15:14:15  krbtgt/CORP.TEST@CORP.TEST
	renew until 12/07/26 05:14:15, Flags: FRIA
12/06/26 05:14:15  12/06/26 15:14:15  svc_web@CORP.TEST
	for client alice@CORP.TEST, renew until 12/07/26 05:14:15, Flags: FRAT
12/06/26 05:14:15  12/06/26 15:14:15  MSSQLSvc/sqlbe.corp.test:1433@CORP.TEST
	for client alice@CORP.TEST, renew until 12/07/26 05:14:15, Flags: FRAT
`

func TestParseKlist(t *testing.T) {
	got := parseKlist(klistSample)
	want := []klistTicket{
		{"krbtgt/CORP.TEST@CORP.TEST", "", "FRIA"},
		{"svc_web@CORP.TEST", "alice@CORP.TEST", "FRAT"},
		{"MSSQLSvc/sqlbe.corp.test:1433@CORP.TEST", "alice@CORP.TEST", "FRAT"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseKlist = %v\nwant %v", got, want)
	}
	if got := parseKlist("\tFlags: F\nklist: No credentials cache found\n"); len(got) != 0 {
		t.Errorf("parseKlist of no tickets = %v", got)
	}
}

func FuzzParseKlist(f *testing.F) {
	f.Add(klistSample)
	f.Add("\t, Flags: \n1/2/3 a b c d@e\n\tfor client ")
	f.Fuzz(func(t *testing.T, out string) {
		for _, tk := range parseKlist(out) {
			if !strings.Contains(tk.service, "@") {
				t.Errorf("ticket without a principal: %+v", tk)
			}
		}
	})
}

func TestTraceKDCError(t *testing.T) {
	for _, tc := range []struct {
		trace string
		want  int
	}{
		{"Received error from KDC: -1765328359/Additional pre-authentication required\n" +
			"Retrieving x from FILE:/c with result: -1765328243/Matching credential not found\n" +
			"Got cred; -1765328371/KDC can't fulfill requested option\n", KDCErrBadOption},
		{"Got cred; -1765328377/Server not found in Kerberos database\n", KDCErrSPrincipalUnknown},
		{"Received error from KDC: -1765328359/Additional pre-authentication required\n", -1},
		{"", -1},
	} {
		if got := traceKDCError(tc.trace); got != tc.want {
			t.Errorf("traceKDCError(%q) = %d, want %d", tc.trace, got, tc.want)
		}
	}
}
