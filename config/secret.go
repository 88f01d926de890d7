package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// A Secret is a configuration value that must never be shown: a password, a
// token. Every way of printing it (fmt verbs including %#v and %x, JSON, text
// marshaling, slog) shows "[redacted]", or "" when the secret is empty, so
// that an unset secret stays visible in diagnostics. Reveal returns the value.
//
// Redaction works through methods, so a Secret must be held in an exported
// struct field or a variable: fmt prints unexported struct fields without
// calling their methods. Nor may it be a map key: encoding/json writes keys of
// string types as they are.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns String quoted, as %#v would show a string.
func (s Secret) GoString() string { return fmt.Sprintf("%#v", s.String()) }

// Format applies any fmt verb and flags to String, never to the value.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// MarshalText returns String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON returns String as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// LogValue returns String, so slog handlers never see the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
