package validate

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
)

type qpair struct{ key, value string }

// ValidateQuery validates a raw URL query string (without the '?') against
// the endpoint's query parameters. Parameter names are literal
// ("esales.market" is one name). A parameter given twice is rejected, for
// the same reason as a duplicate JSON key: two readers could disagree on
// which one counts. Unknown parameters are accepted.
func (v *Validator) ValidateQuery(id, rawQuery string) (Result, error) {
	c, err := v.lookup(id)
	if err != nil {
		return Result{}, err
	}
	v.out, v.more = v.out[:0], 0
	v.path = v.path[:0]
	if c.query == nil {
		return v.result(), nil
	}
	v.query = v.query[:0]
	for rest := rawQuery; rest != ""; {
		var part string
		part, rest = cut(rest, '&')
		if part == "" {
			continue
		}
		k, val := cut(part, '=')
		key, ok1 := unescape(k)
		value, ok2 := unescape(val)
		if !ok1 || !ok2 {
			v.add(key, spec.RuleType, "is not valid URL query encoding")
			continue
		}
		v.query = append(v.query, qpair{key, value})
	}
	cs := c.query
	base := v.push(len(cs.fields))
	fr := frame{s: v.slots[base:]}
	for _, p := range v.query {
		i, ok := cs.index[p.key]
		if !ok {
			continue
		}
		if fr.found&(1<<i) != 0 {
			v.add(p.key, spec.RuleType, "is given more than once")
			fr.bad |= 1 << i
			continue
		}
		// A query value is a string; present it to the rules as one.
		fr.s[i] = slot{val: gjson.Result{Type: gjson.String, Str: p.value, Raw: `""`}, plain: jsonscan.NonASCII}
		fr.found |= 1 << i
	}
	v.rules(cs, &fr)
	v.pop(base)
	return v.result(), nil
}

func cut(s string, sep byte) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// unescape decodes a query component as url.QueryUnescape does ('+' is a
// space, %XX a byte), without net/url: it would pull fmt into the wasm
// module. Decoded text must be valid UTF-8.
func unescape(s string) (string, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			n++
		}
	}
	if n == 0 {
		return s, utf8.ValidString(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return s, false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), utf8.Valid(b)
}

func ishex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}
