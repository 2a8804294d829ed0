package sync

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits of one static file.
const (
	maxStaticSize = 16 << 20  // bytes read from the file
	maxItems      = 1_000_000 // list items walked, counting every alias expansion
	maxErrors     = 20        // errors reported, before "and N more"
)

// parser walks a parsed YAML tree against the static file's schema. It checks the schema itself
// (rather than decoding into structs) so that every error carries its own line, unknown and
// repeated keys included, and so that it can report all of them at once.
type parser struct {
	path  string
	errs  []lineError
	items int
}

// lineError is an error at one line of the file.
type lineError struct {
	line int
	err  error
}

// errorf records an error at the line of n.
func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	err := fmt.Errorf("%s:%d: %s", p.path, n.Line, fmt.Sprintf(format, args...))
	p.errs = append(p.errs, lineError{n.Line, err})
}

// err returns the recorded errors in line order, joined, or nil.
func (p *parser) err() error {
	slices.SortStableFunc(p.errs, func(a, b lineError) int { return cmp.Compare(a.line, b.line) })
	errs := make([]error, 0, maxErrors+1)
	for i, e := range p.errs {
		if i == maxErrors {
			errs = append(errs, fmt.Errorf("%s: %d more errors", p.path, len(p.errs)-maxErrors))
			break
		}
		errs = append(errs, e.err)
	}
	return errors.Join(errs...)
}

// yamlError turns a syntax error of the YAML library ("yaml: line 3: ...") into "path:3: ...".
func (p *parser) yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				return fmt.Errorf("%s:%d: %s", p.path, line, text)
			}
		}
	}
	return fmt.Errorf("%s: %s", p.path, msg)
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an explicit or empty null ("key:" with nothing after it).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is, for "want X, got Y" errors.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	default:
		return strconv.Quote(n.Value)
	}
}

// fields reads mapping n into the value nodes of its known keys (each a pointer to fill in),
// reporting unknown and repeated keys. It returns false when n is not a mapping.
func (p *parser) fields(n *yaml.Node, what string, known map[string]**yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping, got %s", what, describe(n))
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		dst, ok := known[k.Value]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == "<<":
			p.errorf(k, "merge keys (<<) are not supported in %s", what)
		case k.Kind != yaml.ScalarNode || !ok:
			p.errorf(k, "unknown key %s in %s", describe(k), what)
		case *dst != nil:
			p.errorf(k, "duplicate key %q in %s", k.Value, what)
		default:
			*dst = v
		}
	}
	return true
}

// list returns the items of sequence n, aliases followed, or nil with an error when n is not a
// sequence or the file has too many items.
func (p *parser) list(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list, got %s", what, describe(n))
		return nil
	}
	p.items += len(n.Content)
	if p.items > maxItems {
		if p.items-len(n.Content) <= maxItems {
			p.errorf(n, "more than %d list items, counting aliases", maxItems)
		}
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = deref(item)
	}
	return items
}

// str returns the text of scalar n.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, "%s: want a string, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// integer returns the value of integer scalar n within [lo, hi].
func (p *parser) integer(n *yaml.Node, what string, lo, hi int64) (int64, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, "%s: want an integer, got %s", what, describe(n))
		return 0, false
	}
	if v < lo || v > hi {
		p.errorf(n, "%s %d out of range %d-%d", what, v, lo, hi)
		return 0, false
	}
	return v, true
}

// port returns the value of port number n.
func (p *parser) port(n *yaml.Node, what string) uint16 {
	v, _ := p.integer(n, what, 1, math.MaxUint16)
	return uint16(v)
}
