package jsonscan

import "math/bits"

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
//		key, word, esc, val := Member(b, i)
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
// key's raw bytes (without the quotes), its Word (when it has no escapes),
// whether it contains escapes (see Unescape), and the offset of the
// member's value.
func Member(b string, i int) (key string, word uint64, esc bool, val int) {
	// Most keys are short and plain: one word finds the closing quote
	// without a loop (under Go's wasm code generation every taken branch
	// is a dispatch through the function's jump table), and is the key's
	// Word.
	j, from, known := -1, i, false
	if i+9 <= len(b) {
		known = true
		x := load64(b, i+1)
		if m := special(x); m == 0 {
			word, from = x, i+8 // a long key: its first 8 bytes are plain
			if i+17 <= len(b) { // and one more word for keys up to 15 bytes
				if m := special(load64(b, i+9)); m != 0 && b[i+9+firstByte(m)] == '"' {
					j = i + 9 + firstByte(m)
				}
			}
		} else if k := firstByte(m); b[i+1+k] == '"' {
			j, word = i+1+k, x&(1<<(8*uint(k))-1)
		} else {
			known = false // escaped: the caller computes the word
		}
	}
	if j < 0 {
		var p Plain
		j, p = scanString(b, from)
		j-- // the closing quote
		esc = p&Escaped != 0
	}
	key = b[i+1 : j]
	if !known && !esc {
		word = Word(key) // not read above (near the end of b)
	}
	if j+1 < len(b) && b[j+1] == ':' { // compact JSON
		return key, word, esc, skipWS(b, j+2)
	}
	j = skipWS(b, j+1) // past the closing quote, to the ':'
	return key, word, esc, skipWS(b, j+1)
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

// Compact reports whether the value that ends just before i is followed
// by a comma and, right after it, the next member or element: then that is
// at i+1, and Next(b, i) == i+1. It is Next's common case, small enough to
// be inlined into a walk's loop.
func Compact(b string, i int) bool { return i+1 < len(b) && b[i+1] > ' ' && b[i] == ',' }

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

// SkipString is SkipValue for a value known to be a string (b[i] is '"').
func SkipString(b string, i int) (end int, p Plain) { return scanString(b, i) }

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
// is at i, and what it contains. Eight bytes at a time: a word with no quote
// and no backslash costs one test, and the first one in a word is found
// without a loop (special, firstByte). Under Go's wasm code generation a
// loop's iteration costs far more than the load, so this is several times
// faster than a byte loop there (and faster natively too).
func scanString(b string, i int) (int, Plain) {
	var p Plain
	var high uint64 // the bytes crossed, ORed: NonASCII if a high bit is set
	for i++; i+8 <= len(b); {
		x := load64(b, i)
		m := special(x)
		if m == 0 {
			high |= x
			i += 8
			continue
		}
		k := firstByte(m)
		high |= x & (1<<(8*k) - 1) // the bytes before it
		if i += k; b[i] == '"' {
			if high&highs != 0 {
				p |= NonASCII
			}
			return i + 1, p
		}
		p |= Escaped // a backslash: skip it and the byte it escapes
		i += 2
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

const ones, highs = 0x0101010101010101, 0x8080808080808080

// special returns, for the 8 bytes of x, a mask whose lowest set bit is the
// high bit of the first byte that is a quote or a backslash, or 0 when
// there is none. A byte of x is one of them exactly when that byte of q or
// bs is zero ("haszero", Hacker's Delight 6-1); bits above the first zero
// byte may be set wrongly by the borrow, the lowest one never is.
func special(x uint64) uint64 {
	q, bs := x^(ones*'"'), x^(ones*'\\')
	return ((q-ones)&^q | (bs-ones)&^bs) & highs
}

// firstByte returns the index of the byte whose high bit is m's lowest set
// bit (a single instruction: i64.ctz under wasm, TZCNT on amd64).
func firstByte(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// Word returns the first 8 bytes of s (zero-padded) as one integer, little
// endian: two keys of the same length up to 8 bytes are equal exactly
// when their words are, which costs no call to the runtime's memequal.
func Word(s string) uint64 {
	if len(s) >= 8 {
		return load64(s, 0)
	}
	var w uint64
	for i := len(s) - 1; i >= 0; i-- {
		w = w<<8 | uint64(s[i])
	}
	return w
}

// Tail returns the last 8 bytes of s as one integer, little endian;
// len(s) >= 8. Two strings of the same length from 8 to 16 bytes are equal
// exactly when their Words and Tails are.
func Tail(s string) uint64 { return load64(s, len(s)-8) }

// Equal reports whether a == b, comparing 8 bytes at a time: under Go's
// wasm code generation a string comparison runs the runtime's byte loop,
// which for an endpoint's or an operation's name costs more than the rest
// of a cache lookup.
func Equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	switch {
	case len(a) < 8:
		return a == b
	case len(a) <= 16: // most names, without a loop
		return load64(a, 0) == load64(b, 0) && Tail(a) == Tail(b)
	case len(a) <= 24:
		return load64(a, 0) == load64(b, 0) && load64(a, 8) == load64(b, 8) && Tail(a) == Tail(b)
	}
	for i := 0; i+8 < len(a); i += 8 {
		if load64(a, i) != load64(b, i) {
			return false
		}
	}
	return Tail(a) == Tail(b)
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
