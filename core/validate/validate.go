// Package validate checks request and response bodies against the provider
// tables of package spec.
//
// A body is first checked as strict JSON (package jsonscan): invalid JSON,
// invalid UTF-8, excessive nesting or a duplicate key is reported alone, as
// one violation with rule "json" and the path where it was found. Otherwise
// gjson walks the body once, guided by the endpoint's fields, and every rule
// violation is reported in one pass, in a stable order: for each field in
// table order its presence and value rules, then groups, then cross-field
// checks.
//
// A Validator reuses its scratch space; it allocates only when it reports a
// violation. It is not safe for concurrent use: keep one per goroutine (or
// per WebAssembly instance).
package validate

import (
	"errors"
	"math"
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

// Validator validates bodies, reusing memory between calls.
type Validator struct {
	scan  jsonscan.Scanner
	vals  []gjson.Result // field values of the scopes being validated (a stack)
	bad   []bool         // per value: a parent had the wrong type, so do not report it missing
	path  []byte         // prefix of the scope being validated
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
	c, err := lookup(id)
	if err != nil {
		return Result{}, err
	}
	v.out, v.more = v.out[:0], 0
	v.path = v.path[:0]
	if c.ep.Body == spec.NoBody && isBlank(body) {
		return v.result(), nil
	}
	if e := v.scan.Check(body); e != nil {
		v.add(e.Path, spec.RuleJSON, e.Msg+" at offset "+strconv.Itoa(e.Offset))
		return v.result(), nil
	}
	if len(body) == 0 || c.ep.Body == spec.NoBody {
		return v.result(), nil
	}
	// gjson reads the body in place: no copy. Results alias body only
	// for the duration of this call.
	root := gjson.Parse(unsafe.String(&body[0], len(body)))
	switch c.ep.Body {
	case spec.JSONBody:
		if !root.IsObject() {
			v.add("", spec.RuleType, "body must be a JSON object")
			break
		}
		v.scope(c.body, root)
	case spec.ArrayBody:
		if !root.IsArray() {
			v.add("", spec.RuleType, "body must be a JSON array")
			break
		}
		v.elements(c.body, root)
	}
	return v.result(), nil
}

func (v *Validator) result() Result {
	if v.more > 0 {
		v.out = append(v.out, Violation{Rule: v.moreR,
			Message: strconv.Itoa(v.more) + " more violations not listed (the first " + strconv.Itoa(MaxViolations) + " are)"})
		v.more = 0
	}
	return Result{Valid: len(v.out) == 0, Violations: v.out}
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

// scope validates obj, a JSON object, against cs.
func (v *Validator) scope(cs *scope, obj gjson.Result) {
	base := len(v.vals)
	for range cs.fields {
		v.vals = append(v.vals, gjson.Result{})
		v.bad = append(v.bad, false)
	}
	vals, bad := v.vals[base:], v.bad[base:]
	v.walk(cs.root, obj, vals, bad)
	v.rules(cs, vals, bad)
	v.vals, v.bad = v.vals[:base], v.bad[:base]
}

// walk records the values of the fields below n found in obj.
func (v *Validator) walk(n *node, obj gjson.Result, vals []gjson.Result, bad []bool) {
	obj.ForEach(func(key, val gjson.Result) bool {
		c := n.child(key.Str)
		if c == nil {
			return true // unknown fields are accepted
		}
		if c.field >= 0 {
			vals[c.field] = val
		}
		if len(c.children) == 0 || val.Type == gjson.Null {
			return true
		}
		if val.IsObject() {
			v.walk(c, val, vals, bad)
			return true
		}
		// A parent of known fields is not an object: report it once and
		// do not also report its children missing.
		for _, d := range c.desc {
			bad[d] = true
		}
		if c.field < 0 {
			v.add(v.at(c.path), spec.RuleType, "must be an object")
		} else {
			bad[c.field] = false // its own type rule reports it
		}
		return true
	})
}

func present(r gjson.Result) bool { return r.Exists() && r.Type != gjson.Null }

// rules applies every rule of cs to the recorded values.
func (v *Validator) rules(cs *scope, vals []gjson.Result, bad []bool) {
	for i, f := range cs.fields {
		if bad[i] {
			continue
		}
		val := vals[i]
		has := present(val)
		need := f.Required
		condSaid := false
		for _, c := range cs.conds[i] {
			if !v.condHolds(c, vals) {
				continue
			}
			if c.then == spec.MustBeAbsent {
				need = false
				if has {
					v.add(v.at(f.Path), spec.RuleConditional, "must not be present when "+c.text)
					has = false // do not also check its value
				}
				condSaid = true
				break
			}
			if !has {
				v.add(v.at(f.Path), spec.RuleConditional, "is required when "+c.text)
				condSaid = true
				break
			}
		}
		if !has {
			if need && !condSaid {
				msg := "is required"
				if val.Exists() {
					msg = "is required and must not be null"
				}
				v.add(v.at(f.Path), spec.RuleRequired, msg)
			}
			continue
		}
		v.value(f, cs.items[i], f.Path, val)
	}
	for _, g := range cs.groups {
		n, second := 0, -1
		for _, i := range g.fields {
			if present(vals[i]) && !bad[i] {
				if n++; n == 2 {
					second = i
				}
			}
		}
		switch {
		case n == 0 && g.kind != spec.AtMostOne:
			v.add(v.at(g.path), spec.RuleOneOf, "one of "+g.names+" is required")
		case n > 1 && g.kind != spec.AtLeastOne:
			v.add(v.at(cs.fields[second].Path), spec.RuleOneOf, "only one of "+g.names+" may be present")
		}
	}
	for _, ck := range cs.checks {
		get := func(p string) spec.Value {
			i, ok := cs.index[p]
			if !ok || !present(vals[i]) {
				return spec.Value{}
			}
			return toValue(vals[i])
		}
		if p, msg, ok := ck.Fn(get); !ok {
			rule := ck.Rule
			if rule == "" {
				rule = spec.RuleRange
			}
			v.add(v.at(p), rule, msg)
		}
	}
}

func (v *Validator) condHolds(c cond, vals []gjson.Result) bool {
	val := vals[c.field]
	if !present(val) {
		return false
	}
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

func toValue(r gjson.Result) spec.Value {
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
// to the current scope.
func (v *Validator) value(f *spec.Field, items *scope, rel string, val gjson.Result) {
	num, isNum := 0.0, false
	switch f.Kind {
	case spec.String:
		if val.Type != gjson.String {
			v.add(v.at(rel), spec.RuleType, "must be a string")
			return
		}
	case spec.Integer:
		if val.Type != gjson.Number || strings.ContainsAny(val.Raw, ".eE") {
			v.add(v.at(rel), spec.RuleType, "must be an integer")
			return
		}
		n, err := strconv.ParseInt(val.Raw, 10, 64)
		if err != nil {
			v.add(v.at(rel), spec.RuleRange, "is out of the 64-bit integer range")
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
			v.add(v.at(rel), spec.RuleType, "must be a number")
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
				v.add(v.at(rel), spec.RuleType, "must be a number or a decimal string")
				return
			}
			num, isNum = n, true
		default:
			v.add(v.at(rel), spec.RuleType, "must be a number or a decimal string")
			return
		}
	case spec.Boolean:
		if val.Type != gjson.True && val.Type != gjson.False {
			v.add(v.at(rel), spec.RuleType, "must be true or false")
		}
		return
	case spec.Object:
		if !val.IsObject() {
			v.add(v.at(rel), spec.RuleType, "must be an object")
		}
		return
	case spec.Array:
		if !val.IsArray() {
			v.add(v.at(rel), spec.RuleType, "must be an array")
			return
		}
		v.array(f, items, rel, val)
		return
	case spec.Any:
		return
	}
	if isNum {
		if math.IsInf(num, 0) || math.IsNaN(num) {
			v.add(v.at(rel), spec.RuleRange, "must be a finite number")
			return
		}
		v.bounds(f, rel, num)
		return
	}
	s := val.Str
	if f.MinLen > 0 || f.MaxLen > 0 {
		n := utf8.RuneCountInString(s)
		if n < f.MinLen || (f.MaxLen > 0 && n > f.MaxLen) {
			v.add(v.at(rel), spec.RuleLength, lengthMsg(f.MinLen, f.MaxLen, n, "characters"))
			return
		}
	}
	if len(f.Enum) > 0 {
		ok := false
		for _, e := range f.Enum {
			if s == e {
				ok = true
				break
			}
		}
		if !ok {
			v.add(v.at(rel), spec.RuleEnum, "must be one of "+strings.Join(f.Enum, ", "))
			return
		}
	}
	if f.Format != nil && !f.Format.Match(s) {
		v.add(v.at(rel), spec.RulePattern, f.Format.Hint)
	}
}

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
	v.add(v.at(rel), spec.RuleRange, b.String())
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

// array checks an array's size and its elements.
func (v *Validator) array(f *spec.Field, items *scope, rel string, arr gjson.Result) {
	n := 0
	arr.ForEach(func(_, _ gjson.Result) bool { n++; return true })
	if n < f.MinItems || (f.MaxItems > 0 && n > f.MaxItems) {
		v.add(v.at(rel), spec.RuleLength, lengthMsg(f.MinItems, f.MaxItems, n, "elements"))
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

// elements validates each element of arr against items; v.path ends with
// the array's path and a dot.
func (v *Validator) elements(items *scope, arr gjson.Result) {
	mark := len(v.path)
	i := 0
	arr.ForEach(func(_, el gjson.Result) bool {
		v.path = strconv.AppendInt(v.path[:mark], int64(i), 10)
		v.path = append(v.path, '.')
		i++
		if items.scalar {
			f := items.fields[0]
			if !present(el) {
				v.add(v.at(""), spec.RuleType, "must not be null")
				return true
			}
			v.value(f, items.items[0], "", el)
			return v.more == 0
		}
		if !el.IsObject() {
			v.add(v.at(""), spec.RuleType, "must be an object")
			return true
		}
		v.scope(items, el)
		return v.more == 0
	})
	v.path = v.path[:mark]
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
