package validate

import (
	"strconv"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
)

// The walk over an index (jsonscan.Index): what walk, array and elements
// do by scanning, done by reading the entries a WebAssembly host wrote
// while it checked the body. Positions are entry numbers instead of
// offsets. The two walks must agree on every body; the tests run both.

// indexEntries is the size of a Validator's index buffer, allocated when
// a host can fill it: 80 KiB, for bodies of up to 2048 values. Larger
// bodies are walked by scanning.
const indexEntries = 2048

// indexNatively makes Validate index bodies as it checks them, natively,
// so that the tests cover the indexed walk without a WebAssembly host.
var indexNatively = false

// useIndex sets v.tp to tp, the index of body (built by the check, or
// given by the caller), if it is consistent, and reports whether it is. The guest trusts its host's check as it trusts
// its verdict, but a broken host must not make it trap or loop: every
// offset must lie in the body and every entry's Next must move forward.
// (Recovering from the walk's panics instead of this loop measured slower
// under wasm: a deferred recover costs more than one branch an entry.)
func (v *Validator) useIndex(body string, tp []jsonscan.Entry) bool {
	v.tp = nil
	n := len(tp)
	if n == 0 || len(body) == 0 || len(body) >= 1<<31 || int(tp[0].Next) != n {
		return false
	}
	size := uint32(len(body))
	var bad uint32
	for i := range tp {
		// Without a branch per condition (b2u is a wasm select): i <
		// Next <= n, Val < End <= size, Key+KeyLen <= size, and a string
		// has its two quotes.
		e := &tp[i]
		bad |= b2u(e.Next-uint32(i)-1 >= uint32(n-i)) | b2u(e.End > size) | b2u(e.Val >= e.End) |
			b2u(uint64(e.Key)+uint64(e.KeyLen) > uint64(size)) |
			b2u(body[min(e.Val, size-1)] == '"')&b2u(e.End-e.Val < 2)
	}
	if bad == 0 {
		v.tp = tp
	}
	return bad == 0
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// walkIndexed records the values of the fields below n found in the object
// of entry t. (An iterative version, with a stack of its own, measured
// slower under wasm: a bigger function spills more.)
func (v *Validator) walkIndexed(n *node, t int32, fr *frame) {
	b, tp := v.body, v.tp
	for c := t + 1; c < int32(tp[t].Next); c = int32(tp[c].Next) {
		e := &tp[c]
		var ch *node
		if e.Flags&jsonscan.KeyEscaped == 0 {
			// n.child, with the word and tail the host computed.
			ch = n.find(e.Word, e.Tail, int(e.KeyLen))
			for ch != nil && e.KeyLen > 16 && ch.key != b[e.Key:e.Key+e.KeyLen] {
				ch = ch.same
			}
		} else {
			key := v.unescape(b[e.Key : e.Key+e.KeyLen])
			ch = n.child(key, jsonscan.Word(key))
		}
		if ch == nil { // unknown fields are accepted
			continue
		}
		val := e.Val
		switch {
		case ch.children != nil && b[val] == '{':
			v.walkIndexed(ch, c, fr)
			if ch.field >= 0 {
				s := &fr.s[ch.field]
				read(&s.val, b[val:e.End], 0)
				s.off = c
				fr.found |= 1 << ch.field
			}
		case ch.field >= 0:
			fr.s[ch.field].off = c // read later, if at all (Validator.load)
			fr.found |= 1 << ch.field
			fr.lazy |= 1 << ch.field
			if ch.children != nil && b[val] != 'n' {
				v.notObject(ch, fr)
			}
		default: // a parent of fields only
			if b[val] != 'n' {
				v.notObject(ch, fr)
			}
		}
	}
}

// countIndexed returns the number of elements of the array of entry t.
func (v *Validator) countIndexed(t int32) int {
	n := 0
	for c := t + 1; c < int32(v.tp[t].Next); c = int32(v.tp[c].Next) {
		n++
	}
	return n
}

// elementsIndexed is elements for the array of entry t.
func (v *Validator) elementsIndexed(items *scope, t int32) {
	b, tp, mark, n := v.body, v.tp, len(v.path), 0
	for c := t + 1; c < int32(tp[t].Next); c = int32(tp[c].Next) {
		v.path = strconv.AppendInt(v.path[:mark], int64(n), 10)
		v.path = append(v.path, '.')
		n++
		e := &tp[c]
		switch i := e.Val; {
		case items.scalar && b[i] == 'n':
			v.addAt("", spec.RuleType, "must not be null")
			continue // as in elements: past the report's limit, still counted
		case items.scalar:
			base := v.push(1)
			s := &v.slots[base]
			s.plain = jsonscan.Plain(e.Flags)
			read(&s.val, b[i:e.End], s.plain)
			s.off = c
			v.value(items.fields[0], items.items[0], "", s)
			v.pop(base)
		case b[i] != '{':
			v.addAt("", spec.RuleType, "must be an object")
			continue
		default:
			v.scope(items, c)
		}
		if v.more != 0 {
			break
		}
	}
	v.path = v.path[:mark]
}
