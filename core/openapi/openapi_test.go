package openapi

import (
	"encoding/json"
	"testing"

	"github.com/kassa-edge/kassa/core/spec"
)

func TestDocument(t *testing.T) {
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(Document(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	// Every endpoint with a body has a schema, and every request endpoint
	// is listed by an operation.
	listed := map[string]bool{}
	for _, item := range doc.Paths {
		for _, op := range item {
			ids, _ := op["x-kassa-endpoints"].([]any)
			for _, id := range ids {
				listed[id.(string)] = true
			}
		}
	}
	for _, ep := range spec.All() {
		if ep.Body != spec.NoBody && doc.Components.Schemas[ep.ID] == nil {
			t.Errorf("%s: no schema", ep.ID)
		}
		if !ep.Response && !listed[ep.ID] {
			t.Errorf("%s: not in any operation", ep.ID)
		}
	}
	check := doc.Paths["/payneteasy/sale/{invoiceId}/check"]["post"]
	if check == nil || check["operationId"] != "payneteasy.check-sale" {
		t.Fatalf("check sale operation: %v", check)
	}
	s := doc.Components.Schemas["payneteasy.check-sale"]
	session := s["properties"].(map[string]any)["session"].(map[string]any)
	tok := session["properties"].(map[string]any)["token"].(map[string]any)
	if tok["minLength"] != 16.0 || tok["maxLength"] != 36.0 {
		t.Errorf("session.token bounds: %v", tok)
	}
	req := session["required"].([]any)
	if len(req) != 4 {
		t.Errorf("session.required: %v", req)
	}
}
