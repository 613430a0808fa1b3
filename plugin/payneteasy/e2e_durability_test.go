package payneteasy_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
)

// TestCallbackSurvivesCrash: a callback answered 200 is durable. The
// merchant's events endpoint is failing when the callback arrives; Caddy is
// then killed (SIGKILL) between two retries and started again on the same
// bolt file; the payment.final event is delivered after the restart,
// signed, and once. A session initiated before the crash is still
// checkable after it.
func TestCallbackSurvivesCrash(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key}
	b := newBackend(t, key)
	g := newGateway(t)
	in := startCaddy(t, conf{Engine: "native", Store: "bolt", Backend: b.Host(), Gateway: g.Base(), Events: true,
		Outbox: "base_delay 1s\n\t\t\tmax_delay 1s"}, e)

	a := newApp("sale")
	s := initiateOK(t, in.URL, b, a, 100, "inv-crash-"+randHex(4), 0)
	b.setEventStatus(500)
	cb := callbackURL(in.URL, "approved", "sale", "4242", s.InvoiceID, "1.00")
	if r := do(t, http.MethodGet, cb, "", nil); r.Status != 200 {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	testenv.WaitFor(t, 10*time.Second, "a failed delivery attempt", func() bool { return len(b.attempts()) > 0 })
	// Retries are 0.5-1 s apart: 150 ms after an attempt the retry is stored
	// and the next attempt is not due yet.
	time.Sleep(150 * time.Millisecond)
	in.Kill()
	b.setEventStatus(0)
	in.Restart()

	// Normally within a second; if the kill hit an attempt in flight, the
	// delivery waits for its lease (outbox timeout + 30 s) instead.
	ev := b.waitEventWithin(t, 75*time.Second, "payment.final", map[string]string{"client_orderid": s.InvoiceID})
	if jstr(ev.Decoded, "data.orderid") != "4242" {
		t.Errorf("payment.final data: %s", ev.Body)
	}
	for _, at := range b.attempts() {
		if at.ID != ev.ID {
			t.Errorf("attempt with another webhook-id %q (want every retry to keep %q)", at.ID, ev.ID)
		}
	}
	tok := "tok-" + randHex(8)
	if r := postJSON(t, in.URL+"/pne/sale/"+s.InvoiceID+"/check", a.checkBody(s.Nonce, s.Signature, tok, "")); r.Status != 200 {
		t.Errorf("check after the crash: %d %s", r.Status, r.Body)
	}
	time.Sleep(1200 * time.Millisecond)
	b.assertNoDuplicateDeliveries(t)
	if r := do(t, http.MethodGet, cb, "", nil); r.Status != 200 {
		t.Errorf("replayed callback after the crash: %d %s", r.Status, r.Body)
	}
	time.Sleep(300 * time.Millisecond)
	if n := b.countEvents("payment.final", nil); n != 1 {
		t.Errorf("%d payment.final deliveries, want 1", n)
	}
}

// TestReloadMidFlow: a config reload between the steps of a sale keeps the
// session, the saved cards and event delivery working.
func TestReloadMidFlow(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key}
	b := newBackend(t, key)
	g := newGateway(t)
	in := startCaddy(t, conf{Engine: "native", Store: "bolt", Backend: b.Host(), Gateway: g.Base(), Events: true}, e)

	a := newApp("sale")
	s := initiateOK(t, in.URL, b, a, 100, "inv-reload-"+randHex(4), 0)
	reload(t, in)
	tok := "tok-" + randHex(8)
	r := postJSON(t, in.URL+"/pne/sale/"+s.InvoiceID+"/check", a.checkBody(s.Nonce, s.Signature, tok, ""))
	if r.Status != 200 {
		t.Fatalf("check after reload: %d %s", r.Status, r.Body)
	}
	checkCheckAnswer(t, r, a, s, tok, "")
	reload(t, in)
	if r := postJSON(t, in.URL+"/pne/sale/notification", a.notificationBody(tok, "srv-reload")); r.Status != 200 {
		t.Fatalf("notification after reload: %d %s", r.Status, r.Body)
	}
	b.waitEvent(t, "card.mapped", map[string]string{"invoiceId": s.InvoiceID})
	reload(t, in)
	if r := do(t, http.MethodGet, callbackURL(in.URL, "approved", "sale", "77", s.InvoiceID, "1.00"), "", nil); r.Status != 200 {
		t.Fatalf("callback after reload: %d %s", r.Status, r.Body)
	}
	b.waitEvent(t, "payment.final", map[string]string{"client_orderid": s.InvoiceID})
	time.Sleep(300 * time.Millisecond)
	b.assertNoDuplicateDeliveries(t)
}

// reload reloads the config. The old server closes its idle keep-alive
// connections, so a POST sent on one of them right after the reload would
// fail with EOF (Go does not retry POSTs): drop them first.
func reload(t *testing.T, in *testenv.Instance) {
	t.Helper()
	if err := in.Reload(); err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
}

// TestFinalStateNotOverriddenByPolling: PROVIDERS.md 1.1 step 7, the
// merchant relies on the classic callback, not on polling, for the final
// state. After a final callback, a relayed status answer that reports a
// non-final state (a poll answered before the callback, recorded after it)
// must not tell the merchant the payment went back to PROCESSING.
func TestFinalStateNotOverriddenByPolling(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key, DSN: pgtest.Start(t)}
	b := newBackend(t, key)
	g := newGateway(t)
	in := startCaddy(t, conf{Engine: "native", Store: "postgres", Backend: b.Host(), Gateway: g.Base(), Events: true}, e)

	a := newApp("sale")
	s := initiateOK(t, in.URL, b, a, 100, "inv-final-"+randHex(4), 0)
	tok := "tok-" + randHex(8)
	if r := postJSON(t, in.URL+"/pne/sale/"+s.InvoiceID+"/check", a.checkBody(s.Nonce, s.Signature, tok, "")); r.Status != 200 {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	if r := do(t, http.MethodGet, callbackURL(in.URL, "approved", "sale", "99", s.InvoiceID, "1.00"), "", nil); r.Status != 200 {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	b.waitEvent(t, "payment.final", map[string]string{"client_orderid": s.InvoiceID})

	ans := fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":"PROCESSING"}`, s.InvoiceID, tok)
	g.setAnswer(func(recorded) (int, string) { return 200, ans })
	r := postJSON(t, fmt.Sprintf("%s/pne/dapi/v1/sale/%s/%s/status", in.URL, endpointID, s.InvoiceID), a.statusBody(tok))
	if r.Status != 200 {
		t.Fatalf("status relay: %d %s", r.Status, r.Body)
	}
	time.Sleep(500 * time.Millisecond)
	if ev, ok := b.findEvent("status.changed", map[string]string{"invoiceId": s.InvoiceID, "state": "PROCESSING"}); ok {
		t.Errorf("after payment.final (approved), kassa told the merchant the payment is PROCESSING: %s", ev.Body)
	}
}

// TestConcurrentSharedStore: racing requests spread over two instances on
// one database: one Check wins per invoice, one initiate per invoiceId, one
// card mapping per notification, one payment.final per callback.
func TestConcurrentSharedStore(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key, DSN: pgtest.Start(t)}
	b := newBackend(t, key)
	g := newGateway(t)
	c := conf{Engine: "native", Store: "postgres", Backend: b.Host(), Gateway: g.Base(), Events: true}
	bases := []string{startCaddy(t, c, e).URL, startCaddy(t, c, e).URL}
	const n = 8

	race := func(f func(i int) reply) []reply {
		out := make([]reply, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); out[i] = f(i) }(i)
		}
		wg.Wait()
		return out
	}
	count := func(rs []reply, status int) int {
		k := 0
		for _, r := range rs {
			if r.Status == status {
				k++
			}
		}
		return k
	}

	// The same invoiceId from the backend for n initiates at once.
	inv := "inv-race-" + randHex(4)
	b.setAnswer(func(recorded) (int, string) { return 200, `{"invoiceId":"` + inv + `"}` })
	apps := make([]app, n)
	for i := range apps {
		apps[i] = newApp("sale")
	}
	rs := race(func(i int) reply {
		return postJSON(t, bases[i%2]+"/pne/sale/initiate-sale", apps[i].initiateBody(100))
	})
	if k := count(rs, 200); k != 1 {
		t.Fatalf("%d of %d initiates with one invoiceId succeeded, want 1: %v", k, n, statuses(rs))
	}
	var a app
	var s session
	for i, r := range rs {
		if r.Status == 200 {
			a, s = apps[i], session{InvoiceID: inv, Nonce: jstr(r.JSON, "session.nonce"), Signature: jstr(r.JSON, "session.signature")}
		} else {
			checkDAPIShape(t, r, "FILTERED")
		}
	}

	// n checks with n different tokens at once: one wins.
	toks := make([]string, n)
	for i := range toks {
		toks[i] = "tok-" + randHex(8)
	}
	rs = race(func(i int) reply {
		return postJSON(t, bases[i%2]+"/pne/sale/"+inv+"/check", a.checkBody(s.Nonce, s.Signature, toks[i], ""))
	})
	if k := count(rs, 200); k != 1 {
		t.Fatalf("%d of %d racing checks succeeded, want 1: %v", k, n, statuses(rs))
	}
	var tok string
	for i, r := range rs {
		if r.Status == 200 {
			tok = toks[i]
		} else if r.Status != 403 {
			t.Errorf("losing check: %d %s, want 403", r.Status, r.Body)
		}
	}

	// n identical notifications at once: one clientCardId, one event.
	rs = race(func(i int) reply {
		return postJSON(t, bases[i%2]+"/pne/sale/notification", a.notificationBody(tok, "srv-race"))
	})
	if k := count(rs, 200); k != n {
		t.Errorf("%d of %d identical notifications answered 200: %v", k, n, statuses(rs))
	}
	// n identical callbacks at once: one event.
	cb := callbackURL("", "approved", "sale", "31337", inv, "1.00")
	rs = race(func(i int) reply { return do(t, http.MethodGet, bases[i%2]+cb, "", nil) })
	if k := count(rs, 200); k != n {
		t.Errorf("%d of %d identical callbacks answered 200: %v", k, n, statuses(rs))
	}
	b.waitEvent(t, "card.mapped", map[string]string{"invoiceId": inv})
	b.waitEvent(t, "payment.final", map[string]string{"client_orderid": inv})
	time.Sleep(1500 * time.Millisecond)
	b.assertNoDuplicateDeliveries(t)
	if k := b.countEvents("card.mapped", nil); k != 1 {
		t.Errorf("%d card.mapped events, want 1", k)
	}
	if k := b.countEvents("payment.final", nil); k != 1 {
		t.Errorf("%d payment.final events, want 1", k)
	}

	// A repeat sale with the saved card works on either instance.
	ev, _ := b.findEvent("card.mapped", nil)
	for i, base := range bases {
		inv2 := fmt.Sprintf("inv-race2-%d-%s", i, randHex(3))
		s2 := initiateOK(t, base, b, a, 100, inv2, 0)
		tok2 := "tok-" + randHex(8)
		r := postJSON(t, bases[1-i]+"/pne/sale/"+inv2+"/check", a.checkBody(s2.Nonce, s2.Signature, tok2, jstr(ev.Decoded, "data.clientCardId")))
		if r.Status != 200 {
			t.Fatalf("repeat check: %d %s", r.Status, r.Body)
		}
		checkCheckAnswer(t, r, a, s2, tok2, "srv-race")
	}
}

func statuses(rs []reply) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprint(r.Status))
	}
	return strings.Join(s, ",")
}
