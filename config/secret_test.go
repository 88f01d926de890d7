package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const hunter = "hunter2"

func TestSecretRedacted(t *testing.T) {
	type holder struct {
		User     string
		Password Secret
	}
	s := Secret(hunter)
	h := holder{User: "svc", Password: s}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		for _, arg := range []any{s, h, &h, []Secret{s}, map[string]Secret{"k": s}} {
			out := fmt.Sprintf(verb, arg)
			if strings.Contains(out, hunter) || strings.Contains(out, fmt.Sprintf("%x", hunter)) {
				t.Errorf("Sprintf(%q, %T) = %q shows the secret", verb, arg, out)
			}
		}
	}
	if got := fmt.Sprintf("%v|%+v|%#v", s, h, h); got != `[redacted]|{User:svc Password:[redacted]}|config.holder{User:"svc", Password:"[redacted]"}` {
		t.Errorf("fmt = %s", got)
	}
	if got := s.String() + s.GoString(); got != `[redacted]"[redacted]"` {
		t.Errorf("String+GoString = %s", got)
	}
	if got := s.Reveal(); got != hunter {
		t.Errorf("Reveal = %q, want %q", got, hunter)
	}

	j, err := json.Marshal(map[string]any{"h": h, "map": map[string]Secret{"k": s}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(j); got != `{"h":{"User":"svc","Password":"[redacted]"},"map":{"k":"[redacted]"}}` {
		t.Errorf("json = %s", got)
	}

	var buf bytes.Buffer
	for _, log := range []*slog.Logger{slog.New(slog.NewTextHandler(&buf, nil)), slog.New(slog.NewJSONHandler(&buf, nil))} {
		log.Info("bind", "password", s, "holder", h, slog.Any("any", s), slog.Group("g", "p", s))
	}
	if out := buf.String(); strings.Contains(out, hunter) || !strings.Contains(out, "[redacted]") {
		t.Errorf("slog output shows the secret or no redaction:\n%s", out)
	}
}

func TestSecretEmpty(t *testing.T) {
	var s Secret
	j, _ := json.Marshal(s)
	text, _ := s.MarshalText()
	got := fmt.Sprintf("%v|%s|%#v|%s|%s|%s", s, s, s, j, text, s.LogValue())
	if want := `||""|""||`; got != want {
		t.Errorf("empty secret prints %s, want %s", got, want)
	}
}

// secretSection is a schema with a secret, standing for the sections (slack,
// directory) that will have one.
type secretSection struct {
	User     string
	Password Secret
}

func parseSecret(src string, env map[string]string, files map[string]string) (secretSection, error) {
	return parse([]byte(src), "s.yaml", mapEnv(env), mapFiles(files),
		func(d *decoder, n *yaml.Node) secretSection {
			var s secretSection
			d.mapping(n, "", fields{"user": d.str(&s.User), "password": d.secret(&s.Password)})
			return s
		},
		func(s secretSection, r *reporter) {
			if s.Password == "" {
				r.add("password", "is required")
			}
		})
}

func TestSecretFromConfig(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		env   map[string]string
		files map[string]string
		want  Secret
	}{
		{name: "inline", src: "password: hunter2\n", want: hunter},
		{name: "from the environment", src: "password: ${PW}\n", env: map[string]string{"PW": hunter}, want: hunter},
		{name: "from a file, newline trimmed", src: "password_file: /run/secrets/pw\n", files: map[string]string{"/run/secrets/pw": hunter + "\n"}, want: hunter},
		{name: "file content is not expanded", src: "password_file: /pw\n", files: map[string]string{"/pw": "a$${B}\n"}, want: "a$${B}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSecret(tt.src, tt.env, tt.files)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got.Password.Reveal() != string(tt.want) {
				t.Errorf("password = %q, want %q", got.Password.Reveal(), tt.want)
			}
		})
	}
}

// TestSecretNeverInProblems checks that no problem, from YAML syntax to
// validation, shows a secret's value.
func TestSecretNeverInProblems(t *testing.T) {
	files := map[string]string{"/pw": hunter + "\n", "/empty": ""}
	tests := []struct {
		name string
		src  string
		want string // a problem that must be there
	}{
		{"unterminated quote", "password: \"hunter2\n", "syntax error"},
		{"unterminated flow list", "password: [hunter2\n", "syntax error"},
		{"list instead of a string", "password: [hunter2]\n", "password: expected a string, got a list"},
		{"mapping instead of a string", "password: {hunter2: x}\n", "password: expected a string, got a mapping"},
		{"given twice", "password: hunter2\npassword: hunter2\n", "password: key is already given on line 1"},
		{"inline and file", "password: hunter2\npassword_file: /pw\n", `both "password" and "password_file" are given`},
		{"misspelled key", "pasword: hunter2\n", `pasword: unknown key, did you mean "password"?`},
		{"misspelled file key", "pasword_file: /pw\n", `pasword_file: unknown key, did you mean "password_file"?`},
		{"a $ in a password", "password: hunter2${\n", `password: "${" has no closing "}"`},
		{"bad variable name", "password: ${hunter2-x}\n", `must hold a variable name`},
		{"file given twice", "password_file: /pw\npassword_file: /pw\n", "password_file: key is already given on line 1"},
		{"secret in a list", "user: [hunter2]\n", "user: expected a string, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSecret(tt.src, nil, files)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("parse error = %v, want *config.Error", err)
			}
			if msg := err.Error(); strings.Contains(msg, hunter) || !strings.Contains(msg, tt.want) {
				t.Errorf("problems:\n%s\nshow the secret or lack %q", msg, tt.want)
			}
		})
	}
}
