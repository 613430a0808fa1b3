// Package validate checks request and response bodies against the provider
// tables of package spec.
//
// A body is first checked as strict JSON (package jsonscan): invalid JSON,
// invalid UTF-8, excessive nesting or a duplicate key is reported alone, as
// one violation with rule "json" and the path where it was found. Otherwise
// the body is walked once, guided by the endpoint's fields (jsonscan's walk
// functions find each member's key and value), gjson reads the value of
// every known field from its bytes, and every rule violation is reported in
// one pass, in a stable order: for each field in table order its presence
// and value rules, then groups, then cross-field checks.
//
// Why not gjson's ForEach for the walk: under Go's WebAssembly code
// generation a copy of a struct over 16 bytes is a call to memmove (about
// 40 ns under wazero), gjson.Result is 80 bytes and ForEach copies several
// per member, and it re-scans every nested object. For the same reason
// values are passed by pointer here.
//
// A Validator reuses its scratch space; it allocates only when it reports a
// violation. It is not safe for concurrent use: keep one per goroutine (or
// per WebAssembly instance).
package validate

import (
	"errors"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
)

// Violation is one broken rule.
type Violation struct {
	Path    string    `json:"path"`
	Rule    spec.Rule `json:"rule"`
	Message string    `json:"message"`
}

// Result of a validation. Valid is true exactly when Violations is empty.
type Result struct {
	Valid      bool        `json:"valid"`
	Violations []Violation `json:"violations"`
}

// ErrUnknownEndpoint is returned for an endpoint id that spec does not know.
var ErrUnknownEndpoint = errors.New("unknown endpoint")

var endpoints = func() map[string]*compiled {
	m := make(map[string]*compiled)
	for _, ep := range spec.All() {
		m[ep.ID] = compileEndpoint(ep)
	}
	return m
}()

func lookup(id string) (*compiled, error) {
	if c := endpoints[id]; c != nil {
		return c, nil
	}
	return nil, errors.New("unknown endpoint " + strconv.Quote(id))
}

// lookup returns the endpoint, remembering the last one: a caller (a wasm
// instance in the proxy) validates the same few endpoints over and over,
// and under wasm a string comparison is cheaper than a map's hash.
// validate repeats its first test inline (lookup is too big to inline).
func (v *Validator) lookup(id string) (*compiled, error) {
	if c := v.last; c != nil && jsonscan.Equal(c.ep.ID, id) {
		return c, nil
	}
	c, err := lookup(id)
	if err == nil {
		v.last = c
	}
	return c, err
}

// Validator validates bodies, reusing memory between calls.
type Validator struct {
	scan  jsonscan.Scanner
	body  string           // the body being validated
	slots []slot           // the fields of the scopes being validated (a stack)
	tp    []jsonscan.Entry // the body's index (index.go), or nil: walk by scanning
	kbuf  []byte           // an unescaped key
	last  *compiled        // the endpoint of the last call
	path  []byte           // prefix of the scope being validated
	out   []Violation
	query []qpair
	more  int       // violations found past MaxViolations
	moreR spec.Rule // the rule of the first of them
}

// MaxViolations bounds a report: a hostile body (a million bad array
// elements) must not produce a million violations. Past it, one last
// violation says how many more were found, and array walks stop.
const MaxViolations = 100

// New returns a Validator.
func New() *Validator { return &Validator{} }

var pool = sync.Pool{New: func() any { return New() }}

// Validate validates body as endpoint id with a pooled Validator. The
// result is the caller's.
func Validate(id string, body []byte) (Result, error) {
	v := pool.Get().(*Validator)
	r, err := v.Validate(id, body)
	r.Violations = append([]Violation(nil), r.Violations...)
	pool.Put(v)
	return r, err
}

// ValidateQuery validates a raw query string with a pooled Validator.
func ValidateQuery(id, rawQuery string) (Result, error) {
	v := pool.Get().(*Validator)
	r, err := v.ValidateQuery(id, rawQuery)
	r.Violations = append([]Violation(nil), r.Violations...)
	pool.Put(v)
	return r, err
}

// Validate validates body as endpoint id. The returned Violations slice is
// reused by the next call on v.
func (v *Validator) Validate(id string, body []byte) (Result, error) {
	return v.validate(id, body, nil)
}

// ValidateIndexed is Validate for a body its caller has already checked
// as strict JSON and indexed (jsonscan.Index: a check with a Tape): a
// WebAssembly host that did both natively (the export
// kassa_validate_indexed). The core trusts that the body is strict JSON,
// as it trusts a host's check_json; an index that is not consistent (see
// useIndex) is ignored, and the body checked and walked as by Validate.
func (v *Validator) ValidateIndexed(id string, body []byte, tape []jsonscan.Entry) (Result, error) {
	return v.validate(id, body, tape)
}

func (v *Validator) validate(id string, body []byte, tape []jsonscan.Entry) (Result, error) {
	c := v.last // v.lookup's first test, inlined: the same endpoint again, most often
	if c == nil || !jsonscan.Equal(c.ep.ID, id) {
		var err error
		if c, err = v.lookup(id); err != nil {
			return Result{}, err
		}
	}
	v.out, v.more = v.out[:0], 0
	v.path = v.path[:0]
	if c.ep.Body == spec.NoBody && isBlank(body) {
		return v.result(), nil
	}
	if len(tape) == 0 || len(body) == 0 || !v.useIndex(unsafe.String(&body[0], len(body)), tape) {
		// The index buffer, once a host has shown it checks bodies (a
		// browser's answers "not provided": no buffer, no allocation).
		if v.scan.Tape == nil && (v.scan.Hosted || indexNatively) {
			v.scan.Tape = make([]jsonscan.Entry, indexEntries)
		}
		if e := v.scan.Check(body); e != nil {
			v.add(e.Path, spec.RuleJSON, e.Msg+" at offset "+strconv.Itoa(e.Offset))
			return v.result(), nil
		}
		v.useIndex(unsafe.String(unsafe.SliceData(body), len(body)), v.scan.Tape[:v.scan.Indexed])
	}
	if len(body) == 0 || c.ep.Body == spec.NoBody {
		v.tp = nil
		return v.result(), nil
	}
	// gjson and the walk read the body in place (no copy); values alias it
	// for the duration of this call only.
	v.body = unsafe.String(&body[0], len(body))
	root, at := int32(jsonscan.Root(v.body)), int32(0) // at: the root's position (entry 0 of an index)
	if v.tp == nil {
		at = root
	}
	switch c.ep.Body {
	case spec.JSONBody:
		if v.body[root] != '{' {
			v.add("", spec.RuleType, "body must be a JSON object")
			break
		}
		v.scope(c.body, at)
	case spec.ArrayBody:
		if v.body[root] != '[' {
			v.add("", spec.RuleType, "body must be a JSON array")
			break
		}
		v.elements(c.body, at)
	}
	v.body, v.tp = "", nil
	return v.result(), nil
}

// unescape returns a key with escapes decoded; the result is valid until
// the next call.
func (v *Validator) unescape(key string) string {
	v.kbuf = jsonscan.Unescape(v.kbuf[:0], []byte(key))
	return unsafe.String(unsafe.SliceData(v.kbuf), len(v.kbuf))
}

func (v *Validator) result() Result {
	if v.more > 0 {
		v.addMore()
	}
	return Result{Valid: len(v.out) == 0, Violations: v.out}
}

// addMore ends a report that reached MaxViolations.
func (v *Validator) addMore() {
	v.out = append(v.out, Violation{Rule: v.moreR,
		Message: strconv.Itoa(v.more) + " more violations not listed (the first " + strconv.Itoa(MaxViolations) + " are)"})
	v.more = 0
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func (v *Validator) add(path string, rule spec.Rule, msg string) {
	if len(v.out) >= MaxViolations {
		if v.more == 0 {
			v.moreR = rule
		}
		v.more++
		return
	}
	v.out = append(v.out, Violation{Path: path, Rule: rule, Message: msg})
}

// addAt reports a violation of the field rel of the current scope,
// rendering its path only when the report has room for it: past
// MaxViolations a hostile body's violations are only counted, and must not
// allocate a path each.
func (v *Validator) addAt(rel string, rule spec.Rule, msg string) {
	if len(v.out) >= MaxViolations {
		v.add("", rule, msg)
		return
	}
	v.add(v.at(rel), rule, msg)
}

// at renders the full path of a field of the current scope.
func (v *Validator) at(rel string) string {
	if len(v.path) == 0 {
		return rel
	}
	if rel == "" {
		return string(v.path[:len(v.path)-1])
	}
	return string(v.path) + rel
}

// slot is what the walk found of one field: its value as gjson reads it,
// its position (an array's elements are walked from it: an offset in the
// body, or an entry of its index) and what a string value contains.
type slot struct {
	val   gjson.Result
	off   int32
	plain jsonscan.Plain
}

// frame is the scope being validated: a slot per field, valid only where
// its bit in found is set (so that a frame needs no clearing, which under
// wasm is a loop of stores per scope).
type frame struct {
	s     []slot
	found uint64 // fields given in the body, null included
	bad   uint64 // fields below a parent of the wrong type: not reported missing
	lazy  uint64 // fields whose slot holds only their index entry (off): see load
}

// load reads field i's value from its index entry, when the indexed walk
// left it there: most fields are plain strings whose only rule is their
// length, which rules checks on the entry itself, without filling the
// 80-byte gjson.Result (under wasm, stores and write barriers per field).
func (v *Validator) load(fr *frame, i int) {
	if fr.lazy&(1<<i) == 0 {
		return
	}
	fr.lazy &^= 1 << i
	s := &fr.s[i]
	e := &v.tp[s.off]
	s.plain = jsonscan.Plain(e.Flags & 0xff)
	read(&s.val, v.body[e.Val:e.End], s.plain)
}

// loadAll loads every lazy field of fr.
func (v *Validator) loadAll(fr *frame) {
	for fr.lazy != 0 {
		v.load(fr, bits.TrailingZeros64(fr.lazy))
	}
}

// has reports whether field i is given and not null.
func (fr *frame) has(i int) bool { return fr.found&(1<<i) != 0 && fr.s[i].val.Type != gjson.Null }

// push adds n slots for a scope and returns the first.
func (v *Validator) push(n int) (base int) {
	base = len(v.slots)
	v.slots = slices.Grow(v.slots, n)[:base+n]
	return base
}

// read sets *r to the value raw (the bytes of one JSON value of a checked
// body, p what jsonscan.SkipValue said of it), as gjson.Parse(raw) would,
// but writes a string without escapes in place: gjson.Parse returns an
// 80-byte Result, which under wasm is copied by a call to memmove.
func read(r *gjson.Result, raw string, p jsonscan.Plain) {
	if raw[0] == '"' && p&jsonscan.Escaped == 0 {
		r.Type, r.Raw, r.Str = gjson.String, raw, raw[1:len(raw)-1]
		return
	}
	*r = gjson.Parse(raw)
}

func (v *Validator) pop(base int) { v.slots = v.slots[:base] }

// scope validates the object at position at (an offset, or an entry of the
// index) against cs and returns the offset just after it (when walking by
// scanning).
func (v *Validator) scope(cs *scope, at int32) (end int32) {
	base := v.push(len(cs.fields))
	fr := frame{s: v.slots[base:]}
	if v.tp != nil {
		v.walkIndexed(cs.root, at, &fr)
	} else {
		end = v.walk(cs.root, at, &fr)
	}
	v.rules(cs, &fr)
	v.pop(base)
	return end
}

// walk records the values of the fields below n found in the object at
// offset obj, and returns the offset just after the object.
func (v *Validator) walk(n *node, obj int32, fr *frame) int32 {
	b := v.body
	end := int(obj) + 1
	for i := jsonscan.First(b, int(obj)); i >= 0; {
		key, w, esc, val := jsonscan.Member(b, i)
		if esc {
			key = v.unescape(key)
			w = jsonscan.Word(key)
		}
		switch c := n.child(key, w); {
		case c == nil: // unknown fields are accepted
			end = jsonscan.Skip(b, val)
		case c.children != nil && b[val] == '{':
			end = int(v.walk(c, int32(val), fr))
			if c.field >= 0 {
				s := &fr.s[c.field]
				read(&s.val, b[val:end], 0)
				s.off = int32(val)
				fr.found |= 1 << c.field
			}
		case c.field >= 0:
			s := &fr.s[c.field]
			if b[val] == '"' {
				end, s.plain = jsonscan.SkipString(b, val)
				if s.plain&jsonscan.Escaped == 0 { // read, inline
					s.val.Type, s.val.Raw, s.val.Str = gjson.String, b[val:end], b[val+1:end-1]
				} else {
					read(&s.val, b[val:end], s.plain)
				}
			} else {
				end, s.plain = jsonscan.Skip(b, val), 0
				read(&s.val, b[val:end], 0)
			}
			s.off = int32(val)
			fr.found |= 1 << c.field
			if c.children != nil && b[val] != 'n' {
				v.notObject(c, fr)
			}
		default: // a parent of fields only
			end = jsonscan.Skip(b, val)
			if b[val] != 'n' {
				v.notObject(c, fr)
			}
		}
		if jsonscan.Compact(b, end) {
			i = end + 1
		} else {
			i = jsonscan.Next(b, end)
		}
	}
	return int32(jsonscan.Close(b, end))
}

// notObject reports a parent of known fields that is not an object, once:
// its children are not also reported missing.
func (v *Validator) notObject(c *node, fr *frame) {
	fr.bad |= c.desc
	if c.field < 0 {
		v.addAt(c.path, spec.RuleType, "must be an object")
	} else {
		fr.bad &^= 1 << c.field // its own type rule reports it
	}
}

// rules applies every rule of cs to the recorded values.
func (v *Validator) rules(cs *scope, fr *frame) {
	for i, f := range cs.fields {
		if fr.bad&(1<<i) != 0 {
			continue
		}
		if fr.lazy&(1<<i) != 0 {
			// value's common case, on the index entry: a plain string of
			// the right length, when nothing else is asked of the field.
			if e := &v.tp[fr.s[i].off]; cs.lenOnly&(1<<i) != 0 && len(cs.conds[i]) == 0 &&
				v.body[e.Val] == '"' && e.Flags&uint32(jsonscan.Escaped|jsonscan.NonASCII) == 0 {
				if lenOK(f, int(e.End-e.Val)-2) {
					continue
				}
			} else if cs.typeOnly&(1<<i) != 0 && v.typeOK(cs, i, fr) {
				continue // a number or a boolean whose only rule is its type
			}
			v.load(fr, i)
		}
		has := fr.has(i)
		need := f.Required
		condSaid := false
		for j := range cs.conds[i] {
			c := &cs.conds[i][j] // by pointer: under wasm a struct copy is a memmove call
			if !v.condHolds(c, fr) {
				continue
			}
			if c.then == spec.MustBeAbsent {
				need = false
				if has {
					v.addAt(f.Path, spec.RuleConditional, "must not be present when "+c.text)
					has = false // do not also check its value
				}
				condSaid = true
				break
			}
			if !has {
				v.addAt(f.Path, spec.RuleConditional, "is required when "+c.text)
				condSaid = true
				break
			}
		}
		if !has {
			if need && !condSaid {
				msg := "is required"
				if fr.found&(1<<i) != 0 {
					msg = "is required and must not be null"
				}
				v.addAt(f.Path, spec.RuleRequired, msg)
			}
			continue
		}
		s := &fr.s[i]
		if cs.lenOnly&(1<<i) != 0 && s.val.Type == gjson.String && s.plain == 0 {
			// value's common case, inline: a plain string of the right length.
			if lenOK(f, len(s.val.Str)) {
				continue
			}
		}
		v.value(f, cs.items[i], f.Path, s)
	}
	if fr.lazy != 0 && (len(cs.groups) > 0 || len(cs.checks) > 0) {
		v.loadAll(fr)
	}
	for k := range cs.groups {
		g := &cs.groups[k]
		n, second := 0, -1
		for _, i := range g.fields {
			if fr.has(i) && fr.bad&(1<<i) == 0 {
				if n++; n == 2 {
					second = i
				}
			}
		}
		switch {
		case n == 0 && g.kind != spec.AtMostOne:
			v.addAt(g.path, spec.RuleOneOf, "one of "+g.names+" is required")
		case n > 1 && g.kind != spec.AtLeastOne:
			v.addAt(cs.fields[second].Path, spec.RuleOneOf, "only one of "+g.names+" may be present")
		}
	}
	if len(cs.checks) > 0 {
		v.checks(cs, *fr)
	}
}

// checks runs the cross-field checks of cs. The frame comes by value: the
// closure handed to the checks escapes, and would take the caller's frame
// to the heap with it on every call, checks or not.
func (v *Validator) checks(cs *scope, fr frame) {
	get := func(p string) spec.Value {
		i, ok := cs.index[p]
		if !ok || !fr.has(i) {
			return spec.Value{}
		}
		return toValue(&fr.s[i].val)
	}
	for k := range cs.checks {
		ck := &cs.checks[k]
		if p, msg, ok := ck.Fn(get); !ok {
			rule := ck.Rule
			if rule == "" {
				rule = spec.RuleRange
			}
			v.addAt(p, rule, msg)
		}
	}
}

func (v *Validator) condHolds(c *cond, fr *frame) bool {
	v.load(fr, c.field)
	if !fr.has(c.field) {
		return false
	}
	val := &fr.s[c.field].val
	if len(c.in) == 0 {
		return true
	}
	s := val.Str
	if val.Type != gjson.String {
		s = val.Raw
	}
	for _, w := range c.in {
		if s == w {
			return true
		}
	}
	return false
}

func toValue(r *gjson.Result) spec.Value {
	out := spec.Value{Present: true, Str: r.Str}
	switch r.Type {
	case gjson.Number:
		out.Num, out.IsNum = r.Num, true
		out.Str = r.Raw
	case gjson.String:
		if f, ok := decimal(r.Str); ok {
			out.Num, out.IsNum = f, true
		}
	default:
		out.Str = r.Raw
	}
	return out
}

// value checks a present value's type and bounds. rel is its path relative
// to the current scope; s.off is the value's position, an offset in the
// body or an entry of its index (unset for a query value, never an array),
// s.plain what it contains if a string.
func (v *Validator) value(f *spec.Field, items *scope, rel string, s *slot) {
	val := &s.val
	num, isNum := 0.0, false
	switch f.Kind {
	case spec.String:
		if val.Type != gjson.String {
			v.addAt(rel, spec.RuleType, "must be a string")
			return
		}
	case spec.Integer:
		if val.Type != gjson.Number || strings.ContainsAny(val.Raw, ".eE") {
			v.addAt(rel, spec.RuleType, "must be an integer")
			return
		}
		n, err := strconv.ParseInt(val.Raw, 10, 64)
		if err != nil {
			v.addAt(rel, spec.RuleRange, "is out of the 64-bit integer range")
			return
		}
		// Compare as integers: as a float64, 2^53+1 rounds to 2^53 and
		// would pass a bound of 2^53.
		if outside(f, n) {
			v.boundsMsg(f, rel)
		}
		return
	case spec.Number:
		if val.Type != gjson.Number {
			v.addAt(rel, spec.RuleType, "must be a number")
			return
		}
		num, isNum = val.Num, true
	case spec.Numeric:
		switch val.Type {
		case gjson.Number:
			num, isNum = val.Num, true
		case gjson.String:
			n, ok := decimal(val.Str)
			if !ok {
				v.addAt(rel, spec.RuleType, "must be a number or a decimal string")
				return
			}
			num, isNum = n, true
		default:
			v.addAt(rel, spec.RuleType, "must be a number or a decimal string")
			return
		}
	case spec.Boolean:
		if val.Type != gjson.True && val.Type != gjson.False {
			v.addAt(rel, spec.RuleType, "must be true or false")
		}
		return
	case spec.Object:
		if !val.IsObject() {
			v.addAt(rel, spec.RuleType, "must be an object")
		}
		return
	case spec.Array:
		if !val.IsArray() {
			v.addAt(rel, spec.RuleType, "must be an array")
			return
		}
		v.array(f, items, rel, s.off)
		return
	case spec.Any:
		return
	}
	if isNum {
		if math.IsInf(num, 0) || math.IsNaN(num) {
			v.addAt(rel, spec.RuleRange, "must be a finite number")
			return
		}
		v.bounds(f, rel, num)
		return
	}
	str := val.Str
	if f.MinLen > 0 || f.MaxLen > 0 {
		n := len(str) // one byte a character: no escapes, no multi-byte ones
		if s.plain != 0 {
			n = utf8.RuneCountInString(str)
		}
		if !lenOK(f, n) {
			v.addAt(rel, spec.RuleLength, lengthMsg(f.MinLen, f.MaxLen, n, "characters"))
			return
		}
	}
	if len(f.Enum) > 0 {
		ok := false
		for _, e := range f.Enum {
			if str == e {
				ok = true
				break
			}
		}
		if !ok {
			v.addAt(rel, spec.RuleEnum, "must be one of "+strings.Join(f.Enum, ", "))
			return
		}
	}
	if f.Format != nil && !f.Format.Match(str) {
		v.addAt(rel, spec.RulePattern, f.Format.Hint)
	}
}

// lenOK reports whether a string of n characters has a length f allows
// (MaxLen 0: no maximum). value and rules' inline fast paths share it.
func lenOK(f *spec.Field, n int) bool { return n >= f.MinLen && (f.MaxLen <= 0 || n <= f.MaxLen) }

func (v *Validator) bounds(f *spec.Field, rel string, n float64) {
	low := f.HasMin && (n < f.Min || (f.ExclMin && n == f.Min))
	high := f.HasMax && (n > f.Max || (f.ExclMax && n == f.Max))
	if low || high {
		v.boundsMsg(f, rel)
	}
}

// outside reports whether the integer n breaks f's bounds, exactly.
// A NaN bound bounds nothing, as in the float comparison (and int64(NaN)
// differs between amd64 and wasm).
func outside(f *spec.Field, n int64) bool {
	if f.HasMin && !math.IsNaN(f.Min) {
		if c := cmpIntFloat(n, f.Min); c < 0 || (f.ExclMin && c == 0) {
			return true
		}
	}
	if f.HasMax && !math.IsNaN(f.Max) {
		if c := cmpIntFloat(n, f.Max); c > 0 || (f.ExclMax && c == 0) {
			return true
		}
	}
	return false
}

// cmpIntFloat compares an int64 with a float64 bound without rounding n.
func cmpIntFloat(n int64, b float64) int {
	switch {
	case b >= 1<<63:
		return -1
	case b < -(1 << 63):
		return 1
	}
	t := math.Trunc(b)
	bi := int64(t) // exact: |t| < 2^63
	switch {
	case n < bi:
		return -1
	case n > bi:
		return 1
	case b > t:
		return -1 // n == trunc(b) < b
	case b < t:
		return 1
	}
	return 0
}

func (v *Validator) boundsMsg(f *spec.Field, rel string) {
	var b strings.Builder
	b.WriteString("must be ")
	if f.HasMin {
		if f.ExclMin {
			b.WriteString("greater than ")
		} else {
			b.WriteString("at least ")
		}
		b.WriteString(fmtNum(f.Min))
		if f.HasMax {
			b.WriteString(" and ")
		}
	}
	if f.HasMax {
		if f.ExclMax {
			b.WriteString("less than ")
		} else {
			b.WriteString("at most ")
		}
		b.WriteString(fmtNum(f.Max))
	}
	v.addAt(rel, spec.RuleRange, b.String())
}

func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func lengthMsg(min, max, got int, unit string) string {
	var s string
	switch {
	case max == 0:
		s = "must have at least " + strconv.Itoa(min) + " " + unit
	case min == max:
		s = "must have exactly " + strconv.Itoa(min) + " " + unit
	case min == 0:
		s = "must have at most " + strconv.Itoa(max) + " " + unit
	default:
		s = "must have " + strconv.Itoa(min) + " to " + strconv.Itoa(max) + " " + unit
	}
	return s + ", got " + strconv.Itoa(got)
}

// array checks the size and the elements of the array at offset arr.
func (v *Validator) array(f *spec.Field, items *scope, rel string, arr int32) {
	b, n := v.body, 0
	if v.tp != nil {
		n = v.countIndexed(arr)
	} else {
		for i := jsonscan.First(b, int(arr)); i >= 0; i = jsonscan.Next(b, jsonscan.Skip(b, i)) {
			n++
		}
	}
	if n < f.MinItems || (f.MaxItems > 0 && n > f.MaxItems) {
		v.addAt(rel, spec.RuleLength, lengthMsg(f.MinItems, f.MaxItems, n, "elements"))
	}
	if items == nil {
		return
	}
	mark := len(v.path)
	v.path = append(v.path, rel...)
	v.path = append(v.path, '.')
	v.elements(items, arr)
	v.path = v.path[:mark]
}

// elements validates each element of the array at offset arr against
// items; v.path ends with the array's path and a dot.
func (v *Validator) elements(items *scope, arr int32) {
	if v.tp != nil {
		v.elementsIndexed(items, arr)
		return
	}
	b, mark, n := v.body, len(v.path), 0
	end := int(arr) + 1
	for i := jsonscan.First(b, int(arr)); i >= 0; i = jsonscan.Next(b, end) {
		v.path = strconv.AppendInt(v.path[:mark], int64(n), 10)
		v.path = append(v.path, '.')
		n++
		switch {
		case items.scalar && b[i] == 'n':
			v.addAt("", spec.RuleType, "must not be null")
			end = jsonscan.Skip(b, i)
			continue // as before: past the report's limit, still counted
		case items.scalar:
			base := v.push(1)
			s := &v.slots[base]
			end, s.plain = jsonscan.SkipValue(b, i)
			read(&s.val, b[i:end], s.plain)
			s.off = int32(i)
			v.value(items.fields[0], items.items[0], "", s)
			v.pop(base)
		case b[i] != '{':
			v.addAt("", spec.RuleType, "must be an object")
			end = jsonscan.Skip(b, i)
			continue
		default:
			end = int(v.scope(items, int32(i)))
		}
		if v.more != 0 {
			break
		}
	}
	v.path = v.path[:mark]
}

// typeOK reports whether the lazy field i of fr, a number or a boolean
// whose only rule is its type, passes value's checks, without parsing it:
// a number without an exponent, of fewer than 300 characters, is finite.
// false sends the value to value. (Not inlined: under wasm a bigger rules
// costs the Check sale's strings more than the call costs the numbers.)
//
//go:noinline
func (v *Validator) typeOK(cs *scope, i int, fr *frame) bool {
	if len(cs.conds[i]) != 0 {
		return false
	}
	e := &v.tp[fr.s[i].off]
	return typeOK(cs.fields[i].Kind, v.body[e.Val:e.End])
}

// typeOK reports whether raw, one JSON value of a checked body, is of kind
// k (Number or Boolean) with nothing but its type to check.
func typeOK(k spec.Kind, raw string) bool {
	c := raw[0]
	switch k {
	case spec.Number:
		if c != '-' && (c < '0' || c > '9') || len(raw) >= 300 {
			return false
		}
		for i := 1; i < len(raw); i++ {
			if raw[i]|0x20 == 'e' {
				return false
			}
		}
		return true
	case spec.Boolean:
		return c == 't' || c == 'f'
	}
	return false
}

// decimal parses a plain decimal string: -?digits(.digits)? — no
// exponents, no NaN or Inf, no hex, no spaces.
func decimal(s string) (float64, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	d := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == d {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}
