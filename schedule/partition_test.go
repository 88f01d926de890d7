package schedule

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPartition: every host is in exactly one group or the rest, whatever the
// batcher named.
func TestPartition(t *testing.T) {
	hosts := []string{"a", "b", "c", "d"}
	groups, rest := Partition(hosts, map[string][]string{
		"west": {"c", "a", "zz"}, // an unknown name is ignored
		"east": {"a", "b", "b"},  // a host named twice goes to the first group by name
		"none": {"zz"},           // a group with no known host is left out
	})
	want := []Group{{Name: "east", Hosts: []int{0, 1}}, {Name: "west", Hosts: []int{2}}}
	if d := cmp.Diff(want, groups); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{3}, rest); d != "" {
		t.Errorf("rest (-want +got):\n%s", d)
	}
	if groups, rest := Partition(hosts, nil); groups != nil || len(rest) != 4 {
		t.Errorf("no batches: %v, %v; want every host in the rest", groups, rest)
	}
}
