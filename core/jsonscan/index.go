package jsonscan

// An index of a checked body: one Entry per value, in document order, so
// that a reader finds every member's key and value, and skips any subtree,
// without scanning a byte. A WebAssembly host builds it natively while it
// checks the body for the guest (HostCheck): under Go's wasm code
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

// Index fills tape with the entries of the checked body b: entry 0 is the
// root value, and the entries of a container's members or elements follow
// it, each followed by its own. It returns the number of entries, or 0
// when they do not fit in tape (the reader then walks by scanning). Like
// the walk functions, it trusts b: call it only on bytes Check accepted.
func Index(b string, tape []Entry) int {
	if len(b) == 0 || len(b) > maxBody || len(tape) == 0 {
		return 0
	}
	x := indexer{b: b, tape: tape}
	if _, ok := x.add(Root(b), 0, 0, 0); !ok {
		return 0
	}
	return x.n
}

type indexer struct {
	b    string
	tape []Entry
	n    int
}

// add writes the entry of the value at val (a member's when key > 0: its
// key at offset key, klen bytes, word w; the caller marks an escaped key)
// and those of what it contains, and returns the offset just after the
// value.
func (x *indexer) add(val, key, klen int, w uint64) (end int, ok bool) {
	if x.n == len(x.tape) {
		return 0, false
	}
	e := &x.tape[x.n]
	x.n++
	*e = Entry{Key: uint32(key), KeyLen: uint32(klen), Val: uint32(val)}
	b := x.b
	switch b[val] {
	case '{':
		end = val + 1
		for i := First(b, val); i >= 0; i = Next(b, end) {
			k, kw, esc, v := Member(b, i)
			at := x.n
			if end, ok = x.add(v, i+1, len(k), kw); !ok {
				return 0, false
			}
			m := &x.tape[at]
			switch {
			case esc:
				m.Word, m.Flags = 0, m.Flags|KeyEscaped
			case len(k) > 8:
				m.Tail = Tail(k)
			}
		}
		end = Close(b, end)
	case '[':
		end = val + 1
		for i := First(b, val); i >= 0; i = Next(b, end) {
			if end, ok = x.add(i, 0, 0, 0); !ok {
				return 0, false
			}
		}
		end = Close(b, end)
	case '"':
		var p Plain
		end, p = scanString(b, val)
		e.Flags = uint32(p)
	default:
		end = Skip(b, val)
	}
	e.Word, e.End, e.Next = w, uint32(end), uint32(x.n)
	return end, true
}
