package hardening_test

// Bugs found by this suite, each kept as a failing test until fixed
// (RELIABILITY.md, "Findings").

import (
	"net/url"
	"testing"
)

// TestAmountAbove2p53IsRefused (finding 1): the README makes
// transaction.amountCentis 1 to 2^53, but the range is checked on the
// float64 value, and 2^53+1 (9007199254740993) rounds to 2^53: the
// initiate is accepted, and kassa signs and stores the exact integer
// 9007199254740993, outside the documented range. 2^53+2 is refused.
func TestAmountAbove2p53IsRefused(t *testing.T) {
	t.Parallel()
	n := start(t, config{}, newParties(t))
	a := newPneApp()
	s, r := n.initiate(a, "inv-2p53-"+randHex(4), 9007199254740993)
	if r.Status == 400 {
		return
	}
	signed := dapiSign(a.AccessToken, a.Serial, endpointID, s.Nonce, s.Invoice, "9007199254740993", "EUR") == s.Signature
	t.Errorf("amountCentis 9007199254740993 (2^53+1): status %d, want 400 INVALID_REQUEST (range); the signature covers amount 9007199254740993: %v; body %s",
		r.Status, signed, r.Body)
}

// TestCallbackWithNULIsNotAServerError (finding 2): a classic callback
// whose control is valid but whose status, type, orderid or client_orderid
// holds a NUL byte (%00) passes validation, then the store refuses the
// deduplication key (bucket keys must be UTF-8 text without NUL) and kassa
// answers 500 SERVER_FAILED kassa.store. The gateway retries a 5xx, so the
// callback is retried forever and never acknowledged. Expected: 400
// INVALID_REQUEST from validation (or the callback stored under a digest
// of the key).
func TestCallbackWithNULIsNotAServerError(t *testing.T) {
	t.Parallel()
	n := start(t, config{}, newParties(t))
	for _, c := range []struct{ status, typ, order, client string }{
		{"approved", "sale", "1\x00", "nul-client"},
		{"approved", "sale", "nul-order", "x\x00y"},
		{"approved", "sa\x00le", "nul-order-2", "nul-client-2"},
		{"appr\x00oved", "sale", "nul-order-3", "nul-client-3"},
	} {
		q := url.Values{}
		q.Set("status", c.status)
		q.Set("type", c.typ)
		q.Set("orderid", c.order)
		q.Set("client_orderid", c.client)
		q.Set("control", classicControl(c.status, c.order, c.client))
		r := n.do("GET", "/pne/callback?"+q.Encode(), nil, nil)
		if r.Status >= 500 {
			code, _ := dapiError(r)
			t.Errorf("callback %s: status %d (%s), want 400 (or 200): %s", q.Encode(), r.Status, code, r.Body)
		}
	}
	n.mustBeAlive("the callbacks")
}
