package hardening_test

// A mixed workload over the three providers, with a ledger of what was
// acknowledged, so fault tests can prove that nothing acknowledged is lost.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
)

// ledger records what kassa acknowledged.
type ledger struct {
	mu        sync.Mutex
	sessions  map[string]ackSession // invoiceId -> session (initiate answered 200)
	checked   map[string]string     // invoiceId -> session token (check answered 200)
	callbacks map[string]string     // orderid -> client_orderid (callback answered 200)
	payments  map[string]int        // Idempotency-Key -> payment number (202)
	relays    map[string]bool       // Idempotency-Key (202)
	unchecked []string              // sessions not checked yet

	statuses sync.Map // "op status" -> *atomic.Int64
	errors   atomic.Int64
	lat      []time.Duration
	bad      []string // answers that break the contract
}

type ackSession struct {
	App pneApp
	S   pneSession
}

func newLedger() *ledger {
	return &ledger{sessions: map[string]ackSession{}, checked: map[string]string{}, callbacks: map[string]string{},
		payments: map[string]int{}, relays: map[string]bool{}}
}

func (l *ledger) count(op string, status int) {
	v, _ := l.statuses.LoadOrStore(fmt.Sprintf("%s %d", op, status), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (l *ledger) summary() string {
	var parts []string
	l.statuses.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sortStrings(parts)
	return strings.Join(parts, ", ")
}

func (l *ledger) badAnswer(format string, args ...any) {
	l.mu.Lock()
	if len(l.bad) < 50 {
		l.bad = append(l.bad, fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

// mix is one workload.
type mix struct {
	n *node
	l *ledger
	// allow503 accepts 503 answers (a store outage) in the right shape.
	allow503 bool
	// lat records latencies.
	lat bool
	seq atomic.Int64
}

// run sends requests from workers until ctx ends.
func (m *mix) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				m.one(ctx, w, i)
			}
		}()
	}
	wg.Wait()
}

// one sends request i of worker w: initiate, check, callback, Voyado
// payment, Smarts relay, Smarts node call, in turn.
func (m *mix) one(ctx context.Context, w, i int) {
	n, l := m.n, m.l
	id := fmt.Sprintf("%d-%d-%s", w, i, randHex(3))
	var r resp
	var op string
	switch i % 6 {
	case 0:
		op = "initiate"
		a := newPneApp()
		inv := "mx-" + id
		r = n.doCtx(ctx, "POST", "/pne/sale/initiate-sale", hdr("X-Test-Invoice", inv), a.initiateBody(1000))
		if r.Err == nil && r.Status == 200 {
			var out struct {
				InvoiceID string
				Session   struct{ Nonce, Signature string }
			}
			json.Unmarshal(r.Body, &out)
			if out.InvoiceID != inv || out.Session.Signature != dapiSign(a.AccessToken, a.Serial, endpointID, out.Session.Nonce, inv, "1000", "EUR") {
				l.badAnswer("initiate %s: %s", inv, r.Body)
			}
			l.mu.Lock()
			l.sessions[inv] = ackSession{a, pneSession{inv, out.Session.Nonce, out.Session.Signature}}
			l.unchecked = append(l.unchecked, inv)
			l.mu.Unlock()
		}
	case 1:
		op = "check"
		l.mu.Lock()
		if len(l.unchecked) == 0 {
			l.mu.Unlock()
			return
		}
		s := l.sessions[l.unchecked[0]]
		l.unchecked = l.unchecked[1:]
		l.mu.Unlock()
		tok := "tok-" + randHex(10)
		r = n.doCtx(ctx, "POST", "/pne/sale/"+s.S.Invoice+"/check", nil, s.App.checkBody(s.S.Nonce, s.S.Signature, tok))
		l.mu.Lock()
		if r.Err == nil && r.Status == 200 {
			l.checked[s.S.Invoice] = tok
		} else if r.Err != nil || r.Status >= 500 {
			// In doubt: the token may have been stored before the answer was lost.
			l.checked[s.S.Invoice] = "?"
		}
		l.mu.Unlock()
	case 2:
		op = "callback"
		order, inv := "o-"+id, "mx-cb-"+id
		r = n.doCtx(ctx, "GET", "/pne/callback?"+callbackQuery("approved", order, inv), nil, nil)
		if r.Err == nil && r.Status == 200 {
			l.mu.Lock()
			l.callbacks[order] = inv
			l.mu.Unlock()
		}
	case 3:
		op = "payment"
		k := int(m.seq.Add(1))
		key := "vp-" + id
		r = n.payCtx(ctx, key, paymentBody(k))
		if r.Err == nil && r.Status == 202 {
			l.mu.Lock()
			l.payments[key] = k
			l.mu.Unlock()
		}
	case 4:
		op = "relay"
		key := "sr-" + id
		h := hdr("accessToken", smartsBackend, "Idempotency-Key", key)
		r = n.doCtx(ctx, "POST", "/smarts/gateway/control/result", h, []byte(controlResult))
		if r.Err == nil && r.Status == 202 {
			l.mu.Lock()
			l.relays[key] = true
			l.mu.Unlock()
		}
	case 5:
		op = "node"
		r = n.doCtx(ctx, "POST", "/smarts/product/search/barcode", hdr("accessToken", nodeTokenA), []byte(`{"type":"SELF_SERVICE","barcode":"4740012345678","langCode":"ET"}`))
	}
	if r.Err != nil {
		if ctx.Err() == nil {
			l.errors.Add(1)
		}
		return
	}
	l.count(op, r.Status)
	if m.lat {
		l.mu.Lock()
		l.lat = append(l.lat, r.Dur)
		l.mu.Unlock()
	}
	switch {
	case r.Status < 300:
	case r.Status == 503 && m.allow503:
		if op == "initiate" || op == "check" || op == "callback" {
			if code, err := dapiError(r); err != nil || code != "SERVER_UNAVAILABLE/kassa.store_unavailable" {
				l.badAnswer("%s: 503 %v %s", op, err, r.Body)
			}
		} else if _, err := testenv.CheckJSONError(r.Header, r.Body); err != nil {
			l.badAnswer("%s: 503 %v %s", op, err, r.Body)
		}
	default:
		l.badAnswer("%s: %d %s", op, r.Status, trunc(string(r.Body), 200))
	}
}

func (n *node) payCtx(ctx context.Context, idem string, body []byte) resp {
	h := hdr("Api-Key", voyadoBackend)
	if idem != "" {
		h.Set("Idempotency-Key", idem)
	}
	return n.doCtx(ctx, "POST", v2Payment+"?"+v2Query, h, body)
}

// verifyDelivered waits until every acknowledged callback, payment and
// relay has been delivered, then checks: no duplicate under another key
// (a repeat is only ever the same webhook-id or Idempotency-Key), every
// event signed, and every session still checkable.
func verifyDelivered(t *testing.T, n *node, l *ledger, timeout time.Duration) (dups int) {
	t.Helper()
	ps := n.ps
	l.mu.Lock()
	callbacks, payments, relays := len(l.callbacks), len(l.payments), len(l.relays)
	l.mu.Unlock()
	// finals maps orderid -> webhook-ids of the acknowledged payment.final
	// events, decoding only the events received since the last call.
	out, seen := map[string][]string{}, 0
	finals := func() map[string][]string {
		reqs := ps.events.requests()
		for _, r := range reqs[seen:] {
			if r.Status >= 300 {
				continue
			}
			var ev struct {
				Type string
				Data struct{ Orderid string }
			}
			json.Unmarshal(r.Body, &ev)
			if ev.Type == "payment.final" {
				out[ev.Data.Orderid] = append(out[ev.Data.Orderid], r.Header.Get("webhook-id"))
			}
		}
		seen = len(reqs)
		return out
	}
	missing := func() (string, int) {
		f, c, s := finals(), ps.cluster.acked(), ps.smartsGW.acked()
		miss := 0
		first := ""
		l.mu.Lock()
		defer l.mu.Unlock()
		for o := range l.callbacks {
			if len(f[o]) == 0 {
				miss++
				first = "payment.final of order " + o
			}
		}
		for k := range l.payments {
			if c[k] == 0 {
				miss++
				first = "payment " + k
			}
		}
		for k := range l.relays {
			if s[k] == 0 {
				miss++
				first = "relay " + k
			}
		}
		return first, miss
	}
	deadline := time.Now().Add(timeout)
	poll := 100 * time.Millisecond
	if callbacks+payments+relays > 10000 {
		poll = 2 * time.Second
	}
	for {
		first, miss := missing()
		if miss == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged items never delivered (e.g. %s)", miss, first)
		}
		time.Sleep(poll)
	}
	// A repeat carries the same key; one payment, one callback never under two keys.
	for o, ids := range finals() {
		distinct := map[string]bool{}
		for _, id := range ids {
			distinct[id] = true
		}
		if len(distinct) > 1 {
			t.Errorf("order %s: payment.final delivered under %d webhook-ids %v", o, len(distinct), ids)
		}
		dups += len(ids) - 1
	}
	byProduct := map[string]map[string]bool{}
	for _, r := range ps.cluster.requests() {
		if r.Status >= 300 {
			continue
		}
		var b struct{ Lines []struct{ ProductKey string } }
		json.Unmarshal(r.Body, &b)
		if len(b.Lines) == 1 {
			k := b.Lines[0].ProductKey
			if byProduct[k] == nil {
				byProduct[k] = map[string]bool{}
			}
			byProduct[k][r.Header.Get("Idempotency-Key")] = true
		}
	}
	for p, keys := range byProduct {
		if len(keys) > 1 {
			t.Errorf("payment %s delivered under %d keys", p, len(keys))
		}
	}
	for _, c := range ps.cluster.acked() {
		dups += c - 1
	}
	for _, c := range ps.smartsGW.acked() {
		dups += c - 1
	}
	ps.verifiedEvents(t)
	t.Logf("delivered: %d callbacks (payment.final), %d payments, %d relays; %d repeats, each under its own key", callbacks, payments, relays, dups)
	return dups
}

// verifySessions checks every acknowledged session: a checked one answers
// its own token again, an unchecked one accepts a first check.
func verifySessions(t *testing.T, n *node, l *ledger) {
	t.Helper()
	l.mu.Lock()
	sessions := make(map[string]ackSession, len(l.sessions))
	for k, v := range l.sessions {
		sessions[k] = v
	}
	checked := make(map[string]string, len(l.checked))
	for k, v := range l.checked {
		checked[k] = v
	}
	l.mu.Unlock()
	lost := 0
	for inv, s := range sessions {
		tok := checked[inv]
		if tok == "" || tok == "?" {
			tok = "tok-" + randHex(10)
		}
		r := n.do("POST", "/pne/sale/"+inv+"/check", nil, s.App.checkBody(s.S.Nonce, s.S.Signature, tok))
		if checked[inv] == "?" && r.Status == 403 && strings.Contains(string(r.Body), "kassa.token_mismatch") {
			continue // the check in doubt had been stored
		}
		if r.Err != nil || r.Status != 200 {
			lost++
			if lost <= 5 {
				t.Errorf("session %s (acknowledged; checked with %q): check %v %d %s", inv, checked[inv], r.Err, r.Status, r.Body)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged sessions lost or changed", lost, len(sessions))
	}
	t.Logf("%d acknowledged sessions all found (%d had been checked)", len(sessions), countNonEmpty(checked))
}

func countNonEmpty(m map[string]string) int {
	n := 0
	for _, v := range m {
		if v != "" && v != "?" {
			n++
		}
	}
	return n
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
