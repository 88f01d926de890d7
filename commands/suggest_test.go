package commands_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/commands"
)

func TestSuggest(t *testing.T) {
	inventory := []string{"sqlhost01", "sqlhost02", "sqlhost12", "SQLPROD17", "dc01", "reporting-db", "sqlhost01"}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one typo", "sqlhsot01", []string{"sqlhost01", "sqlhost02", "sqlhost12"}},
		{"closest first", "sqlhost13", []string{"sqlhost12", "sqlhost01", "sqlhost02"}},
		{"shared prefix beyond 2 edits", "reporting", []string{"reporting-db"}},
		{"case ignored, inventory spelling kept", "sqlprod18", []string{"SQLPROD17", "sqlhost12", "sqlhost01"}},
		{"short name, close", "dc02", []string{"dc01"}},
		{"nothing close", "webfront", nil},
		{"empty name", "", nil},
		{"two edits to a two-letter name are no resemblance", "xy", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := commands.Suggest(tt.in, inventory)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Suggest(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSuggestAtMostThree(t *testing.T) {
	var inv []string
	for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
		inv = append(inv, "sqlhost0"+s)
	}
	if got := commands.Suggest("sqlhost0", inv); len(got) != 3 {
		t.Errorf("Suggest returned %d names (%v); want 3", len(got), got)
	}
}
