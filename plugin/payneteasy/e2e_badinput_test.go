package payneteasy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

// del marks a field to remove in with().
type delMarker struct{}

var del = delMarker{}

// with returns a deep copy of m with the dotted path set to v (or removed).
func with(m map[string]any, path string, v any) map[string]any {
	c := deepCopy(m).(map[string]any)
	cur := c
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	if _, ok := v.(delMarker); ok {
		delete(cur, parts[len(parts)-1])
	} else {
		cur[parts[len(parts)-1]] = v
	}
	return c
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

type badCase struct {
	name   string
	method string
	path   string // under the Caddy base URL
	ct     string // Content-Type; default application/json for bodies
	body   []byte
	chunk  bool // send without Content-Length
	status int
	// cause is the DAPI error cause; "" skips the cause check, "-" skips the
	// whole shape check (an answer Caddy itself gives before kassa runs).
	cause string
	// statusIn, when set, accepts any of these statuses instead of status.
	statusIn []int
	// unrouted also accepts Caddy's own answer to a request that no route
	// matches (200, empty body): Caddy cleans "/pne/sale/../../x" to "/x",
	// outside handle_path /pne/*, so kassa never sees it.
	unrouted bool
}

// badSetup is the state the bad requests are aimed at.
type badSetup struct {
	a1, a2      app
	s1, s2      session
	tok1        string
	clientCard1 string // a1's saved card
	callback    string // a callback already taken (path and query)
}

func prepareBadInputs(t *testing.T, base string, b *backend) badSetup {
	var st badSetup
	st.a1, st.a2 = newApp("sale"), newApp("sale")
	st.s1 = initiateOK(t, base, b, st.a1, 1000, "inv-bad1-"+randHex(4), 0)
	st.tok1 = "tok-" + randHex(8)
	if r := postJSON(t, base+"/pne/sale/"+st.s1.InvoiceID+"/check", st.a1.checkBody(st.s1.Nonce, st.s1.Signature, st.tok1, "")); r.Status != 200 {
		t.Fatalf("setup check: %d %s", r.Status, r.Body)
	}
	if r := postJSON(t, base+"/pne/sale/notification", st.a1.notificationBody(st.tok1, "srv-bad-1")); r.Status != 200 {
		t.Fatalf("setup notification: %d %s", r.Status, r.Body)
	}
	st.callback = strings.TrimPrefix(callbackURL("", "approved", "sale", "555", st.s1.InvoiceID, "10.00"), "/pne")
	if r := do(t, http.MethodGet, base+"/pne"+st.callback, "", nil); r.Status != 200 {
		t.Fatalf("setup callback: %d %s", r.Status, r.Body)
	}
	st.s2 = initiateOK(t, base, b, st.a2, 2000, "inv-bad2-"+randHex(4), 0)
	ev := b.waitEvent(t, "card.mapped", map[string]string{"invoiceId": st.s1.InvoiceID})
	st.clientCard1 = jstr(ev.Decoded, "data.clientCardId")
	b.waitEvent(t, "payment.final", map[string]string{"client_orderid": st.s1.InvoiceID})
	return st
}

func badCases(st badSetup) []badCase {
	a1, a2, s1, s2 := st.a1, st.a2, st.s1, st.s2
	initPath := "/pne/sale/initiate-sale"
	init := map[string]any{
		"consumer":    map[string]any{"device": map[string]any{"serialNumber": "SN-bad"}},
		"transaction": map[string]any{"amountCentis": 1000, "currency": "EUR"},
		"session":     map[string]any{"accessToken": randHex(20)},
	}
	check := func(a app, s session, mut func(map[string]any) map[string]any) []byte {
		m := map[string]any{
			"consumer": map[string]any{"device": map[string]any{"serialNumber": a.Serial}},
			"session":  map[string]any{"accessToken": a.AccessToken, "nonce": s.Nonce, "signature": s.Signature, "token": "tok-" + randHex(8)},
		}
		if mut != nil {
			m = mut(m)
		}
		return mustJSON(m)
	}
	check2 := "/pne/sale/" + s2.InvoiceID + "/check"
	notif := func(a app, tok string, mut func(map[string]any) map[string]any) []byte {
		m := map[string]any{
			"consumer": map[string]any{"device": map[string]any{"serialNumber": a.Serial}},
			"session":  map[string]any{"accessToken": a.AccessToken, "token": tok},
			"sourceCard": map[string]any{"bin": 411111,
				"reference": map[string]any{"serverCardId": "srv-other-" + randHex(3), "uniqueReferenceCardId": 7}},
		}
		if mut != nil {
			m = mut(m)
		}
		return mustJSON(m)
	}
	huge := append([]byte(`{"consumer":{"device":{"serialNumber":"`), bytes.Repeat([]byte("A"), 2<<20)...)
	huge = append(huge, `"}}}`...)
	statusPath := fmt.Sprintf("/pne/dapi/v1/sale/%s/%s/status", endpointID, s1.InvoiceID)
	cbBase := "/pne/callback?type=sale&client_orderid=" + s1.InvoiceID + "&amount=1.00"
	ctl := classicControl("approved", "556", s1.InvoiceID)

	P := http.MethodPost
	return []badCase{
		// Initiate: validation (400 INVALID_REQUEST), nothing reaches the backend.
		{name: "initiate/missing serialNumber", method: P, path: initPath, body: mustJSON(with(init, "consumer.device.serialNumber", del)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/missing accessToken", method: P, path: initPath, body: mustJSON(with(init, "session.accessToken", del)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/missing amountCentis", method: P, path: initPath, body: mustJSON(with(init, "transaction.amountCentis", del)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/missing currency", method: P, path: initPath, body: mustJSON(with(init, "transaction.currency", del)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/empty object", method: P, path: initPath, body: []byte(`{}`), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/empty body", method: P, path: initPath, body: []byte{}, status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/accessToken 129 chars", method: P, path: initPath, body: mustJSON(with(init, "session.accessToken", strings.Repeat("a", 129))), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/accessToken 31 chars", method: P, path: initPath, body: mustJSON(with(init, "session.accessToken", strings.Repeat("a", 31))), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/serialNumber 51 chars", method: P, path: initPath, body: mustJSON(with(init, "consumer.device.serialNumber", strings.Repeat("s", 51))), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/serialNumber empty", method: P, path: initPath, body: mustJSON(with(init, "consumer.device.serialNumber", "")), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/imei 13 chars", method: P, path: initPath, body: mustJSON(with(init, "consumer.device.imei", "1234567890123")), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/lat 91", method: P, path: initPath, body: mustJSON(with(init, "location.lat", 91)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/amountCentis string", method: P, path: initPath, body: mustJSON(with(init, "transaction.amountCentis", "1000")), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/amountCentis fraction", method: P, path: initPath, body: mustJSON(with(init, "transaction.amountCentis", 10.5)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/amountCentis zero", method: P, path: initPath, body: mustJSON(with(init, "transaction.amountCentis", 0)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/amountCentis negative", method: P, path: initPath, body: mustJSON(with(init, "transaction.amountCentis", -5)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/currency lower case", method: P, path: initPath, body: mustJSON(with(init, "transaction.currency", "eur")), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/currency number", method: P, path: initPath, body: mustJSON(with(init, "transaction.currency", 978)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/serialNumber null", method: P, path: initPath, body: mustJSON(with(init, "consumer.device.serialNumber", nil)), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/device is a string", method: P, path: initPath, body: mustJSON(with(init, "consumer.device", "SN-bad")), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/array body", method: P, path: initPath, body: []byte(`[` + string(mustJSON(init)) + `]`), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/invalid JSON", method: P, path: initPath, body: []byte(`{"consumer":{"device":{"serialNumber":"x"}`), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/trailing garbage", method: P, path: initPath, body: append(mustJSON(init), []byte(` {}`)...), status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/duplicate amountCentis", method: P, path: initPath,
			body:   []byte(`{"consumer":{"device":{"serialNumber":"SN-dup"}},"transaction":{"amountCentis":1,"amountCentis":2,"currency":"EUR"},"session":{"accessToken":"` + randHex(20) + `"}}`),
			status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/duplicate session object", method: P, path: initPath,
			body:   []byte(`{"consumer":{"device":{"serialNumber":"SN-dup"}},"transaction":{"amountCentis":1,"currency":"EUR"},"session":{"accessToken":"` + randHex(20) + `"},"session":{"accessToken":"` + randHex(20) + `"}}`),
			status: 400, cause: "INVALID_REQUEST"},
		{name: "initiate/body over the limit", method: P, path: initPath, body: huge, status: 413, cause: "INVALID_REQUEST"},
		{name: "initiate/chunked body over the limit", method: P, path: initPath, body: huge, chunk: true, status: 413, cause: "INVALID_REQUEST"},
		{name: "initiate/form content type", method: P, path: initPath, ct: "application/x-www-form-urlencoded", body: mustJSON(init), statusIn: []int{400, 415}, cause: "INVALID_REQUEST"},
		{name: "initiate/wrong method", method: http.MethodGet, path: initPath, status: 405, cause: ""},
		{name: "initiate/flow mismatch in path", method: P, path: "/pne/sale/initiate-transfer", body: mustJSON(init), status: 404, cause: ""},

		// Check.
		{name: "check/unknown invoice", method: P, path: "/pne/sale/inv-nope-" + randHex(4) + "/check", body: check(a2, s2, nil), status: 403, cause: "FILTERED"},
		{name: "check/other flow's invoice", method: P, path: "/pne/transfer/" + s2.InvoiceID + "/check", body: check(a2, s2, nil), status: 403, cause: "FILTERED"},
		{name: "check/missing token", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.token", del) }), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/token 15 chars", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.token", "tok-0123456789a") }), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/token 37 chars", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.token", strings.Repeat("t", 37)) }), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/token a number", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.token", 12345678901234567) }), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/missing nonce", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.nonce", del) }), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/accessToken 129 chars", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.accessToken", strings.Repeat("a", 129)) }), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/clientCardId 129 chars", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any {
			return with(m, "sourceOfFunds.reference.clientCardId", strings.Repeat("c", 129))
		}), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/wrong serial", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "consumer.device.serialNumber", "SN-other") }), status: 403, cause: "FILTERED"},
		{name: "check/wrong accessToken", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.accessToken", randHex(32)) }), status: 403, cause: "FILTERED"},
		{name: "check/other consumer's accessToken and serial", method: P, path: check2, body: check(a1, s2, nil), status: 403, cause: "FILTERED"},
		{name: "check/wrong nonce", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.nonce", randHex(32)) }), status: 403, cause: "FILTERED"},
		{name: "check/nonce of another session", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any { return with(m, "session.nonce", s1.Nonce) }), status: 403, cause: "FILTERED"},
		{name: "check/wrong signature", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any {
			return with(m, "session.signature", dapiSign(a2.AccessToken, a2.Serial, endpointID, s2.Nonce, s2.InvoiceID, "1", "EUR"))
		}), status: 403, cause: "FILTERED"},
		{name: "check/unknown clientCardId", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any {
			return with(m, "sourceOfFunds.reference.clientCardId", randHex(16))
		}), status: 403, cause: "FILTERED"},
		{name: "check/another consumer's clientCardId", method: P, path: check2, body: check(a2, s2, func(m map[string]any) map[string]any {
			return with(m, "sourceOfFunds.reference.clientCardId", st.clientCard1)
		}), status: 403, cause: "FILTERED"},
		{name: "check/replayed with another session.token", method: P, path: "/pne/sale/" + s1.InvoiceID + "/check", body: check(a1, s1, nil), status: 403, cause: "FILTERED"},
		{name: "check/duplicate token keys", method: P, path: check2,
			body:   []byte(fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"session":{"accessToken":%q,"nonce":%q,"signature":%q,"token":"tok-aaaaaaaaaaaaaaaa","token":"tok-bbbbbbbbbbbbbbbb"}}`, a2.Serial, a2.AccessToken, s2.Nonce, s2.Signature)),
			status: 400, cause: "INVALID_REQUEST"},
		{name: "check/invalid JSON", method: P, path: check2, body: []byte(`{"session":`), status: 400, cause: "INVALID_REQUEST"},
		{name: "check/body over the limit", method: P, path: check2, body: huge, status: 413, cause: "INVALID_REQUEST"},
		{name: "check/wrong method", method: http.MethodPut, path: check2, body: check(a2, s2, nil), status: 405, cause: ""},
		{name: "check/path traversal out of the mount", method: P, path: "/pne/sale/..%2F..%2Fx/check", body: check(a2, s2, nil), statusIn: []int{400, 403, 404}, unrouted: true, cause: ""},
		{name: "check/path traversal inside the mount", method: P, path: "/pne/sale/..%2F" + s2.InvoiceID + "/check", body: check(a2, s2, nil), statusIn: []int{400, 403, 404}, cause: ""},
		{name: "check/dot-dot invoiceId", method: P, path: "/pne/sale/%2E%2E/check", body: check(a2, s2, nil), statusIn: []int{400, 403, 404}, unrouted: true, cause: ""},
		{name: "check/NUL in invoiceId", method: P, path: "/pne/sale/a%00b/check", body: check(a2, s2, nil), statusIn: []int{400, 404}, cause: ""},
		{name: "check/slash in invoiceId", method: P, path: "/pne/sale/" + s2.InvoiceID + "%2Fx/check", body: check(a2, s2, nil), statusIn: []int{400, 403, 404}, cause: ""},
		{name: "check/invoiceId 129 chars", method: P, path: "/pne/sale/" + strings.Repeat("i", 129) + "/check", body: check(a2, s2, nil), statusIn: []int{400, 403, 404}, cause: ""},

		// Card mapping notification.
		{name: "notification/unknown token", method: P, path: "/pne/sale/notification", body: notif(a1, "tok-"+randHex(8), nil), status: 403, cause: "FILTERED"},
		{name: "notification/token of an unchecked session", method: P, path: "/pne/sale/notification", body: notif(a2, "tok-"+randHex(8), nil), status: 403, cause: "FILTERED"},
		{name: "notification/wrong serial", method: P, path: "/pne/sale/notification", body: notif(a1, st.tok1, func(m map[string]any) map[string]any { return with(m, "consumer.device.serialNumber", "SN-other") }), status: 403, cause: "FILTERED"},
		{name: "notification/wrong accessToken", method: P, path: "/pne/sale/notification", body: notif(a1, st.tok1, func(m map[string]any) map[string]any { return with(m, "session.accessToken", randHex(32)) }), status: 403, cause: "FILTERED"},
		{name: "notification/other flow", method: P, path: "/pne/transfer/notification", body: notif(a1, st.tok1, nil), status: 403, cause: "FILTERED"},
		{name: "notification/missing token", method: P, path: "/pne/sale/notification", body: notif(a1, st.tok1, func(m map[string]any) map[string]any { return with(m, "session.token", del) }), status: 400, cause: "INVALID_REQUEST"},
		{name: "notification/serverCardId 65 chars", method: P, path: "/pne/sale/notification", body: notif(a1, st.tok1, func(m map[string]any) map[string]any {
			return with(m, "sourceCard.reference.serverCardId", strings.Repeat("s", 65))
		}), status: 400, cause: "INVALID_REQUEST"},
		{name: "notification/bin a string", method: P, path: "/pne/sale/notification", body: notif(a1, st.tok1, func(m map[string]any) map[string]any { return with(m, "sourceCard.bin", "411111") }), status: 400, cause: "INVALID_REQUEST"},
		{name: "notification/body over the limit", method: P, path: "/pne/sale/notification", body: huge, status: 413, cause: "INVALID_REQUEST"},
		{name: "notification/wrong method", method: http.MethodGet, path: "/pne/sale/notification", status: 405, cause: ""},

		// Classic callback.
		{name: "callback/replayed", method: http.MethodGet, path: "/pne" + st.callback, status: 200, cause: "-"},
		{name: "callback/bad control", method: http.MethodGet, path: cbBase + "&status=approved&orderid=556&control=" + strings.Repeat("0", 40), status: 403, cause: "FILTERED"},
		{name: "callback/control of another status", method: http.MethodGet, path: cbBase + "&status=declined&orderid=556&control=" + ctl, status: 403, cause: "FILTERED"},
		{name: "callback/control with the DAPI key recipe", method: http.MethodGet, path: cbBase + "&status=approved&orderid=556&control=" + strings.ToLower(dapiSign("approved", "556", s1.InvoiceID)), status: 403, cause: "FILTERED"},
		{name: "callback/missing control", method: http.MethodGet, path: cbBase + "&status=approved&orderid=556", status: 400, cause: "INVALID_REQUEST"},
		{name: "callback/control not hex", method: http.MethodGet, path: cbBase + "&status=approved&orderid=556&control=" + strings.Repeat("z", 40), status: 400, cause: "INVALID_REQUEST"},
		{name: "callback/missing status", method: http.MethodGet, path: cbBase + "&orderid=556&control=" + ctl, status: 400, cause: "INVALID_REQUEST"},
		{name: "callback/status given twice", method: http.MethodGet, path: cbBase + "&status=approved&status=declined&orderid=556&control=" + ctl, status: 400, cause: "INVALID_REQUEST"},
		{name: "callback/wrong method", method: P, path: "/pne" + st.callback, status: 405, cause: ""},

		// Status relay refusals: never reach the gateway.
		{name: "status/wrong endpointId", method: P, path: fmt.Sprintf("/pne/dapi/v1/sale/2222/%s/status", s1.InvoiceID), body: a1.statusBody(st.tok1), status: 403, cause: "FILTERED"},
		{name: "status/missing token", method: P, path: statusPath, body: mustJSON(map[string]any{"session": map[string]any{"accessToken": a1.AccessToken}}), status: 400, cause: "INVALID_REQUEST"},
		{name: "status/invalid JSON", method: P, path: statusPath, body: []byte(`{`), status: 400, cause: "INVALID_REQUEST"},
		{name: "status/body over the limit", method: P, path: statusPath, body: huge, chunk: true, status: 413, cause: "INVALID_REQUEST"},
		{name: "status/wrong method", method: http.MethodGet, path: statusPath, status: 405, cause: ""},
		{name: "status/traversal in invoiceId", method: P, path: "/pne/dapi/v1/sale/1111/..%2Fadmin/status", body: a1.statusBody(st.tok1), statusIn: []int{400, 403, 404}, cause: ""},

		// Perform is never relayed.
		{name: "perform/sale", method: P, path: fmt.Sprintf("/pne/dapi/v1/sale/%s/%s", endpointID, s1.InvoiceID),
			body:   []byte(`{"sourceOfFunds":{"card":{"number":"4111111111111111","securityCode":"123","expiry":{"month":12,"year":2030}}}}`),
			status: 404, cause: ""},
		{name: "perform/transfer", method: P, path: fmt.Sprintf("/pne/dapi/v1/transfer/%s/%s", endpointID, s1.InvoiceID), body: []byte(`{}`), status: 404, cause: ""},

		// Unknown paths.
		{name: "unknown path", method: P, path: "/pne/sale/whatever", body: []byte(`{}`), status: 404, cause: ""},
		{name: "unknown flow", method: P, path: "/pne/refund/initiate-refund", body: mustJSON(init), status: 404, cause: ""},
	}
}

func sendBad(t *testing.T, base string, c badCase) reply {
	t.Helper()
	var rd io.Reader
	if c.body != nil {
		rd = bytes.NewReader(c.body)
		if c.chunk {
			rd = io.MultiReader(bytes.NewReader(c.body)) // hides the length
		}
	}
	req, err := http.NewRequest(c.method, base+c.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		ct := c.ct
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.chunk {
		req.ContentLength = -1
	}
	return doReq(t, req)
}

func checkBad(t *testing.T, c badCase, r reply) {
	t.Helper()
	if c.unrouted && r.Status == 200 && len(r.Body) == 0 {
		return
	}
	if len(c.statusIn) > 0 {
		ok := false
		for _, s := range c.statusIn {
			ok = ok || r.Status == s
		}
		if !ok {
			t.Errorf("status %d, want one of %v; body %.300s", r.Status, c.statusIn, r.Body)
		}
	} else if r.Status != c.status {
		t.Errorf("status %d, want %d; body %.300s", r.Status, c.status, r.Body)
	}
	if c.cause != "-" && r.Status != 200 {
		checkDAPIShape(t, r, c.cause)
	}
	if r.Status == 405 && r.Header.Get("Allow") == "" {
		t.Errorf("405 without an Allow header")
	}
}

// TestBadInput sends every class of bad request and checks the answer
// (status, DAPI error shape, cause) and that nothing reached the backend or
// the gateway and nothing changed in the store. On PostgreSQL the store is
// compared after each request; on bolt (locked while Caddy runs) once,
// before and after all of them, by stopping Caddy.
func TestBadInput(t *testing.T) {
	for _, kind := range []string{"postgres", "bolt"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			secret, key := newEventsSecret()
			e := env{Secret: secret, Key: key}
			if kind == "postgres" {
				e.DSN = pgtest.Start(t)
			}
			b := newBackend(t, key)
			g := newGateway(t)
			g.setAnswer(func(recorded) (int, string) { return 200, `{}` })
			in := startCaddy(t, conf{Engine: "native", Store: kind, Backend: b.Host(), Gateway: g.Base(), Events: true}, e)
			st := prepareBadInputs(t, in.URL, b)
			if t.Failed() {
				return
			}
			time.Sleep(200 * time.Millisecond) // let deliveries settle

			var before map[string]string
			snap := func() map[string]string {
				if kind == "postgres" {
					return storetest.Snapshot(t, pgStore(t, e.DSN))
				}
				in.Stop()
				defer in.Restart()
				return boltSnapshot(t, filepath.Join(in.Dir, "kassa.db"))
			}
			before = snap()
			nEvents := len(b.allEvents())
			for _, c := range badCases(st) {
				t.Run(c.name, func(t *testing.T) {
					nb, ng := b.initiateCount(), g.count()
					var pre map[string]string
					if kind == "postgres" {
						pre = storetest.Snapshot(t, pgStore(t, e.DSN))
					}
					r := sendBad(t, in.URL, c)
					checkBad(t, c, r)
					if d := b.initiateCount() - nb; d != 0 {
						t.Errorf("the backend received %d initiate requests", d)
					}
					if d := g.count() - ng; d != 0 {
						t.Errorf("the gateway received %d requests", d)
					}
					if kind == "postgres" {
						if d := storetest.Diff(pre, storetest.Snapshot(t, pgStore(t, e.DSN))); d != "" {
							t.Errorf("the store changed:\n%s", d)
						}
					}
				})
			}
			time.Sleep(300 * time.Millisecond)
			if n := len(b.allEvents()); n != nEvents {
				t.Errorf("%d events delivered during the bad requests, want none", n-nEvents)
			}
			if d := storetest.Diff(before, snap()); d != "" {
				t.Errorf("the store changed across the bad requests:\n%s", d)
			}

			// The sessions survived all that: the untouched one checks fine,
			// with its signature in lower case (any case is accepted on input).
			tok := "tok-" + randHex(8)
			r := postJSON(t, in.URL+"/pne/sale/"+st.s2.InvoiceID+"/check", st.a2.checkBody(st.s2.Nonce, strings.ToLower(st.s2.Signature), tok, ""))
			if r.Status != 200 {
				t.Fatalf("check after the bad requests: %d %s", r.Status, r.Body)
			}
			checkCheckAnswer(t, r, st.a2, st.s2, tok, "")
			// And the checked one still answers its own token.
			r = postJSON(t, in.URL+"/pne/sale/"+st.s1.InvoiceID+"/check", st.a1.checkBody(st.s1.Nonce, st.s1.Signature, st.tok1, ""))
			if r.Status != 200 {
				t.Errorf("repeated check of the first session: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestExpiredSession: a check after session_ttl is refused with 403
// FILTERED and stores nothing.
func TestExpiredSession(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key, DSN: pgtest.Start(t)}
	b := newBackend(t, key)
	g := newGateway(t)
	in := startCaddy(t, conf{Engine: "native", Store: "postgres", Backend: b.Host(), Gateway: g.Base(), Events: true, Extra: "session_ttl 1s"}, e)
	a := newApp("sale")
	s := initiateOK(t, in.URL, b, a, 100, "inv-exp-"+randHex(4), 0)
	time.Sleep(1300 * time.Millisecond)
	st := pgStore(t, e.DSN)
	before := storetest.Snapshot(t, st)
	tok := "tok-" + randHex(8)
	r := postJSON(t, in.URL+"/pne/sale/"+s.InvoiceID+"/check", a.checkBody(s.Nonce, s.Signature, tok, ""))
	assertDAPIError(t, r, 403, "FILTERED")
	r = postJSON(t, in.URL+"/pne/sale/notification", a.notificationBody(tok, "srv-x"))
	assertDAPIError(t, r, 403, "FILTERED")
	if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
		t.Errorf("the store changed:\n%s", d)
	}
	if n := len(b.allEvents()); n != 0 {
		t.Errorf("%d events, want none", n)
	}
}

// TestSessionTokenBindsOneInvoice: the card mapping notification carries no
// invoiceId; kassa finds the sale by the session.token it learned at Check
// (PROVIDERS.md 1.4). Once a token is bound to an invoice, a Check of
// another invoice with the same token must not re-bind it, or the
// notification for the first sale is answered and reported for the second.
func TestSessionTokenBindsOneInvoice(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key, DSN: pgtest.Start(t)}
	b := newBackend(t, key)
	g := newGateway(t)
	in := startCaddy(t, conf{Engine: "native", Store: "postgres", Backend: b.Host(), Gateway: g.Base(), Events: true}, e)

	a := newApp("sale") // one consumer, two sales
	s1 := initiateOK(t, in.URL, b, a, 100, "inv-tok1-"+randHex(4), 0)
	s2 := initiateOK(t, in.URL, b, a, 200, "inv-tok2-"+randHex(4), 0)
	tok := "tok-" + randHex(8)
	if r := postJSON(t, in.URL+"/pne/sale/"+s1.InvoiceID+"/check", a.checkBody(s1.Nonce, s1.Signature, tok, "")); r.Status != 200 {
		t.Fatalf("check 1: %d %s", r.Status, r.Body)
	}
	st := pgStore(t, e.DSN)
	before := storetest.Snapshot(t, st)
	r := postJSON(t, in.URL+"/pne/sale/"+s2.InvoiceID+"/check", a.checkBody(s2.Nonce, s2.Signature, tok, ""))
	if r.Status != 403 {
		t.Errorf("check of a second invoice with a token already bound to %s: %d %s, want 403 FILTERED", s1.InvoiceID, r.Status, r.Body)
	} else {
		checkDAPIShape(t, r, "FILTERED")
	}
	if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
		t.Errorf("the store changed:\n%s", d)
	}

	// The gateway's notification for the first sale must still be the
	// first sale's.
	r = postJSON(t, in.URL+"/pne/sale/notification", a.notificationBody(tok, "srv-tok-1"))
	if r.Status != 200 {
		t.Fatalf("notification: %d %s", r.Status, r.Body)
	}
	if got := jstr(r.JSON, "invoiceId"); got != s1.InvoiceID {
		t.Errorf("notification for token %s answered for invoice %s, want %s", tok, got, s1.InvoiceID)
	}
	if want := dapiSign(s1.Nonce, endpointID, s1.InvoiceID); jstr(r.JSON, "session.checkSignature") != want {
		t.Errorf("notification checkSignature %s, want %s (first sale's nonce and invoice)", jstr(r.JSON, "session.checkSignature"), want)
	}
	b.waitEvent(t, "card.mapped", map[string]string{"invoiceId": jstr(r.JSON, "invoiceId")})
	if _, ok := b.findEvent("card.mapped", map[string]string{"invoiceId": s1.InvoiceID}); !ok {
		t.Errorf("card.mapped was reported for the wrong invoice: %v", string(b.allEvents()[0].Body))
	}
}
