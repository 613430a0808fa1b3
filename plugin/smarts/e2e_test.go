package smarts

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
)

// Secrets of the e2e suite: distinctive, so a leak is found by a search.
const (
	tokenA      = "node-token-A-7f3c9e41d2"
	tokenB      = "node-token-B-91ab22c0f8"
	accessToken = "REAL-ACCESS-TOKEN-5d1e0c7a9b3f"
	backendKey  = "backend-key-2c8e6a90d4"
)

var secretEnv = map[string]string{
	"SMARTS_NODE_TOKEN":      tokenA,
	"SMARTS_NODE_TOKEN_NEXT": tokenB,
	"SMARTS_ACCESS_TOKEN":    accessToken,
	"SMARTS_BACKEND_KEY":     backendKey,
}

const caddyfileTemplate = `{
	admin {{ADMIN}}
	kassa {
		engine %[1]s
		%[2]s
		outbox {
			base_delay 50ms
			max_delay 500ms
		}
	}
}

http://127.0.0.1:{{PORT}} {
	handle_path /smarts/* {
		kassa smarts {
			node_token        {env.SMARTS_NODE_TOKEN}
			node_token        {env.SMARTS_NODE_TOKEN_NEXT}
			node_token_header accessToken
			access_token      {env.SMARTS_ACCESS_TOKEN}
			backend_key       {env.SMARTS_BACKEND_KEY}
			gateway           %[3]s/v1
			version           2.4.1
			health_timeout    1s
		}
		reverse_proxy %[4]s
	}
	handle_path /smarts2/* {
		kassa smarts {
			node_token        {env.SMARTS_NODE_TOKEN}
			node_token_header X-Node-Token
			name              second
		}
		reverse_proxy %[4]s
	}
	handle_path /dead/* {
		kassa smarts {
			node_token {env.SMARTS_NODE_TOKEN}
			name       dead
		}
		reverse_proxy 127.0.0.1:%[5]d
	}
}
`

// backendAnswer is the merchant backend's default: every node endpoint
// answers its spec example (void ones 204, /invoice a plain 200 OK).
func backendAnswer(w http.ResponseWriter, r *testenv.Recorded) {
	if r.Path == "/node/health" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP"}`)
		return
	}
	op, ok := nodeOps[r.Path]
	switch {
	case !ok:
		w.WriteHeader(http.StatusNotFound)
	case r.Path == "/invoice":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "OK")
	case op.resp == "":
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", "yes")
		io.WriteString(w, spec.Lookup(op.resp).Example)
	}
}

// gatewayStandIn answers 503 while down and 200 when up, and counts the
// deliveries it accepted, by path.
type gatewayStandIn struct {
	*testenv.StandIn
	mu        sync.Mutex
	up        bool
	delivered map[string][]testenv.Recorded
}

func newGateway(t *testing.T) *gatewayStandIn {
	g := &gatewayStandIn{delivered: map[string][]testenv.Recorded{}}
	g.StandIn = testenv.NewStandIn(t, func(w http.ResponseWriter, r *testenv.Recorded) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if !g.up {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"maintenance"}`)
			return
		}
		g.delivered[r.Path] = append(g.delivered[r.Path], *r)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	return g
}

func (g *gatewayStandIn) setUp(up bool) {
	g.mu.Lock()
	g.up = up
	g.mu.Unlock()
}

func (g *gatewayStandIn) deliveredTo(path string) []testenv.Recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]testenv.Recorded(nil), g.delivered[path]...)
}

func TestE2EBolt(t *testing.T) {
	t.Parallel()
	runSuite(t, testenv.BoltStore(), "native")
}

func TestE2EPostgres(t *testing.T) {
	t.Parallel()
	runSuite(t, testenv.PostgresStore(t), "native")
}

type errorAnswer struct {
	Error      string `json:"error"`
	Violations []struct {
		Path, Rule, Message string
	} `json:"violations"`
}

func decodeError(t *testing.T, a testenv.Answer) errorAnswer {
	t.Helper()
	var e errorAnswer
	if err := json.Unmarshal(a.Body, &e); err != nil {
		t.Fatalf("error answer %d is not JSON: %v: %s", a.Status, err, a.Body)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error answer Content-Type %q", ct)
	}
	return e
}

func expect(t *testing.T, a testenv.Answer, status int, what string) {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, a.Status, status, a.Body)
	}
}

func runSuite(t *testing.T, k testenv.StoreKind, engineName string) {
	backend := testenv.NewStandIn(t, backendAnswer)
	gw := newGateway(t)
	deadPort := testenv.FreePort(t)
	cf := fmt.Sprintf(caddyfileTemplate, engineName, k.Line, gw.URL, backend.URL, deadPort)
	in := testenv.Start(t, cf, testenv.Options{Env: testenv.Merge(secretEnv, k.Env)})
	c := testenv.NewClient(t, in.URL)
	auth := map[string]string{"accessToken": tokenA}
	barcode := spec.Lookup("smarts.product-search-barcode").Example

	t.Run("auth", func(t *testing.T) {
		before := backend.Count()
		for name, h := range map[string]map[string]string{
			"missing":         nil,
			"wrong":           {"accessToken": "node-token-C"},
			"empty":           {"accessToken": ""},
			"backend key":     {"accessToken": backendKey},
			"real token":      {"accessToken": accessToken},
			"other header":    {"X-Node-Token": tokenA},
			"prefix of token": {"accessToken": tokenA[:len(tokenA)-1]},
		} {
			a := c.Do("POST", "/smarts/product/search/barcode", h, barcode)
			expect(t, a, 401, name)
			if string(a.Body) != `{"error":"unauthorized"}` {
				t.Errorf("%s: body %s", name, a.Body)
			}
		}
		expect(t, c.Do("GET", "/smarts/node/version", nil, ""), 401, "version without token")
		expect(t, c.Do("GET", "/smarts/node/health", nil, ""), 401, "health without token")
		expect(t, c.Do("POST", "/smarts2/product/search/barcode", map[string]string{"accessToken": tokenA}, barcode), 401, "token in the default header where another is configured")
		expect(t, c.Do("POST", "/smarts2/product/search/barcode", map[string]string{"X-Node-Token": tokenB}, barcode), 401, "token B where only A is configured")
		if n := backend.Count(); n != before {
			t.Fatalf("the backend was called %d times for unauthorized requests", n-before)
		}
		// Both rotated tokens work, and a configured header name.
		for _, h := range []map[string]string{{"accessToken": tokenA}, {"accessToken": tokenB}} {
			expect(t, c.Do("POST", "/smarts/product/search/barcode", h, barcode), 200, "rotated token")
		}
		expect(t, c.Do("POST", "/smarts2/product/search/barcode", map[string]string{"X-Node-Token": tokenA}, barcode), 200, "node_token_header")
		if n := backend.Count(); n != before+3 {
			t.Fatalf("backend calls: %d, want 3", n-before)
		}
	})

	t.Run("routing", func(t *testing.T) {
		expect(t, c.Do("POST", "/smarts/product/unknown", auth, barcode), 404, "unknown path")
		a := c.Do("GET", "/smarts/product/search/barcode", auth, "")
		expect(t, a, 405, "GET on a POST endpoint")
		if a.Header.Get("Allow") != "POST" {
			t.Errorf("Allow %q", a.Header.Get("Allow"))
		}
		expect(t, c.Do("POST", "/smarts/node/version", auth, "{}"), 405, "POST on version")
		ct := map[string]string{"accessToken": tokenA, "Content-Type": "application/xml"}
		expect(t, c.Do("POST", "/smarts/product/search/barcode", ct, barcode), 415, "XML content type")
	})

	t.Run("version", func(t *testing.T) {
		a := c.Do("GET", "/smarts/node/version", auth, "")
		expect(t, a, 200, "version")
		if string(a.Body) != `{"version":"2.4.1"}` {
			t.Fatalf("version body %s", a.Body)
		}
	})

	t.Run("health", func(t *testing.T) {
		type health struct {
			Status     string
			Components map[string]struct{ Status string }
		}
		get := func(path string, want int) health {
			a := c.Do("GET", path, auth, "")
			expect(t, a, want, path)
			var h health
			if err := json.Unmarshal(a.Body, &h); err != nil {
				t.Fatal(err)
			}
			return h
		}
		h := get("/smarts/node/health", 200)
		if h.Status != "UP" || h.Components["store"].Status != "UP" || h.Components["engine"].Status != "UP" || h.Components["backend"].Status != "UP" {
			t.Fatalf("health %+v", h)
		}
		last := backend.Requests()
		if r := last[len(last)-1]; r.Method != "GET" || r.Path != "/node/health" {
			t.Fatalf("backend health check was %s %s", r.Method, r.Path)
		}
		backend.SetHandler(func(w http.ResponseWriter, r *testenv.Recorded) { w.WriteHeader(500) })
		h = get("/smarts/node/health", 503)
		if h.Status != "DOWN" || h.Components["backend"].Status != "DOWN" || h.Components["store"].Status != "UP" {
			t.Fatalf("health %+v", h)
		}
		// A backend slower than health_timeout is down.
		backend.SetHandler(func(w http.ResponseWriter, r *testenv.Recorded) { time.Sleep(1500 * time.Millisecond) })
		start := time.Now()
		if h = get("/smarts/node/health", 503); h.Components["backend"].Status != "DOWN" {
			t.Fatalf("health %+v", h)
		}
		if d := time.Since(start); d > 1400*time.Millisecond {
			t.Errorf("health took %s with health_timeout 1s", d)
		}
		backend.SetHandler(backendAnswer)
		if h = get("/dead/node/health", 503); h.Components["backend"].Status != "DOWN" {
			t.Fatalf("unreachable backend: %+v", h)
		}
	})

	t.Run("every endpoint", func(t *testing.T) {
		for path, op := range nodeOps {
			ex := spec.Lookup(op.id).Example
			before := backend.Count()
			a := c.Do("POST", "/smarts"+path, auth, ex)
			reqs := backend.Requests()
			if len(reqs) != before+1 {
				t.Fatalf("%s: backend called %d times", path, len(reqs)-before)
			}
			got := reqs[len(reqs)-1]
			if got.Method != "POST" || got.Path != path || string(got.Body) != ex {
				t.Errorf("%s: backend got %s %s %.80s", path, got.Method, got.Path, got.Body)
			}
			if v := got.Header.Get("accessToken"); v != "" {
				t.Errorf("%s: the node token reached the backend (accessToken %q)", path, v)
			}
			switch {
			case path == "/invoice":
				expect(t, a, 200, path)
				if string(a.Body) != "OK" || a.Header.Get("Content-Type") != "text/plain" {
					t.Errorf("%s: answer %q %q", path, a.Header.Get("Content-Type"), a.Body)
				}
			case op.resp == "":
				expect(t, a, 204, path)
			default:
				expect(t, a, 200, path)
				if string(a.Body) != spec.Lookup(op.resp).Example || a.Header.Get("X-Backend") != "yes" {
					t.Errorf("%s: the backend's answer was not passed on unchanged: %.100s", path, a.Body)
				}
			}
		}
	})

	t.Run("invalid bodies", func(t *testing.T) {
		before := backend.Count()
		for path := range nodeOps {
			for _, body := range []string{`{"invoiceId":"a","invoiceId":"b"}`, `{"unterminated":`, "\xff"} {
				a := c.Do("POST", "/smarts"+path, auth, body)
				expect(t, a, 400, path)
				e := decodeError(t, a)
				if e.Error != "invalid request" || len(e.Violations) == 0 || e.Violations[0].Rule != "json" {
					t.Errorf("%s %q: %s", path, body, a.Body)
				}
			}
		}
		for path, tc := range map[string]struct{ body, field string }{
			"/product/search/barcode": {`{"type":"SELF_SERVICE","langCode":"ET"}`, "barcode"},
			"/invoice":                {strings.Replace(spec.Lookup("smarts.invoice").Example, `"PAYED"`, `"PAID"`, 1), "status"},
			"/receipt":                {`{"invoiceId":"x","langCode":"ET","personId":"p","institutionId":"i"}`, "products"},
		} {
			a := c.Do("POST", "/smarts"+path, auth, tc.body)
			expect(t, a, 400, path)
			e := decodeError(t, a)
			found := false
			for _, v := range e.Violations {
				found = found || v.Path == tc.field
			}
			if !found {
				t.Errorf("%s: no violation on %s: %s", path, tc.field, a.Body)
			}
		}
		if n := backend.Count(); n != before {
			t.Fatalf("the backend was called %d times for invalid bodies", n-before)
		}
	})

	t.Run("bad backend answers", func(t *testing.T) {
		backend.SetHandler(func(w http.ResponseWriter, r *testenv.Recorded) {
			w.Header().Set("Content-Type", "application/json")
			switch r.Path {
			case "/product/search/barcode":
				io.WriteString(w, `{"id":"1ABC"}`) // no price, quantity, ...
			case "/product/search/name":
				io.WriteString(w, `{"result":[]}`) // an object where a list is due
			case "/control/check":
				io.WriteString(w, `{"status":"EXPIRED","status":"PASSED"}`)
			case "/receipt":
				io.WriteString(w, `<html>oops</html>`)
			}
		})
		defer backend.SetHandler(backendAnswer)
		for _, path := range []string{"/product/search/barcode", "/product/search/name", "/control/check", "/receipt"} {
			a := c.Do("POST", "/smarts"+path, auth, spec.Lookup(nodeOps[path].id).Example)
			expect(t, a, 502, path)
			if e := decodeError(t, a); e.Error != "bad backend answer" || len(e.Violations) == 0 {
				t.Errorf("%s: %s", path, a.Body)
			}
		}
		testenv.WaitFor(t, 5*time.Second, "the warning in the log", func() bool {
			return strings.Contains(in.Logs(), "bad backend answer")
		})
	})

	t.Run("backend errors pass through", func(t *testing.T) {
		backend.SetHandler(func(w http.ResponseWriter, r *testenv.Recorded) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("X-Backend", "nope")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"message":"cart changed"}`)
		})
		defer backend.SetHandler(backendAnswer)
		a := c.Do("POST", "/smarts/receipt", auth, spec.Lookup("smarts.create-receipt").Example)
		expect(t, a, 409, "backend 409")
		if string(a.Body) != `{"message":"cart changed"}` || a.Header.Get("X-Backend") != "nope" || a.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("not passed through: %v %s", a.Header, a.Body)
		}
		a = c.Do("POST", "/dead/product/search/barcode", auth, barcode)
		expect(t, a, 502, "unreachable backend")
	})

	invoice := spec.Lookup("smarts.invoice").Example
	invoiceID := "5bd5c446ad950100018a79c0"
	deadInvoice := strings.Replace(invoice, invoiceID, "inv-dead-1", 1)
	invalidInvoice := strings.Replace(strings.Replace(invoice, invoiceID, "inv-invalid", 1), `"EUR"`, `"GBP"`, 1)
	t.Run("invoice archive", func(t *testing.T) {
		backend.SetHandler(func(w http.ResponseWriter, r *testenv.Recorded) { w.WriteHeader(500) })
		expect(t, c.Do("POST", "/smarts/invoice", auth, invoice), 500, "invoice, backend failing")
		backend.SetHandler(backendAnswer)
		// A repeat keeps the first copy.
		again := strings.Replace(invoice, "Demo Store", "Changed Store", 1)
		expect(t, c.Do("POST", "/smarts/invoice", auth, again), 200, "invoice again")
		expect(t, c.Do("POST", "/dead/invoice", auth, deadInvoice), 502, "invoice, backend unreachable")
		expect(t, c.Do("POST", "/smarts/invoice", auth, invalidInvoice), 400, "invalid invoice")
	})

	ctrl := spec.Lookup("smarts.purchase-control-result").Example
	resend := spec.Lookup("smarts.purchase-control-resend").Example
	status := spec.Lookup("smarts.order-status-change").Example
	find := `{"id":"25252525"}`
	t.Run("gateway", func(t *testing.T) {
		key := map[string]string{"accessToken": backendKey}
		for name, h := range map[string]map[string]string{
			"missing":    nil,
			"wrong":      {"accessToken": "nope"},
			"node token": {"accessToken": tokenA},
			"real token": {"accessToken": accessToken},
			"other":      {"Authorization": "Bearer " + backendKey},
		} {
			a := c.Do("POST", "/smarts/gateway/control/result", h, ctrl)
			expect(t, a, 403, name)
			if string(a.Body) != `{"error":"forbidden"}` {
				t.Errorf("%s: %s", name, a.Body)
			}
		}
		expect(t, c.Do("GET", "/smarts/gateway/control/result", key, ""), 405, "GET")
		expect(t, c.Do("POST", "/smarts2/gateway/control/result", key, ctrl), 404, "relay not configured")
		expect(t, c.Do("POST", "/smarts/gateway/a%20b", key, find), 404, "odd path")
		bad := strings.Replace(ctrl, "PASSED", "EXPIRED", 1)
		if e := decodeError(t, c.Do("POST", "/smarts/gateway/control/result", key, bad)); len(e.Violations) == 0 || e.Violations[0].Path != "status" {
			t.Errorf("invalid result: %+v", e)
		}
		for _, body := range []string{`{"id":"1","id":"2"}`, `{`, ""} {
			expect(t, c.Do("POST", "/smarts/gateway/orders/find", key, body), 400, "not strict JSON: "+body)
		}
		if n := gw.Count(); n != 0 {
			t.Fatalf("the gateway got %d requests for refused calls", n)
		}

		// The gateway is down: everything is queued.
		withKey := func(k string) map[string]string {
			return map[string]string{"accessToken": backendKey, "Idempotency-Key": k}
		}
		ids := map[string]string{}
		for _, tc := range []struct{ path, body, key string }{
			{"control/result", ctrl, "res-1"},
			{"control/resend", resend, ""},
			{"pickup/order/status", status, "st-1"},
			{"orders/find", find, "find-1"},
		} {
			h := key
			if tc.key != "" {
				h = withKey(tc.key)
			}
			a := c.Do("POST", "/smarts/gateway/"+tc.path, h, tc.body)
			expect(t, a, 202, tc.path)
			var got struct{ ID string }
			if err := json.Unmarshal(a.Body, &got); err != nil || got.ID == "" {
				t.Fatalf("%s: %s", tc.path, a.Body)
			}
			if tc.key != "" && got.ID != tc.key {
				t.Errorf("%s: id %q, want the Idempotency-Key %q", tc.path, got.ID, tc.key)
			}
			if tc.key == "" {
				if _, err := hex.DecodeString(got.ID); err != nil || len(got.ID) != 32 {
					t.Errorf("random id %q", got.ID)
				}
			}
			ids[tc.path] = got.ID
		}
		// A repeat is the same delivery; the same key for another body is a conflict.
		a := c.Do("POST", "/smarts/gateway/control/result", withKey("res-1"), ctrl)
		expect(t, a, 202, "repeat")
		if string(a.Body) != `{"id":"res-1"}` {
			t.Errorf("repeat: %s", a.Body)
		}
		other := strings.Replace(ctrl, "PASSED", "FAILED", 1)
		expect(t, c.Do("POST", "/smarts/gateway/control/result", withKey("res-1"), other), 409, "key reuse")

		testenv.WaitFor(t, 10*time.Second, "attempts on the down gateway", func() bool { return gw.Count() >= 8 })
		gw.setUp(true)
		for path, body := range map[string]string{"control/result": ctrl, "control/resend": resend, "pickup/order/status": status, "orders/find": find} {
			testenv.WaitFor(t, 15*time.Second, "delivery of "+path, func() bool { return len(gw.deliveredTo("/v1/"+path)) > 0 })
			got := gw.deliveredTo("/v1/" + path)[0]
			if string(got.Body) != body {
				t.Errorf("%s: body %s", path, got.Body)
			}
			if v := got.Header.Get("accessToken"); v != accessToken {
				t.Errorf("%s: accessToken %q, want the real token", path, v)
			}
			if ct := got.Header.Get("Content-Type"); ct != GatewayContentType {
				t.Errorf("%s: Content-Type %q", path, ct)
			}
		}
		time.Sleep(300 * time.Millisecond) // time for a duplicate to show
		if n := len(gw.deliveredTo("/v1/control/result")); n != 1 {
			t.Errorf("control/result delivered %d times, want once", n)
		}
		if k := gw.deliveredTo("/v1/control/result")[0].Header.Get("Idempotency-Key"); k != "res-1" {
			t.Errorf("Idempotency-Key %q forwarded", k)
		}
	})

	in.Stop()

	t.Run("stored", func(t *testing.T) {
		st := k.Open(t, in)
		err := st.View(t.Context(), func(tx store.Tx) error {
			raw, err := tx.Get(store.BucketInvoices, invoiceID)
			if err != nil {
				return fmt.Errorf("invoice %s: %w", invoiceID, err)
			}
			var rec struct {
				ReceivedAt time.Time
				Invoice    json.RawMessage
			}
			if err := json.Unmarshal(raw, &rec); err != nil {
				return err
			}
			if string(rec.Invoice) != invoice {
				t.Errorf("archived invoice is not the first copy: %.120s", rec.Invoice)
			}
			if time.Since(rec.ReceivedAt) > time.Minute {
				t.Errorf("receivedAt %s", rec.ReceivedAt)
			}
			if _, err := tx.Get(store.BucketInvoices, "inv-dead-1"); err != nil {
				return fmt.Errorf("invoice sent while the backend was unreachable: %w", err)
			}
			if _, err := tx.Get(store.BucketInvoices, "inv-invalid"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("an invalid invoice was archived: %v", err)
			}
			ds, err := tx.ListDeliveries("", "smarts/smarts", 0)
			if err != nil {
				return err
			}
			if len(ds) != 4 {
				t.Errorf("%d deliveries, want 4", len(ds))
			}
			for _, d := range ds {
				if d.State != store.StateDone {
					t.Errorf("delivery %s: %s (%s)", d.ID, d.State, d.LastError)
				}
				if strings.Contains(fmt.Sprint(d.Header), accessToken) || strings.Contains(string(d.Body), accessToken) {
					t.Errorf("delivery %s holds the access token", d.ID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("no secret leaks", func(t *testing.T) {
		if strings.Contains(c.Everything(), accessToken) {
			t.Error("the access token reached a client")
		}
		logs := in.Logs()
		for name, secret := range secretEnv {
			if strings.Contains(logs, secret) {
				t.Errorf("%s is in caddy.log", name)
			}
		}
		for _, r := range backend.Requests() {
			if strings.Contains(fmt.Sprint(r.Header), accessToken) || strings.Contains(string(r.Body), accessToken) {
				t.Fatalf("the access token reached the backend: %s %s", r.Method, r.Path)
			}
		}
	})
}

// A subset on the WebAssembly engine (the default engine).
func TestE2EWasm(t *testing.T) {
	t.Parallel()
	backend := testenv.NewStandIn(t, backendAnswer)
	gw := newGateway(t)
	gw.setUp(true)
	cf := fmt.Sprintf(caddyfileTemplate, "wasm", testenv.BoltStore().Line, gw.URL, backend.URL, testenv.FreePort(t))
	in := testenv.Start(t, cf, testenv.Options{Dir: testenv.WasmDir(t), Env: secretEnv})
	c := testenv.NewClient(t, in.URL)
	auth := map[string]string{"accessToken": tokenA}
	a := c.Do("GET", "/smarts/node/version", auth, "")
	expect(t, a, 200, "version")
	for path, op := range nodeOps {
		want := 200
		if op.resp == "" && path != "/invoice" {
			want = 204
		}
		expect(t, c.Do("POST", "/smarts"+path, auth, spec.Lookup(op.id).Example), want, path)
	}
	// After the calls above, so the wasm instances are warm: a cold start
	// on a loaded machine can exceed health_timeout.
	expect(t, c.Do("GET", "/smarts/node/health", auth, ""), 200, "health")
	e := decodeError(t, c.Do("POST", "/smarts/product/search/barcode", auth, `{"type":"SELF_SERVICE"}`))
	if len(e.Violations) != 1 || e.Violations[0].Path != "barcode" || e.Violations[0].Rule != "required" {
		t.Errorf("violations %+v", e.Violations)
	}
	backend.SetHandler(func(w http.ResponseWriter, r *testenv.Recorded) { io.WriteString(w, `{"id":"1"}`) })
	expect(t, c.Do("POST", "/smarts/product/search/barcode", auth, spec.Lookup("smarts.product-search-barcode").Example), 502, "bad answer")
	a = c.Do("POST", "/smarts/gateway/control/result", map[string]string{"accessToken": backendKey}, spec.Lookup("smarts.purchase-control-result").Example)
	expect(t, a, 202, "gateway")
	testenv.WaitFor(t, 10*time.Second, "delivery", func() bool { return len(gw.deliveredTo("/v1/control/result")) == 1 })
}

// Configuration errors found while provisioning stop Caddy with a message
// naming the subdirective, never the secret.
func TestE2EConfigErrors(t *testing.T) {
	t.Parallel()
	base := `{
	admin off
	kassa {
		engine native
	}
}
http://127.0.0.1:%d {
	kassa smarts {
%s
	}
}
`
	port := testenv.FreePort(t)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"literal token", "node_token " + tokenA, "node_token: a secret must come from"},
		{"unset token", "node_token {env.SMARTS_UNSET_TOKEN}", "node_token: {env.SMARTS_UNSET_TOKEN} is not set"},
		{"literal access token", "node_token {env.SMARTS_NODE_TOKEN}\naccess_token " + accessToken + "\nbackend_key {env.SMARTS_BACKEND_KEY}", "access_token: a secret must come from"},
		{"same key", "node_token {env.SMARTS_NODE_TOKEN}\naccess_token {env.SMARTS_ACCESS_TOKEN}\nbackend_key {env.SMARTS_ACCESS_TOKEN}", "backend_key: must differ"},
		{"backend key is a node token", "node_token {env.SMARTS_NODE_TOKEN}\naccess_token {env.SMARTS_ACCESS_TOKEN}\nbackend_key {env.SMARTS_NODE_TOKEN}", "backend_key: must differ"},
		{"no backend key", "node_token {env.SMARTS_NODE_TOKEN}\naccess_token {env.SMARTS_ACCESS_TOKEN}", "backend_key: missing"},
		{"bad gateway", "node_token {env.SMARTS_NODE_TOKEN}\ngateway ftp://x", "gateway:"},
	} {
		out, err := testenv.TryRun(t, fmt.Sprintf(base, port, tc.body), secretEnv, "validate")
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: err %v, want %q in:\n%s", tc.name, err, tc.want, lastLines(out, 5))
		}
		for _, secret := range secretEnv {
			if strings.Contains(out, secret) {
				t.Errorf("%s: a secret is in the output", tc.name)
			}
		}
	}
	out, err := testenv.TryRun(t, fmt.Sprintf(base, port, "node_token {env.SMARTS_NODE_TOKEN}\nversion \"\\\"\""), secretEnv, "validate")
	if err != nil || !regexp.MustCompile(`(?i)valid configuration`).MatchString(out) {
		t.Errorf("a version with a quote: %v\n%s", err, lastLines(out, 5))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
