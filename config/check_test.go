package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFiles: Check reports a missing certificate, a file that is no
// certificate and a file that cannot be read at all, each with its line, and
// returns the Config only when nothing is wrong.
func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notPEM := write("ca.pem", "not a certificate\n")
	cfg := write("agent.yaml", "agent:\n  listen: 127.0.0.1:0\n  cert_path: "+dir+"/server.pem\n  key_path: "+dir+"/server-key.pem\n  client_ca_path: "+notPEM+"\n  allowed_clients: [bot]\n")
	results := Check(t.Context(), []string{cfg, filepath.Join(dir, "absent.yaml")}, RoleAuto, nil, CheckOptions{})
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	r := results[0]
	if r.Role != RoleAgent || r.Config != nil || r.Errors() != 3 {
		t.Errorf("result = role %v, config %v, %d errors: %v", r.Role, r.Config, r.Errors(), r.Problems)
	}
	var got []string
	for _, p := range r.Problems {
		got = append(got, strings.ReplaceAll(p.String(), dir, "DIR"))
	}
	want := []string{
		`DIR/agent.yaml:3: agent.cert_path: "DIR/server.pem": no such file`,
		`DIR/agent.yaml:4: agent.key_path: "DIR/server-key.pem": no such file`,
		`DIR/agent.yaml:5: agent.client_ca_path: "DIR/ca.pem": holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if a := results[1]; a.Role != RoleAuto || len(a.Problems) != 1 || a.Problems[0].Msg != "no such file" {
		t.Errorf("absent file: %+v", a)
	}
	ok := write("cli.yaml", "hosts: [{name: h}]\n")
	if r := Check(t.Context(), []string{ok}, RoleAuto, nil, CheckOptions{})[0]; r.Config == nil || r.Role != RoleCLI || len(r.Problems) != 0 {
		t.Errorf("a good file: %+v", r)
	}
}
