package agent_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/agent"
)

// TestRequestKeysAreStrict: a triage request is read as written. encoding/json
// alone matches keys ignoring case and lets the last of two win, so that
// {"host":"a","HOST":"b"} triaged b; the agent refuses such requests with 400
// and runs nothing.
func TestRequestKeysAreStrict(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, func(c *agent.ServerConfig) { c.Burst = 100 })
	tests := []struct {
		name, body string
		wantError  string // "" for a request that is triaged
	}{
		{"the reproduction", `{"host":"sqlhost99","HOST":"sqlhost01"}`, `keys "host" and "HOST" are the same key`},
		{"a case variant alone", `{"HOST":"sqlhost01"}`, `key "HOST" must be spelt "host"`},
		{"a case variant of since", `{"host":"sqlhost01","Since":"24h"}`, `key "Since" must be spelt "since"`},
		{"a Unicode fold of host", `{"hoſt":"sqlhost01"}`, `key "hoſt" must be spelt "host"`}, // U+017F folds to s
		{"a Kelvin sign", `{"host":"sqlhost01","\u212Aey":"x"}`, `unknown field`},
		{"the same key twice", `{"host":"sqlhost01","host":"sqlhost01"}`, `key "host" appears twice`},
		{"escaped to the same key", `{"host":"sqlhost99","ho\u0073t":"sqlhost01"}`, `key "host" appears twice`},
		{"nested duplicates", `{"host":"sqlhost01","since":{"a":1,"A":2}}`, `keys "a" and "A" are the same key`},
		{"duplicates in an array's object", `{"host":"sqlhost01","x":[{"k":1},{"k":2,"K":3}]}`, `keys "k" and "K" are the same key`},
		{"deep duplicates", `{"x":[[{"y":{"z":1,"z":2}}]],"host":"sqlhost01"}`, `key "z" appears twice`},
		{"unknown field", `{"host":"sqlhost01","command":"setspn -D"}`, `unknown field "command"`},
		{"unknown field differing in case", `{"host":"sqlhost01","Command":"x"}`, `unknown field "Command"`},
		{"not an object", `["host","sqlhost01"]`, `malformed request`},
		{"truncated", `{"host":"sqlhost01"`, `malformed request`},
		{"the same key in sibling objects is fine, but unknown", `{"host":"sqlhost01","a":{"k":1},"b":{"k":2}}`, `unknown field "a"`},
		{"a well-formed request", `{"host":"sqlhost01","since":"24h"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.calls.Load()
			resp, err := rawClient(t, p, p, "bot").Post(a.url+agent.PathTriage, agent.ContentJSON, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ran := a.calls.Load() - before
			if tt.wantError == "" {
				if resp.StatusCode != 200 || ran != 1 {
					t.Errorf("%s answered %s (%s), checks built %d times; want 200 and one triage", tt.body, resp.Status, body, ran)
				}
				return
			}
			var e struct{ Error string }
			if resp.StatusCode != 400 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, tt.wantError) {
				t.Errorf("%s answered %s %s; want 400 with %q", tt.body, resp.Status, body, tt.wantError)
			}
			if ran != 0 {
				t.Errorf("checks built %d times; want none", ran)
			}
		})
	}
}

// TestAuditTookHasAUnit: the audit line says how long a request took in
// milliseconds, as a number, under a name that says so.
func TestAuditTookHasAUnit(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, okChecks, nil)
	if resp, body := post(t, a, "bot", "sqlhost01"); resp.StatusCode != 200 {
		t.Fatalf("triage = %s %s", resp.Status, body)
	}
	rec := waitRequests(t, a.log, 1)[0]
	ms, ok := rec["took_ms"].(float64)
	if !ok || ms < 0 || ms != float64(int64(ms)) {
		t.Errorf("audit took_ms = %#v; want a whole number of milliseconds (record %v)", rec["took_ms"], rec)
	}
	if _, ok := rec["took"]; ok {
		t.Errorf("audit has took %v without a unit; want took_ms only", rec["took"])
	}
}
