package validate_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/core/jsonscan"
	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/core/validate"
)

// mutate parses body, applies set (path -> value; a nil value deletes, the
// string "__absent_parent__" is not special) and returns the new JSON.
// Paths are dotted; numeric segments index arrays.
func mutate(t *testing.T, body string, set map[string]any) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("bad example %s: %v", body, err)
	}
	for path, val := range set {
		doc = setPath(doc, strings.Split(path, "."), val)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type del struct{}

// Del deletes the field at a path.
var Del = del{}

func setPath(doc any, parts []string, val any) any {
	if len(parts) == 0 {
		return val
	}
	switch d := doc.(type) {
	case map[string]any:
		if len(parts) == 1 {
			if _, isDel := val.(del); isDel {
				delete(d, parts[0])
				return d
			}
			d[parts[0]] = val
			return d
		}
		child, ok := d[parts[0]]
		if !ok {
			child = map[string]any{}
		}
		d[parts[0]] = setPath(child, parts[1:], val)
		return d
	case []any:
		var i int
		for _, c := range parts[0] {
			i = i*10 + int(c-'0')
		}
		d[i] = setPath(d[i], parts[1:], val)
		return d
	}
	return doc
}

func TestExamplesValidate(t *testing.T) {
	for _, ep := range spec.All() {
		if ep.Example == "" && ep.Body != spec.NoBody {
			t.Errorf("%s: no example", ep.ID)
			continue
		}
		r, err := validate.Validate(ep.ID, []byte(ep.Example))
		if err != nil || !r.Valid {
			t.Errorf("%s: example does not validate: %v %+v", ep.ID, err, r.Violations)
		}
	}
}

func TestUnknownEndpoint(t *testing.T) {
	if _, err := validate.Validate("nope.nothing", []byte(`{}`)); err == nil {
		t.Fatal("unknown endpoint accepted")
	}
}

type row struct {
	name     string
	endpoint string
	set      map[string]any // applied to the endpoint's example
	raw      string         // used instead of set when non-empty
	path     string         // "" with rule "" = valid
	rule     spec.Rule
}

func runRows(t *testing.T, rows []row) {
	t.Helper()
	for _, tc := range rows {
		t.Run(tc.endpoint+"/"+tc.name, func(t *testing.T) {
			ep := spec.Lookup(tc.endpoint)
			if ep == nil {
				t.Fatalf("no endpoint %s", tc.endpoint)
			}
			body := []byte(tc.raw)
			if tc.raw == "" {
				body = mutate(t, ep.Example, tc.set)
			}
			r, err := validate.Validate(tc.endpoint, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.rule == "" {
				if !r.Valid {
					t.Fatalf("want valid, got %+v for %s", r.Violations, body)
				}
				return
			}
			if r.Valid {
				t.Fatalf("want %s at %q, got valid for %s", tc.rule, tc.path, body)
			}
			for _, v := range r.Violations {
				if v.Path == tc.path && v.Rule == tc.rule {
					return
				}
			}
			t.Fatalf("want %s at %q, got %+v for %s", tc.rule, tc.path, r.Violations, body)
		})
	}
}

func str(n int) string { return strings.Repeat("a", n) }

func TestPayneteasy(t *testing.T) {
	var rows []row
	for _, fl := range spec.Flows {
		n := fl.Name
		check, initiate, notif, status := "payneteasy.check-"+n, "payneteasy.initiate-"+n, "payneteasy."+n+"-notification", "payneteasy."+n+"-status.response"
		rows = append(rows,
			// Check request: every published length bound, just inside and just outside.
			row{"token16", check, map[string]any{"session.token": str(16)}, "", "", ""},
			row{"token15", check, map[string]any{"session.token": str(15)}, "", "session.token", spec.RuleLength},
			row{"token36", check, map[string]any{"session.token": str(36)}, "", "", ""},
			row{"token37", check, map[string]any{"session.token": str(37)}, "", "session.token", spec.RuleLength},
			row{"access31", check, map[string]any{"session.accessToken": str(31)}, "", "session.accessToken", spec.RuleLength},
			row{"access32", check, map[string]any{"session.accessToken": str(32)}, "", "", ""},
			row{"access128", check, map[string]any{"session.accessToken": str(128)}, "", "", ""},
			row{"access129", check, map[string]any{"session.accessToken": str(129)}, "", "session.accessToken", spec.RuleLength},
			row{"nonce31", check, map[string]any{"session.nonce": str(31)}, "", "session.nonce", spec.RuleLength},
			row{"signature129", check, map[string]any{"session.signature": str(129)}, "", "session.signature", spec.RuleLength},
			row{"serial0", check, map[string]any{"consumer.device.serialNumber": ""}, "", "consumer.device.serialNumber", spec.RuleLength},
			row{"serial1", check, map[string]any{"consumer.device.serialNumber": "x"}, "", "", ""},
			row{"serial50", check, map[string]any{"consumer.device.serialNumber": str(50)}, "", "", ""},
			row{"serial51", check, map[string]any{"consumer.device.serialNumber": str(51)}, "", "consumer.device.serialNumber", spec.RuleLength},
			row{"serial50-multibyte", check, map[string]any{"consumer.device.serialNumber": strings.Repeat("é", 50)}, "", "", ""},
			row{"serial-missing", check, map[string]any{"consumer.device.serialNumber": Del}, "", "consumer.device.serialNumber", spec.RuleRequired},
			row{"serial-null", check, map[string]any{"consumer.device.serialNumber": nil}, "", "consumer.device.serialNumber", spec.RuleRequired},
			row{"serial-number", check, map[string]any{"consumer.device.serialNumber": 5}, "", "consumer.device.serialNumber", spec.RuleType},
			row{"device-string", check, map[string]any{"consumer.device": "x"}, "", "consumer.device", spec.RuleType},
			row{"token-missing", check, map[string]any{"session.token": Del}, "", "session.token", spec.RuleRequired},
			row{"clientCardId-ok", check, map[string]any{"sourceOfFunds": map[string]any{"reference": map[string]any{"clientCardId": "c1"}}}, "", "", ""},
			row{"clientCardId-129", check, map[string]any{"sourceOfFunds": map[string]any{"reference": map[string]any{"clientCardId": str(129)}}}, "", "sourceOfFunds.reference.clientCardId", spec.RuleLength},
			row{"array-body", check, nil, `[1]`, "", spec.RuleType},
			row{"invalid-json", check, nil, `{"session":`, "session", spec.RuleJSON},
			row{"duplicate-key", check, nil, `{"session":{"token":"a","token":"b"}}`, "session.token", spec.RuleJSON},
			// Initiate.
			row{"currency-lower", initiate, map[string]any{"transaction.currency": "eur"}, "", "transaction.currency", spec.RulePattern},
			row{"currency-4", initiate, map[string]any{"transaction.currency": "EURO"}, "", "transaction.currency", spec.RulePattern},
			row{"imei13", initiate, map[string]any{"consumer.device.imei": str(13)}, "", "consumer.device.imei", spec.RuleLength},
			row{"imei14", initiate, map[string]any{"consumer.device.imei": str(14)}, "", "", ""},
			row{"ip-6", initiate, map[string]any{"consumer.ipAddresses": []any{"1.2.3.4", "1.2.3"}}, "", "consumer.ipAddresses.1", spec.RuleLength},
			row{"ip-number", initiate, map[string]any{"consumer.ipAddresses": []any{4}}, "", "consumer.ipAddresses.0", spec.RuleType},
			row{"lat-90", initiate, map[string]any{"location.lat": 90}, "", "", ""},
			row{"lat-90.1", initiate, map[string]any{"location.lat": 90.1}, "", "location.lat", spec.RuleRange},
			row{"lng-180.5", initiate, map[string]any{"location.lng": -180.5}, "", "location.lng", spec.RuleRange},
			// Notification.
			row{"serverCardId64", notif, map[string]any{"sourceCard.reference.serverCardId": str(64)}, "", "", ""},
			row{"serverCardId65", notif, map[string]any{"sourceCard.reference.serverCardId": str(65)}, "", "sourceCard.reference.serverCardId", spec.RuleLength},
			row{"bin-string", notif, map[string]any{"sourceCard.bin": "411111"}, "", "sourceCard.bin", spec.RuleType},
			// Status response: conditional fields.
			row{"approved-no-bank", status, map[string]any{"bankOrderId": Del}, "", "bankOrderId", spec.RuleConditional},
			row{"declined-no-bank", status, map[string]any{"state": "DECLINED", "bankOrderId": Del}, "", "bankOrderId", spec.RuleConditional},
			row{"processing-no-bank", status, map[string]any{"state": "PROCESSING", "bankOrderId": Del}, "", "", ""},
			row{"redirect-no-url", status, map[string]any{"state": "REDIRECT_REQUEST", "bankOrderId": Del}, "", "redirectUrl", spec.RuleConditional},
			row{"bad-state", status, map[string]any{"state": "DONE"}, "", "state", spec.RuleEnum},
			row{"url128", status, map[string]any{"redirectUrl": str(128)}, "", "", ""},
			row{"url129", status, map[string]any{"redirectUrl": str(129)}, "", "redirectUrl", spec.RuleLength},
			row{"3ds", status, map[string]any{"secure3DAuthStatus": "MAYBE"}, "", "secure3DAuthStatus", spec.RuleEnum},
		)
		if fl.Amount {
			rows = append(rows,
				row{"amount-missing", initiate, map[string]any{"transaction.amountCentis": Del}, "", "transaction.amountCentis", spec.RuleRequired},
				row{"amount-float", initiate, map[string]any{"transaction.amountCentis": 10.5}, "", "transaction.amountCentis", spec.RuleType},
				row{"amount-string", initiate, map[string]any{"transaction.amountCentis": "1000"}, "", "transaction.amountCentis", spec.RuleType},
				row{"amount-0", initiate, map[string]any{"transaction.amountCentis": 0}, "", "transaction.amountCentis", spec.RuleRange},
				row{"amount-1", initiate, map[string]any{"transaction.amountCentis": 1}, "", "", ""},
				row{"amount-huge", initiate, nil, `{"consumer":{"device":{"serialNumber":"S"}},"transaction":{"amountCentis":123456789012345678901234567890,"currency":"EUR"},"session":{"accessToken":"` + str(32) + `"}}`, "transaction.amountCentis", spec.RuleRange},
				row{"amount-2p53", initiate, nil, `{"consumer":{"device":{"serialNumber":"S"}},"transaction":{"amountCentis":9007199254740992,"currency":"EUR"},"session":{"accessToken":"` + str(32) + `"}}`, "", ""},
				row{"amount-2p53+1", initiate, nil, `{"consumer":{"device":{"serialNumber":"S"}},"transaction":{"amountCentis":9007199254740993,"currency":"EUR"},"session":{"accessToken":"` + str(32) + `"}}`, "transaction.amountCentis", spec.RuleRange},
				row{"amount-exp", initiate, nil, `{"consumer":{"device":{"serialNumber":"S"}},"transaction":{"amountCentis":1e3,"currency":"EUR"},"session":{"accessToken":"` + str(32) + `"}}`, "transaction.amountCentis", spec.RuleType},
			)
		}
		perform := "payneteasy.perform-" + n
		card := map[string]any{"number": "4111111111111111", "expiry": map[string]any{"month": 12, "year": 2030}}
		rows = append(rows,
			row{"card-and-ref", perform, map[string]any{"sourceOfFunds.reference": map[string]any{"clientCardId": "c"}}, "", "sourceOfFunds.reference", spec.RuleOneOf},
			row{"no-funds", perform, map[string]any{"sourceOfFunds": map[string]any{}}, "", "sourceOfFunds", spec.RuleOneOf},
			row{"ref-only", perform, map[string]any{"sourceOfFunds": map[string]any{"reference": map[string]any{"clientCardId": "c", "securityCode": "123"}}}, "", "", ""},
			row{"luhn", perform, map[string]any{"sourceOfFunds.card.number": "4111111111111112"}, "", "sourceOfFunds.card.number", spec.RulePattern},
			row{"pan8", perform, map[string]any{"sourceOfFunds.card.number": "42424242"}, "", "sourceOfFunds.card.number", spec.RuleLength},
			row{"pan-letters", perform, map[string]any{"sourceOfFunds.card.number": "4111a11111111111"}, "", "sourceOfFunds.card.number", spec.RulePattern},
			row{"month13", perform, map[string]any{"sourceOfFunds.card.expiry.month": 13}, "", "sourceOfFunds.card.expiry.month", spec.RuleRange},
			row{"month-string", perform, map[string]any{"sourceOfFunds.card.expiry.month": "07"}, "", "", ""},
			row{"card-no-number", perform, map[string]any{"sourceOfFunds": map[string]any{"card": map[string]any{"expiry": card["expiry"]}}}, "", "sourceOfFunds.card.number", spec.RuleConditional},
			row{"cvv-5", perform, map[string]any{"sourceOfFunds.card.securityCode": "12345"}, "", "sourceOfFunds.card.securityCode", spec.RuleLength},
		)
	}
	runRows(t, rows)
}

func TestReportsEveryViolation(t *testing.T) {
	r, err := validate.Validate("payneteasy.check-sale", []byte(`{"consumer":{"device":{"serialNumber":""}},"session":{"accessToken":"short","nonce":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"consumer.device.serialNumber length",
		"session.accessToken length",
		"session.nonce type",
		"session.signature required",
		"session.token required",
	}
	var got []string
	for _, v := range r.Violations {
		got = append(got, v.Path+" "+string(v.Rule))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestCallbackQuery(t *testing.T) {
	good := "status=approved&type=sale&orderid=123&client_orderid=inv-1&amount=10.00&control=" + strings.Repeat("ab", 20)
	for _, tc := range []struct {
		q, path string
		rule    spec.Rule
	}{
		{good, "", ""},
		{"status=approved&orderid=123&client_orderid=inv-1&control=" + strings.Repeat("ab", 20), "", ""},
		{"orderid=123&client_orderid=inv-1&control=" + strings.Repeat("ab", 20), "status", spec.RuleRequired},
		{good + "&status=declined", "status", spec.RuleType},
		{"status=approved&orderid=1&client_orderid=x&control=zz", "control", spec.RulePattern},
		{"status=approved&orderid=1&client_orderid=x&control=%zz", "control", spec.RuleType},
		{"status=approved&orderid=1%00&client_orderid=x&control=" + strings.Repeat("ab", 20), "orderid", spec.RulePattern},
		{"status=appr%0Aoved&orderid=1&client_orderid=x&control=" + strings.Repeat("ab", 20), "status", spec.RulePattern},
		{"status=approved&type=sa%7Fle&orderid=1&client_orderid=x&control=" + strings.Repeat("ab", 20), "type", spec.RulePattern},
		{"status=approved&orderid=1&client_orderid=%C3%A9t%C3%A9&control=" + strings.Repeat("ab", 20), "", ""},
	} {
		r, err := validate.ValidateQuery("payneteasy.callback", tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if tc.rule == "" {
			if !r.Valid {
				t.Errorf("%s: %+v", tc.q, r.Violations)
			}
			continue
		}
		found := false
		for _, v := range r.Violations {
			found = found || (v.Path == tc.path && v.Rule == tc.rule)
		}
		if !found {
			t.Errorf("%s: want %s at %s, got %+v", tc.q, tc.rule, tc.path, r.Violations)
		}
	}
}

// FuzzValidate: no input panics, the same input always gives the same
// answer, and the indexed walk gives the scanning walk's.
func FuzzValidate(f *testing.F) {
	for _, ep := range spec.All() {
		f.Add(ep.ID, []byte(ep.Example))
	}
	f.Add("payneteasy.check-sale", []byte(`{"session":{"token":null,"nonce":[1,{"a":2}]},"consumer":"x"}`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		if spec.Lookup(id) == nil {
			id = "payneteasy.check-sale"
		}
		a, _ := validate.Validate(id, body)
		b, _ := validate.Validate(id, body)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("two answers for one input: %s vs %s", ja, jb)
		}
		was := validate.SetIndexNatively(false)
		validate.SetIndexNatively(!was)
		c, _ := validate.Validate(id, body) // the other walk
		validate.SetIndexNatively(was)
		if jc, _ := json.Marshal(c); string(jc) != string(ja) {
			t.Fatalf("indexed: %v; answers %s and %s", !was, jc, ja)
		}
		// A caller that checked and indexed the body itself (a wasm host,
		// kassa_validate_indexed) gets the same answer.
		var sc jsonscan.Scanner
		if len(body) > 0 && sc.Check(body) == nil {
			tape := make([]jsonscan.Entry, 4096)
			if n := jsonscan.Index(string(body), tape); n > 0 {
				var v validate.Validator
				d, _ := v.ValidateIndexed(id, body, tape[:n])
				d.Violations = append([]validate.Violation(nil), d.Violations...)
				if jd, _ := json.Marshal(d); string(jd) != string(ja) {
					t.Fatalf("ValidateIndexed: %s, Validate: %s", jd, ja)
				}
			}
		}
		if a.Valid != (len(a.Violations) == 0) {
			t.Fatalf("Valid %v with %d violations", a.Valid, len(a.Violations))
		}
	})
}

func TestViolationsAreCapped(t *testing.T) {
	body := "[" + strings.Repeat("1,", 200000) + "1]"
	r, err := validate.Validate("smarts.product-search-name.response", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Violations) != validate.MaxViolations+1 {
		t.Fatalf("%d violations, want %d", len(r.Violations), validate.MaxViolations+1)
	}
	last := r.Violations[len(r.Violations)-1]
	if !strings.Contains(last.Message, "more violations not listed") || last.Rule != spec.RuleType {
		t.Fatalf("last violation %+v", last)
	}
	// The elements past the limit are still counted (not objects here).
	r, _ = validate.Validate("smarts.product-search-name.response", []byte("["+strings.Repeat("1,", 104)+"1]"))
	if last := r.Violations[len(r.Violations)-1]; last.Message != "5 more violations not listed (the first 100 are)" {
		t.Fatalf("105 bad elements: last violation %+v", last)
	}
}
