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

	// The children by a perfect hash of their keys' words, tails and
	// lengths (see seal): a lookup is one multiplication and one load,
	// where a loop over the children would cost a jump per child under
	// Go's wasm code generation.
	table []*node
	mul   uint64
	shift uint8
	// same is the next sibling with this node's word, tail and length:
	// two keys longer than 16 bytes that differ only in their middle
	// ("deliveryAddressStreetName", "deliveryContactStreetName"), which
	// no hash of those three can tell apart.
	same *node
}

// find returns the first child whose key has the word w, the tail t (see
// jsonscan.Word and Tail) and n bytes, or nil. Keys of up to 16 bytes are
// then equal; for longer ones the caller compares the rest, following
// same to the next candidate.
func (n *node) find(w, t uint64, klen int) *node {
	if len(n.table) == 0 {
		return nil
	}
	c := n.table[keyHash(w, t, klen, n.mul, n.shift)&uint64(len(n.table)-1)]
	if c != nil && c.word == w && c.tail == t && len(c.key) == klen {
		return c
	}
	return nil
}

func keyHash(w, t uint64, klen int, mul uint64, shift uint8) uint64 {
	return ((w ^ t*0x9E3779B97F4A7C15 ^ uint64(klen)) * mul) >> (shift & 63)
}

// child returns the child for key, whose word is w (jsonscan.Word).
func (n *node) child(key string, w uint64) *node {
	var tail uint64
	if len(key) > 8 {
		tail = jsonscan.Tail(key)
	}
	c := n.find(w, tail, len(key))
	for c != nil && len(key) > 16 && c.key != key {
		c = c.same
	}
	return c
}

// seal builds the hash tables of n and the nodes below it, once all are
// added: the smallest power-of-two table, from twice the children, for
// which a multiplier from a fixed sequence sends every distinct (word,
// tail, length) to its own slot (deterministic, so every build of the core
// has the same tables). Children that share all three are chained by same.
func (n *node) seal() {
	for _, c := range n.children {
		c.seal()
	}
	var heads []*node // the first child of each (word, tail, length)
	for _, c := range n.children {
		c.same = nil
	}
	for _, c := range n.children {
		var h *node
		for _, x := range heads {
			if x.word == c.word && x.tail == c.tail && len(x.key) == len(c.key) {
				h = x
				break
			}
		}
		if h == nil {
			heads = append(heads, c)
			continue
		}
		for h.same != nil {
			h = h.same
		}
		h.same = c
	}
	if len(heads) == 0 {
		return
	}
	seq := uint64(0x2545F4914F6CDD1D)
	for bits := 1; bits < 31; bits++ {
		size := 1 << bits
		if size < 2*len(heads) {
			continue
		}
		for try := 0; try < 1000; try++ {
			seq ^= seq << 13 // xorshift64
			seq ^= seq >> 7
			seq ^= seq << 17
			mul, shift := seq|1, uint8(64-bits)
			table := make([]*node, size)
			ok := true
			for _, c := range heads {
				h := keyHash(c.word, c.tail, len(c.key), mul, shift) & uint64(size-1)
				if table[h] != nil {
					ok = false
					break
				}
				table[h] = c
			}
			if ok {
				n.table, n.mul, n.shift = table, mul, shift
				return
			}
		}
	}
	panic("validate: no perfect hash for the children of " + n.path) // distinct triples always get one
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
	// lenOnly marks the string fields whose only value rule is a length:
	// rules checks a plain one inline, without a call to value.
	lenOnly uint64
	// typeOnly marks the fields whose only value rule is their type (a
	// number without bounds, a boolean): rules checks one left on its
	// index entry by its first byte, without parsing it (typeOK).
	typeOnly uint64
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
		if f.Kind == spec.String && len(f.Enum) == 0 && f.Format == nil {
			cs.lenOnly |= 1 << i
		}
		if f.Kind == spec.Number && !f.HasMin && !f.HasMax || f.Kind == spec.Boolean {
			cs.typeOnly |= 1 << i
		}
		if f.Items != nil {
			cs.items[i] = compileScope(where+" "+f.Path, f.Items)
		}
		if cs.scalar {
			continue
		}
		n := cs.root
		n.desc |= 1 << i
		for _, key := range strings.Split(f.Path, ".") {
			var next *node
			for _, c := range n.children { // the table is built after (seal)
				if c.key == key {
					next = c
				}
			}
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
	cs.root.seal()
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
