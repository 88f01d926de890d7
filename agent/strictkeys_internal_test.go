package agent

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestJSONFields(t *testing.T) {
	if got := jsonFields(reflect.TypeFor[TriageRequest]()); !slices.Equal(got, []string{"host", "since"}) {
		t.Errorf("jsonFields(TriageRequest) = %q; want host, since", got)
	}
}

func TestFold(t *testing.T) {
	for _, pair := range [][2]string{{"host", "HOST"}, {"host", "hoſt"}, {"key", "\u212Aey"}, {"straße", "STRASSE"}} {
		same := fold(pair[0]) == fold(pair[1])
		if same != strings.EqualFold(pair[0], pair[1]) {
			t.Errorf("fold(%q) == fold(%q) is %v; want as strings.EqualFold", pair[0], pair[1], same)
		}
	}
}

// FuzzStrictKeys: strictKeys never panics, and JSON it accepts has no two keys
// that encoding/json would take for one in any object, and outer keys that
// name a field spelt as the field.
func FuzzStrictKeys(f *testing.F) {
	for _, s := range []string{
		`{"host":"a","HOST":"b"}`, `{"host":"a"}`, `{"hoſt":"a"}`, `{"a":{"b":1,"B":2}}`,
		`[{"k":1},{"k":2}]`, `{"x":[[{"y":{"z":1,"z":2}}]]}`, `{"host":"a","since":"24h"}`, `{`, `"s"`, `{} {}`,
	} {
		f.Add([]byte(s))
	}
	fields := []string{"host", "since"}
	f.Fuzz(func(t *testing.T, b []byte) {
		if strictKeys(b, fields) != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("strictKeys accepted %q, which does not decode: %v", b, err)
		}
		var check func(v any, outer bool)
		check = func(v any, outer bool) {
			switch v := v.(type) {
			case map[string]any:
				seen := map[string]string{}
				for k, e := range v {
					if prev, dup := seen[fold(k)]; dup {
						t.Fatalf("strictKeys accepted %q, whose keys %q and %q fold to one", b, prev, k)
					}
					seen[fold(k)] = k
					for _, field := range fields {
						if outer && strings.EqualFold(k, field) && k != field {
							t.Fatalf("strictKeys accepted %q, whose key %q is spelt other than %q", b, k, field)
						}
					}
					check(e, false)
				}
			case []any:
				for _, e := range v {
					check(e, false)
				}
			}
		}
		check(v, true)
	})
}
