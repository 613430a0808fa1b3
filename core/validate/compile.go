package validate

import (
	"strings"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
)

// The endpoint tables are compiled once into a trie per scope, so that a
// body is walked once, guided by the fields the provider defines, and every
// rule refers to fields by index rather than by path.

// node is one step of a dotted path inside a scope.
type node struct {
	key      string
	word     uint64 // jsonscan.Word(key)
	tail     uint64 // jsonscan.Tail(key) if longer than 8 bytes, else 0
	path     string // relative path of this node within the scope
	field    int    // index of the field ending here, or -1
	children []*node
	desc     uint64 // the fields at or below this node, one bit each
}

// child returns the child for key, whose word is w (jsonscan.Word). Keys
// are compared as words (jsonscan.Word and Tail, enough up to 16 bytes):
// under wasm a string comparison is a call.
func (n *node) child(key string, w uint64) *node {
	var tail uint64
	if len(key) > 8 {
		tail = jsonscan.Tail(key)
	}
	for _, c := range n.children {
		if c.word == w && c.tail == tail && len(c.key) == len(key) && (len(key) <= 16 || c.key == key) {
			return c
		}
	}
	return nil
}

// newNode returns a node for key.
func newNode(key, path string) *node {
	n := &node{key: key, word: jsonscan.Word(key), path: path, field: -1}
	if len(key) > 8 {
		n.tail = jsonscan.Tail(key)
	}
	return n
}

// maxFields bounds a scope's fields: the validator keeps which fields it
// found in one 64-bit mask per scope. The largest scope has 41.
const maxFields = 64

type cond struct {
	field int // the field the condition looks at
	in    []string
	then  spec.Presence
	text  string // "state is APPROVED or DECLINED"
}

type group struct {
	kind   spec.GroupKind
	fields []int
	path   string // where a missing-member violation is reported
	names  string // "sourceOfFunds.card, sourceOfFunds.reference"
}

// scope is a compiled spec.Scope.
type scope struct {
	fields []*spec.Field
	root   *node
	conds  [][]cond // per field
	groups []group
	checks []spec.Check
	items  []*scope // per field: compiled Items, or nil
	index  map[string]int
	scalar bool // an array of scalars: one field with an empty path
}

// compiled is an endpoint ready for validation.
type compiled struct {
	ep    *spec.Endpoint
	body  *scope
	query *scope
}

func compileEndpoint(ep *spec.Endpoint) *compiled {
	c := &compiled{ep: ep, body: compileScope(ep.ID, &ep.Scope)}
	if len(ep.Query) > 0 {
		c.query = compileScope(ep.ID+" query", &spec.Scope{Fields: ep.Query})
	}
	return c
}

func compileScope(where string, s *spec.Scope) *scope {
	cs := &scope{
		fields: s.Fields,
		root:   newNode("", ""),
		conds:  make([][]cond, len(s.Fields)),
		items:  make([]*scope, len(s.Fields)),
		checks: s.Checks,
		index:  make(map[string]int, len(s.Fields)),
	}
	if len(s.Fields) > maxFields {
		panic("validate: " + where + ": more than 64 fields in one scope")
	}
	if len(s.Fields) == 1 && s.Fields[0].Path == "" {
		cs.scalar = true
	}
	for i, f := range s.Fields {
		if _, dup := cs.index[f.Path]; dup {
			panic("validate: " + where + ": field " + f.Path + " listed twice")
		}
		cs.index[f.Path] = i
		if f.Items != nil {
			cs.items[i] = compileScope(where+" "+f.Path, f.Items)
		}
		if cs.scalar {
			continue
		}
		n := cs.root
		n.desc |= 1 << i
		for _, key := range strings.Split(f.Path, ".") {
			next := n.child(key, jsonscan.Word(key))
			if next == nil {
				p := key
				if n.path != "" {
					p = n.path + "." + key
				}
				next = newNode(key, p)
				n.children = append(n.children, next)
			}
			n = next
			n.desc |= 1 << i
		}
		n.field = i
	}
	lookup := func(p string) int {
		i, ok := cs.index[p]
		if !ok {
			panic("validate: " + where + ": rule refers to unknown field " + p)
		}
		return i
	}
	for i, f := range s.Fields {
		for _, c := range f.When {
			text := c.Path + " is present"
			if len(c.In) > 0 {
				text = c.Path + " is " + strings.Join(c.In, " or ")
			}
			cs.conds[i] = append(cs.conds[i], cond{field: lookup(c.Path), in: c.In, then: c.Then, text: text})
		}
	}
	for _, g := range s.Groups {
		cg := group{kind: g.Kind, names: strings.Join(g.Paths, ", "), path: commonParent(g.Paths)}
		for _, p := range g.Paths {
			cg.fields = append(cg.fields, lookup(p))
		}
		cs.groups = append(cs.groups, cg)
	}
	return cs
}

// commonParent returns the longest dotted prefix shared by all paths'
// parents: "sourceOfFunds" for sourceOfFunds.card and .reference.
func commonParent(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	parts := strings.Split(paths[0], ".")
	parts = parts[:len(parts)-1]
	for _, p := range paths[1:] {
		q := strings.Split(p, ".")
		n := 0
		for n < len(parts) && n < len(q)-1 && parts[n] == q[n] {
			n++
		}
		parts = parts[:n]
	}
	return strings.Join(parts, ".")
}
