package hardening_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

// concurrently sends the same request k times at once.
func concurrently(k int, f func() resp) []resp {
	out := make([]resp, k)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = f()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// TestReplays replays every kind of acknowledged request, concurrently and
// after the fact: a callback, a check, a card notification, a status poll,
// a Voyado payment and a Smarts relay each take effect once (one stored
// record, one event or delivery, one webhook-id or Idempotency-Key);
// repeats get the first answer; a replay with a changed body is refused;
// a replayed initiate cannot overwrite its session.
func TestReplays(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t)
	ps := newParties(t)
	n := start(t, config{Store: "postgres", DSN: dsn}, ps)
	st := openPostgres(t, dsn)
	a := newPneApp()
	s := n.mustInitiate(a, "inv-replay-"+randHex(4))

	sameAnswers := func(what string, rs []resp, status int) {
		t.Helper()
		for _, r := range rs {
			if r.Err != nil || r.Status != status {
				t.Fatalf("%s: %v %d %s", what, r.Err, r.Status, r.Body)
			}
			if !bytes.Equal(r.Body, rs[0].Body) {
				t.Errorf("%s: answers differ: %s vs %s", what, r.Body, rs[0].Body)
			}
		}
	}

	// Initiate replayed with the same invoiceId: refused, session intact.
	before := storetest.Snapshot(t, st)
	rs := concurrently(10, func() resp {
		return n.do("POST", "/pne/sale/initiate-sale", hdr("X-Test-Invoice", s.Invoice), a.initiateBody(999999))
	})
	for _, r := range rs {
		if code, err := dapiError(r); r.Status != 409 || err != nil || code != "FILTERED/kassa.invoice_exists" {
			t.Errorf("replayed initiate: %d %s", r.Status, r.Body)
		}
	}
	if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
		t.Errorf("a replayed initiate changed the store:\n%s", d)
	}

	// Check replayed with its token: one answer; another token: refused.
	tok := "tok-" + randHex(10)
	check := a.checkBody(s.Nonce, s.Signature, tok)
	sameAnswers("replayed check", concurrently(10, func() resp { return n.do("POST", "/pne/sale/"+s.Invoice+"/check", nil, check) }), 200)
	r := n.do("POST", "/pne/sale/"+s.Invoice+"/check", nil, a.checkBody(s.Nonce, s.Signature, "tok-"+randHex(10)))
	if code, _ := dapiError(r); r.Status != 403 || code != "FILTERED/kassa.token_mismatch" {
		t.Errorf("check with another token: %d %s", r.Status, r.Body)
	}

	// Card notification replayed: one card, one card.mapped event.
	notif := a.notificationBody(tok, "srv-card-"+randHex(4))
	sameAnswers("replayed notification", concurrently(10, func() resp { return n.do("POST", "/pne/sale/notification", nil, notif) }), 200)

	// Status poll replayed: one status.changed event.
	statusPath := fmt.Sprintf("/pne/dapi/v1/sale/%s/%s/status", endpointID, s.Invoice)
	statusBody := []byte(fmt.Sprintf(`{"session":{"accessToken":%q,"token":%q}}`, a.AccessToken, tok))
	sameAnswers("replayed status", concurrently(5, func() resp { return n.do("POST", statusPath, nil, statusBody) }), 200)

	// Callback replayed: stored once, one payment.final.
	cbq := "/pne/callback?" + callbackQuery("approved", "rp-1", s.Invoice)
	sameAnswers("replayed callback", concurrently(20, func() resp { return n.do("GET", cbq, nil, nil) }), 200)

	// Voyado payment replayed under its key; the key with another body: 409.
	payKey := "rp-pay-" + randHex(4)
	sameAnswers("replayed payment", concurrently(10, func() resp { return n.pay(payKey, paymentBody(7)) }), 202)
	if r := n.pay(payKey, paymentBody(8)); r.Status != 409 {
		t.Errorf("payment key reused with another body: %d %s", r.Status, r.Body)
	}
	// Smarts relay replayed under its key; another body: 409.
	relayKey := "rp-relay-" + randHex(4)
	sameAnswers("replayed relay", concurrently(10, func() resp { return n.relay(relayKey) }), 202)
	other := strings.Replace(controlResult, "PASSED", "FAILED", 1)
	if r := n.do("POST", "/smarts/gateway/control/result", hdr("accessToken", smartsBackend, "Idempotency-Key", relayKey), []byte(other)); r.Status != 409 {
		t.Errorf("relay key reused with another body: %d %s", r.Status, r.Body)
	}

	n.drained(15 * time.Second)
	// And once more after delivery: still nothing new.
	n.do("GET", cbq, nil, nil)
	n.do("POST", "/pne/sale/notification", nil, notif)
	n.pay(payKey, paymentBody(7))
	n.relay(relayKey)
	time.Sleep(time.Second)
	n.drained(15 * time.Second)

	types := map[string]map[string]int{}
	for _, ev := range ps.verifiedEvents(t) {
		if types[ev.Type] == nil {
			types[ev.Type] = map[string]int{}
		}
		types[ev.Type][ev.ID]++
	}
	for _, typ := range []string{"payment.final", "card.mapped", "status.changed"} {
		if len(types[typ]) != 1 {
			t.Errorf("%s: %d distinct events %v, want 1", typ, len(types[typ]), types[typ])
		}
		for id, c := range types[typ] {
			if c != 1 {
				t.Errorf("%s %s delivered %d times", typ, id, c)
			}
		}
	}
	if c := ps.cluster.acked()[payKey]; c != 1 {
		t.Errorf("payment %s delivered %d times", payKey, c)
	}
	if c := ps.smartsGW.acked()[relayKey]; c != 1 {
		t.Errorf("relay %s delivered %d times", relayKey, c)
	}
	snap := storetest.Snapshot(t, st)
	var callbacks, cards int
	for k := range snap {
		if strings.HasPrefix(k, store.BucketCallbacks+" ") {
			callbacks++
		}
		if strings.HasPrefix(k, store.BucketCards+" ") && strings.Contains(k, "/c/") {
			cards++
		}
	}
	if callbacks != 1 || cards != 1 {
		t.Errorf("stored: %d callbacks, %d cards; want 1 and 1", callbacks, cards)
	}
	var sess struct{ State, SessionToken string }
	json.Unmarshal([]byte(snap[store.BucketSessions+" sale/"+s.Invoice]), &sess)
	if sess.SessionToken != tok || sess.State != "APPROVED" {
		t.Errorf("session after the replays: %+v", sess)
	}
	t.Logf("events: %v", types)
}
