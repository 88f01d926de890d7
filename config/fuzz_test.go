package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that it returns either a Config
// that passes its own validation or a *Error with problems sorted by line, and
// that it never returns both or neither.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"hosts: [{name: a, <<: {agent: b}}]",
		"hosts:\n  - &h {name: a}\n  - *h\n",
		"defaults: {since: ${N}d}\nhosts: [{name: '${H}', fqdn: '$${H}'}]",
		"hosts: [{name: a, agent_file: /s, tags_file: /s}]",
		"hosts: [{name: a, instances: [':1', {name: B, port: 2}, C]}]",
		"? [a]\n: b\n",
		"a: &a [*a]",
	} {
		f.Add([]byte(s))
	}
	env := mapEnv(map[string]string{"N": "2", "H": "sqlhost01", "Y": "a: [b\n- c", "D": "$"})
	readFile := mapFiles(map[string]string{"/s": "secret\n", "/e": ""})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "f.yaml", env, readFile)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want exactly one of a Config and an error", cfg, err)
		}
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
				t.Fatalf("Parse error = %#v, want a *config.Error with problems", err)
			}
			for i, p := range cerr.Problems {
				if p.Msg == "" || p.File != "f.yaml" || (i > 0 && p.Line < cerr.Problems[i-1].Line) {
					t.Fatalf("problem %d = %+v in %v", i, p, cerr.Problems)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse returned a Config that fails Validate: %v", err)
		}
		for _, h := range cfg.Hosts {
			if got, ok := cfg.Host(h.Name); !ok || got.Name != h.Name {
				t.Fatalf("Host(%q) = %q, %v", h.Name, got.Name, ok)
			}
		}
	})
}
