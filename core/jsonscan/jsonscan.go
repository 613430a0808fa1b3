// Package jsonscan checks that a body is strict JSON (RFC 8259) before any
// field is read from it: well-formed, valid UTF-8, not nested deeper than a
// limit, and without duplicate keys in any object.
//
// Duplicate keys matter for payments: gjson returns the first of two equal
// keys, encoding/json and JSON.parse the last, so a body with a duplicated
// "amountCentis" could be signed with one value and forwarded with another.
// Keys are compared after unescaping, so "a" and "\u0061" are duplicates.
//
// Once a body has passed Check, First, Member, Next and Skip walk it without
// checking it again (walk.go): that is how packages validate and sign find
// the values they need, each then read with gjson.
//
// A Scanner keeps its scratch space between calls and allocates nothing in
// the steady state, which matters inside the WebAssembly build.
package jsonscan

import (
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// DefaultMaxDepth bounds nesting; provider bodies are at most 6 deep.
const DefaultMaxDepth = 64

// Error describes the first problem found.
type Error struct {
	Offset int    // byte offset in the body
	Path   string // dotted path of the value or key at fault ("" for the root)
	Msg    string
}

func (e *Error) Error() string {
	if e.Path != "" {
		return e.Path + ": " + e.Msg
	}
	return e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// span is a key's raw bytes (without quotes) and whether it has escapes.
// span and seg are 12 and 16 bytes: they are copied per key, and under Go's
// wasm code generation a copy of anything larger is a call to memmove.
type span struct {
	start, end int32
	esc        bool
}

// seg is one step of the current path: a key span or an array index.
type seg struct {
	key   span
	index int32 // -1 for keys
}

// Scanner checks bodies. The zero value is ready to use with
// DefaultMaxDepth. A Scanner is not safe for concurrent use.
type Scanner struct {
	MaxDepth int

	// Tape, when set, asks a host's check (HostCheck) to also index the
	// body into it (see Index). Indexed is then, after a Check that found
	// no violation, the number of entries written, or 0 for none.
	Tape    []Entry
	Indexed int
	// Hosted reports whether HostCheck answered the last Check (valid or
	// not): the host checks bodies.
	Hosted bool

	b     []byte
	keys  []span // keys of the objects being scanned, innermost last
	path  []seg
	set   map[string]struct{}
	setOf int // the object (by sequence number) whose keys s.set holds
	seq   int // objects started so far in this body
	sbuf1 []byte
	sbuf2 []byte
	err   Error

	// While indexing (see Tape): the entries so far, nil once they
	// overflowed, and the key of the member value about to be scanned.
	tape   []Entry
	nt     int
	key    span
	hasKey bool
	high   bool // str crossed a multi-byte character
}

// maxBody bounds what a Scanner accepts, so offsets fit in int32.
const maxBody = 1<<31 - 1

// largeObject is the key count above which duplicate detection switches
// from pairwise comparison to a map, so a hostile body with many keys costs
// linear time.
const largeObject = 32

// HostCheck, when set, is a faster implementation of Check's verdict
// under the same rules: the WebAssembly guest sets it to its host's native
// build of this package (the import kassa_host.check_json, see
// wasm/README.md), because Go's wasm code runs it about ten times slower.
// answered is false when the host has none. Check trusts a "valid" answer
// and scans itself otherwise, for the error's details. When tape is not
// empty the host also indexes a valid body into it (Index) and returns the
// number of entries, or 0. Natively it is nil.
var HostCheck func(b []byte, maxDepth int, tape []Entry) (valid, answered bool, indexed int)

// Check reports the first violation of strict JSON in b, or nil. The
// returned error is owned by the Scanner and valid until the next call.
func (s *Scanner) Check(b []byte) *Error {
	if s.MaxDepth <= 0 {
		s.MaxDepth = DefaultMaxDepth
	}
	s.Indexed, s.Hosted = 0, false
	s.tape, s.nt, s.hasKey = nil, 0, false
	if HostCheck != nil {
		valid, ok, n := HostCheck(b, s.MaxDepth, s.Tape)
		s.Hosted = ok
		if ok && valid {
			s.Indexed = min(n, len(s.Tape))
			return nil
		}
	} else if len(s.Tape) > 0 {
		// Natively (a host, or a test): index while checking. A guest
		// whose host did not check leaves its body unindexed: building
		// the index in wasm costs more than the walk it saves.
		s.tape = s.Tape
	}
	s.b = b
	s.keys = s.keys[:0]
	s.path = s.path[:0]
	s.seq, s.setOf = 0, 0
	if len(b) > maxBody {
		return s.fail(0, "body larger than 2 GiB")
	}
	i := s.ws(0)
	if i >= len(b) {
		return s.fail(i, "empty body: expected a JSON value")
	}
	i, ok := s.value(i, 0)
	if !ok {
		return &s.err
	}
	if i = s.ws(i); i != len(b) {
		return s.fail(i, "unexpected data after the JSON value")
	}
	if s.tape != nil {
		s.Indexed = s.nt
	}
	s.b, s.tape = nil, nil
	return nil
}

func (s *Scanner) fail(off int, msg string) *Error {
	s.err = Error{Offset: off, Path: s.pathString(), Msg: msg}
	s.b = nil
	return &s.err
}

func (s *Scanner) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *Scanner) value(i, depth int) (int, bool) {
	if s.tape != nil {
		return s.indexed(i, depth)
	}
	return s.scan(i, depth)
}

// indexed scans the value at i as scan does, and adds its entry to the
// index (see Index and Entry).
func (s *Scanner) indexed(i, depth int) (int, bool) {
	if s.nt == len(s.tape) {
		s.tape, s.hasKey = nil, false // too many values: check on, without an index
		return s.scan(i, depth)
	}
	at := s.nt
	s.nt++
	e := Entry{Val: uint32(i)}
	if s.hasKey {
		k := s.key
		e.Key, e.KeyLen = uint32(k.start), uint32(k.end-k.start)
		if k.esc {
			e.Flags = KeyEscaped
		} else {
			key := unsafe.String(&s.b[k.start], int(k.end-k.start)) // no copy: read now
			e.Word = Word(key)
			if len(key) > 8 {
				e.Tail = Tail(key)
			}
		}
		s.hasKey = false
	}
	var j int
	var ok bool
	if i < len(s.b) && s.b[i] == '"' { // a string: what it contains, as the walk's SkipValue says
		var esc bool
		s.high = false
		if j, esc, ok = s.str(i); !ok {
			return j, false
		}
		if esc {
			e.Flags |= uint32(Escaped)
		}
		if s.high {
			e.Flags |= uint32(NonASCII)
		}
	} else if j, ok = s.scan(i, depth); !ok || s.tape == nil {
		return j, ok
	}
	e.End, e.Next = uint32(j), uint32(s.nt)
	s.tape[at] = e
	return j, true
}

// scan checks the value at i and returns the offset just after it.
func (s *Scanner) scan(i, depth int) (int, bool) {
	if i >= len(s.b) {
		s.fail(i, "unexpected end of JSON")
		return i, false
	}
	switch c := s.b[i]; {
	case c == '{':
		return s.object(i, depth+1)
	case c == '[':
		return s.array(i, depth+1)
	case c == '"':
		j, _, ok := s.str(i)
		return j, ok
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(i)
	case c == 't':
		return s.lit(i, "true")
	case c == 'f':
		return s.lit(i, "false")
	case c == 'n':
		return s.lit(i, "null")
	default:
		s.fail(i, "invalid character "+strconv.QuoteRune(rune(c))+" looking for a value")
		return i, false
	}
}

func (s *Scanner) lit(i int, word string) (int, bool) {
	if len(s.b)-i < len(word) || string(s.b[i:i+len(word)]) != word {
		s.fail(i, "invalid literal, expected "+word)
		return i, false
	}
	return i + len(word), true
}

func (s *Scanner) object(i, depth int) (int, bool) {
	if depth > s.MaxDepth {
		s.fail(i, "nesting deeper than "+strconv.Itoa(s.MaxDepth))
		return i, false
	}
	base := len(s.keys)
	s.seq++
	id := s.seq
	defer func() { s.keys = s.keys[:base] }()
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(s.b) || s.b[i] != '"' {
			s.fail(i, "expected a string key")
			return i, false
		}
		j, esc, ok := s.str(i)
		if !ok {
			return j, false
		}
		k := span{int32(i + 1), int32(j - 1), esc}
		s.path = append(s.path, seg{key: k, index: -1})
		if s.duplicate(id, base, k) {
			s.fail(i, "duplicate key")
			return i, false
		}
		s.keys = append(s.keys, k)
		i = s.ws(j)
		if i >= len(s.b) || s.b[i] != ':' {
			s.fail(i, "expected ':' after object key")
			return i, false
		}
		s.key, s.hasKey = k, s.tape != nil
		if i, ok = s.value(s.ws(i+1), depth); !ok {
			return i, false
		}
		s.path = s.path[:len(s.path)-1]
		i = s.ws(i)
		if i >= len(s.b) {
			s.fail(i, "unexpected end of JSON in object")
			return i, false
		}
		switch s.b[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			return i + 1, true
		default:
			s.fail(i, "expected ',' or '}' in object")
			return i, false
		}
	}
}

// duplicate reports whether k equals a key of the current object (number
// id, keys s.keys[base:]).
func (s *Scanner) duplicate(id, base int, k span) bool {
	keys := s.keys[base:]
	if len(keys) < largeObject {
		for _, o := range keys {
			if s.equal(o, k) {
				return true
			}
		}
		return false
	}
	// Large object: (re)build a set of its decoded keys. The set is shared
	// across objects, so it is rebuilt when another (inner) object used it.
	if s.setOf != id {
		if s.set == nil {
			s.set = make(map[string]struct{}, 2*largeObject)
		}
		clear(s.set)
		for _, o := range keys {
			s.set[string(s.decode(o, &s.sbuf1))] = struct{}{}
		}
		s.setOf = id
	}
	name := s.decode(k, &s.sbuf1)
	if _, dup := s.set[string(name)]; dup {
		return true
	}
	s.set[string(name)] = struct{}{}
	return false
}

func (s *Scanner) equal(a, b span) bool {
	if !a.esc && !b.esc {
		return string(s.b[a.start:a.end]) == string(s.b[b.start:b.end])
	}
	return string(s.decode(a, &s.sbuf1)) == string(s.decode(b, &s.sbuf2))
}

// decode returns the unescaped key, using buf as scratch.
func (s *Scanner) decode(k span, buf *[]byte) []byte {
	raw := s.b[k.start:k.end]
	if !k.esc {
		return raw
	}
	*buf = Unescape((*buf)[:0], raw)
	return *buf
}

// str scans a string starting at the quote at i. It returns the index after
// the closing quote and whether the string contained escapes.
func (s *Scanner) str(i int) (int, bool, bool) {
	b := s.b
	esc := false
	for j := i + 1; j < len(b); {
		c := b[j]
		switch {
		case c == '"':
			return j + 1, esc, true
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				s.fail(j, "unterminated escape")
				return j, esc, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) || !hex4(b[j+2:j+6]) {
					s.fail(j, "invalid \\u escape")
					return j, esc, false
				}
				// A surrogate must come as a high-low pair (I-JSON, RFC 7493
				// 2.1): a lone one decodes to U+FFFD in gjson and to '?' in
				// Java, so the two sides would sign different bytes.
				switch r := hexVal(b[j+2 : j+6]); {
				case r >= 0xD800 && r < 0xDC00 && lowSurrogateAt(b, j+6):
					j += 12
				case r >= 0xD800 && r <= 0xDFFF:
					s.fail(j, "unpaired surrogate escape")
					return j, esc, false
				default:
					j += 6
				}
			default:
				s.fail(j, "invalid escape character")
				return j, esc, false
			}
		case c < 0x20:
			s.fail(j, "control character in string")
			return j, esc, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, n := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && n <= 1 {
				s.fail(j, "invalid UTF-8 in string")
				return j, esc, false
			}
			s.high = true
			j += n
		}
	}
	s.fail(len(b), "unterminated string")
	return len(b), esc, false
}

// lowSurrogateAt reports whether b[i:] starts with an escaped low
// surrogate, \uDC00 to \uDFFF.
func lowSurrogateAt(b []byte, i int) bool {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' || !hex4(b[i+2:i+6]) {
		return false
	}
	lo := hexVal(b[i+2 : i+6])
	return lo >= 0xDC00 && lo <= 0xDFFF
}

func hex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}

func (s *Scanner) number(i int) (int, bool) {
	b, start := s.b, i
	digits := func() bool {
		n := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		s.fail(start, "invalid number")
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			s.fail(start, "invalid number: digits expected after '.'")
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			s.fail(start, "invalid number: digits expected in exponent")
			return i, false
		}
	}
	return i, true
}

func (s *Scanner) array(i, depth int) (int, bool) {
	if depth > s.MaxDepth {
		s.fail(i, "nesting deeper than "+strconv.Itoa(s.MaxDepth))
		return i, false
	}
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == ']' {
		return i + 1, true
	}
	s.path = append(s.path, seg{index: 0})
	for n := 0; ; n++ {
		s.path[len(s.path)-1].index = int32(n)
		var ok bool
		if i, ok = s.value(i, depth); !ok {
			return i, false
		}
		i = s.ws(i)
		if i >= len(s.b) {
			s.fail(i, "unexpected end of JSON in array")
			return i, false
		}
		switch s.b[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			s.path = s.path[:len(s.path)-1]
			return i + 1, true
		default:
			s.fail(i, "expected ',' or ']' in array")
			return i, false
		}
	}
}

// pathString renders the current path in gjson's dotted notation.
func (s *Scanner) pathString() string {
	if len(s.path) == 0 {
		return ""
	}
	var out []byte
	for n, p := range s.path {
		if n > 0 {
			out = append(out, '.')
		}
		if p.index >= 0 {
			out = strconv.AppendInt(out, int64(p.index), 10)
			continue
		}
		out = append(out, s.decode(p.key, &s.sbuf1)...)
	}
	return string(out)
}

// Unescape appends the unescaped form of a JSON string's raw contents
// (without quotes) to dst. Invalid escapes are copied as they are; callers
// unescape only strings that Check accepted.
func Unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+5 > len(raw) {
				dst = append(dst, '\\', 'u')
				continue
			}
			r := rune(hexVal(raw[i+1 : i+5]))
			i += 4
			if r >= 0xD800 && r < 0xDC00 && i+7 <= len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				lo := rune(hexVal(raw[i+3 : i+7]))
				if lo >= 0xDC00 && lo < 0xE000 {
					r = (r-0xD800)<<10 | (lo - 0xDC00) + 0x10000
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, raw[i])
		}
	}
	return dst
}

func hexVal(b []byte) int {
	v := 0
	for _, c := range b {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			v |= int(c|0x20-'a') + 10
		}
	}
	return v
}
