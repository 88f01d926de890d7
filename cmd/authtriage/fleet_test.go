package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/render"
	"github.com/authtriage/authtriage/triage"
)

// fleetConfig writes a configuration whose inventory has the three hosts of
// testdata/fleet, tagged prod, each with its ERRORLOG: sqlprod01 and sqlprod02 lost
// their domain controller in the same minute (17806 with 0x80090311 and the 18452
// written with it); sqlprod03 could not register its SPN at start-up. It returns the
// configuration's path.
func fleetConfig(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "fleet"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("hosts:\n")
	for _, h := range []string{"sqlprod01", "sqlprod02", "sqlprod03"} {
		fmt.Fprintf(&b, "  - {name: %s, fqdn: %s.corp.example, service_account: 'CORP\\svc_%s', errorlog: %s, tags: [prod, emea]}\n",
			h, h, h, filepath.Join(dir, h, "ERRORLOG"))
	}
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// countingIDs returns report IDs r001, r002, ... in the order they are asked for.
func countingIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("r%03d", n)
	}
}

// TestCheckFleet: a check of the prod tag shows the DC outage of sqlprod01 and
// sqlprod02 as one incident with its fix once, sqlprod03 as a host nothing explains,
// and exits with the worst host's status; the goldens are what people read.
func TestCheckFleet(t *testing.T) {
	cfg := fleetConfig(t)
	for _, format := range []string{"text", "json", "markdown", "slack"} {
		t.Run(format, func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			e.newID = countingIDs()
			code := e.run(t.Context(), []string{"check", "--tag", "prod", "--config", cfg, "--concurrency", "1", "--output", format})
			if code != exitCritical {
				t.Fatalf("exit = %d; want %d; stderr:\n%s", code, exitCritical, stderr)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr)
			}
			golden.Check(t, filepath.Join("testdata", "fleet."+format), stdout.Bytes())
		})
	}
}

// TestCheckFleetJSON: the JSON of several hosts is one object with the incident, its
// shared factor, its hosts and its fix once, the host nothing explains and every
// report as the JSON of one host writes it.
func TestCheckFleetJSON(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"check", "sqlprod01", "sqlprod02", "--tag", "emea", "--config", fleetConfig(t), "--output", "json"})
	if code != exitCritical {
		t.Fatalf("exit = %d; want %d; stderr:\n%s", code, exitCritical, stderr)
	}
	var f render.Fleet
	if err := json.Unmarshal(stdout.Bytes(), &f); err != nil {
		t.Fatalf("not a fleet object: %v\n%s", err, stdout)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"checked_at", "hosts", "incidents", "unexplained", "reports"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("no %q in the fleet's JSON", k)
		}
	}
	if len(f.Hosts) != 3 || len(f.Reports) != 3 {
		t.Fatalf("hosts %d, reports %d; want 3 each (sqlprod01 and sqlprod02 once)", len(f.Hosts), len(f.Reports))
	}
	if len(f.Incidents) != 1 {
		t.Fatalf("incidents = %+v; want one", f.Incidents)
	}
	inc := f.Incidents[0]
	if inc.Cause != triage.DCUnreachable || len(inc.Hosts) != 2 || inc.FirstSeen.Host != "sqlprod01" {
		t.Errorf("incident = %s on %+v first %s; want dc.unreachable on sqlprod01, sqlprod02", inc.Cause, inc.Hosts, inc.FirstSeen.Host)
	}
	if len(inc.Shared) == 0 || inc.Shared[0] != (triage.Factor{Kind: triage.FactorDomain, Value: "corp.example"}) {
		t.Errorf("shared = %+v; want the domain corp.example first", inc.Shared)
	}
	if strings.Join(inc.Unaffected, ",") != "sqlprod03" {
		t.Errorf("unaffected = %v; want sqlprod03", inc.Unaffected)
	}
	if strings.Join(f.Unexplained, ",") != "sqlprod03" {
		t.Errorf("unexplained = %v; want sqlprod03", f.Unexplained)
	}
	seen := map[string]int{}
	for _, s := range inc.Fixes {
		seen[s.Command]++
	}
	for c, n := range seen {
		if n > 1 {
			t.Errorf("fix %q appears %d times", c, n)
		}
	}
	if !strings.Contains(stdout.String(), `"facts"`) {
		t.Errorf("the reports carry no finding's facts")
	}
}

// TestCheckFleetConcurrency: at any concurrency the view is the same, but for the
// report IDs (given out in the order the hosts finish).
func TestCheckFleetConcurrency(t *testing.T) {
	cfg := fleetConfig(t)
	ids := regexp.MustCompile(`r0\d\d`)
	var want string
	for _, n := range []string{"1", "2", "256"} {
		e, stdout, stderr := testEnv(nil)
		e.newID = countingIDs()
		if code := e.run(t.Context(), []string{"check", "--tag", "prod,emea", "--config", cfg, "--concurrency", n}); code != exitCritical {
			t.Fatalf("--concurrency %s: exit = %d; stderr:\n%s", n, code, stderr)
		}
		got := ids.ReplaceAllString(stdout.String(), "rNNN")
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("--concurrency %s: view differs:\n%s\nwant:\n%s", n, got, want)
		}
	}
}

// TestCheckFleetUnplanned: a host that cannot be planned is a line of the view and
// counts as unknown; the others are still triaged.
func TestCheckFleetUnplanned(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"check", "sqlprod01", "sqlprdo02", "sqlprod03", "--config", fleetConfig(t)})
	if code != exitCritical {
		t.Fatalf("exit = %d; want %d (sqlprod01's critical outranks the unknown); stderr:\n%s", code, exitCritical, stderr)
	}
	out := stdout.String()
	for _, want := range []string{
		"Not checked:\n  UNKNOWN  sqlprdo02  nothing to check for sqlprdo02: it is not in the inventory (did you mean sqlprod02 or",
		"Hosts: 1 critical, 1 unknown, 1 warning\n",
		"0 incidents on 0 hosts, 2 hosts nothing explains, 0 healthy, 1 not checked",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckFleetUsage: what a check of several hosts refuses, with exit 3 and a
// message on stderr.
func TestCheckFleetUsage(t *testing.T) {
	cfg := fleetConfig(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "check needs a HOST, several, or --tag TAG"},
		{[]string{"check", "--tag", "prod"}, "--tag needs --config FILE"},
		{[]string{"check", "--tag", "Prod", "--config", cfg}, `"Prod" is not a tag`},
		{[]string{"check", "--tag", "prod,", "--config", cfg}, `"" is not a tag`},
		{[]string{"check", "--tag", "$(id)", "--config", cfg}, `is not a tag`},
		{[]string{"check", "--tag", "apac", "--config", cfg}, `no host of the inventory has the tag "apac"`},
		{[]string{"check", "a", "b", "--errorlog", "ERRORLOG"}, "--errorlog describe one host"},
		{[]string{"check", "--tag", "prod", "--config", cfg, "--fqdn", "a.corp.example", "--port", "1433"}, "--fqdn, --port describe one host"},
		{[]string{"check", "a", "b", "--concurrency", "0"}, "--concurrency must be 1 to 256, not 0"},
		{[]string{"check", "a", "b", "--concurrency", "257"}, "--concurrency must be 1 to 256, not 257"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			if code := e.run(t.Context(), tt.args); code != exitUnknown {
				t.Errorf("exit = %d; want %d", code, exitUnknown)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q; want nothing", stdout)
			}
		})
	}
}

// TestCheckOneHostUnchanged: one HOST keeps the report of one host, not the fleet's
// object, whether or not it is in the inventory.
func TestCheckOneHostUnchanged(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"check", "sqlprod01", "--config", fleetConfig(t), "--output", "json"}); code != exitCritical {
		t.Fatalf("exit = %d; stderr:\n%s", code, stderr)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &keys); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys["findings"]; !ok {
		t.Errorf("one host's JSON is not its report: %s", stdout)
	}
	if _, ok := keys["incidents"]; ok {
		t.Errorf("one host's JSON has the fleet's incidents")
	}
}
