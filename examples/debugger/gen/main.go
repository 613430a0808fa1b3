// Command gen writes the debugger page's samples.json: each endpoint's
// published example body (from package spec) and, for endpoints with query
// parameters, a query string that satisfies them. The page pre-fills its
// validate panel from it; kassa.wasm itself does not carry the examples.
//
//	go run ./examples/debugger/gen > examples/debugger/samples.json
//
// examples/debugger/test/samples.test.mjs fails when the committed file is
// stale.
package main

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/kassa-edge/kassa/core/spec"
)

// Sample is what the page shows for one endpoint.
type Sample struct {
	Body        string   `json:"body"`
	NoBody      bool     `json:"noBody,omitempty"`
	Query       string   `json:"query,omitempty"`
	QueryFields []string `json:"queryFields,omitempty"`
}

func value(f *spec.Field) string {
	if len(f.Enum) > 0 {
		return f.Enum[0]
	}
	if f.Format != nil && f.Format != spec.Text {
		for _, s := range []string{"0123456789abcdef0123456789abcdef01234567", "EUR", "2024-01-31", "12:30", "4111111111111111", "https://example.com/"} {
			if f.Format.Match(s) {
				return s
			}
		}
	}
	switch f.Path {
	case "market", "esales.market":
		return "SE"
	case "customerKey", "esales.customerKey":
		return "5f0b5e2e-3c8a-4a8e-9d0c-2f6f3f4e8a11"
	case "sessionKey", "esales.sessionKey":
		return "a3c1d2e4-7b6f-4e21-8c3d-9e0f1a2b3c4d"
	case "status":
		return "approved"
	}
	return strings.ReplaceAll(f.Path, "_", "-") + "-1"
}

func main() {
	out := map[string]Sample{}
	for _, ep := range spec.All() {
		s := Sample{Body: ep.Example, NoBody: ep.Body == spec.NoBody}
		var q []string
		for _, f := range ep.Query {
			s.QueryFields = append(s.QueryFields, f.Path)
			if f.Required {
				q = append(q, f.Path+"="+value(f))
			}
		}
		s.Query = strings.Join(q, "&")
		out[ep.ID] = s
	}
	e := json.NewEncoder(os.Stdout)
	e.SetEscapeHTML(false)
	e.SetIndent("", " ")
	if err := e.Encode(out); err != nil {
		panic(err)
	}
}
