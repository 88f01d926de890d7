package bot

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/authtriage/authtriage/commands"
	"github.com/authtriage/authtriage/triage"
)

// errSecret is an internal error whose text must never reach Slack.
var errSecret = errors.New(`open /etc/authtriage/bind_password: permission denied; dial ldaps://dc1.corp.example:636`)

func TestExplain(t *testing.T) {
	b, err := New(Options{API: nopAPI{}, Store: nopStore{}, Triager: &fakeTriager{}, Inventory: inventoryOf{"sqlhost01"}})
	if err != nil {
		t.Fatal(err)
	}
	_, parseErr := commands.Parse("chek sqlhost01")
	tests := []struct {
		name      string
		err       error
		result    string
		want, not []string
	}{
		{"not in the inventory", fmt.Errorf("plan sqlhost0: %w", triage.ErrNotInInventory), "rejected",
			[]string{"*sqlhost0* is not in authtriage's inventory, so I will not probe it.", "Did you mean *sqlhost01*?", "`hosts:`"}, nil},
		{"bad input", fmt.Errorf("plan: %w", &triage.InputError{Err: errors.New("nothing to check for sqlhost0: no ERRORLOG <source>")}), "rejected",
			[]string{":x: I could not check *sqlhost0*: nothing to check for sqlhost0: no ERRORLOG &lt;source&gt;.", "its entry under `hosts:`"}, nil},
		{"a command that does not parse", parseErr, "rejected",
			[]string{`did you mean "check"?`, "Type `/authtriage help` for the commands."}, nil},
		{"internal", fmt.Errorf("triage: %w", errSecret), "error",
			[]string{":x: I could not check *sqlhost0* because of an internal error (reference `"}, []string{"/etc", "ldaps", "permission"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logged, nil))
			f := b.explain(t.Context(), log, "check *sqlhost0*", "sqlhost0", tt.err)
			if f.result != tt.result {
				t.Errorf("result = %q; want %q", f.result, tt.result)
			}
			for _, w := range tt.want {
				if !strings.Contains(f.text, w) {
					t.Errorf("text = %q; want it to contain %q", f.text, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(f.text, n) {
					t.Errorf("text = %q; it shows %q of the error", f.text, n)
				}
			}
			if tt.result != "error" {
				if logged.Len() > 0 {
					t.Errorf("a %s error was logged as internal: %s", tt.name, logged.String())
				}
				return
			}
			ref := regexp.MustCompile("reference `([0-9a-f]{6})`").FindStringSubmatch(f.text)
			if ref == nil {
				t.Fatalf("text = %q; want a reference", f.text)
			}
			if !strings.Contains(logged.String(), "ref="+ref[1]) || !strings.Contains(logged.String(), "permission denied") {
				t.Errorf("log = %q; want the error with ref=%s", logged.String(), ref[1])
			}
			if !strings.Contains(f.detail, ref[1]) {
				t.Errorf("audit detail = %q; want the reference %s", f.detail, ref[1])
			}
		})
	}
}

// TestTriageErrorsReachSlackMapped: a triage that fails with an internal error
// turns the thread's parent into a reference, never the error's text, and the
// bot's log carries the same reference.
func TestTriageErrorsReachSlackMapped(t *testing.T) {
	var mu sync.Mutex
	var logged bytes.Buffer
	h := newHarness(t, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	})
	h.tr.err = fmt.Errorf("triage sqlhost01: %w", errSecret)
	h.slash(dba, incident, "check sqlhost01")
	h.stop() // Run returns when the failure is shown
	updates := h.fake.Calls("chat.update")
	if len(updates) == 0 {
		t.Fatal("the thread's parent was never updated")
	}
	parent := updates[len(updates)-1].Params.Get("blocks")
	ref := regexp.MustCompile("reference `([0-9a-f]{6})`").FindStringSubmatch(parent)
	if ref == nil || strings.Contains(parent, "permission denied") || strings.Contains(parent, "/etc/") {
		t.Fatalf("parent = %s; want a reference and no error text", parent)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "ref="+ref[1]) {
		t.Errorf("log lacks ref=%s:\n%s", ref[1], logged.String())
	}
	audit, _ := h.db.AuditLog(t.Context(), 10)
	if len(audit) != 1 || audit[0].Result != "error" || !strings.Contains(audit[0].Detail, ref[1]) {
		t.Errorf("audit = %+v; want one error with the reference", audit)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// nopAPI and nopStore satisfy New; explain uses neither.
type nopAPI struct{ SlackAPI }
type nopStore struct{ Store }

// Explain words a fleet run's errors by the kinds explain knows, in plain text:
// an internal error as a reference, never its text.
func TestExplainFleet(t *testing.T) {
	b, err := New(Options{API: nopAPI{}, Store: nopStore{}, Triager: &fakeTriager{}, Inventory: inventoryOf{"sqlhost01"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want string // a regular expression for the whole text
		ref  bool
	}{
		{"not in the inventory", fmt.Errorf("plan sqlhost0: %w", triage.ErrNotInInventory),
			`^not in authtriage's inventory$`, false},
		{"bad input", fmt.Errorf("plan: %w", &triage.InputError{Err: errors.New("no ERRORLOG source for sqlhost01\nsecond line.")}),
			`^no ERRORLOG source for sqlhost01 second line \(see its entry under hosts: in authtriage's configuration\)$`, false},
		{"internal", fmt.Errorf("triage: %w", errSecret),
			`^an internal error \(reference ([0-9a-f]{6}) in the bot's log\)$`, true},
		{"a panic", errors.New("triage of sqlhost01 panicked: runtime error: index out of range"),
			`^an internal error \(reference ([0-9a-f]{6}) in the bot's log\)$`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, ref := b.Explain(tt.err)
			m := regexp.MustCompile(tt.want).FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("Explain = %q; want it to match %s", text, tt.want)
			}
			if tt.ref && (len(m) < 2 || ref != m[1]) || !tt.ref && ref != "" {
				t.Errorf("Explain = %q, reference %q; want the reference in the text only for an internal error", text, ref)
			}
			for _, n := range []string{"/etc", "ldaps", "permission", "runtime error"} {
				if strings.Contains(text, n) {
					t.Errorf("Explain = %q; it shows %q of the error", text, n)
				}
			}
		})
	}
	first, _ := b.Explain(errSecret)
	second, _ := b.Explain(errSecret)
	if first == second {
		t.Errorf("an internal error got the same words %q twice; want a reference for each occurrence", first)
	}
}
