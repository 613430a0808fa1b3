package engine

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"net/url"
	"strconv"
	"strings"

	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
)

// Deterministic generators of inputs for the equivalence tests: mutations
// of every endpoint's example, of query strings, and of signing fields.

// An ordered JSON tree, so that examples keep their key order and objects
// can hold duplicate keys.
type (
	jobj    []jkv
	jkv     struct{ k, v any } // k is a string, or rawJSON for a key that is not valid UTF-8
	jarr    []any
	rawJSON string // emitted as is: invalid UTF-8, odd numbers, junk
)

func parseTree(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := parseValue(d)
	if err != nil {
		panic(err)
	}
	return v
}

func parseValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		if x == '{' {
			o := jobj{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseValue(d)
				if err != nil {
					return nil, err
				}
				o = append(o, jkv{k, v})
			}
			_, err := d.Token()
			return o, err
		}
		a := jarr{}
		for d.More() {
			v, err := parseValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.Token()
		return a, err
	default:
		return x, nil
	}
}

func encodeTree(b []byte, v any) []byte {
	switch x := v.(type) {
	case jobj:
		b = append(b, '{')
		for i, kv := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = encodeTree(b, kv.k)
			b = append(b, ':')
			b = encodeTree(b, kv.v)
		}
		return append(b, '}')
	case jarr:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = encodeTree(b, e)
		}
		return append(b, ']')
	case string:
		s, _ := json.Marshal(x)
		return append(b, s...)
	case json.Number:
		return append(b, x...)
	case rawJSON:
		return append(b, x...)
	case bool:
		return strconv.AppendBool(b, x)
	case nil:
		return append(b, "null"...)
	}
	panic("encodeTree: unexpected value")
}

func cloneTree(v any) any {
	switch x := v.(type) {
	case jobj:
		o := make(jobj, len(x))
		for i, kv := range x {
			o[i] = jkv{kv.k, cloneTree(kv.v)}
		}
		return o
	case jarr:
		a := make(jarr, len(x))
		for i, e := range x {
			a[i] = cloneTree(e)
		}
		return a
	}
	return v
}

// slot is a place in a tree: its value and how to replace or remove it.
type slot struct {
	v   any
	set func(any)
	del func() // nil for the root
}

func slots(v any, set func(any), del func(), out []slot) []slot {
	out = append(out, slot{v, set, del})
	switch x := v.(type) {
	case jobj:
		for i := range x {
			out = slots(x[i].v, func(n any) { x[i].v = n }, func() { set(append(append(jobj{}, x[:i]...), x[i+1:]...)) }, out)
		}
	case jarr:
		for i := range x {
			out = slots(x[i], func(n any) { x[i] = n }, func() { set(append(append(jarr{}, x[:i]...), x[i+1:]...)) }, out)
		}
	}
	return out
}

// specPath is a field's path as segments; "#" is an element of an array.
type specPath struct {
	segs []string
	f    *spec.Field
}

func specPaths(s *spec.Scope, prefix []string, array bool, out []specPath) []specPath {
	if array {
		prefix = append(prefix[:len(prefix):len(prefix)], "#")
	}
	for _, f := range s.Fields {
		segs := prefix[:len(prefix):len(prefix)]
		if f.Path != "" {
			segs = append(segs, strings.Split(f.Path, ".")...)
		}
		out = append(out, specPath{segs, f})
		if f.Items != nil {
			out = specPaths(f.Items, segs, true, out)
		}
	}
	return out
}

// setPath puts v at segs below root (creating objects on the way) and
// returns the new root.
func setPath(r *rand.Rand, root any, segs []string, v any) any {
	if len(segs) == 0 {
		return v
	}
	seg := segs[0]
	if seg == "#" {
		a, ok := root.(jarr)
		if !ok || len(a) == 0 {
			return jarr{setPath(r, jobj{}, segs[1:], v)}
		}
		i := r.Intn(len(a))
		a[i] = setPath(r, a[i], segs[1:], v)
		return a
	}
	o, ok := root.(jobj)
	if !ok {
		if r.Intn(2) == 0 {
			return root // leave a non-object parent alone
		}
		o = jobj{}
	}
	for i := range o {
		if o[i].k == seg {
			o[i].v = setPath(r, o[i].v, segs[1:], v)
			return o
		}
	}
	return append(o, jkv{seg, setPath(r, jobj{}, segs[1:], v)})
}

func randString(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.Intn(len(alphabet))]
	}
	return string(b)
}

const (
	alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	hexUp = "0123456789ABCDEF"
)

// anyValue returns a value of a random JSON type, often a nasty one.
func anyValue(r *rand.Rand) any {
	switch r.Intn(24) {
	case 0:
		return nil
	case 1:
		return r.Intn(2) == 0
	case 2:
		return json.Number(strconv.Itoa(r.Intn(2000) - 1000))
	case 3:
		return json.Number([]string{"1e400", "-1e400", "1.5", "-0", "0.0", "1E2", "99999999999999999999",
			"-9223372036854775809", "9223372036854775807", "9007199254740993", "123456789012345678901234567890", "1e-400"}[r.Intn(12)])
	case 4:
		return ""
	case 5:
		return randString(r, r.Intn(40), alnum)
	case 6:
		return randString(r, []int{31, 32, 33, 50, 51, 64, 65, 128, 129, 1000, 70000}[r.Intn(11)], alnum)
	case 7:
		return strings.Repeat("é", r.Intn(130)) // multi-byte characters
	case 8:
		return "\x00\x01\n\t\"\\\u2028😀"
	case 9:
		return rawJSON(`"` + string([]byte{0xff, 0xfe, 'a', 0xc3}) + `"`) // invalid UTF-8
	case 10:
		return rawJSON(`"\ud800"`) // lone surrogate escape
	case 11:
		return jarr{}
	case 12:
		return jobj{}
	case 13:
		return jarr{json.Number("1"), "a", nil, jobj{{"x", true}}}
	case 14:
		return jobj{{"a", json.Number("1")}, {"a", json.Number("2")}} // duplicate key
	case 15:
		return []string{"EUR", "eur", "EURO", "RUB", "APPROVED", "DECLINED", "PROCESSING", "REDIRECT_REQUEST", "AUTHENTICATED", "INVALID_REQUEST"}[r.Intn(10)]
	case 16:
		return randString(r, 40, hexUp)
	case 17:
		return randString(r, []int{39, 40, 41}[r.Intn(3)], "0123456789abcdefABCDEFg")
	case 18:
		return []string{"1.03", "12", "-5", "1e5", " 1", "1.", ".5", "0x10", "NaN", "Infinity", "1,5", "00012"}[r.Intn(12)]
	case 19:
		return []string{"4111111111111111", "4111111111111112", "411111111111111111111", "12345678", "4111-1111-1111-1111"}[r.Intn(5)]
	case 20:
		return []string{"a@b.c", "@", "x@", "2024-01-02", "2024-01-02T03:04:05Z", "not-a-date", "+46701234567", "SE", "se", "sv-SE"}[r.Intn(10)]
	case 21:
		d := r.Intn(300)
		return rawJSON(strings.Repeat("[", d) + strings.Repeat("]", d))
	case 22:
		return json.Number(strconv.FormatFloat((r.Float64()-0.5)*1e6, 'f', r.Intn(4), 64))
	default:
		return randString(r, r.Intn(8)+1, "0123456789")
	}
}

// fieldValue returns a value aimed at f's rules: at and across its bounds,
// its enum, its type.
func fieldValue(r *rand.Rand, f *spec.Field) any {
	if r.Intn(3) == 0 {
		return anyValue(r)
	}
	switch f.Kind {
	case spec.String:
		if len(f.Enum) > 0 && r.Intn(2) == 0 {
			e := f.Enum[r.Intn(len(f.Enum))]
			if r.Intn(4) == 0 {
				e = strings.ToLower(e)
			}
			return e
		}
		n := []int{f.MinLen - 1, f.MinLen, f.MaxLen, f.MaxLen + 1, r.Intn(60)}[r.Intn(5)]
		if n < 0 {
			n = 0
		}
		if r.Intn(3) == 0 {
			return strings.Repeat("ä", n)
		}
		return randString(r, n, alnum)
	case spec.Integer, spec.Number, spec.Numeric:
		var n float64
		switch r.Intn(5) {
		case 0:
			n = f.Min - 1
		case 1:
			n = f.Min
		case 2:
			n = f.Max
		case 3:
			n = f.Max + 1
		default:
			n = float64(r.Intn(100))
		}
		s := strconv.FormatFloat(n, 'f', -1, 64)
		if f.Kind != spec.Integer && r.Intn(3) == 0 {
			s += ".5"
		}
		if f.Kind == spec.Numeric && r.Intn(2) == 0 {
			return s
		}
		return json.Number(s)
	case spec.Boolean:
		return r.Intn(2) == 0
	case spec.Object:
		return jobj{}
	case spec.Array:
		a := jarr{}
		for range r.Intn(4) {
			if f.Items != nil && len(f.Items.Fields) > 0 && f.Items.Fields[0].Path == "" {
				a = append(a, fieldValue(r, f.Items.Fields[0]))
			} else {
				a = append(a, jobj{})
			}
		}
		return a
	}
	return anyValue(r)
}

// mutateTree applies one structural mutation to a clone of root.
func mutateTree(r *rand.Rand, root any, paths []specPath) any {
	root = cloneTree(root)
	set := func(n any) { root = n }
	ss := slots(root, set, nil, nil)
	s := ss[r.Intn(len(ss))]
	switch r.Intn(7) {
	case 0: // delete a field or element
		if s.del != nil {
			s.del()
		}
	case 1: // replace a value with anything
		s.set(anyValue(r))
	case 2, 3: // set a field of the endpoint to a value aimed at its rules
		if len(paths) > 0 {
			p := paths[r.Intn(len(paths))]
			var v any
			if r.Intn(5) == 0 {
				v = nil
			} else {
				v = fieldValue(r, p.f)
			}
			root = setPath(r, root, p.segs, v)
		}
	case 4: // duplicate a key, or add an unknown one
		if o, ok := s.v.(jobj); ok {
			if len(o) > 0 && r.Intn(3) > 0 {
				kv := o[r.Intn(len(o))]
				s.set(append(append(jobj{}, o...), jkv{kv.k, anyValue(r)}))
			} else {
				s.set(append(append(jobj{}, o...), jkv{randString(r, 5, alnum), anyValue(r)}))
			}
		}
	case 5: // a key that is not valid UTF-8, or escaped
		if o, ok := s.v.(jobj); ok && len(o) > 0 {
			o = append(jobj{}, o...)
			i := r.Intn(len(o))
			if k, ok := o[i].k.(string); ok && k != "" {
				if r.Intn(2) == 0 {
					o[i].k = rawJSON(`"` + k[:len(k)-1] + "\xff" + `"`)
				} else {
					o[i].k = rawJSON(`"\u` + strconv.FormatInt(int64(k[0])|0x10000, 16)[1:] + k[1:] + `"`)
				}
			}
			s.set(o)
		}
	default: // wrap in an array or object
		s.set(jarr{s.v})
	}
	return root
}

// mutateText applies one mutation to JSON text.
func mutateText(r *rand.Rand, b []byte) []byte {
	b = append([]byte(nil), b...)
	const specials = "\"\\{}[],: \n\x00\xff\xc3e-0.tfn"
	switch r.Intn(9) {
	case 0: // truncate
		if len(b) > 0 {
			return b[:r.Intn(len(b))]
		}
	case 1: // change a byte
		if len(b) > 0 {
			b[r.Intn(len(b))] = specials[r.Intn(len(specials))]
		}
	case 2: // insert a byte
		i := r.Intn(len(b) + 1)
		return append(b[:i], append([]byte{specials[r.Intn(len(specials))]}, b[i:]...)...)
	case 3: // random bytes
		out := make([]byte, r.Intn(64))
		r.Read(out)
		return out
	case 4: // trailing data
		return append(b, []string{" ", "{}", " x", "\x00", ",", "]"}[r.Intn(6)]...)
	case 5: // leading data: BOM, whitespace
		return append([]byte([]string{"\xef\xbb\xbf", " \n\t", "\x00"}[r.Intn(3)]), b...)
	case 6: // delete a range
		if len(b) > 1 {
			i := r.Intn(len(b))
			j := i + r.Intn(len(b)-i)
			return append(b[:i], b[j:]...)
		}
	case 7: // a whole other document
		return []byte([]string{"", " ", "null", "[]", "{}", "0", `"s"`, "true", "[{}]", "{\"a\":}", strings.Repeat("[", 10000), strings.Repeat("{\"a\":", 200) + "1" + strings.Repeat("}", 200)}[r.Intn(12)])
	default: // duplicate the first key textually
		if i := bytes.IndexByte(b, ','); i > 0 && len(b) > 1 && b[0] == '{' {
			return append([]byte("{"), append(append([]byte(nil), b[1:i+1]...), b[1:]...)...)
		}
	}
	return b
}

// bodyCases returns n inputs for an endpoint: its example and mutations.
func bodyCases(r *rand.Rand, ep *spec.Endpoint, n int) [][]byte {
	example := []byte(ep.Example)
	if len(example) == 0 {
		example = []byte("{}")
	}
	root := parseTree(example)
	paths := specPaths(&ep.Scope, nil, ep.Body == spec.ArrayBody, nil)
	out := [][]byte{[]byte(ep.Example), {}}
	for len(out) < n {
		t := root
		for range 1 + r.Intn(3) {
			t = mutateTree(r, t, paths)
		}
		b := encodeTree(nil, t)
		if r.Intn(4) == 0 {
			b = mutateText(r, b)
		}
		out = append(out, b)
	}
	return out
}

// queryValue renders a field value as query text.
func queryValue(r *rand.Rand, f *spec.Field) string {
	var s string
	switch v := fieldValue(r, f).(type) {
	case string:
		s = v
	case json.Number:
		s = string(v)
	case rawJSON:
		s = strings.Trim(string(v), `"`)
	default:
		s = string(encodeTree(nil, v))
	}
	if f.Format == nil && len(f.Enum) == 0 && r.Intn(4) == 0 {
		s = ""
	}
	return s
}

// queryCases returns n raw query strings for an endpoint's parameters.
func queryCases(r *rand.Rand, ep *spec.Endpoint, n int) []string {
	out := []string{""}
	for len(out) < n {
		var parts []string
		for _, f := range ep.Query {
			if !f.Required && r.Intn(2) == 0 || r.Intn(8) == 0 {
				continue
			}
			v := queryValue(r, f)
			if f.Format != nil && r.Intn(2) == 0 {
				v = randString(r, 40, "0123456789abcdef")
			}
			k := f.Path
			switch r.Intn(6) {
			case 0:
				v = url.QueryEscape(v)
			case 1:
				k = url.QueryEscape(k)
				v = url.PathEscape(v)
			}
			parts = append(parts, k+"="+v)
			if r.Intn(10) == 0 {
				parts = append(parts, k+"=again") // given twice
			}
		}
		switch r.Intn(8) {
		case 0:
			parts = append(parts, []string{"%", "%G1", "%4", "a=%ff", "%ff=1", "x=%e2%82", "=", "&", "k", "+=+", "a=b=c", "%00=%00"}[r.Intn(12)])
		case 1:
			parts = append(parts, randString(r, r.Intn(20), alnum+"%=&+;#?/\x00\xff"))
		case 2:
			r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		}
		q := strings.Join(parts, "&")
		if r.Intn(10) == 0 {
			q = string(mutateText(r, []byte(q)))
		}
		out = append(out, q)
	}
	return out
}

// signCase is one call of Sign or StringToSign.
type signCase struct {
	op     string
	fields []byte
}

// signCases returns n field objects for op: complete, partial, mistyped,
// with good and bad control keys.
func signCases(r *rand.Rand, op *sign.Op, n int) []signCase {
	keys := []any{"B17F59B4-A7DC-41B4-8FF9-37D986B43D20", "b17f59b4a7dc41b48ff937d986b43d20", "", "abc", "zz", "B17F59B4-", "-", "00", nil,
		json.Number("1234"), randString(r, 64, hexUp), randString(r, 1000, hexUp), "B1 7F", true}
	out := []signCase{{op.ID, nil}, {op.ID, []byte("{}")}}
	for len(out) < n {
		o := jobj{}
		if r.Intn(8) > 0 {
			o = append(o, jkv{"controlKey", keys[r.Intn(len(keys))]})
		}
		for _, p := range op.Parts {
			if p.Optional && r.Intn(2) == 0 || r.Intn(10) == 0 {
				continue
			}
			var v any
			switch r.Intn(10) {
			case 0:
				v = anyValue(r)
			case 1:
				v = json.Number(strconv.Itoa(r.Intn(100000)))
			case 2:
				v = nil
			default:
				v = randString(r, r.Intn(40), alnum+"é \"\\")
			}
			o = append(o, jkv{sign.FieldNames[p.Field], v})
		}
		if r.Intn(6) == 0 { // a field of another operation, or an unknown one
			if r.Intn(2) == 0 {
				o = append(o, jkv{sign.FieldNames[r.Intn(int(sign.NumFields))], randString(r, 5, alnum)})
			} else {
				o = append(o, jkv{"serialnumber", "x"})
			}
		}
		if len(o) > 0 && r.Intn(10) == 0 { // duplicate key
			o = append(o, jkv{o[0].k, "dup"})
		}
		r.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] })
		b := encodeTree(nil, o)
		if r.Intn(8) == 0 {
			b = mutateText(r, b)
		}
		out = append(out, signCase{op.ID, b})
	}
	return out
}
