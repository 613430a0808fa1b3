package payneteasy_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestFieldEncoding: lengths count characters, not bytes (a 50-character
// serial number of non-ASCII letters is valid, 51 is not), JSON escapes are
// decoded before signing, and the message signed is the UTF-8 text
// (PROVIDERS.md 1.2).
func TestFieldEncoding(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	b := newBackend(t, key)
	g := newGateway(t)
	in := startCaddy(t, conf{Engine: "wasm", Store: "bolt", Backend: b.Host(), Gateway: g.Base(), Events: true}, env{Secret: secret, Key: key})

	body := func(serialJSON, token string) []byte {
		return []byte(fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%s}},"transaction":{"amountCentis":100,"currency":"EUR"},"session":{"accessToken":%q}}`, serialJSON, token))
	}
	cases := []struct {
		name       string
		serialJSON string
		serial     string // decoded; "" when the request must be refused
	}{
		{"50 two-byte letters", `"` + strings.Repeat("ä", 50) + `"`, strings.Repeat("ä", 50)},
		{"51 two-byte letters", `"` + strings.Repeat("ä", 51) + `"`, ""},
		{"escaped characters", `"SN\u002d\u00e4\"x\\y"`, "SN-ä\"x\\y"},
		{"emoji", `"📱-1"`, "📱-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := "inv-enc-" + randHex(4)
			b.setAnswer(func(recorded) (int, string) { return 200, `{"invoiceId":"` + inv + `"}` })
			token := randHex(20)
			r := postJSON(t, in.URL+"/pne/sale/initiate-sale", body(c.serialJSON, token))
			if c.serial == "" {
				assertDAPIError(t, r, 400, "INVALID_REQUEST")
				return
			}
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			nonce := jstr(r.JSON, "session.nonce")
			if want := dapiSign(token, c.serial, endpointID, nonce, inv, "100", "EUR"); jstr(r.JSON, "session.signature") != want {
				t.Errorf("signature %s, want %s over the decoded UTF-8 serial %q", jstr(r.JSON, "session.signature"), want, c.serial)
			}
			a := app{Flow: "sale", Serial: c.serial, AccessToken: token}
			tok := "tok-" + randHex(8)
			r = postJSON(t, in.URL+"/pne/sale/"+inv+"/check", a.checkBody(nonce, jstr(r.JSON, "session.signature"), tok, ""))
			if r.Status != 200 {
				t.Fatalf("check: %d %s", r.Status, r.Body)
			}
			checkCheckAnswer(t, r, a, session{InvoiceID: inv, Nonce: nonce}, tok, "")
		})
	}
}

// TestPerFlowEndpointID: transfer_endpoint_id and verification_endpoint_id
// replace endpoint_id in those flows' answers, signatures and relay paths.
func TestPerFlowEndpointID(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	b := newBackend(t, key)
	g := newGateway(t)
	in := startCaddy(t, conf{Engine: "native", Store: "bolt", Backend: b.Host(), Gateway: g.Base(), Events: true,
		Extra: "transfer_endpoint_id 2222\n\t\t\tverification_endpoint_id 3333"}, env{Secret: secret, Key: key})
	for flow, ep := range map[string]string{"sale": "1111", "transfer": "2222", "verification": "3333"} {
		t.Run(flow, func(t *testing.T) {
			a := newApp(flow)
			inv := "inv-ep-" + flow + "-" + randHex(3)
			b.setAnswer(func(recorded) (int, string) { return 200, `{"invoiceId":"` + inv + `"}` })
			r := postJSON(t, in.URL+"/pne/"+flow+"/initiate-"+flow, a.initiateBody(100))
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if jstr(r.JSON, "endpointId") != ep {
				t.Errorf("endpointId %q, want %s", jstr(r.JSON, "endpointId"), ep)
			}
			nonce, sig := jstr(r.JSON, "session.nonce"), jstr(r.JSON, "session.signature")
			want := dapiSign(a.AccessToken, a.Serial, ep, nonce, inv, "100", "EUR")
			if flow == "verification" {
				want = dapiSign(a.AccessToken, a.Serial, ep, nonce, inv, "EUR")
			}
			if sig != want {
				t.Errorf("signature %s, want %s", sig, want)
			}
			tok := "tok-" + randHex(8)
			r = postJSON(t, in.URL+"/pne/"+flow+"/"+inv+"/check", a.checkBody(nonce, sig, tok, ""))
			if want := dapiSign(a.Serial, nonce, ep, inv); jstr(r.JSON, "session.checkSignature") != want {
				t.Errorf("checkSignature %s, want %s (%d %s)", jstr(r.JSON, "session.checkSignature"), want, r.Status, r.Body)
			}
			r = postJSON(t, in.URL+"/pne/"+flow+"/notification", a.notificationBody(tok, "srv-ep"))
			if want := dapiSign(nonce, ep, inv); jstr(r.JSON, "session.checkSignature") != want {
				t.Errorf("notification checkSignature %s, want %s (%d %s)", jstr(r.JSON, "session.checkSignature"), want, r.Status, r.Body)
			}
			other := "1111"
			if flow == "sale" {
				other = "2222"
			}
			n := g.count()
			r = postJSON(t, fmt.Sprintf("%s/pne/dapi/v1/%s/%s/%s/status", in.URL, flow, other, inv), a.statusBody(tok))
			assertDAPIError(t, r, 403, "FILTERED")
			if g.count() != n {
				t.Errorf("a status request for another endpoint reached the gateway")
			}
		})
	}
}
