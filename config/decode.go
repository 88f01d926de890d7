package config

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A decoder turns a YAML node tree into typed values, reporting every problem
// with its line and recording the line of every path it visits. It follows
// aliases and merge keys ("<<: *base"), within a work budget that stops alias
// bombs.
type decoder struct {
	r        *reporter
	bad      map[*yaml.Node]bool   // scalars whose problem was already reported (a failed ${VAR}) or deferred
	deferred map[*yaml.Node]string // bad scalars of unused sections -> the problem, reported where a used value aliases them
	keys     map[*yaml.Node]string // key nodes renamed from X_file to X -> "X_file"
	unused   func(key string) bool // top-level keys that are sections not to expand or read; nil for none
	lenient  bool                  // expanding an unused section: problems are deferred
	work     int                   // nodes visited so far
	budget   int                   // nodes that may be visited in all
	over     bool                  // the budget ran out and was reported
}

// A fileRef is a file an X_file key named.
type fileRef struct {
	path string // the key's path, such as "directory.bind_password_file"
	name string // the file name as given (relative to the configuration file's directory)
	line int
}

// fields maps each allowed key of a mapping to the function that decodes its
// value; path is the value's path, such as "hosts[0].fqdn".
type fields map[string]func(n *yaml.Node, path string)

func newDecoder(r *reporter, root *yaml.Node) *decoder {
	return &decoder{
		r:        r,
		bad:      map[*yaml.Node]bool{},
		deferred: map[*yaml.Node]string{},
		keys:     map[*yaml.Node]string{},
		budget:   10*countNodes(root) + 10000,
	}
}

// countNodes counts the nodes of a tree without following aliases.
func countNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// visit resolves an alias and charges the node to the budget. It returns nil
// once the budget is spent.
func (d *decoder) visit(n *yaml.Node) *yaml.Node {
	if n == nil || d.over {
		return nil
	}
	d.work++
	if d.work > d.budget {
		d.over = true
		d.r.at(n.Line, "", "aliases and merges (<<) expand to too many values; checking stopped here")
		return nil
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping decodes the mapping n with fs. A null value (an absent mapping, or a
// key with nothing after it) is treated as absent and decodes nothing. Unknown
// keys are problems, with a suggestion when an allowed key is close.
func (d *decoder) mapping(n *yaml.Node, path string, fs fields) {
	n = d.visit(n)
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.r.at(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	seen := map[string]int{} // key -> line
	var suggested []string   // keys suggested for unknown keys
	own, merged := d.pairs(n, path, 0)
	for _, p := range own {
		name := p.key.Value
		if line, dup := seen[name]; dup {
			d.r.at(p.key.Line, field(path, d.spelling(p.key)), "key is already given on line %d", line)
			continue
		}
		seen[name] = p.key.Line
		suggested = append(suggested, d.field(p, path, fs))
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; ok {
			continue // a key given in the mapping itself overrides a merged one
		}
		seen[p.key.Value] = p.key.Line
		suggested = append(suggested, d.field(p, path, fs))
	}
	for _, s := range suggested {
		if _, ok := seen[s]; s != "" && !ok {
			// "name is required" would repeat "nmae: did you mean name?".
			d.r.fail(field(path, s))
		}
	}
}

type pair struct{ key, value *yaml.Node }

// maxMergeDepth bounds merges of merges, which an alias can make cyclic.
const maxMergeDepth = 16

// pairs returns the mapping's own key/value pairs and, separately, the pairs
// merged in with "<<", earlier merges first, without keys given twice.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) (own, merged []pair) {
	var sources []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		switch {
		case k.Kind != yaml.ScalarNode:
			d.r.at(k.Line, path, "a key must be a string, not %s", describe(k))
		case isMerge(k):
			v = d.visit(v)
			if v == nil {
				continue
			}
			if v.Kind == yaml.SequenceNode {
				sources = append(sources, v.Content...)
			} else {
				sources = append(sources, v)
			}
		default:
			own = append(own, pair{k, v})
		}
	}
	have := map[string]bool{}
	for _, src := range sources {
		src = d.visit(src)
		if src == nil {
			continue
		}
		if src.Kind != yaml.MappingNode {
			d.r.at(src.Line, path, "a merge (<<) needs a mapping or a list of mappings, not %s", describe(src))
			continue
		}
		if depth >= maxMergeDepth {
			d.r.at(src.Line, path, "merges (<<) nest more than %d deep or include themselves", maxMergeDepth)
			continue
		}
		o, m := d.pairs(src, path, depth+1)
		for _, p := range append(o, m...) {
			if !have[p.key.Value] {
				have[p.key.Value] = true
				merged = append(merged, p)
			}
		}
	}
	return own, merged
}

// field decodes one key/value pair of a mapping. For an unknown key, it
// returns the known key it suggested, if any.
func (d *decoder) field(p pair, path string, fs fields) (suggested string) {
	name := p.key.Value
	decode, ok := fs[name]
	if !ok {
		spelled := d.spelling(p.key)
		msg, suggested := unknownKey(spelled, fs)
		d.r.at(p.key.Line, field(path, spelled), "%s", msg)
		return strings.TrimSuffix(suggested, "_file")
	}
	fp := field(path, name)
	d.r.record(fp, p.key.Line)
	if v := d.visit(p.value); v != nil && isNull(v) {
		return "" // "key:" with no value is the same as no key
	}
	decode(p.value, fp)
	return ""
}

// spelling returns a key as the file spells it, X_file for a key read from a file.
func (d *decoder) spelling(k *yaml.Node) string {
	if s, ok := d.keys[k]; ok {
		return s
	}
	return k.Value
}

// unknownKey returns the message for an unknown key and the key it suggests
// instead, if any.
func unknownKey(key string, fs fields) (msg, suggested string) {
	known := make([]string, 0, len(fs))
	for k := range fs {
		known = append(known, k)
	}
	slices.Sort(known)
	if s := closest(strings.TrimSuffix(key, "_file"), known); s != "" {
		if strings.HasSuffix(key, "_file") {
			s += "_file"
		}
		return "unknown key, did you mean " + quote(s) + "?", s
	}
	return "unknown key; known keys: " + strings.Join(known, ", "), ""
}

// sequence calls elem for every element of the list n, with the element's
// path; elem sees every element, so that slices stay aligned with paths.
// A null list is empty.
func (d *decoder) sequence(n *yaml.Node, path string, elem func(n *yaml.Node, path string)) {
	n = d.visit(n)
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.r.at(n.Line, path, "expected a list, got %s", describe(n))
		return
	}
	for i, e := range n.Content {
		if d.over {
			return
		}
		p := index(path, i)
		d.r.record(p, e.Line)
		elem(e, p)
	}
}

// scalar returns the text of a scalar node. Any scalar is accepted as text,
// so "port: 1433" and "port: '1433'" mean the same; a problem is reported for
// lists, mappings and null. The message names want, never the value.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	n = d.visit(n)
	if n == nil {
		return "", false
	}
	if d.bad[n] {
		d.badNode(n, path)
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.r.at(n.Line, path, "expected %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

// badNode handles a use of the scalar n whose value could not be expanded: the
// problem was reported where n is, or, when n sits in a section this role does not
// use, it is reported here, where a used value aliases it.
func (d *decoder) badNode(n *yaml.Node, path string) {
	if msg, ok := d.deferred[n]; ok {
		d.r.at(n.Line, path, "%s", msg)
		return
	}
	d.r.fail(path)
}

// str returns a field decoder that stores a scalar's text in p.
func (d *decoder) str(p *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path, "a string"); ok {
			*p = s
		}
	}
}

// secret returns a field decoder that stores a scalar's text in p.
func (d *decoder) secret(p *Secret) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if s, ok := d.scalar(n, path, "a string"); ok {
			*p = Secret(s)
		}
	}
}

// strs returns a field decoder that stores a list of strings in p. Elements
// with a problem are kept as "", so indexes match paths.
func (d *decoder) strs(p *[]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		var list []string
		d.sequence(n, path, func(n *yaml.Node, path string) {
			s, _ := d.scalar(n, path, "a string")
			list = append(list, s)
		})
		*p = list
	}
}

// duration returns a field decoder that stores a duration in p; see parseDuration.
func (d *decoder) duration(p *time.Duration) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path, "a duration")
		if !ok {
			return
		}
		v, ok := parseDuration(s)
		if !ok {
			d.r.at(n.Line, path, "%s is not a duration; write e.g. 30s, 15m, 24h or 7d", quote(s))
			return
		}
		*p = v
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// describe names the kind of a node for a message, without its value.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "nothing"
}

// integer returns a field decoder that stores a whole number in p.
func (d *decoder) integer(p *int) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path, "a whole number")
		if !ok {
			return
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			d.r.at(n.Line, path, "%s is not a whole number", quote(s))
			return
		}
		*p = v
	}
}

// boolean returns a field decoder that stores true or false in p.
func (d *decoder) boolean(p *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path, "true or false")
		if !ok {
			return
		}
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			*p = true
		case "false", "no", "off":
			*p = false
		default:
			d.r.at(n.Line, path, "%s is not true or false", quote(s))
		}
	}
}
