// Package openapi renders the provider tables of package spec as one
// OpenAPI 3.1 document (`caddy kassa spec --openapi`). It is host-only:
// nothing in the WebAssembly module imports it, which keeps encoding/json's
// reflection out of kassa.wasm.
package openapi

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/core/spec"
)

type obj = map[string]any

// Document returns the OpenAPI 3.1 document as indented JSON. Paths are
// prefixed with the provider name (/payneteasy/sale/{invoiceId}/check), the
// way the README mounts each handler; schemas are named by endpoint id.
func Document() []byte {
	paths := obj{}
	schemas := obj{}
	ops := map[string]obj{} // "path method" -> operation
	for _, ep := range spec.All() {
		name := schemaName(ep.ID)
		if ep.Body != spec.NoBody {
			schemas[name] = bodySchema(ep)
		}
		p := "/" + ep.Provider + ep.Path
		method := strings.ToLower(ep.Method)
		key := p + " " + method
		op := ops[key]
		if op == nil {
			op = obj{"tags": []string{ep.Provider}, "responses": obj{}}
			ops[key] = op
			item, _ := paths[p].(obj)
			if item == nil {
				item = obj{}
				paths[p] = item
			}
			item[method] = op
			if params := pathParams(ep.Path); len(params) > 0 {
				op["parameters"] = params
			}
		}
		if ep.Response {
			resp := obj{"description": ep.Summary}
			if ep.Body != spec.NoBody {
				resp["content"] = obj{"application/json": obj{"schema": ref(name)}}
			}
			code := "200"
			if ep.ID == "payneteasy.error" {
				code = "4XX"
			}
			op["responses"].(obj)[code] = resp
			continue
		}
		ids, _ := op["x-kassa-endpoints"].([]string)
		op["x-kassa-endpoints"] = append(ids, ep.ID)
		if _, ok := op["operationId"]; !ok {
			op["operationId"] = ep.ID
			op["summary"] = ep.Summary
			op["description"] = "Sent by the " + ep.From + " to the " + ep.To + "."
		} else {
			op["description"] = op["description"].(string) + " Also: " + ep.ID + " (" + ep.Summary + ")."
		}
		if ep.Body != spec.NoBody {
			if rb, ok := op["requestBody"].(obj); ok {
				// Two endpoints share a path (Voyado's secure and non-secure
				// payment): the body is one of their schemas.
				c := rb["content"].(obj)["application/json"].(obj)
				prev := c["schema"]
				if one, ok := prev.(obj)["oneOf"]; ok {
					c["schema"] = obj{"oneOf": append(one.([]any), ref(name))}
				} else {
					c["schema"] = obj{"oneOf": []any{prev, ref(name)}}
				}
			} else {
				op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(name)}}}
			}
		}
		for _, q := range ep.Query {
			params, _ := op["parameters"].([]any)
			op["parameters"] = append(params, obj{"name": q.Path, "in": "query", "required": q.Required, "schema": fieldSchema(q), "description": describe(q)})
		}
	}
	for _, op := range ops {
		if len(op["responses"].(obj)) == 0 {
			op["responses"].(obj)["default"] = obj{"description": "As the provider documents it (not validated by kassa)."}
		}
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":   "kassa provider endpoints",
			"version": core.Version,
			"description": "Every endpoint kassa validates, generated from the same tables the proxy, " +
				"the CLI and the WebAssembly core enforce. Field rules that JSON Schema cannot express " +
				"(conditional presence, groups, cross-field checks) are in descriptions and x-kassa-* keys.",
		},
		"paths":      paths,
		"components": obj{"schemas": schemas},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // the document is built from static data
	}
	return append(b, '\n')
}

func schemaName(id string) string { return id }

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

var paramRe = regexp.MustCompile(`\{([A-Za-z]+)\}`)

func pathParams(p string) []any {
	var out []any
	for _, m := range paramRe.FindAllStringSubmatch(p, -1) {
		out = append(out, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
	}
	return out
}

func bodySchema(ep *spec.Endpoint) obj {
	s := scopeSchema(&ep.Scope)
	s["description"] = ep.Summary
	if ep.Example != "" {
		var ex any
		if json.Unmarshal([]byte(ep.Example), &ex) == nil {
			s["examples"] = []any{ex}
		}
	}
	if ep.Body == spec.ArrayBody {
		return obj{"type": "array", "items": s, "description": ep.Summary}
	}
	return s
}

// scopeSchema nests a scope's dotted paths into object schemas.
func scopeSchema(sc *spec.Scope) obj {
	root := obj{"type": "object"}
	for _, f := range sc.Fields {
		if f.Path == "" { // an array of scalars
			return fieldSchema(f)
		}
		parts := strings.Split(f.Path, ".")
		node := root
		for i, part := range parts {
			props, _ := node["properties"].(obj)
			if props == nil {
				props = obj{}
				node["properties"] = props
			}
			if f.Required {
				req, _ := node["required"].([]string)
				if !contains(req, part) {
					node["required"] = append(req, part)
				}
			}
			child, _ := props[part].(obj)
			if i == len(parts)-1 {
				fs := fieldSchema(f)
				if child != nil { // an object field with known children
					for k, v := range fs {
						if _, ok := child[k]; !ok {
							child[k] = v
						}
					}
				} else {
					props[part] = fs
				}
				break
			}
			if child == nil {
				child = obj{"type": "object"}
				props[part] = child
			}
			node = child
		}
	}
	var notes []string
	for _, g := range sc.Groups {
		kind := map[spec.GroupKind]string{spec.ExactlyOne: "exactly one of", spec.AtLeastOne: "at least one of", spec.AtMostOne: "at most one of"}[g.Kind]
		notes = append(notes, kind+" "+strings.Join(g.Paths, ", "))
	}
	if len(notes) > 0 {
		root["x-kassa-groups"] = notes
	}
	var checks []string
	for _, c := range sc.Checks {
		checks = append(checks, c.Name)
	}
	if len(checks) > 0 {
		root["x-kassa-checks"] = checks
	}
	sortRequired(root)
	return root
}

func sortRequired(s obj) {
	if r, ok := s["required"].([]string); ok {
		sort.Strings(r)
	}
	if props, ok := s["properties"].(obj); ok {
		for _, p := range props {
			if po, ok := p.(obj); ok {
				sortRequired(po)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fieldSchema(f *spec.Field) obj {
	s := obj{}
	switch f.Kind {
	case spec.String:
		s["type"] = "string"
	case spec.Integer:
		s["type"] = "integer"
	case spec.Number:
		s["type"] = "number"
	case spec.Numeric:
		s["type"] = []string{"number", "string"}
	case spec.Boolean:
		s["type"] = "boolean"
	case spec.Object:
		s["type"] = "object"
	case spec.Array:
		s["type"] = "array"
		if f.Items != nil {
			s["items"] = scopeSchema(f.Items)
		}
		if f.MinItems > 0 {
			s["minItems"] = f.MinItems
		}
		if f.MaxItems > 0 {
			s["maxItems"] = f.MaxItems
		}
	}
	if f.MinLen > 0 {
		s["minLength"] = f.MinLen
	}
	if f.MaxLen > 0 {
		s["maxLength"] = f.MaxLen
	}
	if f.HasMin {
		if f.ExclMin {
			s["exclusiveMinimum"] = f.Min
		} else {
			s["minimum"] = f.Min
		}
	}
	if f.HasMax {
		if f.ExclMax {
			s["exclusiveMaximum"] = f.Max
		} else {
			s["maximum"] = f.Max
		}
	}
	if len(f.Enum) > 0 {
		s["enum"] = f.Enum
	}
	if f.Format != nil {
		s["pattern"] = f.Format.Pattern
		s["x-kassa-format"] = f.Format.Name
	}
	if d := describe(f); d != "" {
		s["description"] = d
	}
	return s
}

func describe(f *spec.Field) string {
	var parts []string
	if f.Desc != "" {
		parts = append(parts, f.Desc)
	}
	for _, c := range f.When {
		what := "Required"
		if c.Then == spec.MustBeAbsent {
			what = "Must be absent"
		}
		if len(c.In) == 0 {
			parts = append(parts, what+" when "+c.Path+" is present.")
		} else {
			parts = append(parts, what+" when "+c.Path+" is "+strings.Join(c.In, " or ")+".")
		}
	}
	if f.Format != nil && f.Format.Hint != "" {
		parts = append(parts, "Value "+f.Format.Hint+".")
	}
	return strings.Join(parts, " ")
}
