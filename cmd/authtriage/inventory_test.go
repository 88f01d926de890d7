package main

import (
	"slices"
	"testing"

	"github.com/authtriage/authtriage/config"
)

// TestInventoryFleet: the incident command's names are the inventory's hosts and
// tags.
func TestInventoryFleet(t *testing.T) {
	inv := inventory{&config.Config{Hosts: []config.Host{
		{Name: "sqlhost01", Tags: []string{"prod", "east"}},
		{Name: "sqlhost02", Tags: []string{"prod"}},
		{Name: "sqlhost03"},
	}}}
	if got := inv.Hosts(); !slices.Equal(got, []string{"sqlhost01", "sqlhost02", "sqlhost03"}) {
		t.Errorf("Hosts() = %v", got)
	}
	for _, tc := range []struct {
		tag  string
		want []string
		ok   bool
	}{
		{"prod", []string{"sqlhost01", "sqlhost02"}, true},
		{"PROD", []string{"sqlhost01", "sqlhost02"}, true},
		{"east", []string{"sqlhost01"}, true},
		{"west", nil, false},
	} {
		if got, ok := inv.Tagged(tc.tag); !slices.Equal(got, tc.want) || ok != tc.ok {
			t.Errorf("Tagged(%q) = %v, %v; want %v, %v", tc.tag, got, ok, tc.want, tc.ok)
		}
	}
}
