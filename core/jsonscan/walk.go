package jsonscan

// Walking a body that passed Check. These functions trust the body: they
// check nothing and would misread invalid JSON, so call them only on bytes
// Check accepted. They work on offsets and strings (at most 16 bytes, so
// no copy of theirs is a memmove call under Go's wasm code generation) and
// use memory proportional to nothing: a walk costs one pass over the bytes
// it crosses.
//
// An object's members are visited with
//
//	for i := First(b, obj); i >= 0; i = Next(b, end) {
//		key, esc, val := Member(b, i)
//		end = Skip(b, val) // or the end of a walk into the value
//	}
//
// and an array's elements the same way, with val = i.

// Root returns the offset of the value of a checked body: past its leading
// whitespace.
func Root(b string) int { return skipWS(b, 0) }

// First returns the offset of the first member (its key's opening quote)
// of the object, or of the first element of the array, that starts at i,
// or -1 when it is empty.
func First(b string, i int) int {
	i = skipWS(b, i+1)
	if i >= len(b) || b[i] == '}' || b[i] == ']' {
		return -1
	}
	return i
}

// Member reads the object member whose key's opening quote is at i: the
// key's raw bytes (without the quotes), whether they contain escapes (see
// Unescape), and the offset of the member's value.
func Member(b string, i int) (key string, esc bool, val int) {
	j := i + 1
	for ; j < len(b); j++ {
		if c := b[j]; c == '\\' {
			esc = true
			j++
		} else if c == '"' {
			break
		}
	}
	key = b[i+1 : min(j, len(b))]
	j = skipWS(b, j+1) // past the closing quote, to the ':'
	return key, esc, skipWS(b, j+1)
}

// Next returns the offset of the next member or element after a value of
// an object or array that ends just before i, or -1 when the container
// closes there.
func Next(b string, i int) int {
	i = skipWS(b, i)
	if i < len(b) && b[i] == ',' {
		return skipWS(b, i+1)
	}
	return -1
}

// Close returns the offset just after the closing brace or bracket that
// follows the last value of a container, which ends just before i.
func Close(b string, i int) int { return skipWS(b, i) + 1 }

// Plain is what SkipValue reports of a string value.
type Plain uint8

const (
	// Escaped: the string contains escapes (unescape it to read it).
	Escaped Plain = 1 << iota
	// NonASCII: the string contains bytes of multi-byte characters (its
	// length in characters is not its length in bytes).
	NonASCII
)

// SkipValue is Skip that also reports, for a string, whether it contains
// escapes or non-ASCII bytes: a validator then neither searches it again
// for a backslash nor counts its characters one by one.
func SkipValue(b string, i int) (end int, p Plain) {
	if b[i] == '"' {
		return scanString(b, i)
	}
	return Skip(b, i), 0
}

// Skip returns the offset just after the value that starts at i.
func Skip(b string, i int) int {
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			c := b[i]
			if class[c]&structural == 0 {
				continue // the common case: one load and one branch a byte
			}
			switch c {
			case '"':
				end, _ := scanString(b, i)
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for ; i < len(b); i++ { // a number or a literal
		if class[b[i]]&endsScalar != 0 {
			break
		}
	}
	return i
}

// class marks the bytes the walk functions stop at.
var class = func() (t [256]byte) {
	for _, c := range `"{}[]` {
		t[c] |= structural
	}
	for _, c := range ",}] \t\n\r" {
		t[c] |= endsScalar
	}
	t['\\'] |= inString
	t['"'] |= inString
	return t
}()

const (
	structural = 1 << iota // a quote, brace or bracket
	endsScalar             // what can follow a number or a literal
	inString               // a quote or a backslash
)

// scanString returns the offset just after the string whose opening quote
// is at i, and what it contains. Eight bytes at a time while none of them is
// a quote or a backslash: under Go's wasm code generation the loop costs
// more than the load, so this is several times faster than a byte loop
// there (and faster natively too).
func scanString(b string, i int) (int, Plain) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	var p Plain
	var high uint64
	for i++; i+8 <= len(b); i += 8 {
		x := load64(b, i)
		q, bs := x^(ones*'"'), x^(ones*'\\')
		// Some byte of x is a quote or a backslash exactly when some byte
		// of q or bs is zero ("haszero", Hacker's Delight 6-1).
		if ((q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
		high |= x
	}
	if high&highs != 0 {
		p |= NonASCII
	}
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, p
		case c == '\\':
			p |= Escaped
			i++
		case c >= 0x80:
			p |= NonASCII
		}
	}
	return len(b), p
}

// load64 reads the 8 bytes of b at i, little endian; i+8 <= len(b). The
// compiler merges the byte loads into one load where unaligned loads are
// allowed (amd64, arm64, wasm among others).
func load64(b string, i int) uint64 {
	b = b[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func skipWS(b string, i int) int {
	for i < len(b) {
		if c := b[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		i++
	}
	return i
}
