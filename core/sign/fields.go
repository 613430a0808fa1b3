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
	root := gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body)))
	if !root.IsObject() {
		return "", errors.New("fields must be a JSON object")
	}
	root.ForEach(func(k, val gjson.Result) bool {
		name := k.Str
		var s string
		switch val.Type {
		case gjson.String:
			s = val.Str
		case gjson.Number:
			if _, e := strconv.ParseInt(val.Raw, 10, 64); e != nil {
				err = errors.New(name + " must be a string or an integer")
				return false
			}
			s = val.Raw
		case gjson.Null:
			s = ""
		default:
			err = errors.New(name + " must be a string or an integer")
			return false
		}
		if name == "controlKey" {
			controlKey = s
			return true
		}
		f, ok := FieldByName(name)
		if !ok {
			err = errors.New("unknown field " + strconv.Quote(name))
			return false
		}
		if (f == AmountCentis || f == AmountMinor) && s != "" && !digits(s) {
			err = errors.New(name + " must be an integer amount in minor units")
			return false
		}
		v[f] = s
		return true
	})
	return controlKey, err
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
