package sign

import (
	"errors"
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/kassa-edge/kassa/core/jsonscan"
)

// Parser reads signature inputs from a JSON object such as
// {"controlKey":"...","serialNumber":"abcd","amountCentis":1000}: the form
// the CLI, the JavaScript API and the proxy's wasm engine use. Values are
// strings, or integers for amounts and ids. Unknown names are errors, so a
// misspelt field is caught instead of silently signing without it.
// A Parser is not safe for concurrent use.
type Parser struct {
	scan jsonscan.Scanner
}

// Parse fills v from body and returns the control key ("" if absent). The
// strings in v alias body (no copy): keep body unchanged while using v.
func (p *Parser) Parse(body []byte, v *Values) (controlKey string, err error) {
	*v = Values{}
	if e := p.scan.Check(body); e != nil {
		return "", errors.New("fields: " + e.Error())
	}
	text := unsafe.String(unsafe.SliceData(body), len(body))
	obj := jsonscan.Root(text)
	if text[obj] != '{' {
		return "", errors.New("fields must be a JSON object")
	}
	// Check accepted the body, so jsonscan's walk finds each member and
	// gjson reads its value. (Not gjson's ForEach: under wasm each
	// gjson.Result it copies is a memmove call.)
	end := obj + 1
	for i := jsonscan.First(text, obj); i >= 0; i = jsonscan.Next(text, end) {
		name, _, esc, val := jsonscan.Member(text, i)
		end = jsonscan.Skip(text, val)
		if esc {
			name = string(jsonscan.Unescape(nil, []byte(name)))
		}
		var s string
		switch text[val] {
		case '"':
			s = gjson.Parse(text[val:end]).Str
		case 'n':
			s = ""
		case '{', '[', 't', 'f':
			return "", errors.New(name + " must be a string or an integer")
		default: // a number
			s = text[val:end]
			if _, e := strconv.ParseInt(s, 10, 64); e != nil {
				return "", errors.New(name + " must be a string or an integer")
			}
		}
		if name == "controlKey" {
			controlKey = s
			continue
		}
		f, ok := FieldByName(name)
		if !ok {
			return "", errors.New("unknown field " + strconv.Quote(name))
		}
		v[f] = s
	}
	return controlKey, CheckValues(v)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
