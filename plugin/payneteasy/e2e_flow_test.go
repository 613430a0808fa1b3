package payneteasy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

var flowNames = []string{"sale", "transfer", "verification"}

// TestSignatureRecipesMatchVectors proves the test's own recipes against
// the public vectors, so every later signature comparison is grounded in
// the spec and not in kassa's code.
func TestSignatureRecipesMatchVectors(t *testing.T) {
	cases := []struct{ got, want string }{
		{dapiSign("123456789012345678901234567890123456789012345678901234567890abcd", "abcd", "1111", "5678xyz", "someUuid", "1000", "RUB"),
			"691668E3E8E240825AAC13DDD5219C64F7371B38"},
		{dapiSign("abcd", "5678xyz", "1111", "someUuid"), "6AB5507CD443DCA47A906619E53CF855956D9D64"},
		{dapiSign("5678xyz", "1111", "someUuid"), "34334D9F7ECDFE2E42F082EB35D5F8558C6DF156"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("vector %d: %s, want %s", i, c.got, c.want)
		}
	}
	h := sha1Hex("1111902B4FF51042john.smith@gmail.com" + controlKey) // classic sale control
	if h != "c6bdd88a78834ef4b863b088827a459f039e8257" {
		t.Errorf("classic vector: %s", h)
	}
}

// TestFullFlow runs initiate -> check -> card mapping -> card.mapped ->
// repeat initiate + check with the clientCardId -> status relay ->
// status.changed -> classic callback -> payment.final, for sale, transfer
// and verification, on bolt and PostgreSQL with the wasm engine, and once
// on bolt with the native engine.
func TestFullFlow(t *testing.T) {
	variants := []struct{ name, engine, store string }{
		{"bolt-wasm", "wasm", "bolt"},
		{"postgres-wasm", "wasm", "postgres"},
		{"bolt-native", "native", "bolt"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			secret, key := newEventsSecret()
			e := env{Secret: secret, Key: key}
			if v.store == "postgres" {
				e.DSN = pgtest.Start(t)
			}
			b := newBackend(t, key)
			g := newGateway(t)
			in := startCaddy(t, conf{Engine: v.engine, Store: v.store, Backend: b.Host(), Gateway: g.Base(), Events: true,
				Extra: "session_ttl 30m"}, e)
			var tokens []string
			for _, flow := range flowNames {
				t.Run(flow, func(t *testing.T) {
					tokens = append(tokens, runFlow(t, in.URL, b, g, flow))
				})
			}
			if t.Failed() {
				return
			}
			// Give the outbox time to misbehave (resend), then count.
			time.Sleep(700 * time.Millisecond)
			b.assertNoDuplicateDeliveries(t)
			// card.mapped, status.changed, payment.final per flow, and the
			// transfer's second card.mapped.
			if n := len(b.allEvents()); n != 3*len(flowNames)+1 {
				t.Errorf("%d event deliveries, want %d", n, 3*len(flowNames)+1)
			}

			// The store never holds a consumer's access token in the clear.
			var snap map[string]string
			if v.store == "postgres" {
				snap = storetest.Snapshot(t, pgStore(t, e.DSN))
			} else {
				in.Stop()
				snap = boltSnapshot(t, filepath.Join(in.Dir, "kassa.db"))
			}
			for k, val := range snap {
				for _, tok := range tokens {
					if strings.Contains(k, tok) || strings.Contains(val, tok) {
						t.Errorf("store record %q holds an access token in the clear: %s", k, val)
					}
				}
			}
		})
	}
}

// runFlow runs one flow end to end and returns the access token used.
func runFlow(t *testing.T, base string, b *backend, g *gateway, flow string) string {
	a := newApp(flow)

	// 1. Initiate: the backend approves and overrides invoiceId and amount.
	inv1 := "inv-" + flow + "-" + randHex(6)
	s1 := initiateOK(t, base, b, a, 1000, inv1, 1250)

	// 2. Check (gateway side).
	tok1 := "tok-" + randHex(8) // 20 characters
	r := postJSON(t, base+"/pne/"+flow+"/"+s1.InvoiceID+"/check", a.checkBody(s1.Nonce, s1.Signature, tok1, ""))
	if r.Status != 200 {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	checkCheckAnswer(t, r, a, s1, tok1, "")

	// A repeated identical check answers the same.
	r2 := postJSON(t, base+"/pne/"+flow+"/"+s1.InvoiceID+"/check", a.checkBody(s1.Nonce, s1.Signature, tok1, ""))
	if r2.Status != 200 || jstr(r2.JSON, "session.checkSignature") != jstr(r.JSON, "session.checkSignature") {
		t.Errorf("repeated check: %d %s, want 200 with the same checkSignature", r2.Status, r2.Body)
	}

	// 3. Card mapping notification.
	serverCard := "srv-" + flow + "-" + randHex(4)
	r = postJSON(t, base+"/pne/"+flow+"/notification", a.notificationBody(tok1, serverCard))
	if r.Status != 200 {
		t.Fatalf("notification: %d %s", r.Status, r.Body)
	}
	if jstr(r.JSON, "invoiceId") != s1.InvoiceID || jstr(r.JSON, "session.nonce") != s1.Nonce || jstr(r.JSON, "session.token") != tok1 {
		t.Errorf("notification answer %s: want invoiceId %s, nonce %s, token %s", r.Body, s1.InvoiceID, s1.Nonce, tok1)
	}
	if want := dapiSign(s1.Nonce, endpointID, s1.InvoiceID); jstr(r.JSON, "session.checkSignature") != want {
		t.Errorf("notification checkSignature %s, want %s", jstr(r.JSON, "session.checkSignature"), want)
	}

	// 4. card.mapped reaches the backend, signed, with the clientCardId.
	ev := b.waitEvent(t, "card.mapped", map[string]string{"invoiceId": s1.InvoiceID})
	clientCard := jstr(ev.Decoded, "data.clientCardId")
	if clientCard == "" {
		t.Fatalf("card.mapped has no data.clientCardId: %s", ev.Body)
	}
	if clientCard == serverCard || strings.Contains(string(ev.Body), serverCard) {
		t.Errorf("card.mapped leaks the gateway's serverCardId: %s", ev.Body)
	}

	// A repeated notification maps to the same clientCardId and enqueues nothing new.
	r = postJSON(t, base+"/pne/"+flow+"/notification", a.notificationBody(tok1, serverCard))
	if r.Status != 200 {
		t.Errorf("repeated notification: %d %s", r.Status, r.Body)
	}

	// 5. Repeat initiate + check with the saved card.
	inv2 := "inv-" + flow + "-" + randHex(6)
	s2 := initiateOK(t, base, b, a, 1250, inv2, 0)
	tok2 := "tok-" + randHex(8)
	r = postJSON(t, base+"/pne/"+flow+"/"+s2.InvoiceID+"/check", a.checkBody(s2.Nonce, s2.Signature, tok2, clientCard))
	if r.Status != 200 {
		t.Fatalf("check with clientCardId: %d %s", r.Status, r.Body)
	}
	checkCheckAnswer(t, r, a, s2, tok2, serverCard)

	// 6. Status relay to the gateway.
	bank := "bank-" + randHex(4)
	gwAnswer := string(mustJSON(map[string]any{"invoiceId": s2.InvoiceID, "session": map[string]any{"token": tok2},
		"state": "APPROVED", "bankOrderId": bank, "orderId": 77, "transaction": map[string]any{"amountCentis": 1250}}))
	g.setAnswer(func(recorded) (int, string) { return 200, gwAnswer })
	n := g.count()
	statusBody := a.statusBody(tok2)
	r = postJSON(t, fmt.Sprintf("%s/pne/dapi/v1/%s/%s/%s/status", base, flow, endpointID, s2.InvoiceID), statusBody)
	if r.Status != 200 {
		t.Fatalf("status relay: %d %s", r.Status, r.Body)
	}
	if g.count() != n+1 {
		t.Fatalf("gateway saw %d status requests, want 1", g.count()-n)
	}
	got := g.last()
	if wantPath := fmt.Sprintf("/paynet/dapi/v1/%s/%s/%s/status", flow, endpointID, s2.InvoiceID); got.Method != http.MethodPost || got.Path != wantPath {
		t.Errorf("gateway got %s %s, want POST %s", got.Method, got.Path, wantPath)
	}
	if string(got.Body) != string(statusBody) {
		t.Errorf("gateway got body %s, want %s", got.Body, statusBody)
	}
	if !jsonEqual(r.Body, []byte(gwAnswer)) {
		t.Errorf("app got %s, want the gateway's answer %s", r.Body, gwAnswer)
	}

	// 7. status.changed.
	ev = b.waitEvent(t, "status.changed", map[string]string{"invoiceId": s2.InvoiceID})
	if jstr(ev.Decoded, "data.state") != "APPROVED" || jstr(ev.Decoded, "data.bankOrderId") != bank {
		t.Errorf("status.changed data: %s", ev.Body)
	}

	// 8. Classic callback -> 200 -> payment.final.
	orderID := fmt.Sprint(time.Now().UnixNano() % 1e9)
	cb := callbackURL(base, "approved", flow, orderID, s2.InvoiceID, "12.50")
	r = do(t, http.MethodGet, cb, "", nil)
	if r.Status != 200 {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	ev = b.waitEvent(t, "payment.final", map[string]string{"client_orderid": s2.InvoiceID})
	if jstr(ev.Decoded, "data.status") != "approved" || jstr(ev.Decoded, "data.orderid") != orderID {
		t.Errorf("payment.final data: %s", ev.Body)
	}
	if strings.Contains(string(ev.Body), classicControl("approved", orderID, s2.InvoiceID)) {
		t.Errorf("payment.final carries the control value: %s", ev.Body)
	}

	// The gateway retries callbacks: a replay is 200 and adds no event.
	r = do(t, http.MethodGet, cb, "", nil)
	if r.Status != 200 {
		t.Errorf("replayed callback: %d %s", r.Status, r.Body)
	}
	time.Sleep(300 * time.Millisecond)
	if c := b.countEvents("payment.final", map[string]string{"client_orderid": s2.InvoiceID}); c != 1 {
		t.Errorf("%d payment.final deliveries for %s, want 1", c, s2.InvoiceID)
	}
	if c := b.countEvents("card.mapped", map[string]string{"invoiceId": s1.InvoiceID}); c != 1 {
		t.Errorf("%d card.mapped deliveries for %s, want 1", c, s1.InvoiceID)
	}

	if flow == "transfer" {
		// A second card mapped through the second session, then a transfer
		// from the first card to the second: both serverCardIds are answered
		// and signed in the spec's order
		// (serial + nonce + destination + endpointId + invoiceId + source).
		serverCard2 := "srv-dst-" + randHex(4)
		r = postJSON(t, base+"/pne/transfer/notification", a.notificationBody(tok2, serverCard2))
		if r.Status != 200 {
			t.Fatalf("second notification: %d %s", r.Status, r.Body)
		}
		ev = b.waitEvent(t, "card.mapped", map[string]string{"invoiceId": s2.InvoiceID})
		clientCard2 := jstr(ev.Decoded, "data.clientCardId")
		if clientCard2 == "" || clientCard2 == clientCard {
			t.Fatalf("second card.mapped clientCardId %q (first %q)", clientCard2, clientCard)
		}
		inv3 := "inv-transfer-" + randHex(6)
		s3 := initiateOK(t, base, b, a, 300, inv3, 0)
		tok3 := "tok-" + randHex(8)
		body := mustJSON(map[string]any{
			"consumer":           map[string]any{"device": map[string]any{"serialNumber": a.Serial}},
			"session":            map[string]any{"accessToken": a.AccessToken, "nonce": s3.Nonce, "signature": s3.Signature, "token": tok3},
			"sourceOfFunds":      map[string]any{"reference": map[string]any{"clientCardId": clientCard}},
			"destinationOfFunds": map[string]any{"reference": map[string]any{"clientCardId": clientCard2}},
		})
		r = postJSON(t, base+"/pne/transfer/"+inv3+"/check", body)
		if r.Status != 200 {
			t.Fatalf("transfer check with both cards: %d %s", r.Status, r.Body)
		}
		if got := jstr(r.JSON, "sourceOfFunds.reference.serverCardId"); got != serverCard {
			t.Errorf("source serverCardId %q, want %q", got, serverCard)
		}
		if got := jstr(r.JSON, "destinationOfFunds.reference.serverCardId"); got != serverCard2 {
			t.Errorf("destination serverCardId %q, want %q", got, serverCard2)
		}
		if want := dapiSign(a.Serial, s3.Nonce, serverCard2, endpointID, inv3, serverCard); jstr(r.JSON, "session.checkSignature") != want {
			t.Errorf("transfer checkSignature with both cards %s, want %s", jstr(r.JSON, "session.checkSignature"), want)
		}
	}
	return a.AccessToken
}

// checkCheckAnswer verifies a Check answer against PROVIDERS.md 1.3/1.4.
func checkCheckAnswer(t *testing.T, r reply, a app, s session, token, serverCard string) {
	t.Helper()
	if jstr(r.JSON, "invoiceId") != s.InvoiceID || jstr(r.JSON, "session.nonce") != s.Nonce || jstr(r.JSON, "session.token") != token {
		t.Errorf("check answer %s: want invoiceId %s, nonce %s, token %s", r.Body, s.InvoiceID, s.Nonce, token)
	}
	gotCard := jstr(r.JSON, "sourceOfFunds.reference.serverCardId")
	if gotCard != serverCard {
		t.Errorf("check answer sourceOfFunds.reference.serverCardId %q, want %q (%s)", gotCard, serverCard, r.Body)
	}
	var want string
	switch a.Flow {
	case "sale":
		want = dapiSign(a.Serial, s.Nonce, endpointID, s.InvoiceID, serverCard)
	case "transfer":
		// serialNumber + nonce + [destination serverCardId] + endpointId + invoiceId + [source serverCardId]
		want = dapiSign(a.Serial, s.Nonce, endpointID, s.InvoiceID, serverCard)
	case "verification":
		want = dapiSign(a.Serial, s.Nonce, endpointID, s.InvoiceID)
	}
	if got := jstr(r.JSON, "session.checkSignature"); got != want {
		t.Errorf("%s checkSignature %s, want %s (serverCardId %q)", a.Flow, got, want, serverCard)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return string(mustJSON(x)) == string(mustJSON(y))
}

// TestTwoInstancesSharePostgres: two Caddy processes on one database; each
// step of a sale goes to a different one, and both outboxes run. Every
// event must arrive exactly once.
func TestTwoInstancesSharePostgres(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key, DSN: pgtest.Start(t)}
	b := newBackend(t, key)
	b.eventDelay = 30 * time.Millisecond // keep deliveries in flight while the other worker polls
	g := newGateway(t)
	c := conf{Engine: "native", Store: "postgres", Backend: b.Host(), Gateway: g.Base(), Events: true}
	A := startCaddy(t, c, e)
	B := startCaddy(t, c, e)

	const sales = 6
	var invoices []string
	for i := 0; i < sales; i++ {
		a := newApp("sale")
		inv := fmt.Sprintf("inv-ab-%d-%s", i, randHex(4))
		s := initiateOK(t, A.URL, b, a, 500+i, inv, 0)
		tok := "tok-" + randHex(8)
		r := postJSON(t, B.URL+"/pne/sale/"+inv+"/check", a.checkBody(s.Nonce, s.Signature, tok, ""))
		if r.Status != 200 {
			t.Fatalf("check on B: %d %s", r.Status, r.Body)
		}
		checkCheckAnswer(t, r, a, s, tok, "")
		r = postJSON(t, A.URL+"/pne/sale/notification", a.notificationBody(tok, "srv-"+randHex(4)))
		if r.Status != 200 {
			t.Fatalf("notification on A: %d %s", r.Status, r.Body)
		}
		if want := dapiSign(s.Nonce, endpointID, inv); jstr(r.JSON, "session.checkSignature") != want {
			t.Errorf("notification checkSignature %s, want %s", jstr(r.JSON, "session.checkSignature"), want)
		}
		gw := string(mustJSON(map[string]any{"invoiceId": inv, "session": map[string]any{"token": tok}, "state": "APPROVED", "bankOrderId": "b" + inv}))
		g.setAnswer(func(recorded) (int, string) { return 200, gw })
		r = postJSON(t, fmt.Sprintf("%s/pne/dapi/v1/sale/%s/%s/status", B.URL, endpointID, inv), a.statusBody(tok))
		if r.Status != 200 {
			t.Fatalf("status on B: %d %s", r.Status, r.Body)
		}
		// The same callback to both instances at once: one event.
		cb := callbackURL("", "approved", "sale", fmt.Sprint(9000+i), inv, "5.00")
		var wg sync.WaitGroup
		for _, in := range []*testenv.Instance{A, B} {
			wg.Add(1)
			go func(base string) {
				defer wg.Done()
				if r := do(t, http.MethodGet, base+cb, "", nil); r.Status != 200 {
					t.Errorf("callback on %s: %d %s", base, r.Status, r.Body)
				}
			}(in.URL)
		}
		wg.Wait()
		invoices = append(invoices, inv)
	}
	for _, inv := range invoices {
		b.waitEvent(t, "card.mapped", map[string]string{"invoiceId": inv})
		b.waitEvent(t, "status.changed", map[string]string{"invoiceId": inv})
		b.waitEvent(t, "payment.final", map[string]string{"client_orderid": inv})
	}
	time.Sleep(1500 * time.Millisecond) // both workers poll at least once more
	b.assertNoDuplicateDeliveries(t)
	if n := len(b.allEvents()); n != 3*sales {
		t.Errorf("%d deliveries, want %d", n, 3*sales)
	}
}
