package config

import (
	"strings"
	"testing"
	"time"
)

func TestIncidentWindow(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want time.Duration // when err is ""
		err  string
	}{
		{src: "", want: DefaultIncidentWindow},
		{src: "defaults: {incident_window: 0s}\n", want: DefaultIncidentWindow},
		{src: "defaults: {incident_window: 10m}\n", want: 10 * time.Minute},
		{src: "defaults: {incident_window: 1d}\n", want: 24 * time.Hour},
		{src: "defaults: {incident_window: -5m}\n", err: "defaults.incident_window: must be longer than 0"},
		{src: "defaults: {incident_window: 2d}\n", err: "defaults.incident_window: 2d is longer than 24h"},
		{src: "defaults: {incident_window: soon}\n", err: `"soon" is not a duration`},
	} {
		cfg, err := Parse([]byte(tc.src), "t.yaml", mapEnv(nil), mapFiles(nil))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Parse(%q) = %v; want an error with %q", tc.src, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.src, err)
		case tc.err == "" && cfg.Defaults.Incidents() != tc.want:
			t.Errorf("Parse(%q): Incidents() = %v; want %v", tc.src, cfg.Defaults.Incidents(), tc.want)
		}
	}
}
