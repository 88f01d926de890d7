package config

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// expandTree replaces ${NAME} in every scalar value of the tree (not in keys)
// with getenv(NAME), and $$ with $. It runs on parsed nodes, so a variable's
// value is only ever text: it cannot add keys, lists or documents. Aliases are
// not followed; the anchored node is expanded once, where it is defined.
// A value that cannot be expanded is reported and marked bad; in a top-level
// section d.unused names, it is only marked, with its problem deferred to where a
// used value aliases it.
func (d *decoder) expandTree(n *yaml.Node, path string, getenv func(string) string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = index(path, i)
			}
			d.expandTree(c, p, getenv)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path // merged mappings lend their keys to this one
			if !isMerge(k) {
				p = field(path, k.Value)
			}
			if path == "" && !d.lenient && d.unusedKey(k) {
				d.lenient = true
				d.expandTree(v, p, getenv)
				d.lenient = false
				continue
			}
			d.expandTree(v, p, getenv)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		s, err := expand(n.Value, getenv)
		if err != nil {
			if d.lenient {
				d.deferred[n] = err.Error()
			} else {
				d.r.at(n.Line, path, "%v", err)
			}
			d.bad[n] = true
			return
		}
		n.Value = s
	}
}

// expand replaces ${NAME} with getenv(NAME) and $$ with $ in s. A $ followed
// by anything else is kept, so "CORP\gmsa_sql$" needs no escaping. NAME is
// letters, digits and '_', not starting with a digit. An unset or empty
// variable is an error, which names the variable but never shows s.
func expand(s string, getenv func(string) string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", errors.New(`"${" has no closing "}"; write "$$" for a literal "$"`)
			}
			name := s[i+2 : i+2+end]
			if !envName(name) {
				return "", errors.New(`"${...}" must hold a variable name (letters, digits and '_'); write "$$" for a literal "$"`)
			}
			v := getenv(name)
			if v == "" {
				return "", fmt.Errorf("environment variable %s is not set or is empty", name)
			}
			b.WriteString(v)
			s = s[i+3+end:]
		default:
			b.WriteByte('$')
			s = s[i+1:]
		}
	}
}

func envName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// readFiles resolves the key X_file of every mapping in the tree: it reads the
// file X_file names, drops one trailing newline ("\n" or "\r\n") and uses the
// content as the value of X, as if the file said "X: content". The content is
// not expanded. Giving both X and X_file, an unreadable file and an empty file
// are problems. Problems name the file, never its content. readFile nil means
// files cannot be read, which makes every X_file a problem. Aliases are not
// followed; an anchored mapping is resolved once, where it is defined.
//
// The rule applies to every key, so no schema field may itself end in
// "_file"; a field that holds a file name ends in "_path".
func (d *decoder) readFiles(n *yaml.Node, path string, readFile func(string) ([]byte, error)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = index(path, i)
			}
			d.readFiles(c, p, readFile)
		}
	case yaml.MappingNode:
		own := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && !isMerge(k) {
				own[k.Value] = true
			}
		}
		content := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path
			if !isMerge(k) {
				p = field(path, k.Value)
			}
			base, isFile := strings.CutSuffix(k.Value, "_file")
			if path == "" && d.unusedKey(k) {
				content = append(content, k, v) // a section this role does not use: left as it is
				continue
			}
			if k.Kind != yaml.ScalarNode || isMerge(k) || !isFile || base == "" {
				d.readFiles(v, p, readFile)
				content = append(content, k, v)
				continue
			}
			basePath := field(path, base)
			if own[base] {
				d.r.at(k.Line, p, "both %s and %s are given; keep one", quote(base), quote(k.Value))
				continue // keep X, drop X_file
			}
			val, ok := d.fileValue(v, p, readFile)
			if !ok {
				d.r.fail(basePath)
				continue
			}
			d.keys[k] = k.Value
			k.Value = base
			content = append(content, k, val)
		}
		n.Content = content
	}
}

// fileValue reads the file that the X_file value v names and returns a string
// node holding its content, at v's position.
func (d *decoder) fileValue(v *yaml.Node, path string, readFile func(string) ([]byte, error)) (*yaml.Node, bool) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if d.bad[v] {
		d.badNode(v, path)
		return nil, false
	}
	if v.Kind != yaml.ScalarNode || isNull(v) || v.Value == "" {
		d.r.at(v.Line, path, "expected a file name, got %s", describe(v))
		return nil, false
	}
	if readFile == nil {
		d.r.at(v.Line, path, "cannot read %s: reading files is not enabled here", quote(v.Value))
		return nil, false
	}
	d.r.files = append(d.r.files, fileRef{path: path, name: v.Value, line: v.Line})
	data, err := readFile(v.Value)
	if err != nil {
		d.r.at(v.Line, path, "cannot read file: %v", err)
		return nil, false
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		d.r.at(v.Line, path, "file %s is empty", quote(v.Value))
		return nil, false
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: v.Line, Column: v.Column}, true
}

// unusedKey reports whether the top-level key k names a section d.unused says
// this role does not use; for X_file, the section X.
func (d *decoder) unusedKey(k *yaml.Node) bool {
	if d.unused == nil || k.Kind != yaml.ScalarNode || isMerge(k) {
		return false
	}
	base, isFile := strings.CutSuffix(k.Value, "_file")
	if isFile && base != "" {
		return d.unused(base)
	}
	return d.unused(k.Value)
}
