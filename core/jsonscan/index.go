package jsonscan

import "unsafe"

// An index of a checked body: one Entry per value, in document order, so
// that a reader finds every member's key and value, and skips any subtree,
// without scanning a byte. A WebAssembly host builds it natively while it
// checks the body for the guest (Check with a Tape, HostCheck): under Go's wasm code
// generation scanning is the costly part of a walk (every loop iteration
// and every call spills to memory and dispatches through a jump table),
// reading an entry is a few loads. Bodies whose index does not fit the
// guest's buffer are walked by scanning, as in a browser.

// Entry is one value of an indexed body. Its layout is the ABI of the
// import kassa_host.check_json (wasm/README.md): 40 bytes, little endian,
// in this field order.
type Entry struct {
	Word   uint64 // Word of the member's key (0 for elements, the root, escaped keys)
	Tail   uint64 // Tail of the key when longer than 8 bytes and not escaped, else 0
	Key    uint32 // offset of the key's first byte, after its quote (0: no key)
	KeyLen uint32 // length of the key's raw bytes, without the quotes
	Val    uint32 // offset of the value
	End    uint32 // offset just after the value
	Next   uint32 // index of the entry after this value and all it contains
	Flags  uint32 // the value's Plain (strings), and KeyEscaped
}

// KeyEscaped is the Flags bit of a member whose key contains escapes: its
// Word and Tail are 0, and a reader unescapes the key to compare it.
const KeyEscaped = 1 << 8

// EntrySize is the size of an Entry in the ABI.
const EntrySize = 40

// Index checks b as Check does and fills tape with its entries: entry 0 is
// the root value, and the entries of a container's members or elements
// follow it, each followed by its own. It returns the number of entries,
// or 0 when b is not strict JSON or they do not fit in tape (a reader then
// walks by scanning). It is Check with a Tape, for callers that hold a
// string; call it natively (in a WebAssembly guest, Check leaves indexing
// to the host).
func Index(b string, tape []Entry) int {
	if len(b) == 0 || len(tape) == 0 {
		return 0
	}
	s := Scanner{Tape: tape}
	if s.Check(unsafe.Slice(unsafe.StringData(b), len(b))) != nil { // read only
		return 0
	}
	return s.Indexed
}

// Child returns the entry of the member named key of the object at entry
// i of b's index, or -1 when entry i is not an object (or i is -1) or has
// no such member. Keys are compared unescaped; an index is of a checked
// body, whose keys are unique, so the first match is the only one. A
// caller reads fields after a validation without scanning the body again.
func Child(b string, tape []Entry, i int, key string) int {
	if i < 0 || b[tape[i].Val] != '{' {
		return -1
	}
	for c := i + 1; c < int(tape[i].Next); c = int(tape[c].Next) {
		if KeyOf(b, &tape[c]) == key {
			return c
		}
	}
	return -1
}

// KeyOf returns the key of member entry e of b's index, unescaped (which
// allocates, for a key with escapes only).
func KeyOf(b string, e *Entry) string {
	k := b[e.Key : e.Key+e.KeyLen]
	if e.Flags&KeyEscaped != 0 {
		return string(Unescape(nil, []byte(k)))
	}
	return k
}
