package payneteasy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

// downSite mounts a second payneteasy handler whose gateway and backend
// are a closed port.
func downSite(deadPort int) string {
	return fmt.Sprintf(`handle_path /down/* {
		kassa payneteasy {
			endpoint_id %s
			control_key {env.PNE_CONTROL_KEY}
			gateway http://127.0.0.1:%d/paynet
			gateway_timeout 1s
			name down
		}
		reverse_proxy 127.0.0.1:%d
	}`, endpointID, deadPort, deadPort)
}

// TestStatusRelayGatewayFailures: a slow gateway gives 504 within the
// gateway_timeout, a gateway answering garbage or an answer that breaks
// the status response rules gives 502 SERVER_FAILED; none of them changes
// the session or sends an event. The gateway's own DAPI errors pass
// through; valid answers pass through and record the state.
func TestStatusRelayGatewayFailures(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key, DSN: pgtest.Start(t)}
	b := newBackend(t, key)
	g := newGateway(t)
	dead := testenv.FreePort(t)
	in := startCaddy(t, conf{Engine: "native", Store: "postgres", Backend: b.Host(), Gateway: g.Base(), Events: true,
		Extra: "gateway_timeout 1s", Site: downSite(dead)}, e)

	a := newApp("sale")
	s := initiateOK(t, in.URL, b, a, 700, "inv-gw-"+randHex(4), 0)
	tok := "tok-" + randHex(8)
	if r := postJSON(t, in.URL+"/pne/sale/"+s.InvoiceID+"/check", a.checkBody(s.Nonce, s.Signature, tok, "")); r.Status != 200 {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	statusURL := fmt.Sprintf("%s/pne/dapi/v1/sale/%s/%s/status", in.URL, endpointID, s.InvoiceID)
	approved := func(extra string) string {
		return fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":"APPROVED"%s}`, s.InvoiceID, tok, extra)
	}
	st := pgStore(t, e.DSN)

	failures := []struct {
		name     string
		status   int
		body     string
		sleep    time.Duration
		want     int
		cause    string
		maxTaken time.Duration
	}{
		{name: "slow gateway", status: 200, body: approved(`,"bankOrderId":"b1"`), sleep: 2500 * time.Millisecond, want: 504, cause: "SERVER_UNAVAILABLE", maxTaken: 2400 * time.Millisecond},
		{name: "garbage", status: 200, body: `<html>not json</html>`, want: 502, cause: "SERVER_FAILED"},
		{name: "empty 200", status: 200, body: ``, want: 502, cause: "SERVER_FAILED"},
		{name: "HTML 500", status: 500, body: `<html>oops</html>`, want: 502, cause: "SERVER_FAILED"},
		{name: "APPROVED without bankOrderId", status: 200, body: approved(""), want: 502, cause: "SERVER_FAILED"},
		{name: "DECLINED without bankOrderId", status: 200, body: fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":"DECLINED"}`, s.InvoiceID, tok), want: 502, cause: "SERVER_FAILED"},
		{name: "REDIRECT_REQUEST without redirectUrl", status: 200, body: fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":"REDIRECT_REQUEST"}`, s.InvoiceID, tok), want: 502, cause: "SERVER_FAILED"},
		{name: "unknown state", status: 200, body: fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":"DONE","bankOrderId":"b"}`, s.InvoiceID, tok), want: 502, cause: "SERVER_FAILED"},
		{name: "missing invoiceId", status: 200, body: fmt.Sprintf(`{"session":{"token":%q},"state":"APPROVED","bankOrderId":"b"}`, tok), want: 502, cause: "SERVER_FAILED"},
		{name: "bankOrderId 129 chars", status: 200, body: approved(`,"bankOrderId":"` + strings.Repeat("b", 129) + `"`), want: 502, cause: "SERVER_FAILED"},
		{name: "duplicate state keys", status: 200, body: fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":"DECLINED","state":"APPROVED","bankOrderId":"b"}`, s.InvoiceID, tok), want: 502, cause: "SERVER_FAILED"},
		{name: "answer over the body limit", status: 200, body: approved(`,"bankOrderId":"b","errorMessage":"` + strings.Repeat("x", 2<<20) + `"`), want: 502, cause: "SERVER_FAILED"},
	}
	for _, c := range failures {
		t.Run(c.name, func(t *testing.T) {
			g.setAnswer(func(recorded) (int, string) {
				if c.sleep > 0 {
					time.Sleep(c.sleep)
				}
				return c.status, c.body
			})
			before := storetest.Snapshot(t, st)
			n := g.count()
			start := time.Now()
			r := postJSON(t, statusURL, a.statusBody(tok))
			taken := time.Since(start)
			assertDAPIError(t, r, c.want, c.cause)
			if c.maxTaken > 0 && taken > c.maxTaken {
				t.Errorf("answered after %s, want within %s (gateway_timeout 1s)", taken, c.maxTaken)
			}
			if g.count() != n+1 {
				t.Errorf("gateway saw %d requests, want 1", g.count()-n)
			}
			if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
				t.Errorf("the store changed:\n%s", d)
			}
		})
	}

	t.Run("gateway down", func(t *testing.T) {
		start := time.Now()
		r := postJSON(t, fmt.Sprintf("%s/down/dapi/v1/sale/%s/%s/status", in.URL, endpointID, s.InvoiceID), a.statusBody(tok))
		if time.Since(start) > 5*time.Second {
			t.Errorf("took %s", time.Since(start))
		}
		if r.Status != 502 && r.Status != 503 && r.Status != 504 {
			t.Errorf("status %d, want 502/503/504; %s", r.Status, r.Body)
		}
		checkDAPIShape(t, r, "SERVER_UNAVAILABLE")
	})

	t.Run("gateway error passes through", func(t *testing.T) {
		gwErr := fmt.Sprintf(`{"error":{"cause":"ORDER_NOT_FOUND","code":"gw.404","message":"no such order"},"invoiceId":%q}`, s.InvoiceID)
		g.setAnswer(func(recorded) (int, string) { return 404, gwErr })
		before := storetest.Snapshot(t, st)
		r := postJSON(t, statusURL, a.statusBody(tok))
		if r.Status != 404 || !jsonEqual(r.Body, []byte(gwErr)) {
			t.Errorf("got %d %s, want the gateway's 404 %s", r.Status, r.Body, gwErr)
		}
		if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
			t.Errorf("the store changed:\n%s", d)
		}
	})

	time.Sleep(300 * time.Millisecond)
	if n := len(b.allEvents()); n != 0 {
		t.Errorf("%d events after failed relays, want none: %s", n, b.allEvents()[0].Body)
	}

	// Valid answers pass through unchanged, each state change once.
	for _, step := range []struct{ state, extra string }{
		{"PROCESSING", ""},
		{"REDIRECT_REQUEST", `,"redirectUrl":"https://acs.example/3ds?x=1"`},
		{"REDIRECT_REQUEST", `,"redirectUrl":"https://acs.example/3ds?x=1"`},
		{"DECLINED", `,"bankOrderId":"bank-d","errorCode":5,"errorMessage":"Do not honor"`},
	} {
		ans := fmt.Sprintf(`{"invoiceId":%q,"session":{"token":%q},"state":%q%s}`, s.InvoiceID, tok, step.state, step.extra)
		g.setAnswer(func(recorded) (int, string) { return 200, ans })
		r := postJSON(t, statusURL, a.statusBody(tok))
		if r.Status != 200 || !jsonEqual(r.Body, []byte(ans)) {
			t.Errorf("%s: got %d %s, want %s", step.state, r.Status, r.Body, ans)
		}
	}
	for _, state := range []string{"PROCESSING", "REDIRECT_REQUEST", "DECLINED"} {
		b.waitEvent(t, "status.changed", map[string]string{"invoiceId": s.InvoiceID, "state": state})
	}
	time.Sleep(300 * time.Millisecond)
	if n := b.countEvents("status.changed", map[string]string{"invoiceId": s.InvoiceID}); n != 3 {
		t.Errorf("%d status.changed events, want 3", n)
	}
	b.assertNoDuplicateDeliveries(t)
}

// TestBackendDecides: the merchant backend approves or rejects initiate
// (INTERFACE.md 3): a non-2xx is the app's answer with cause FILTERED and
// the backend's status; a backend that is down is 502; a 2xx answer that
// breaks the contract is 502 and never signed.
func TestBackendDecides(t *testing.T) {
	t.Parallel()
	secret, key := newEventsSecret()
	e := env{Secret: secret, Key: key, DSN: pgtest.Start(t)}
	b := newBackend(t, key)
	g := newGateway(t)
	dead := testenv.FreePort(t)
	in := startCaddy(t, conf{Engine: "native", Store: "postgres", Backend: b.Host(), Gateway: g.Base(), Events: true, Site: downSite(dead)}, e)
	st := pgStore(t, e.DSN)

	refusals := []struct {
		name    string
		status  int
		body    string
		want    int
		cause   string
		message string
	}{
		{name: "402 limit", status: 402, body: `{"message":"limit"}`, want: 402, cause: "FILTERED", message: "limit"},
		{name: "403 text", status: 403, body: `forbidden`, want: 403, cause: "FILTERED"},
		{name: "409 empty", status: 409, body: ``, want: 409, cause: "FILTERED"},
		{name: "500", status: 500, body: `{"message":"db down"}`, want: 500, cause: "FILTERED"},
		{name: "bad invoiceId", status: 200, body: `{"invoiceId":"../../etc"}`, want: 502, cause: "SERVER_FAILED"},
		{name: "invoiceId a number", status: 200, body: `{"invoiceId":12345}`, want: 502, cause: "SERVER_FAILED"},
		{name: "invoiceId 129 chars", status: 200, body: `{"invoiceId":"` + strings.Repeat("i", 129) + `"}`, want: 502, cause: "SERVER_FAILED"},
		{name: "amount a string", status: 200, body: `{"transaction":{"amountCentis":"5"}}`, want: 502, cause: "SERVER_FAILED"},
		{name: "amount a fraction", status: 200, body: `{"transaction":{"amountCentis":5.5}}`, want: 502, cause: "SERVER_FAILED"},
		{name: "amount zero", status: 200, body: `{"transaction":{"amountCentis":0}}`, want: 502, cause: "SERVER_FAILED"},
		{name: "currency lower case", status: 200, body: `{"transaction":{"currency":"usd"}}`, want: 502, cause: "SERVER_FAILED"},
		{name: "duplicate amount keys", status: 200, body: `{"transaction":{"amountCentis":1,"amountCentis":100000}}`, want: 502, cause: "SERVER_FAILED"},
		{name: "broken JSON object", status: 200, body: `{"invoiceId":"x"`, want: 502, cause: "SERVER_FAILED"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			b.setAnswer(func(recorded) (int, string) { return c.status, c.body })
			before := storetest.Snapshot(t, st)
			a := newApp("sale")
			r := postJSON(t, in.URL+"/pne/sale/initiate-sale", a.initiateBody(100))
			assertDAPIError(t, r, c.want, c.cause)
			if c.message != "" {
				if m := jstr(r.JSON, "error.message"); m != c.message {
					t.Errorf("error.message %q, want the backend's %q", m, c.message)
				}
			}
			if jget(r.JSON, "session") != nil {
				t.Errorf("a refused initiate carries a session: %s", r.Body)
			}
			if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
				t.Errorf("the store changed:\n%s", d)
			}
		})
	}

	t.Run("backend down", func(t *testing.T) {
		before := storetest.Snapshot(t, st)
		a := newApp("sale")
		r := postJSON(t, in.URL+"/down/sale/initiate-sale", a.initiateBody(100))
		if r.Status != 502 {
			t.Errorf("status %d, want 502; %s", r.Status, r.Body)
		}
		checkDAPIShape(t, r, "")
		if c := jstr(r.JSON, "error.cause"); c != "SERVER_FAILED" && c != "SERVER_UNAVAILABLE" {
			t.Errorf("cause %q, want SERVER_FAILED or SERVER_UNAVAILABLE", c)
		}
		if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
			t.Errorf("the store changed:\n%s", d)
		}
	})

	// 2xx without a JSON object approves; kassa picks the invoiceId and
	// signs the request's amount.
	for _, c := range []struct {
		name   string
		status int
		body   string
	}{{"200 text", 200, "OK"}, {"204", 204, ""}, {"201 empty object", 201, "{}"}} {
		t.Run("approve "+c.name, func(t *testing.T) {
			b.setAnswer(func(recorded) (int, string) { return c.status, c.body })
			a := newApp("transfer")
			r := postJSON(t, in.URL+"/pne/transfer/initiate-transfer", a.initiateBody(4321))
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			inv, nonce := jstr(r.JSON, "invoiceId"), jstr(r.JSON, "session.nonce")
			if inv == "" || len(inv) > 128 || strings.ContainsAny(inv, "/?#%") {
				t.Errorf("kassa's own invoiceId %q is not a plain id", inv)
			}
			if want := dapiSign(a.AccessToken, a.Serial, endpointID, nonce, inv, "4321", "EUR"); jstr(r.JSON, "session.signature") != want {
				t.Errorf("signature %s, want %s", jstr(r.JSON, "session.signature"), want)
			}
		})
	}

	t.Run("backend currency override", func(t *testing.T) {
		inv := "inv-cur-" + randHex(4)
		b.setAnswer(func(recorded) (int, string) {
			return 200, `{"invoiceId":"` + inv + `","transaction":{"amountCentis":999,"currency":"USD"}}`
		})
		a := newApp("sale")
		r := postJSON(t, in.URL+"/pne/sale/initiate-sale", a.initiateBody(100))
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if want := dapiSign(a.AccessToken, a.Serial, endpointID, jstr(r.JSON, "session.nonce"), inv, "999", "USD"); jstr(r.JSON, "session.signature") != want {
			t.Errorf("signature %s, want %s (the backend's amount and currency)", jstr(r.JSON, "session.signature"), want)
		}
	})

	t.Run("invoiceId already initiated", func(t *testing.T) {
		inv := "inv-twice-" + randHex(4)
		a := newApp("sale")
		initiateOK(t, in.URL, b, a, 100, inv, 0)
		before := storetest.Snapshot(t, st)
		r := postJSON(t, in.URL+"/pne/sale/initiate-sale", newApp("sale").initiateBody(100))
		if r.Status < 400 || r.Status > 499 {
			t.Errorf("status %d, want 4xx; %s", r.Status, r.Body)
		}
		checkDAPIShape(t, r, "FILTERED")
		if d := storetest.Diff(before, storetest.Snapshot(t, st)); d != "" {
			t.Errorf("the store changed:\n%s", d)
		}
	})
	if n := len(b.allEvents()); n != 0 {
		t.Errorf("%d events, want none", n)
	}
}
