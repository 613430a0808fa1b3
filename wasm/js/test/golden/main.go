// Command golden prints the golden cases of the JavaScript package's tests:
// inputs and the exact results of the native Go core (package core), which
// the tests compare byte for byte with what kassa.wasm returns through
// @kassa/core. It is run by `npm test` (pretest) so the expectations always
// come from the Go source of the same checkout:
//
//	go run ./wasm/js/test/golden > wasm/js/test/golden.json
//
// Inputs and results are base64 so that raw bytes (bad UTF-8, NUL, BOM)
// survive the JSON file unchanged.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/core/spec"
)

// Case is one call and its expected result.
type Case struct {
	Name  string `json:"name"`
	Call  string `json:"call"` // validate, validateQuery, sign, stringToSign
	ID    string `json:"id"`   // endpoint id or operation id
	Input string `json:"input"`
	Want  string `json:"want"`
	// Example marks the endpoint's published sample, which must be valid.
	Example bool `json:"example,omitempty"`
}

// Golden is the file.
type Golden struct {
	About     string `json:"about"`
	Version   string `json:"version"`
	Endpoints string `json:"endpoints"`
	Cases     []Case `json:"cases"`
}

var (
	c     = core.New()
	cases []Case
	seen  = map[string]bool{}
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func add(name, call, id string, input []byte, example bool) {
	k := call + "\x00" + id + "\x00" + string(input)
	if seen[k] && !example {
		return
	}
	seen[k] = true
	var out []byte
	switch call {
	case "validate":
		out = c.Validate(id, input)
	case "validateQuery":
		out = c.ValidateQuery(id, input)
	case "sign":
		out = c.Sign(id, input)
	case "stringToSign":
		out = c.StringToSign(id, input)
	default:
		panic(call)
	}
	cases = append(cases, Case{Name: name, Call: call, ID: id, Input: b64(input), Want: b64(out), Example: example})
}

// generic bodies: broken JSON of every kind, tried on every endpoint.
var generic = []struct{ name, body string }{
	{"empty", ""},
	{"space", " \n"},
	{"empty object", "{}"},
	{"empty array", "[]"},
	{"null", "null"},
	{"number", "0"},
	{"string", `"s"`},
	{"true", "true"},
	{"truncated", `{"a":`},
	{"unclosed", "{"},
	{"trailing garbage", "{} x"},
	{"two documents", `{"a":1}{"b":2}`},
	{"trailing comma", `{"a":1,}`},
	{"single quotes", `{'a':1}`},
	{"duplicate key", `{"a":1,"a":2}`},
	{"duplicate key same value", `{"a":1,"a":1}`},
	{"duplicate key nested", `{"o":{"k":"x","k":"y"}}`},
	{"duplicate key escaped", `{"a":1,"\u0061":2}`},
	{"bad utf8 in string", "{\"a\":\"\xff\"}"},
	{"bad utf8 in key", "{\"\xc3\":1}"},
	{"overlong utf8", "{\"a\":\"\xc0\xaf\"}"},
	{"utf8 surrogate", "{\"a\":\"\xed\xa0\x80\"}"},
	{"escaped lone surrogate", `{"a":"\ud800"}`},
	{"escaped pair", `{"a":"\ud83d\ude00"}`},
	{"raw control char", "{\"a\":\"\x01\"}"},
	{"raw NUL", "{\"a\":\"\x00\"}"},
	{"bad escape", `{"a":"\x"}`},
	{"BOM", "\xef\xbb\xbf{}"},
	{"leading zero", `{"a":01}`},
	{"NaN", `{"a":NaN}`},
	{"minus only", `{"a":-}`},
	{"huge exponent", `{"a":1e400}`},
	{"deep", strings.Repeat("[", 70) + strings.Repeat("]", 70)},
	{"deep object", strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)},
	{"non-ascii text", `{"a":"Grüße 🛒"}`},
}

// leaf is one scalar, array or object position of a decoded example.
type leaf struct {
	path []any // string keys and int indexes
	val  any
}

func walk(v any, path []any, out *[]leaf) {
	*out = append(*out, leaf{append([]any(nil), path...), v})
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(x[k], append(path, k), out)
		}
	case []any:
		for i, e := range x {
			walk(e, append(path, i), out)
		}
	}
}

func decode(s string) any {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		panic(err)
	}
	return v
}

func clone(v any) any { return decode(string(mustJSON(v))) }

func mustJSON(v any) []byte {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// set replaces (or with del, removes) the value at path in root.
func set(root any, path []any, val any, del bool) any {
	if len(path) == 0 {
		return val
	}
	parent := root
	for _, p := range path[:len(path)-1] {
		switch x := parent.(type) {
		case map[string]any:
			parent = x[p.(string)]
		case []any:
			parent = x[p.(int)]
		}
	}
	switch x := parent.(type) {
	case map[string]any:
		if del {
			delete(x, path[len(path)-1].(string))
		} else {
			x[path[len(path)-1].(string)] = val
		}
	case []any:
		i := path[len(path)-1].(int)
		if del {
			// Remove the element by rebuilding the parent.
			return setParent(root, path[:len(path)-1], append(append([]any{}, x[:i]...), x[i+1:]...))
		}
		x[i] = val
	}
	return root
}

func setParent(root any, path []any, val any) any { return set(root, path, val, false) }

func pathName(p []any) string {
	var s []string
	for _, e := range p {
		s = append(s, fmt.Sprint(e))
	}
	if len(s) == 0 {
		return "(root)"
	}
	return strings.Join(s, ".")
}

// mutations of one value: wrong types, nulls, boundaries.
func mutations(v any) []struct {
	name string
	val  any
} {
	type m = struct {
		name string
		val  any
	}
	ms := []m{{"null", nil}, {"object", map[string]any{}}, {"array", []any{}}}
	switch x := v.(type) {
	case string:
		ms = append(ms, m{"number", json.Number("123")}, m{"empty string", ""}, m{"long string", strings.Repeat("x", 300)},
			m{"digits", "0012"}, m{"lower", strings.ToLower(x)}, m{"bool", true}, m{"unicode", "é" + x})
	case json.Number:
		ms = append(ms, m{"string", x.String()}, m{"negative", json.Number("-1")}, m{"zero", json.Number("0")},
			m{"fraction", json.Number("1.5")}, m{"int64 overflow", json.Number("9223372036854775808")},
			m{"huge", json.Number("1e400")}, m{"tiny", json.Number("1e-400")}, m{"big", json.Number("100000000000")},
			m{"exponent int", json.Number("1e3")}, m{"negative zero", json.Number("-0")}, m{"bool", false})
	case bool:
		ms = append(ms, m{"string", strconv.FormatBool(x)}, m{"number", json.Number("1")}, m{"flipped", !x})
	case []any:
		ms = append(ms, m{"string", "x"})
		if len(x) > 0 {
			ms = append(ms, m{"doubled", append(append([]any{}, x...), x...)})
		}
	case map[string]any:
		ms = append(ms, m{"string", "x"}, m{"number", json.Number("1")})
	}
	return ms
}

func examples() {
	for _, ep := range spec.All() {
		if ep.Example != "" {
			add("example", "validate", ep.ID, []byte(ep.Example), true)
		}
		for _, g := range generic {
			add(g.name, "validate", ep.ID, []byte(g.body), false)
		}
		if ep.Example == "" {
			continue
		}
		root := decode(ep.Example)
		var leaves []leaf
		walk(root, nil, &leaves)
		for _, l := range leaves {
			if len(l.path) > 0 {
				r := clone(root)
				add("delete "+pathName(l.path), "validate", ep.ID, mustJSON(set(r, l.path, nil, true)), false)
			}
			for _, m := range mutations(l.val) {
				r := clone(root)
				add(m.name+" at "+pathName(l.path), "validate", ep.ID, mustJSON(set(r, l.path, m.val, false)), false)
			}
		}
		// The first key of the example given twice: first and last differ.
		if obj, ok := root.(map[string]any); ok && len(obj) > 0 && strings.HasPrefix(ep.Example, "{") {
			var first string
			for _, l := range leaves {
				if len(l.path) == 1 {
					first = l.path[0].(string)
					break
				}
			}
			dup := `{"` + first + `":"shadow",` + ep.Example[1:]
			add("duplicate "+first, "validate", ep.ID, []byte(dup), false)
			// Bad UTF-8 inside the example's first string value.
			if i := strings.Index(ep.Example, `":"`); i > 0 {
				bad := ep.Example[:i+3] + "\xff\xfe" + ep.Example[i+3:]
				add("bad utf8 in example", "validate", ep.ID, []byte(bad), false)
			}
		}
	}
	add("unknown endpoint", "validate", "nope.nothing", []byte("{}"), false)
	add("empty endpoint", "validate", "", []byte("{}"), false)
}

// sampleValue picks a query value that satisfies a field's rules.
func sampleValue(f *spec.Field) string {
	if len(f.Enum) > 0 {
		return f.Enum[0]
	}
	if f.Format != nil {
		for _, s := range []string{"0123456789abcdef0123456789abcdef01234567", "EUR", "2024-01-31", "12:30", "4111111111111111", "2024", "https://example.com/", "123"} {
			if f.Format.Match(s) {
				return s
			}
		}
	}
	switch f.Path {
	case "market", "esales.market":
		return "SE"
	case "status":
		return "approved"
	}
	return "c0ffee-" + strings.ReplaceAll(f.Path, ".", "-")
}

func queries() {
	for _, ep := range spec.All() {
		if len(ep.Query) == 0 {
			add("no query fields", "validateQuery", ep.ID, []byte("a=1&b"), false)
			continue
		}
		var parts []string
		for _, f := range ep.Query {
			if f.Required {
				parts = append(parts, f.Path+"="+sampleValue(f))
			}
		}
		base := strings.Join(parts, "&")
		add("sample", "validateQuery", ep.ID, []byte(base), false)
		add("empty", "validateQuery", ep.ID, nil, false)
		add("only separators", "validateQuery", ep.ID, []byte("&&="), false)
		add("bad percent", "validateQuery", ep.ID, []byte(base+"&x=%zz"), false)
		add("percent bad utf8", "validateQuery", ep.ID, []byte(base+"&x=%ff"), false)
		add("raw bad utf8", "validateQuery", ep.ID, []byte(base+"&x=\xff"), false)
		add("plus and percent", "validateQuery", ep.ID, []byte(base+"&x=a+b%20c"), false)
		for i, f := range ep.Query {
			var without []string
			for j, p := range parts {
				if !strings.HasPrefix(p, f.Path+"=") {
					without = append(without, p)
				}
				_ = j
			}
			q := strings.Join(without, "&")
			add("without "+f.Path, "validateQuery", ep.ID, []byte(q), false)
			add("twice "+f.Path, "validateQuery", ep.ID, []byte(q+"&"+f.Path+"=a&"+f.Path+"=b"), false)
			add("empty "+f.Path, "validateQuery", ep.ID, []byte(q+"&"+f.Path+"="), false)
			add("long "+f.Path, "validateQuery", ep.ID, []byte(q+"&"+f.Path+"="+strings.Repeat("z", 200)), false)
			add("encoded "+f.Path, "validateQuery", ep.ID, []byte(q+"&"+strings.ReplaceAll(f.Path, ".", "%2E")+"=%53%45"), false)
			add("no value "+f.Path, "validateQuery", ep.ID, []byte(q+"&"+f.Path), false)
			_ = i
		}
		for _, uc := range append(spec.VoyadoUserContexts, "personalized", "") {
			add("userContext "+uc, "validateQuery", ep.ID, []byte(base+"&userContext="+uc), false)
		}
	}
	add("unknown endpoint", "validateQuery", "nope", []byte("a=1"), false)
}

// signing: every operation with the vector values, then broken inputs.
func signing() {
	const key = "B17F59B4-A7DC-41B4-8FF9-37D986B43D20"
	all := map[string]any{
		"accessToken":             "123456789012345678901234567890123456789012345678901234567890abcd",
		"serialNumber":            "abcd",
		"endpointId":              "1111",
		"nonce":                   "5678xyz",
		"invoiceId":               "someUuid",
		"amountCentis":            json.Number("1000"),
		"currency":                "RUB",
		"serverCardId":            "card-1",
		"destinationServerCardId": "card-2",
		"status":                  "approved",
		"orderid":                 "9001",
		"client_orderid":          "902B4FF5",
		"email":                   "john.smith@gmail.com",
		"amountMinor":             json.Number("1042"),
	}
	withKey := func(m map[string]any, k any) map[string]any {
		r := map[string]any{}
		for n, v := range m {
			r[n] = v
		}
		if k != nil {
			r["controlKey"] = k
		}
		return r
	}
	ops := append([]*sign.Op(nil), sign.Ops...)
	for _, op := range ops {
		only := map[string]any{}
		for _, p := range op.Parts {
			n := sign.FieldNames[p.Field]
			only[n] = all[n]
		}
		for _, call := range []string{"sign", "stringToSign"} {
			add("all fields", call, op.ID, mustJSON(withKey(all, key)), false)
			add("own fields", call, op.ID, mustJSON(withKey(only, key)), false)
			add("own fields, lower-case key", call, op.ID, mustJSON(withKey(only, strings.ToLower(key))), false)
			add("own fields, key without dashes", call, op.ID, mustJSON(withKey(only, strings.ReplaceAll(key, "-", ""))), false)
			add("no key", call, op.ID, mustJSON(only), false)
			add("empty key", call, op.ID, mustJSON(withKey(only, "")), false)
			add("short key", call, op.ID, mustJSON(withKey(only, "B17F")), false)
			add("non-hex key", call, op.ID, mustJSON(withKey(only, "zz7F59B4-A7DC-41B4-8FF9-37D986B43D20")), false)
			add("numeric key", call, op.ID, mustJSON(withKey(only, json.Number("1"))), false)
			for _, p := range op.Parts {
				n := sign.FieldNames[p.Field]
				m := withKey(only, key)
				delete(m, n)
				add("without "+n, call, op.ID, mustJSON(m), false)
				m = withKey(only, key)
				m[n] = nil
				add("null "+n, call, op.ID, mustJSON(m), false)
				m = withKey(only, key)
				m[n] = ""
				add("empty "+n, call, op.ID, mustJSON(m), false)
				for _, v := range []any{json.Number("12.5"), json.Number("-3"), json.Number("9223372036854775808"), json.Number("1e3"), "12.5", "0042", true, []any{}, "Grüße"} {
					m = withKey(only, key)
					m[n] = v
					add(fmt.Sprintf("%s = %s", n, mustJSON(v)), call, op.ID, mustJSON(m), false)
				}
			}
			m := withKey(only, key)
			m["amount"] = "1"
			add("unknown field", call, op.ID, mustJSON(m), false)
			own := mustJSON(withKey(only, key))
			add("duplicate controlKey", call, op.ID, append([]byte(`{"controlKey":"00",`), own[1:]...), false)
			add("bad utf8 value", call, op.ID, append([]byte("{\"nonce\":\"\xff\","), own[1:]...), false)
			for _, g := range []string{"", "[]", "null", "{", `"x"`, "{} {}"} {
				add("fields "+strconv.Quote(g), call, op.ID, []byte(g), false)
			}
		}
	}
	add("unknown operation", "sign", "dapi.nope", []byte(`{"controlKey":"`+key+`"}`), false)
	add("unknown operation", "stringToSign", "dapi.nope", []byte(`{}`), false)
}

func main() {
	examples()
	queries()
	signing()
	g := Golden{
		About:     "Generated by `go run ./wasm/js/test/golden` from the native Go core; not committed. Inputs and results are base64.",
		Version:   core.Version,
		Endpoints: b64(core.Endpoints()),
		Cases:     cases,
	}
	b, err := json.Marshal(g)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append(b, '\n'))
	fmt.Fprintf(os.Stderr, "golden: %d cases\n", len(cases))
}
