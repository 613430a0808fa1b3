package validate_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
)

// Smarts tables (spec/smarts.go) against the validator. Each case mutates
// the endpoint's Example (or gives a raw body) and names the one violation
// it expects: the violation must be reported with that exact path and
// rule, and every other violation must lie below that path (a missing
// object also reports its missing required members, nothing else).

type smartsCase struct {
	name     string
	endpoint string
	set      map[string]any // dotted path -> new value, applied to the Example; smartsDel deletes
	raw      string         // body used instead of the Example when non-empty (neither: the Example as is)
	path     string         // expected violation path
	rule     spec.Rule      // expected rule; "" = the body must be valid
}

type smartsDelete struct{}

var smartsDel = smartsDelete{}

// smartsMutate applies set to the JSON document body. Numeric path
// segments index arrays (the root may be an array).
func smartsMutate(t *testing.T, body string, set map[string]any) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("bad example %s: %v", body, err)
	}
	for p, v := range set {
		doc = smartsSetPath(t, doc, strings.Split(p, "."), v)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func smartsSetPath(t *testing.T, doc any, parts []string, val any) any {
	t.Helper()
	switch d := doc.(type) {
	case map[string]any:
		if len(parts) == 1 {
			if _, del := val.(smartsDelete); del {
				delete(d, parts[0])
			} else {
				d[parts[0]] = val
			}
			return d
		}
		child, ok := d[parts[0]]
		if !ok || child == nil {
			child = map[string]any{}
		}
		d[parts[0]] = smartsSetPath(t, child, parts[1:], val)
		return d
	case []any:
		i, err := strconv.Atoi(parts[0])
		if err != nil || i < 0 || i >= len(d) {
			t.Fatalf("bad array index %q", parts[0])
		}
		if len(parts) == 1 {
			d[i] = val
			return d
		}
		d[i] = smartsSetPath(t, d[i], parts[1:], val)
		return d
	}
	t.Fatalf("cannot set %v inside %T", parts, doc)
	return nil
}

// smartsExample returns an endpoint's Example decoded (a fresh copy).
func smartsExample(t *testing.T, id string) any {
	t.Helper()
	ep := spec.Lookup(id)
	if ep == nil {
		t.Fatalf("no endpoint %s", id)
	}
	var v any
	if err := json.Unmarshal([]byte(ep.Example), &v); err != nil {
		t.Fatalf("%s: bad example: %v", id, err)
	}
	return v
}

func smartsUnder(p, want string) bool {
	return want == "" || p == want || strings.HasPrefix(p, want+".")
}

func smartsCheck(t *testing.T, r validate.Result, body []byte, path string, rule spec.Rule) {
	t.Helper()
	if rule == "" {
		if !r.Valid {
			t.Fatalf("want valid, got %+v\nbody %s", r.Violations, body)
		}
		return
	}
	if r.Valid {
		t.Fatalf("want %s at %q, got valid\nbody %s", rule, path, body)
	}
	found := false
	for _, v := range r.Violations {
		if v.Path == path && v.Rule == rule {
			found = true
		} else if !smartsUnder(v.Path, path) {
			t.Errorf("unexpected violation %+v (want only %s at %q)", v, rule, path)
		}
	}
	if !found {
		t.Fatalf("want %s at %q, got %+v\nbody %s", rule, path, r.Violations, body)
	}
}

func runSmartsCases(t *testing.T, cases []smartsCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		name := tc.endpoint + "/" + tc.name
		if seen[name] {
			t.Errorf("duplicate case %s", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			ep := spec.Lookup(tc.endpoint)
			if ep == nil {
				t.Fatalf("no endpoint %s", tc.endpoint)
			}
			body := []byte(tc.raw)
			switch {
			case tc.raw == "" && tc.set == nil:
				body = []byte(ep.Example) // as is (NoBody endpoints have none)
			case tc.raw == "":
				body = smartsMutate(t, ep.Example, tc.set)
			}
			r, err := validate.Validate(tc.endpoint, body)
			if err != nil {
				t.Fatal(err)
			}
			smartsCheck(t, r, body, tc.path, tc.rule)
		})
	}
}

func TestSmartsEndpointTable(t *testing.T) {
	for _, tc := range []struct {
		id, method, path string
		resp             bool
		body             spec.BodyKind
	}{
		{"smarts.node-version", "GET", "/node/version", false, spec.NoBody},
		{"smarts.node-version.response", "GET", "/node/version", true, spec.JSONBody},
		{"smarts.node-health", "GET", "/node/health", false, spec.NoBody},
		{"smarts.node-health.response", "GET", "/node/health", true, spec.JSONBody},
		{"smarts.product-search", "POST", "/product/search", false, spec.JSONBody},
		{"smarts.product-search.response", "POST", "/product/search", true, spec.JSONBody},
		{"smarts.product-search-barcode", "POST", "/product/search/barcode", false, spec.JSONBody},
		{"smarts.product-search-barcode.response", "POST", "/product/search/barcode", true, spec.JSONBody},
		{"smarts.product-search-name", "POST", "/product/search/name", false, spec.JSONBody},
		{"smarts.product-search-name.response", "POST", "/product/search/name", true, spec.ArrayBody},
		{"smarts.product-search-category", "POST", "/product/search/category", false, spec.JSONBody},
		{"smarts.product-search-category.response", "POST", "/product/search/category", true, spec.ArrayBody},
		{"smarts.product", "POST", "/product/search/barcode", true, spec.JSONBody},
		{"smarts.invoice", "POST", "/invoice", false, spec.JSONBody},
		{"smarts.create-receipt", "POST", "/receipt", false, spec.JSONBody},
		{"smarts.create-receipt.response", "POST", "/receipt", true, spec.JSONBody},
		{"smarts.receipt", "POST", "/receipt", true, spec.JSONBody},
		{"smarts.receipt-confirm", "POST", "/receipt/confirm", false, spec.JSONBody},
		{"smarts.purchase-control-check", "POST", "/control/check", false, spec.JSONBody},
		{"smarts.purchase-control-check.response", "POST", "/control/check", true, spec.JSONBody},
		{"smarts.purchase-control-result", "POST", "/gateway/control/result", false, spec.JSONBody},
		{"smarts.purchase-control-resend", "POST", "/gateway/control/resend", false, spec.JSONBody},
		{"smarts.loyalty-card-registration", "POST", "/card/loyalty", false, spec.JSONBody},
		{"smarts.loyalty-card-registration.response", "POST", "/card/loyalty", true, spec.JSONBody},
		{"smarts.loyalty-card-bonus", "POST", "/card/loyalty/bonus", false, spec.JSONBody},
		{"smarts.loyalty-card-bonus.response", "POST", "/card/loyalty/bonus", true, spec.JSONBody},
		{"smarts.order", "POST", "/pickup/order", false, spec.JSONBody},
		{"smarts.order-update", "POST", "/pickup/order/update", false, spec.JSONBody},
		{"smarts.order-status-change", "POST", "/gateway/pickup/order/status", false, spec.JSONBody},
		{"smarts.offers-search", "POST", "/offers/search", false, spec.JSONBody},
		{"smarts.offers-search.response", "POST", "/offers/search", true, spec.ArrayBody},
	} {
		ep := spec.Lookup(tc.id)
		if ep == nil {
			t.Errorf("%s: missing", tc.id)
			continue
		}
		if ep.Provider != spec.Smarts || ep.Method != tc.method || ep.Path != tc.path || ep.Response != tc.resp || ep.Body != tc.body {
			t.Errorf("%s: got %s %s %s response=%v body=%d", tc.id, ep.Provider, ep.Method, ep.Path, ep.Response, ep.Body)
		}
		if ep.Summary == "" || ep.From == "" || ep.To == "" {
			t.Errorf("%s: Summary, From and To must be set", tc.id)
		}
		if ep.Body != spec.NoBody && ep.Example == "" {
			t.Errorf("%s: no Example", tc.id)
		}
		r, err := validate.Validate(tc.id, []byte(ep.Example))
		if err != nil || !r.Valid {
			t.Errorf("%s: Example does not validate: %v %+v", tc.id, err, r.Violations)
		}
	}
}

// smartsProductCases are the Product rules, for a Product at prefix p
// ("" for a Product body, "result.0." inside a Pageable, ...).
func smartsProductCases(id, p string) []smartsCase {
	c := func(name string, set map[string]any, path string, rule spec.Rule) smartsCase {
		return smartsCase{name: "product/" + name, endpoint: id, set: set, path: path, rule: rule}
	}
	s := func(path string, v any) map[string]any { return map[string]any{p + path: v} }
	cs := []smartsCase{
		c("unknown-field", s("somethingNew", map[string]any{"a": 1}), "", ""),
		c("id-number", s("id", 1), p+"id", spec.RuleType),
		c("barcode-number", s("barcode", 1), p+"barcode", spec.RuleType),
		// Quantity.
		c("quantity-missing", s("quantity", smartsDel), p+"quantity", spec.RuleRequired),
		c("quantity-string", s("quantity", "1 kg"), p+"quantity", spec.RuleType),
		c("unit-missing", s("quantity.unit", smartsDel), p+"quantity.unit", spec.RuleRequired),
		c("unit-null", s("quantity.unit", nil), p+"quantity.unit", spec.RuleRequired),
		c("unit-bad", s("quantity.unit", "BOX"), p+"quantity.unit", spec.RuleEnum),
		c("unit-lower", s("quantity.unit", "piece"), p+"quantity.unit", spec.RuleEnum),
		c("unit-number", s("quantity.unit", 1), p+"quantity.unit", spec.RuleType),
		c("value-missing", s("quantity.value", smartsDel), p+"quantity.value", spec.RuleRequired),
		c("value-number", s("quantity.value", 1.03), "", ""),
		c("value-int-string", s("quantity.value", "2"), "", ""),
		c("value-text", s("quantity.value", "1,03"), p+"quantity.value", spec.RuleType),
		c("value-exp", s("quantity.value", "1e3"), p+"quantity.value", spec.RuleType),
		c("value-bool", s("quantity.value", true), p+"quantity.value", spec.RuleType),
		// Price and VAT.
		c("price-missing", s("price", smartsDel), p+"price", spec.RuleRequired),
		c("price-array", s("price", []any{}), p+"price", spec.RuleType),
		c("total-missing", s("price.total", smartsDel), p+"price.total", spec.RuleRequired),
		c("total-string", s("price.total", "12"), p+"price.total", spec.RuleType),
		c("total-fraction", s("price.total", 11.99), "", ""),
		c("addition-missing", s("price.addition", smartsDel), "", ""),
		c("addition-sum-string", s("price.addition.sum", "1"), p+"price.addition.sum", spec.RuleType),
		c("addition-type-number", s("price.addition.type", 1), p+"price.addition.type", spec.RuleType),
		c("vat-missing", s("price.vat", smartsDel), p+"price.vat", spec.RuleRequired),
		c("vat-string", s("price.vat", "20%"), p+"price.vat", spec.RuleType),
		c("sumWithoutVAT-missing", s("price.vat.sumWithoutVAT", smartsDel), p+"price.vat.sumWithoutVAT", spec.RuleRequired),
		c("VATSum-missing", s("price.vat.VATSum", smartsDel), p+"price.vat.VATSum", spec.RuleRequired),
		c("sumWithVAT-missing", s("price.vat.sumWithVAT", smartsDel), p+"price.vat.sumWithVAT", spec.RuleRequired),
		c("VATRate-missing", s("price.vat.VATRate", smartsDel), p+"price.vat.VATRate", spec.RuleRequired),
		c("sumWithVAT-string", s("price.vat.sumWithVAT", "12"), p+"price.vat.sumWithVAT", spec.RuleType),
		c("VATRate-fraction", s("price.vat.VATRate", 20.5), p+"price.vat.VATRate", spec.RuleType),
		c("VATRate-string", s("price.vat.VATRate", "20"), p+"price.vat.VATRate", spec.RuleType),
		c("VATRate-0", s("price.vat.VATRate", 0), "", ""),
		c("VATRate-100", s("price.vat.VATRate", 100), "", ""),
		c("VATRate-101", s("price.vat.VATRate", 101), p+"price.vat.VATRate", spec.RuleRange),
		c("VATRate-neg", s("price.vat.VATRate", -1), p+"price.vat.VATRate", spec.RuleRange),
		// Other fields.
		c("weightItem-string", s("weightItem", "false"), p+"weightItem", spec.RuleType),
		c("name-string", s("translatableName", "Oats"), p+"translatableName", spec.RuleType),
		c("originalText-number", s("translatableName.originalText", 5), p+"translatableName.originalText", spec.RuleType),
		c("translations-object", s("translatableName.translations", map[string]any{"ET": "x"}), p+"translatableName.translations", spec.RuleType),
		c("imageUrl-number", s("information.imageUrl", 5), p+"information.imageUrl", spec.RuleType),
		c("campaign-code-number", s("campaigns.0.code", 501), p+"campaigns.0.code", spec.RuleType),
		c("category-count-neg", s("categories.0.numberOfProducts", -1), p+"categories.0.numberOfProducts", spec.RuleRange),
		c("category-count-fraction", s("categories.0.numberOfProducts", 1.5), p+"categories.0.numberOfProducts", spec.RuleType),
		c("category-name-text", s("categories.0.translatableName.originalText", 1), p+"categories.0.translatableName.originalText", spec.RuleType),
		c("subProducts-null", s("subProducts", nil), "", ""),
		c("subProducts-string", s("subProducts", "none"), p+"subProducts", spec.RuleType),
		c("subProducts-bad-vat", s("subProducts", []any{map[string]any{
			"quantity": map[string]any{"unit": "PIECE", "value": 1},
			"price":    map[string]any{"vat": map[string]any{"sumWithVAT": 1, "sumWithoutVAT": 1, "VATSum": 0}, "total": 1}}}),
			p+"subProducts.0.price.vat.VATRate", spec.RuleRequired),
		// Inspections.
		c("action-RESTRICT", s("inspections.1.action", "RESTRICT"), "", ""),
		c("action-RESTICT", s("inspections.1.action", "RESTICT"), "", ""),
		c("action-missing", s("inspections.0.action", smartsDel), "", ""),
		c("action-bad", s("inspections.0.action", "BLOCK"), p+"inspections.0.action", spec.RuleEnum),
		c("inspection-type-missing", s("inspections.0.type", smartsDel), p+"inspections.0.type", spec.RuleRequired),
		c("inspection-type-bad", s("inspections.0.type", "MAX_AGE"), p+"inspections.0.type", spec.RuleEnum),
		c("age-missing", s("inspections.0.age", smartsDel), p+"inspections.0.age", spec.RuleConditional),
		c("age-fraction", s("inspections.0.age", 17.5), p+"inspections.0.age", spec.RuleType),
		c("age-neg", s("inspections.0.age", -1), p+"inspections.0.age", spec.RuleRange),
		c("time-missing", s("inspections.1.time", smartsDel), p+"inspections.1.time", spec.RuleConditional),
		c("time-hhmm", s("inspections.1.time", "22:00"), "", ""),
		c("time-2359", s("inspections.1.time", "23:59:59"), "", ""),
		c("time-24", s("inspections.1.time", "24:00"), p+"inspections.1.time", spec.RulePattern),
		c("time-60", s("inspections.1.time", "22:60"), p+"inspections.1.time", spec.RulePattern),
		c("time-secs-60", s("inspections.1.time", "22:00:60"), p+"inspections.1.time", spec.RulePattern),
		c("time-pm", s("inspections.1.time", "10pm"), p+"inspections.1.time", spec.RulePattern),
		c("min-time", s("inspections.1.type", "MIN_TIME"), "", ""),
		c("between", s("inspections.1", map[string]any{"type": "BETWEEN_TIME", "start": "08:00", "end": "22:00", "timezone": "Europe/Tallinn", "action": "RESTRICT"}), "", ""),
		c("between-no-end", s("inspections.1", map[string]any{"type": "BETWEEN_TIME", "start": "08:00"}), p+"inspections.1.end", spec.RuleConditional),
		c("between-bad-start", s("inspections.1", map[string]any{"type": "BETWEEN_TIME", "start": "8:00", "end": "22:00"}), p+"inspections.1.start", spec.RulePattern),
		c("min-amount", s("inspections.1", map[string]any{"type": "MIN_AMOUNT", "amount": 10.5}), "", ""),
		c("max-amount-missing", s("inspections.1", map[string]any{"type": "MAX_AMOUNT"}), p+"inspections.1.amount", spec.RuleConditional),
		c("amount-string", s("inspections.1", map[string]any{"type": "MIN_AMOUNT", "amount": "10"}), p+"inspections.1.amount", spec.RuleType),
		c("inspection-not-object", s("inspections.1", "MIN_AGE"), p+"inspections.1", spec.RuleType),
	}
	for _, u := range spec.SmartsUnits {
		cs = append(cs, c("unit-"+u, s("quantity.unit", u), "", ""))
	}
	return cs
}

func TestSmartsProducts(t *testing.T) {
	var cases []smartsCase
	for id, p := range map[string]string{
		"smarts.product":                          "",
		"smarts.product-search-barcode.response":  "",
		"smarts.product-search.response":          "result.0.",
		"smarts.product-search-name.response":     "0.",
		"smarts.product-search-category.response": "0.",
		"smarts.invoice":                          "products.0.",
		"smarts.create-receipt":                   "products.0.",
		"smarts.purchase-control-check":           "products.0.",
	} {
		cases = append(cases, smartsProductCases(id, p)...)
	}
	runSmartsCases(t, cases)
}

func TestSmartsSearch(t *testing.T) {
	const pr, pg = "smarts.product-search", "smarts.product-search.response"
	const bc, nm, ct = "smarts.product-search-barcode", "smarts.product-search-name", "smarts.product-search-category"
	const nmr, ctr = "smarts.product-search-name.response", "smarts.product-search-category.response"
	runSmartsCases(t, []smartsCase{
		// PageRequest<ProductSearchRequest>.
		{"minimal", pr, nil, `{}`, "", ""},
		{"page-0", pr, map[string]any{"page": 0}, "", "page", spec.RuleRange},
		{"page-1", pr, map[string]any{"page": 1}, "", "", ""},
		{"page-string", pr, map[string]any{"page": "1"}, "", "page", spec.RuleType},
		{"page-fraction", pr, map[string]any{"page": 1.5}, "", "page", spec.RuleType},
		{"limit-0", pr, map[string]any{"limit": 0}, "", "limit", spec.RuleRange},
		{"limit-1", pr, map[string]any{"limit": 1}, "", "", ""},
		{"orderBy-number", pr, map[string]any{"orderBy": 1}, "", "orderBy", spec.RuleType},
		{"request-string", pr, map[string]any{"request": "oats"}, "", "request", spec.RuleType},
		{"request-name-number", pr, map[string]any{"request.name": 5}, "", "request.name", spec.RuleType},
		{"request-institution-number", pr, map[string]any{"request.institutionId": 5}, "", "request.institutionId", spec.RuleType},
		{"card-bonus-string", pr, map[string]any{"loyaltyCards.0.useBonusOnPayment": "no"}, "", "loyaltyCards.0.useBonusOnPayment", spec.RuleType},
		{"card-number-number", pr, map[string]any{"loyaltyCards.0.cardNumber": 1234567}, "", "loyaltyCards.0.cardNumber", spec.RuleType},
		{"cards-object", pr, map[string]any{"loyaltyCards": map[string]any{}}, "", "loyaltyCards", spec.RuleType},
		// Pageable<Product>.
		{"result-missing", pg, map[string]any{"result": smartsDel}, "", "result", spec.RuleRequired},
		{"result-empty", pg, map[string]any{"result": []any{}}, "", "", ""},
		{"result-object", pg, map[string]any{"result": map[string]any{}}, "", "result", spec.RuleType},
		{"result-scalar", pg, map[string]any{"result": []any{1}}, "", "result.0", spec.RuleType},
		{"lastPage-neg", pg, map[string]any{"lastPage": -1}, "", "lastPage", spec.RuleRange},
		{"totalCount-string", pg, map[string]any{"totalCount": "500"}, "", "totalCount", spec.RuleType},
		{"totalCount-0", pg, map[string]any{"totalCount": 0}, "", "", ""},
		{"array-body", pg, nil, `[]`, "", spec.RuleType},
		// Barcode search.
		{"barcode-missing", bc, map[string]any{"barcode": smartsDel}, "", "barcode", spec.RuleRequired},
		{"barcode-empty", bc, map[string]any{"barcode": ""}, "", "barcode", spec.RuleLength},
		{"barcode-1", bc, map[string]any{"barcode": "1"}, "", "", ""},
		{"barcode-number", bc, map[string]any{"barcode": 4740001}, "", "barcode", spec.RuleType},
		{"langCode-number", bc, map[string]any{"langCode": 1}, "", "langCode", spec.RuleType},
		{"type-number", bc, map[string]any{"type": 1}, "", "type", spec.RuleType},
		// Name and category search.
		{"no-name", nm, map[string]any{"name": smartsDel}, "", "", ""},
		{"name-number", nm, map[string]any{"name": 5}, "", "name", spec.RuleType},
		{"personId-number", nm, map[string]any{"personId": 5}, "", "personId", spec.RuleType},
		{"categoryName-number", ct, map[string]any{"categoryName": 5}, "", "categoryName", spec.RuleType},
		{"not-object", ct, nil, `"oats"`, "", spec.RuleType},
		// List<Product> answers: a top-level array.
		{"empty", nmr, nil, `[]`, "", ""},
		{"object", nmr, nil, `{}`, "", spec.RuleType},
		{"scalar-element", nmr, nil, `[1]`, "0", spec.RuleType},
		{"null-element", ctr, nil, `[null]`, "0", spec.RuleType},
		{"empty", ctr, nil, `[]`, "", ""},
		{"object", ctr, nil, `{"result":[]}`, "", spec.RuleType},
	})
	// The second element of a list is reported by its own index.
	list := smartsExample(t, "smarts.product-search-name.response").([]any)
	bad := smartsExample(t, "smarts.product").(map[string]any)
	bad["quantity"].(map[string]any)["unit"] = "BOX"
	raw, _ := json.Marshal(append(list, bad))
	runSmartsCases(t, []smartsCase{{"second-element", nmr, nil, string(raw), "1.quantity.unit", spec.RuleEnum}})
}

func TestSmartsInvoice(t *testing.T) {
	const inv = "smarts.invoice"
	runSmartsCases(t, []smartsCase{
		{"id-missing", inv, map[string]any{"id": smartsDel}, "", "id", spec.RuleRequired},
		{"id-empty", inv, map[string]any{"id": ""}, "", "id", spec.RuleLength},
		{"id-1", inv, map[string]any{"id": "1"}, "", "", ""},
		{"status-missing", inv, map[string]any{"status": smartsDel}, "", "status", spec.RuleRequired},
		{"status-PAID", inv, map[string]any{"status": "PAID"}, "", "status", spec.RuleEnum},
		{"currency-missing", inv, map[string]any{"currency": smartsDel}, "", "currency", spec.RuleRequired},
		{"currency-USD", inv, map[string]any{"currency": "USD"}, "", "", ""},
		{"currency-GBP", inv, map[string]any{"currency": "GBP"}, "", "currency", spec.RuleEnum},
		{"currency-lower", inv, map[string]any{"currency": "eur"}, "", "currency", spec.RuleEnum},
		{"products-missing", inv, map[string]any{"products": smartsDel}, "", "products", spec.RuleRequired},
		{"products-empty", inv, map[string]any{"products": []any{}}, "", "", ""},
		{"total-missing", inv, map[string]any{"total": smartsDel}, "", "total", spec.RuleRequired},
		{"total-vat-missing", inv, map[string]any{"total.vat": smartsDel}, "", "total.vat", spec.RuleRequired},
		{"total-toPay-missing", inv, map[string]any{"total.totalToPay": smartsDel}, "", "total.totalToPay", spec.RuleRequired},
		{"total-toPay-string", inv, map[string]any{"total.totalToPay": "12"}, "", "total.totalToPay", spec.RuleType},
		{"total-sumWithVAT-missing", inv, map[string]any{"total.vat.sumWithVAT": smartsDel}, "", "total.vat.sumWithVAT", spec.RuleRequired},
		{"total-sumWithoutVAT-missing", inv, map[string]any{"total.vat.sumWithoutVAT": smartsDel}, "", "total.vat.sumWithoutVAT", spec.RuleRequired},
		{"total-VATSum-missing", inv, map[string]any{"total.vat.VATSum": smartsDel}, "", "total.vat.VATSum", spec.RuleRequired},
		{"total-VATSum-string", inv, map[string]any{"total.vat.VATSum": "2"}, "", "total.vat.VATSum", spec.RuleType},
		{"createdAt-neg", inv, map[string]any{"createdAt": -1}, "", "createdAt", spec.RuleRange},
		{"createdAt-string", inv, map[string]any{"createdAt": "2020-04-04"}, "", "createdAt", spec.RuleType},
		{"createdAt-ms", inv, map[string]any{"createdAt": 1586000000000}, "", "", ""},
		{"seller-string", inv, map[string]any{"seller": "Demo"}, "", "seller", spec.RuleType},
		{"campaign-name-number", inv, map[string]any{"institutionCampaigns.0.name": 1}, "", "institutionCampaigns.0.name", spec.RuleType},
	})
}

func TestSmartsReceipt(t *testing.T) {
	const cr, cf = "smarts.create-receipt", "smarts.receipt-confirm"
	cases := []smartsCase{
		{"shipment-missing", cr, map[string]any{"shipment": smartsDel}, "", "", ""},
		{"loyaltyCards", cr, map[string]any{"loyaltyCards": []any{map[string]any{"id": "1aBc", "cardNumber": "1234567", "useBonusOnPayment": true}}}, "", "", ""},
		{"loyaltyCards-string", cr, map[string]any{"loyaltyCards": "1234567"}, "", "loyaltyCards", spec.RuleType},
		{"products-string", cr, map[string]any{"products": "oats"}, "", "products", spec.RuleType},
		{"products-empty", cr, map[string]any{"products": []any{}}, "", "", ""},
		{"shipment-status-bad", cr, map[string]any{"shipment.status": "LOST"}, "", "shipment.status", spec.RuleEnum},
		{"shipment-currency-bad", cr, map[string]any{"shipment.currency": "SEK"}, "", "shipment.currency", spec.RuleEnum},
		{"shipment-price-string", cr, map[string]any{"shipment.price": "5"}, "", "shipment.price", spec.RuleType},
		{"shipment-method-number", cr, map[string]any{"shipment.method": 1}, "", "shipment.method", spec.RuleType},
		{"shipment-string", cr, map[string]any{"shipment": "PARCEL"}, "", "shipment", spec.RuleType},
		{"address-level7", cr, map[string]any{"shipment.address.level7": "2"}, "", "", ""},
		{"address-level1-number", cr, map[string]any{"shipment.address.level1": 372}, "", "shipment.address.level1", spec.RuleType},
		{"postalCode-number", cr, map[string]any{"shipment.address.postalCode": 10115}, "", "shipment.address.postalCode", spec.RuleType},
		// Confirm receipt payment: lenient except invoiceId.
		{"minimal", cf, nil, `{"invoiceId":"x"}`, "", ""},
		{"invoiceId-missing", cf, map[string]any{"invoiceId": smartsDel}, "", "invoiceId", spec.RuleRequired},
		{"invoiceId-empty", cf, map[string]any{"invoiceId": ""}, "", "invoiceId", spec.RuleLength},
		{"invoiceId-number", cf, map[string]any{"invoiceId": 5}, "", "invoiceId", spec.RuleType},
		{"institutionId-number", cf, map[string]any{"institutionId": 5}, "", "institutionId", spec.RuleType},
	}
	for _, f := range []string{"invoiceId", "langCode", "personId", "institutionId"} {
		cases = append(cases,
			smartsCase{f + "-missing", cr, map[string]any{f: smartsDel}, "", f, spec.RuleRequired},
			smartsCase{f + "-null", cr, map[string]any{f: nil}, "", f, spec.RuleRequired},
			smartsCase{f + "-empty", cr, map[string]any{f: ""}, "", f, spec.RuleLength},
			smartsCase{f + "-1", cr, map[string]any{f: "x"}, "", "", ""},
			smartsCase{f + "-number", cr, map[string]any{f: 1}, "", f, spec.RuleType},
		)
	}
	cases = append(cases, smartsCase{"products-missing", cr, map[string]any{"products": smartsDel}, "", "products", spec.RuleRequired})
	for _, st := range spec.SmartsShipmentStatuses {
		cases = append(cases, smartsCase{"shipment-" + st, cr, map[string]any{"shipment.status": st}, "", "", ""})
	}
	// Receipt, under both of its ids.
	for _, id := range []string{"smarts.receipt", "smarts.create-receipt.response"} {
		for _, f := range []string{"institutionInvoiceId", "invoiceId", "institutionId", "customerId"} {
			cases = append(cases,
				smartsCase{f + "-missing", id, map[string]any{f: smartsDel}, "", f, spec.RuleRequired},
				smartsCase{f + "-empty", id, map[string]any{f: ""}, "", f, spec.RuleLength},
				smartsCase{f + "-number", id, map[string]any{f: 1}, "", f, spec.RuleType},
			)
		}
		for _, f := range []string{"totalWithoutAddition", "additionSum", "totalWithoutVAT", "vatSum", "total"} {
			cases = append(cases,
				smartsCase{f + "-missing", id, map[string]any{f: smartsDel}, "", f, spec.RuleRequired},
				smartsCase{f + "-string", id, map[string]any{f: "12"}, "", f, spec.RuleType},
				smartsCase{f + "-zero", id, map[string]any{f: 0}, "", "", ""},
			)
		}
		cases = append(cases,
			smartsCase{"products-missing", id, map[string]any{"products": smartsDel}, "", "products", spec.RuleRequired},
			smartsCase{"products-object", id, map[string]any{"products": map[string]any{}}, "", "products", spec.RuleType},
			smartsCase{"currency-missing", id, map[string]any{"currency": smartsDel}, "", "currency", spec.RuleRequired},
			smartsCase{"currency-bad", id, map[string]any{"currency": "GBP"}, "", "currency", spec.RuleEnum},
			smartsCase{"amount-number", id, map[string]any{"products.0.amount": 1.03}, "", "", ""},
			smartsCase{"amount-text", id, map[string]any{"products.0.amount": "1,03"}, "", "products.0.amount", spec.RuleType},
			smartsCase{"rowPrice-bool", id, map[string]any{"products.0.rowPrice": false}, "", "products.0.rowPrice", spec.RuleType},
			smartsCase{"category-name-number", id, map[string]any{"products.0.categories.0.name": 1}, "", "products.0.categories.0.name", spec.RuleType},
			smartsCase{"loyaltyCards-string", id, map[string]any{"loyaltyCards": "x"}, "", "loyaltyCards", spec.RuleType},
			smartsCase{"shipment", id, map[string]any{"shipment": map[string]any{"method": "PARCEL", "status": "DRAFT"}}, "", "", ""},
			smartsCase{"shipment-status-bad", id, map[string]any{"shipment": map[string]any{"status": "SENT"}}, "", "shipment.status", spec.RuleEnum},
		)
	}
	runSmartsCases(t, cases)
}

func TestSmartsPurchaseControl(t *testing.T) {
	const ck, ckr = "smarts.purchase-control-check", "smarts.purchase-control-check.response"
	const res, rs = "smarts.purchase-control-result", "smarts.purchase-control-resend"
	product := smartsExample(t, "smarts.product")
	badProduct := smartsExample(t, "smarts.product").(map[string]any)
	delete(badProduct["quantity"].(map[string]any), "unit")
	cases := []smartsCase{
		{"invoiceId-missing", ck, map[string]any{"invoiceId": smartsDel}, "", "invoiceId", spec.RuleRequired},
		{"invoiceId-empty", ck, map[string]any{"invoiceId": ""}, "", "invoiceId", spec.RuleLength},
		{"only-invoiceId", ck, nil, `{"invoiceId":"5bd5c446ad950100018a79c0"}`, "", ""},
		{"langCode-number", ck, map[string]any{"langCode": 1}, "", "langCode", spec.RuleType},
		{"shipment-status-bad", ck, map[string]any{"shipment.status": "GONE"}, "", "shipment.status", spec.RuleEnum},
		// The answer is not published: anything JSON-object shaped is fine.
		{"empty", ckr, nil, `{}`, "", ""},
		{"extra", ckr, nil, `{"invoiceId":"x","needed":true,"reason":"age"}`, "", ""},
		{"checkNeeded-string", ckr, map[string]any{"checkNeeded": "yes"}, "", "checkNeeded", spec.RuleType},
		{"status-bad", ckr, map[string]any{"status": "DONE"}, "", "status", spec.RuleEnum},
		{"invoiceId-empty", ckr, map[string]any{"invoiceId": ""}, "", "invoiceId", spec.RuleLength},
		{"array", ckr, nil, `[]`, "", spec.RuleType},
		// PurchaseControlResult.
		{"invoiceId-missing", res, map[string]any{"invoiceId": smartsDel}, "", "invoiceId", spec.RuleRequired},
		{"invoiceId-empty", res, map[string]any{"invoiceId": ""}, "", "invoiceId", spec.RuleLength},
		{"institutionId-missing", res, map[string]any{"institutionId": smartsDel}, "", "institutionId", spec.RuleRequired},
		{"institutionId-empty", res, map[string]any{"institutionId": ""}, "", "institutionId", spec.RuleLength},
		{"status-missing", res, map[string]any{"status": smartsDel}, "", "status", spec.RuleRequired},
		{"status-EXPIRED", res, map[string]any{"status": "EXPIRED"}, "", "status", spec.RuleEnum},
		{"status-lower", res, map[string]any{"status": "passed"}, "", "status", spec.RuleEnum},
		{"status-number", res, map[string]any{"status": 1}, "", "status", spec.RuleType},
		{"products", res, map[string]any{"products": []any{product}}, "", "", ""},
		{"products-bad", res, map[string]any{"products": []any{product, badProduct}}, "", "products.1.quantity.unit", spec.RuleRequired},
		// Resend: not published, lenient.
		{"empty", rs, nil, `{}`, "", ""},
		{"invoiceId-number", rs, map[string]any{"invoiceId": 5}, "", "invoiceId", spec.RuleType},
		{"institutionId-empty", rs, map[string]any{"institutionId": ""}, "", "institutionId", spec.RuleLength},
	}
	for _, st := range spec.SmartsPurchaseControlStatuses {
		cases = append(cases, smartsCase{"status-" + st, res, map[string]any{"status": st}, "", "", ""})
	}
	runSmartsCases(t, cases)
}

func TestSmartsLoyalty(t *testing.T) {
	const reg, regr, bon, bonr = "smarts.loyalty-card-registration", "smarts.loyalty-card-registration.response",
		"smarts.loyalty-card-bonus", "smarts.loyalty-card-bonus.response"
	cases := []smartsCase{
		{"loyaltyCard-missing", reg, map[string]any{"loyaltyCard": smartsDel}, "", "loyaltyCard", spec.RuleRequired},
		{"loyaltyCard-string", reg, map[string]any{"loyaltyCard": "1234"}, "", "loyaltyCard", spec.RuleType},
		{"id-missing", reg, map[string]any{"loyaltyCard.id": smartsDel}, "", "loyaltyCard.id", spec.RuleRequired},
		{"id-empty", reg, map[string]any{"loyaltyCard.id": ""}, "", "loyaltyCard.id", spec.RuleLength},
		{"type-missing", reg, map[string]any{"loyaltyCard.type": smartsDel}, "", "loyaltyCard.type", spec.RuleRequired},
		{"type-empty", reg, map[string]any{"loyaltyCard.type": ""}, "", "loyaltyCard.type", spec.RuleLength},
		{"value-missing", reg, map[string]any{"value": smartsDel}, "", "value", spec.RuleRequired},
		{"value-empty", reg, map[string]any{"value": ""}, "", "value", spec.RuleLength},
		{"value-1", reg, map[string]any{"value": "1"}, "", "", ""},
		{"value-number", reg, map[string]any{"value": 22103944833292}, "", "value", spec.RuleType},
		{"imageId", reg, map[string]any{"loyaltyCard.imageId": "img-1"}, "", "", ""},
		{"description-missing", reg, map[string]any{"loyaltyCard.description": smartsDel}, "", "", ""},
		{"validationTypes-number", reg, map[string]any{"loyaltyCard.validationTypes": []any{1}}, "", "loyaltyCard.validationTypes.0", spec.RuleType},
		{"colors-string", reg, map[string]any{"loyaltyCard.colors": "#fff"}, "", "loyaltyCard.colors", spec.RuleType},
		{"primary-string", reg, map[string]any{"loyaltyCard.primary": "true"}, "", "loyaltyCard.primary", spec.RuleType},
		{"name-text-number", reg, map[string]any{"loyaltyCard.name.originalText": 1}, "", "loyaltyCard.name.originalText", spec.RuleType},
		{"personEmail-number", reg, map[string]any{"personEmail": 1}, "", "personEmail", spec.RuleType},
		// A non-BONUS card needs only id and type.
		{"default-card", reg, nil, `{"loyaltyCard":{"id":"1","type":"DEFAULT"},"value":"38001010000"}`, "", ""},
		// Registration and bonus answers are not published: lenient.
		{"empty", regr, nil, `{}`, "", ""},
		{"useBonus-string", regr, map[string]any{"useBonusOnPayment": "no"}, "", "useBonusOnPayment", spec.RuleType},
		{"cardNumber-number", regr, map[string]any{"cardNumber": 1}, "", "cardNumber", spec.RuleType},
		{"empty", bon, nil, `{}`, "", ""},
		{"personId-number", bon, map[string]any{"personId": 1}, "", "personId", spec.RuleType},
		{"empty", bonr, nil, `{}`, "", ""},
		{"cardNumber-number", bonr, map[string]any{"cardNumber": 1}, "", "cardNumber", spec.RuleType},
	}
	// BonusLoyaltyCard: the published Req fields, required when type is BONUS.
	for _, f := range []string{"canUseBonusPointsForPayment", "name", "validationTypes", "colorTheme", "primary", "colors"} {
		cases = append(cases,
			smartsCase{f + "-missing-bonus", reg, map[string]any{"loyaltyCard." + f: smartsDel}, "", "loyaltyCard." + f, spec.RuleConditional},
			smartsCase{f + "-missing-default", reg, map[string]any{"loyaltyCard." + f: smartsDel, "loyaltyCard.type": "DEFAULT"}, "", "", ""},
		)
	}
	runSmartsCases(t, cases)
}

func TestSmartsOrder(t *testing.T) {
	cases := []smartsCase{
		{"status-change-empty", "smarts.order-status-change", nil, `{}`, "", ""},
		{"status-change-bad", "smarts.order-status-change", map[string]any{"status": "DONE"}, "", "status", spec.RuleEnum},
		{"status-change-orderId-empty", "smarts.order-status-change", map[string]any{"orderId": ""}, "", "orderId", spec.RuleLength},
		{"status-change-name-number", "smarts.order-status-change", map[string]any{"personName": 1}, "", "personName", spec.RuleType},
	}
	for _, id := range []string{"smarts.order", "smarts.order-update"} {
		for _, f := range []string{"id", "customerId", "institutionId"} {
			cases = append(cases,
				smartsCase{f + "-missing", id, map[string]any{f: smartsDel}, "", f, spec.RuleRequired},
				smartsCase{f + "-empty", id, map[string]any{f: ""}, "", f, spec.RuleLength},
				smartsCase{f + "-number", id, map[string]any{f: 1}, "", f, spec.RuleType},
			)
		}
		cases = append(cases,
			smartsCase{"shipment-missing", id, map[string]any{"shipment": smartsDel}, "", "shipment", spec.RuleRequired},
			smartsCase{"shipment-string", id, map[string]any{"shipment": "PARCEL"}, "", "shipment", spec.RuleType},
			smartsCase{"shipment-status-bad", id, map[string]any{"shipment.status": "SENT"}, "", "shipment.status", spec.RuleEnum},
			smartsCase{"shipment-email-number", id, map[string]any{"shipment.contactEmail": 1}, "", "shipment.contactEmail", spec.RuleType},
			smartsCase{"products-missing", id, map[string]any{"products": smartsDel}, "", "products", spec.RuleRequired},
			smartsCase{"products-empty", id, map[string]any{"products": []any{}}, "", "", ""},
			smartsCase{"rowPrice-text", id, map[string]any{"products.0.rowPrice": "12,00"}, "", "products.0.rowPrice", spec.RuleType},
			smartsCase{"currency-missing", id, map[string]any{"currency": smartsDel}, "", "currency", spec.RuleRequired},
			smartsCase{"currency-bad", id, map[string]any{"currency": "SEK"}, "", "currency", spec.RuleEnum},
			smartsCase{"total-missing", id, map[string]any{"orderTotalPrice": smartsDel}, "", "orderTotalPrice", spec.RuleRequired},
			smartsCase{"total-string", id, map[string]any{"orderTotalPrice": "17"}, "", "orderTotalPrice", spec.RuleType},
			smartsCase{"changelogs-missing", id, map[string]any{"statusChangelogs": smartsDel}, "", "statusChangelogs", spec.RuleRequired},
			smartsCase{"changelogs-empty", id, map[string]any{"statusChangelogs": []any{}}, "", "", ""},
			smartsCase{"changelog-status-bad", id, map[string]any{"statusChangelogs.0.newStatus": "DONE"}, "", "statusChangelogs.0.newStatus", spec.RuleEnum},
			smartsCase{"changelog-previous-bad", id, map[string]any{"statusChangelogs.0.previousStatus": "NEW"}, "", "statusChangelogs.0.previousStatus", spec.RuleEnum},
			smartsCase{"changelog-date-bad", id, map[string]any{"statusChangelogs.0.created": "04.04.2020"}, "", "statusChangelogs.0.created", spec.RulePattern},
			smartsCase{"created", id, map[string]any{"create": smartsDel, "created": "2020-04-04"}, "", "", ""},
			smartsCase{"no-dates", id, map[string]any{"create": smartsDel, "closed": smartsDel}, "", "", ""},
			smartsCase{"create-bad", id, map[string]any{"create": "2020-4-4"}, "", "create", spec.RulePattern},
			smartsCase{"created-bad", id, map[string]any{"created": "2020-04-04T10:00:00Z"}, "", "created", spec.RulePattern},
			smartsCase{"closed-month13", id, map[string]any{"closed": "2020-13-01"}, "", "closed", spec.RulePattern},
			smartsCase{"resolverId-number", id, map[string]any{"resolverId": 1}, "", "resolverId", spec.RuleType},
		)
	}
	runSmartsCases(t, cases)
}

func TestSmartsOffers(t *testing.T) {
	const os, osr = "smarts.offers-search", "smarts.offers-search.response"
	runSmartsCases(t, []smartsCase{
		{"empty", os, nil, `{}`, "", ""},
		{"langCode-number", os, map[string]any{"langCode": 1}, "", "langCode", spec.RuleType},
		{"cards-string", os, map[string]any{"loyaltyCards": "x"}, "", "loyaltyCards", spec.RuleType},
		{"empty", osr, nil, `[]`, "", ""},
		{"object", osr, nil, `{}`, "", spec.RuleType},
		{"id-missing", osr, map[string]any{"0.id": smartsDel}, "", "0.id", spec.RuleRequired},
		{"id-empty", osr, map[string]any{"0.id": ""}, "", "0.id", spec.RuleLength},
		{"type-missing", osr, map[string]any{"1.type": smartsDel}, "", "1.type", spec.RuleRequired},
		{"other-type", osr, nil, `[{"id":"O3","type":"DEFAULT"}]`, "", ""},
		{"title-missing", osr, map[string]any{"0.title": smartsDel}, "", "0.title", spec.RuleConditional},
		{"imageUri-missing", osr, map[string]any{"0.imageUri": smartsDel}, "", "0.imageUri", spec.RuleConditional},
		{"discount-missing", osr, map[string]any{"0.discountPercentage": smartsDel}, "", "0.discountPercentage", spec.RuleConditional},
		{"offerPrice-missing", osr, map[string]any{"0.offerPrice": smartsDel}, "", "0.offerPrice", spec.RuleConditional},
		{"defaultPrice-missing", osr, map[string]any{"0.defaultPrice": smartsDel}, "", "0.defaultPrice", spec.RuleConditional},
		{"discount-0", osr, map[string]any{"0.discountPercentage": 0}, "", "", ""},
		{"discount-100", osr, map[string]any{"0.discountPercentage": 100}, "", "", ""},
		{"discount-101", osr, map[string]any{"0.discountPercentage": 101}, "", "0.discountPercentage", spec.RuleRange},
		{"discount-fraction", osr, map[string]any{"0.discountPercentage": 10.5}, "", "0.discountPercentage", spec.RuleType},
		{"offerPrice-string", osr, map[string]any{"0.offerPrice": "10.8"}, "", "0.offerPrice", spec.RuleType},
		{"startDate-bad", osr, map[string]any{"0.startDate": "2020/04/01"}, "", "0.startDate", spec.RulePattern},
		{"endDate-day32", osr, map[string]any{"0.endDate": "2020-04-32"}, "", "0.endDate", spec.RulePattern},
		{"relatedProduct-missing", osr, map[string]any{"1.relatedProduct": smartsDel}, "", "1.relatedProduct", spec.RuleConditional},
		{"relatedProduct-string", osr, map[string]any{"1.relatedProduct": "1ABC"}, "", "1.relatedProduct", spec.RuleType},
		// A related product is a Product: its published Req fields apply
		// whenever it is present.
		{"relatedProduct-no-total", osr, map[string]any{"1.relatedProduct.price.total": smartsDel}, "", "1.relatedProduct.price.total", spec.RuleConditional},
		{"relatedProduct-no-VATRate", osr, map[string]any{"1.relatedProduct.price.vat.VATRate": smartsDel}, "", "1.relatedProduct.price.vat.VATRate", spec.RuleConditional},
		{"relatedProduct-no-price", osr, map[string]any{"1.relatedProduct.price": smartsDel}, "", "1.relatedProduct.price", spec.RuleConditional},
		{"relatedProduct-unit-bad", osr, map[string]any{"1.relatedProduct.quantity.unit": "BOX"}, "", "1.relatedProduct.quantity.unit", spec.RuleEnum},
		{"relatedProduct-VATRate-101", osr, map[string]any{"1.relatedProduct.price.vat.VATRate": 101}, "", "1.relatedProduct.price.vat.VATRate", spec.RuleRange},
		{"discount-without-product", osr, map[string]any{"0.relatedProduct": smartsDel}, "", "", ""},
	})
}

func TestSmartsNode(t *testing.T) {
	const v, vr, h, hr = "smarts.node-version", "smarts.node-version.response", "smarts.node-health", "smarts.node-health.response"
	cases := []smartsCase{
		{"no-body", v, nil, ``, "", ""},
		{"no-body", h, nil, ``, "", ""},
		{"empty-object", h, nil, `{}`, "", ""},
		{"not-json", v, nil, `version`, "", spec.RuleJSON},
		{"version-missing", vr, map[string]any{"version": smartsDel}, "", "version", spec.RuleRequired},
		{"version-empty", vr, map[string]any{"version": ""}, "", "version", spec.RuleLength},
		{"version-1", vr, map[string]any{"version": "1"}, "", "", ""},
		{"version-number", vr, map[string]any{"version": 1.0}, "", "version", spec.RuleType},
		{"status-missing", hr, map[string]any{"status": smartsDel}, "", "status", spec.RuleRequired},
		{"status-bad", hr, map[string]any{"status": "OK"}, "", "status", spec.RuleEnum},
		{"status-lower", hr, map[string]any{"status": "up"}, "", "status", spec.RuleEnum},
		{"status-bool", hr, map[string]any{"status": true}, "", "status", spec.RuleType},
		{"details", hr, nil, `{"status":"DOWN","components":{"db":{"status":"DOWN"}}}`, "", ""},
	}
	for _, st := range spec.SmartsHealthStatuses {
		cases = append(cases, smartsCase{"status-" + st, hr, map[string]any{"status": st}, "", "", ""})
	}
	runSmartsCases(t, cases)
}
