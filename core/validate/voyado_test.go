package validate_test

import (
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
)

// Voyado tables (spec/voyado.go) against the validator: bodies and query
// strings. Each case names the one violation it expects (exact path and
// rule; any other violation must lie below that path), or none.

type voyadoCase struct {
	name     string
	endpoint string
	input    string    // the body, or the raw query string
	path     string    // expected violation path
	rule     spec.Rule // expected rule; "" = valid
}

func voyadoCheck(t *testing.T, r validate.Result, input, path string, rule spec.Rule) {
	t.Helper()
	if rule == "" {
		if !r.Valid {
			t.Fatalf("want valid, got %+v\ninput %s", r.Violations, input)
		}
		return
	}
	found := false
	for _, v := range r.Violations {
		switch {
		case v.Path == path && v.Rule == rule:
			found = true
		case path != "" && v.Path != path && !strings.HasPrefix(v.Path, path+"."):
			t.Errorf("unexpected violation %+v (want only %s at %q)", v, rule, path)
		}
	}
	if !found {
		t.Fatalf("want %s at %q, got %+v\ninput %s", rule, path, r.Violations, input)
	}
}

func runVoyado(t *testing.T, query bool, cases []voyadoCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		name := tc.endpoint + "/" + tc.name
		if seen[name] {
			t.Errorf("duplicate case %s", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			if spec.Lookup(tc.endpoint) == nil {
				t.Fatalf("no endpoint %s", tc.endpoint)
			}
			var r validate.Result
			var err error
			if query {
				r, err = validate.ValidateQuery(tc.endpoint, tc.input)
			} else {
				r, err = validate.Validate(tc.endpoint, []byte(tc.input))
			}
			if err != nil {
				t.Fatal(err)
			}
			voyadoCheck(t, r, tc.input, tc.path, tc.rule)
		})
	}
}

// voyadoLine is one payment line with the given members (raw JSON text).
func voyadoLine(members string) string { return `{"lines":[{` + members + `}]}` }

func TestVoyadoEndpointTable(t *testing.T) {
	const v2, sf = "/api/v2/notifications/", "/api/storefront/v3/notifications/"
	for _, tc := range []struct {
		id, path string
		body     spec.BodyKind
		query    []string
	}{
		{"voyado.secure-payment", v2 + "payment", spec.JSONBody, nil},
		{"voyado.payment", v2 + "payment", spec.JSONBody, nil},
		{"voyado.click", v2 + "click", spec.JSONBody, nil},
		{"voyado.non-esales-click", v2 + "non-esales-click", spec.JSONBody, nil},
		{"voyado.adding-to-cart", v2 + "adding-to-cart", spec.JSONBody, nil},
		{"voyado.non-esales-adding-to-cart", v2 + "non-esales-adding-to-cart", spec.JSONBody, nil},
		{"voyado.end", v2 + "end", spec.NoBody, nil},
		{"voyado.storefront.click", sf + "click", spec.JSONBody, nil},
		{"voyado.storefront.add-to-cart", sf + "add-to-cart", spec.JSONBody, nil},
		{"voyado.storefront.ad-impression", sf + "ad-impression", spec.JSONBody, nil},
		{"voyado.storefront.add-favorite", sf + "add-favorite", spec.JSONBody, nil},
		{"voyado.storefront.remove-favorite", sf + "remove-favorite", spec.JSONBody, nil},
		{"voyado.storefront.remove-recent-searches", sf + "remove-recent-searches", spec.JSONBody, nil},
		{"voyado.storefront.remove-recently-viewed", sf + "remove-recently-viewed", spec.JSONBody, nil},
		{"voyado.storefront.end", sf + "end", spec.NoBody, nil},
		{"voyado.admin.payment", "/api/admin/v4/notifications/payment", spec.JSONBody, []string{"market", "customerKey", "sessionKey"}},
	} {
		ep := spec.Lookup(tc.id)
		if ep == nil {
			t.Errorf("%s: missing", tc.id)
			continue
		}
		if ep.Provider != spec.Voyado || ep.Method != "POST" || ep.Path != tc.path || ep.Response || ep.Body != tc.body {
			t.Errorf("%s: got %s %s %s response=%v body=%d", tc.id, ep.Provider, ep.Method, ep.Path, ep.Response, ep.Body)
		}
		if ep.Summary == "" || ep.From == "" || ep.To == "" {
			t.Errorf("%s: Summary, From and To must be set", tc.id)
		}
		want := tc.query
		if want == nil && strings.HasPrefix(tc.path, v2) {
			want = []string{"esales.market", "esales.customerKey", "esales.sessionKey"}
		}
		if want == nil {
			want = []string{"market", "customerKey", "sessionKey", "userContext"}
		}
		var got []string
		for _, f := range ep.Query {
			got = append(got, f.Path)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: query %v, want %v", tc.id, got, want)
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

func TestVoyadoPayment(t *testing.T) {
	const sp, pp, ap = "voyado.secure-payment", "voyado.payment", "voyado.admin.payment"
	cases := []voyadoCase{
		// The seed page's example.
		{"seed-example", sp, `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":5.1,"variantKey":"V1"}]}`, "", ""},
		{"unknown-member", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":1,"currency":"SEK"`), "", ""},
		// Cost: > 0 and < sellingPrice, optional.
		{"cost-0", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10,"cost":0`), "lines.0.cost", spec.RuleRange},
		{"cost-neg", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10,"cost":-1`), "lines.0.cost", spec.RuleRange},
		{"cost-equal", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":10.35`), "lines.0.cost", spec.RuleRange},
		{"cost-above", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":10.36`), "lines.0.cost", spec.RuleRange},
		{"cost-just-below", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":10.34`), "", ""},
		{"cost-tiny", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":0.01`), "", ""},
		{"cost-absent", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35`), "", ""},
		{"cost-null", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":null`), "", ""},
		{"cost-string", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":"5.1"`), "lines.0.cost", spec.RuleType},
		{"cost-price-0", sp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":0,"cost":0.5`), "lines.0.cost", spec.RuleRange},
		{"cost-second-line", sp, `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":10,"cost":5},{"variantKey":"V2","quantity":1,"sellingPrice":10,"cost":10}]}`, "lines.1.cost", spec.RuleRange},
		// The non-secure notification cannot carry cost at all.
		{"no-cost", pp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35`), "", ""},
		{"cost", pp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":5.1`), "lines.0.cost", spec.RuleConditional},
		{"cost-null", pp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":null`), "", ""},
		{"cost-0", pp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":0`), "lines.0.cost", spec.RuleConditional},
		{"cost-string", pp, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":"5.1"`), "lines.0.cost", spec.RuleConditional},
		{"cost-second-line", pp, `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":1},{"productKey":"P2","quantity":1,"sellingPrice":1,"cost":0.5}]}`, "lines.1.cost", spec.RuleConditional},
		// Admin API: lines keyed by variantKey.
		{"variant-missing", ap, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":10`), "lines.0.variantKey", spec.RuleRequired},
		{"variant-empty", ap, voyadoLine(`"variantKey":"","quantity":1,"sellingPrice":10`), "lines.0.variantKey", spec.RuleLength},
		{"variant-number", ap, voyadoLine(`"variantKey":7980,"quantity":1,"sellingPrice":10`), "lines.0.variantKey", spec.RuleType},
		{"variant-1", ap, voyadoLine(`"variantKey":"V","quantity":1,"sellingPrice":10`), "", ""},
		{"cost-equal", ap, voyadoLine(`"variantKey":"V","quantity":1,"sellingPrice":20,"cost":20`), "lines.0.cost", spec.RuleRange},
		{"cost-0", ap, voyadoLine(`"variantKey":"V","quantity":1,"sellingPrice":20,"cost":0`), "lines.0.cost", spec.RuleRange},
		{"cost-below", ap, voyadoLine(`"variantKey":"V","quantity":1,"sellingPrice":20,"cost":19.99`), "", ""},
	}
	// Rules shared by the three payment notifications.
	for _, id := range []string{sp, pp, ap} {
		key := `"productKey":"P1"`
		if id == ap {
			key = `"variantKey":"V1"`
		}
		line := func(rest string) string { return voyadoLine(key + "," + rest) }
		cases = append(cases,
			voyadoCase{"valid", id, line(`"quantity":2,"sellingPrice":20.0`), "", ""},
			voyadoCase{"lines-missing", id, `{}`, "lines", spec.RuleRequired},
			voyadoCase{"lines-null", id, `{"lines":null}`, "lines", spec.RuleRequired},
			voyadoCase{"lines-empty", id, `{"lines":[]}`, "lines", spec.RuleLength},
			voyadoCase{"lines-object", id, `{"lines":{"productKey":"P1"}}`, "lines", spec.RuleType},
			voyadoCase{"line-scalar", id, `{"lines":["P1"]}`, "lines.0", spec.RuleType},
			voyadoCase{"quantity-missing", id, line(`"sellingPrice":1`), "lines.0.quantity", spec.RuleRequired},
			voyadoCase{"quantity-0", id, line(`"quantity":0,"sellingPrice":1`), "lines.0.quantity", spec.RuleRange},
			voyadoCase{"quantity-1", id, line(`"quantity":1,"sellingPrice":1`), "", ""},
			voyadoCase{"quantity-neg", id, line(`"quantity":-1,"sellingPrice":1`), "lines.0.quantity", spec.RuleRange},
			voyadoCase{"quantity-fraction", id, line(`"quantity":1.5,"sellingPrice":1`), "lines.0.quantity", spec.RuleType},
			voyadoCase{"quantity-string", id, line(`"quantity":"2","sellingPrice":1`), "lines.0.quantity", spec.RuleType},
			voyadoCase{"price-missing", id, line(`"quantity":1`), "lines.0.sellingPrice", spec.RuleRequired},
			voyadoCase{"price-neg", id, line(`"quantity":1,"sellingPrice":-0.01`), "lines.0.sellingPrice", spec.RuleRange},
			voyadoCase{"price-0", id, line(`"quantity":1,"sellingPrice":0`), "", ""},
			voyadoCase{"price-string", id, line(`"quantity":1,"sellingPrice":"20.0"`), "lines.0.sellingPrice", spec.RuleType},
			voyadoCase{"not-object", id, `[{"productKey":"P1"}]`, "", spec.RuleType},
			voyadoCase{"not-json", id, `lines=P1`, "", spec.RuleJSON},
			voyadoCase{"truncated", id, `{"lines":[`, "lines.0", spec.RuleJSON},
		)
	}
	// Elevate 3: productKey and/or variantKey on each line.
	for _, id := range []string{sp, pp} {
		cases = append(cases,
			voyadoCase{"no-key", id, voyadoLine(`"quantity":1,"sellingPrice":1`), "lines.0", spec.RuleOneOf},
			voyadoCase{"null-keys", id, voyadoLine(`"productKey":null,"variantKey":null,"quantity":1,"sellingPrice":1`), "lines.0", spec.RuleOneOf},
			voyadoCase{"no-key-second", id, `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":1},{"quantity":1,"sellingPrice":1}]}`, "lines.1", spec.RuleOneOf},
			voyadoCase{"product-only", id, voyadoLine(`"productKey":"P1","quantity":1,"sellingPrice":1`), "", ""},
			voyadoCase{"variant-only", id, voyadoLine(`"variantKey":"V1","quantity":1,"sellingPrice":1`), "", ""},
			voyadoCase{"both-keys", id, voyadoLine(`"productKey":"P1","variantKey":"V1","quantity":1,"sellingPrice":1`), "", ""},
			voyadoCase{"product-empty", id, voyadoLine(`"productKey":"","variantKey":"V1","quantity":1,"sellingPrice":1`), "lines.0.productKey", spec.RuleLength},
			voyadoCase{"product-number", id, voyadoLine(`"productKey":79709,"quantity":1,"sellingPrice":1`), "lines.0.productKey", spec.RuleType},
			voyadoCase{"variant-empty", id, voyadoLine(`"productKey":"P1","variantKey":"","quantity":1,"sellingPrice":1`), "lines.0.variantKey", spec.RuleLength},
		)
	}
	runVoyado(t, false, cases)
}

func TestVoyadoBodies(t *testing.T) {
	var cases []voyadoCase
	for _, id := range []string{"voyado.click", "voyado.adding-to-cart", "voyado.storefront.click", "voyado.storefront.add-to-cart", "voyado.storefront.ad-impression"} {
		cases = append(cases,
			voyadoCase{"ticket", id, `{"ticket":"OzE7MTIzNDU2Nzg5MDsxOzA7"}`, "", ""},
			voyadoCase{"ticket-1", id, `{"ticket":"t"}`, "", ""},
			voyadoCase{"ticket-missing", id, `{}`, "ticket", spec.RuleRequired},
			voyadoCase{"ticket-null", id, `{"ticket":null}`, "ticket", spec.RuleRequired},
			voyadoCase{"ticket-empty", id, `{"ticket":""}`, "ticket", spec.RuleLength},
			voyadoCase{"ticket-number", id, `{"ticket":5}`, "ticket", spec.RuleType},
			voyadoCase{"extra", id, `{"ticket":"t","productKey":"P1"}`, "", ""},
			voyadoCase{"array", id, `["t"]`, "", spec.RuleType},
		)
	}
	for _, id := range []string{"voyado.non-esales-click", "voyado.non-esales-adding-to-cart"} {
		cases = append(cases,
			voyadoCase{"product", id, `{"productKey":"shirt_79709"}`, "", ""},
			voyadoCase{"variant", id, `{"variantKey":"shirt_red_7980"}`, "", ""},
			voyadoCase{"both", id, `{"productKey":"shirt_79709","variantKey":"shirt_red_7980"}`, "", ""},
			voyadoCase{"neither", id, `{}`, "", spec.RuleOneOf},
			voyadoCase{"only-ticket", id, `{"ticket":"t"}`, "", spec.RuleOneOf},
			voyadoCase{"product-empty", id, `{"productKey":""}`, "productKey", spec.RuleLength},
			voyadoCase{"variant-number", id, `{"variantKey":7980}`, "variantKey", spec.RuleType},
		)
	}
	for _, id := range []string{"voyado.storefront.add-favorite", "voyado.storefront.remove-favorite"} {
		cases = append(cases,
			voyadoCase{"product", id, `{"productKey":"shirt_79709"}`, "", ""},
			voyadoCase{"variant", id, `{"variantKey":"shirt_red_7980"}`, "", ""},
			voyadoCase{"both", id, `{"productKey":"shirt_79709","variantKey":"shirt_red_7980"}`, "variantKey", spec.RuleOneOf},
			voyadoCase{"neither", id, `{}`, "", spec.RuleOneOf},
			voyadoCase{"null", id, `{"productKey":null}`, "", spec.RuleOneOf},
			voyadoCase{"product-empty", id, `{"productKey":""}`, "productKey", spec.RuleLength},
			voyadoCase{"variant-number", id, `{"variantKey":7980}`, "variantKey", spec.RuleType},
		)
	}
	for id, list := range map[string]string{
		"voyado.storefront.remove-recent-searches": "phrases",
		"voyado.storefront.remove-recently-viewed": "productKeys",
	} {
		cases = append(cases,
			voyadoCase{"list", id, `{"` + list + `":["a","b"]}`, "", ""},
			voyadoCase{"list-empty", id, `{"` + list + `":[]}`, "", ""},
			voyadoCase{"removeAll", id, `{"removeAll":true}`, "", ""},
			voyadoCase{"removeAll-false", id, `{"removeAll":false}`, "removeAll", spec.RuleEnum},
			voyadoCase{"removeAll-string", id, `{"removeAll":"true"}`, "removeAll", spec.RuleType},
			voyadoCase{"both", id, `{"` + list + `":["a"],"removeAll":true}`, "removeAll", spec.RuleOneOf},
			voyadoCase{"neither", id, `{}`, "", spec.RuleOneOf},
			voyadoCase{"list-string", id, `{"` + list + `":"a"}`, list, spec.RuleType},
			voyadoCase{"item-empty", id, `{"` + list + `":["a",""]}`, list + ".1", spec.RuleLength},
			voyadoCase{"item-number", id, `{"` + list + `":[1]}`, list + ".0", spec.RuleType},
			voyadoCase{"item-null", id, `{"` + list + `":[null]}`, list + ".0", spec.RuleType},
		)
	}
	for _, id := range []string{"voyado.end", "voyado.storefront.end"} {
		cases = append(cases,
			voyadoCase{"no-body", id, ``, "", ""},
			voyadoCase{"blank", id, " \n", "", ""},
			voyadoCase{"empty-object", id, `{}`, "", ""},
			voyadoCase{"not-json", id, `end`, "", spec.RuleJSON},
		)
	}
	runVoyado(t, false, cases)
}

func TestVoyadoQuery(t *testing.T) {
	const (
		uuidC = "d9528030-509c-4e0f-b585-7168f1e9feca"
		uuidS = "b106299c-eac0-4f6f-96d2-93e57c255784"
		v2ok  = "esales.market=UK&esales.customerKey=" + uuidC + "&esales.sessionKey=" + uuidS
		sfok  = "market=UK&customerKey=" + uuidC + "&sessionKey=" + uuidS
	)
	long := func(n int) string { return strings.Repeat("k", n) }
	var cases []voyadoCase
	for _, id := range []string{"voyado.secure-payment", "voyado.payment", "voyado.click", "voyado.non-esales-click",
		"voyado.adding-to-cart", "voyado.non-esales-adding-to-cart", "voyado.end"} {
		cases = append(cases,
			voyadoCase{"seed", id, v2ok, "", ""},
			voyadoCase{"not-uuid", id, "esales.market=Sweden&esales.customerKey=customer-42&esales.sessionKey=s1", "", ""},
			voyadoCase{"extra", id, v2ok + "&esales.locale=sv-SE", "", ""},
			voyadoCase{"escaped", id, "esales.market=Great%20Britain&esales.customerKey=a%2Bb&esales.sessionKey=s", "", ""},
			voyadoCase{"market-missing", id, "esales.customerKey=c&esales.sessionKey=s", "esales.market", spec.RuleRequired},
			voyadoCase{"customer-missing", id, "esales.market=UK&esales.sessionKey=s", "esales.customerKey", spec.RuleRequired},
			voyadoCase{"session-missing", id, "esales.market=UK&esales.customerKey=c", "esales.sessionKey", spec.RuleRequired},
			voyadoCase{"unprefixed-market", id, "market=UK&esales.customerKey=c&esales.sessionKey=s", "esales.market", spec.RuleRequired},
			voyadoCase{"market-empty", id, "esales.market=&esales.customerKey=c&esales.sessionKey=s", "esales.market", spec.RuleLength},
			voyadoCase{"customer-128", id, "esales.market=UK&esales.customerKey=" + long(128) + "&esales.sessionKey=s", "", ""},
			voyadoCase{"customer-129", id, "esales.market=UK&esales.customerKey=" + long(129) + "&esales.sessionKey=s", "esales.customerKey", spec.RuleLength},
			voyadoCase{"session-129", id, "esales.market=UK&esales.customerKey=c&esales.sessionKey=" + long(129), "esales.sessionKey", spec.RuleLength},
			voyadoCase{"market-twice", id, v2ok + "&esales.market=SE", "esales.market", spec.RuleType},
		)
	}
	for _, id := range []string{"voyado.storefront.click", "voyado.storefront.add-to-cart", "voyado.storefront.ad-impression",
		"voyado.storefront.add-favorite", "voyado.storefront.remove-favorite", "voyado.storefront.remove-recent-searches",
		"voyado.storefront.remove-recently-viewed", "voyado.storefront.end"} {
		cases = append(cases,
			voyadoCase{"default-context", id, sfok, "", ""},
			voyadoCase{"market-missing", id, "customerKey=c&sessionKey=s", "market", spec.RuleRequired},
			voyadoCase{"market-empty", id, "market=&customerKey=c&sessionKey=s", "market", spec.RuleLength},
			voyadoCase{"market-128", id, "market=" + long(128) + "&customerKey=c&sessionKey=s", "", ""},
			voyadoCase{"market-129", id, "market=" + long(129) + "&customerKey=c&sessionKey=s", "market", spec.RuleLength},
			voyadoCase{"esales-prefixed", id, "esales.market=UK&customerKey=c&sessionKey=s", "market", spec.RuleRequired},
			voyadoCase{"customer-missing", id, "market=UK&sessionKey=s", "customerKey", spec.RuleRequired},
			voyadoCase{"session-missing", id, "market=UK&customerKey=c", "sessionKey", spec.RuleRequired},
			voyadoCase{"customer-empty", id, "market=UK&customerKey=&sessionKey=s", "customerKey", spec.RuleLength},
			voyadoCase{"context-bad", id, sfok + "&userContext=personalized", "userContext", spec.RuleEnum},
			voyadoCase{"context-empty", id, sfok + "&userContext=", "userContext", spec.RuleEnum},
			// PERSONALIZED and SYNTHETIC: both keys required.
			voyadoCase{"personalized", id, sfok + "&userContext=PERSONALIZED", "", ""},
			voyadoCase{"personalized-no-customer", id, "market=UK&sessionKey=s&userContext=PERSONALIZED", "customerKey", spec.RuleRequired},
			voyadoCase{"synthetic", id, sfok + "&userContext=SYNTHETIC", "", ""},
			voyadoCase{"synthetic-no-session", id, "market=UK&customerKey=c&userContext=SYNTHETIC", "sessionKey", spec.RuleRequired},
			// UNPERSONALIZED: no customerKey; sessionKey required.
			voyadoCase{"unpersonalized", id, "market=UK&sessionKey=s&userContext=UNPERSONALIZED", "", ""},
			voyadoCase{"unpersonalized-customer", id, sfok + "&userContext=UNPERSONALIZED", "customerKey", spec.RuleConditional},
			voyadoCase{"unpersonalized-no-session", id, "market=UK&userContext=UNPERSONALIZED", "sessionKey", spec.RuleRequired},
			// ANONYMOUS: neither key.
			voyadoCase{"anonymous", id, "market=UK&userContext=ANONYMOUS", "", ""},
			voyadoCase{"anonymous-customer", id, "market=UK&customerKey=c&userContext=ANONYMOUS", "customerKey", spec.RuleConditional},
			voyadoCase{"anonymous-session", id, "market=UK&sessionKey=s&userContext=ANONYMOUS", "sessionKey", spec.RuleConditional},
			voyadoCase{"anonymous-no-market", id, "userContext=ANONYMOUS", "market", spec.RuleRequired},
		)
	}
	const ap = "voyado.admin.payment"
	cases = append(cases,
		voyadoCase{"ok", ap, sfok, "", ""},
		voyadoCase{"market-missing", ap, "customerKey=c&sessionKey=s", "market", spec.RuleRequired},
		voyadoCase{"customer-missing", ap, "market=UK&sessionKey=s", "customerKey", spec.RuleRequired},
		voyadoCase{"session-missing", ap, "market=UK&customerKey=c", "sessionKey", spec.RuleRequired},
		voyadoCase{"session-empty", ap, "market=UK&customerKey=c&sessionKey=", "sessionKey", spec.RuleLength},
		voyadoCase{"esales-prefixed", ap, "esales.market=UK&customerKey=c&sessionKey=s", "market", spec.RuleRequired},
		// The Admin API has no userContext: the parameter is ignored.
		voyadoCase{"anonymous-ignored", ap, sfok + "&userContext=ANONYMOUS", "", ""},
	)
	runVoyado(t, true, cases)
}
