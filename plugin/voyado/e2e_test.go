package voyado

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
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
	apiKey     = "REAL-VOYADO-API-KEY-8e1f4b2c7d"
	backendKey = "voyado-backend-key-3a9d5e"
)

var secretEnv = map[string]string{"VOYADO_API_KEY": apiKey, "VOYADO_BACKEND_KEY": backendKey}

// Query strings of the three families.
const (
	v2Query    = "esales.market=UK&esales.customerKey=c-1&esales.sessionKey=s-1"
	sfQuery    = "market=UK&customerKey=c-1&sessionKey=s-1"
	adminQuery = "market=UK&customerKey=c-1&sessionKey=s-1"
)

func queryFor(path string) string {
	switch {
	case strings.HasPrefix(path, "/api/v2/"):
		return v2Query
	case strings.HasPrefix(path, "/api/storefront/"):
		return sfQuery
	}
	return adminQuery
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
	handle_path /voyado/* {
		kassa voyado {
			api_key      {env.VOYADO_API_KEY}
			backend_key  {env.VOYADO_BACKEND_KEY}
			cluster      %[3]s
			cors_origins https://shop.example https://m.shop.example
			name         prefixed
		}
	}
	handle_path /open/* {
		kassa voyado {
			api_key         {env.VOYADO_API_KEY}
			backend_key     {env.VOYADO_BACKEND_KEY}
			cluster         %[3]s
			client_payments on
			cors_origins    *
			cluster_timeout 2s
			name            open
		}
	}
	handle {
		# route keeps the written order: respond sorts before kassa.
		route {
			kassa voyado {
				api_key         {env.VOYADO_API_KEY}
				backend_key     {env.VOYADO_BACKEND_KEY}
				cluster         %[3]s
				client_payments off
				cors_origins    https://shop.example
			}
			respond "the shop" 200
		}
	}
}
`

// cluster stands in for the Voyado cluster: 204 when up, 503 when down,
// 400 for any body mentioning REJECT or BAD. It keeps the requests it
// accepted.
type cluster struct {
	*testenv.StandIn
	mu       sync.Mutex
	down     bool
	accepted []testenv.Recorded
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{}
	c.StandIn = testenv.NewStandIn(t, func(w http.ResponseWriter, r *testenv.Recorded) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case c.down:
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.Contains(string(r.Body), "REJECT") || strings.Contains(string(r.Body), "BAD"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"message":"unknown variant key"}`)
		default:
			c.accepted = append(c.accepted, *r)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return c
}

func (c *cluster) setDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

func (c *cluster) acceptedWhere(pred func(r testenv.Recorded) bool) []testenv.Recorded {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []testenv.Recorded
	for _, r := range c.accepted {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func (c *cluster) last() testenv.Recorded {
	reqs := c.Requests()
	return reqs[len(reqs)-1]
}

func byKey(k string) func(testenv.Recorded) bool {
	return func(r testenv.Recorded) bool { return r.Header.Get("Idempotency-Key") == k }
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
	return e
}

func expect(t *testing.T, a testenv.Answer, status int, what string) {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, a.Status, status, a.Body)
	}
}

func TestE2EBolt(t *testing.T) {
	t.Parallel()
	runSuite(t, testenv.BoltStore(), "native")
}

func TestE2EPostgres(t *testing.T) {
	t.Parallel()
	runSuite(t, testenv.PostgresStore(t), "native")
}

// browserPaths lists the browser paths, sorted.
func browserPaths() []string {
	var out []string
	for p, rt := range routes {
		if rt.kind == browserPath {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func runSuite(t *testing.T, k testenv.StoreKind, engineName string) {
	cl := newCluster(t)
	in := testenv.Start(t, fmt.Sprintf(caddyfileTemplate, engineName, k.Line, cl.URL), testenv.Options{Env: testenv.Merge(secretEnv, k.Env)})
	c := testenv.NewClient(t, in.URL)
	const v2pay = "/api/v2/notifications/payment"
	const admin4, admin3 = "/api/admin/v4/notifications/payment", "/api/admin/v3/notifications/payment"
	secure := spec.Lookup("voyado.secure-payment").Example
	adminBody := spec.Lookup("voyado.admin.payment").Example
	clientBody := spec.Lookup("voyado.payment").Example
	withKey := func(k string) map[string]string {
		h := map[string]string{"Api-Key": backendKey}
		if k != "" {
			h["Idempotency-Key"] = k
		}
		return h
	}
	// browserRecords are the cluster's requests on browser paths, checked
	// for keys at the end.
	var browserRecords []testenv.Recorded

	t.Run("secure payments", func(t *testing.T) {
		for _, tc := range []struct{ mount, path, body, key string }{
			{"", v2pay, secure, "pay-1"},
			{"", admin4, adminBody, "adm-4-root"},
			{"/voyado", admin4, adminBody, "adm-4"},
			{"/voyado", admin3, adminBody, "adm-3"},
			{"/voyado", v2pay, secure, "pay-2"},
			{"/open", v2pay, secure, "pay-open"},
			{"", admin4, strings.Replace(adminBody, "2,", "3,", 1), ""},
		} {
			a := c.Do("POST", tc.mount+tc.path+"?"+queryFor(tc.path), withKey(tc.key), tc.body)
			expect(t, a, 202, tc.mount+tc.path)
			var got struct{ ID string }
			if err := json.Unmarshal(a.Body, &got); err != nil {
				t.Fatal(err)
			}
			if tc.key != "" && got.ID != tc.key {
				t.Errorf("id %q, want %q", got.ID, tc.key)
			}
			if tc.key == "" {
				if _, err := hex.DecodeString(got.ID); err != nil || len(got.ID) != 32 {
					t.Errorf("random id %q", got.ID)
				}
				continue
			}
			testenv.WaitFor(t, 10*time.Second, "delivery of "+tc.key, func() bool { return len(cl.acceptedWhere(byKey(tc.key))) > 0 })
			r := cl.acceptedWhere(byKey(tc.key))[0]
			if r.Method != "POST" || r.Path != tc.path || r.RawQuery != queryFor(tc.path) || string(r.Body) != tc.body {
				t.Errorf("%s: cluster got %s %s?%s %s", tc.key, r.Method, r.Path, r.RawQuery, r.Body)
			}
			if r.Header.Get("Api-Key") != apiKey {
				t.Errorf("%s: the cluster got Api-Key %q, want the real key", tc.key, r.Header.Get("Api-Key"))
			}
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: Content-Type %q", tc.key, r.Header.Get("Content-Type"))
			}
		}
		// A repeat is the same delivery, once; the key with another body is a conflict.
		a := c.Do("POST", v2pay+"?"+v2Query, withKey("pay-1"), secure)
		expect(t, a, 202, "repeat")
		if string(a.Body) != `{"id":"pay-1"}` {
			t.Errorf("repeat: %s", a.Body)
		}
		expect(t, c.Do("POST", v2pay+"?"+v2Query, withKey("pay-1"), adminBody), 409, "key reuse")
		expect(t, c.Do("POST", v2pay+"?"+v2Query, map[string]string{"Api-Key": backendKey, "Idempotency-Key": "a b"}, secure), 400, "bad key")
		time.Sleep(300 * time.Millisecond)
		if n := len(cl.acceptedWhere(byKey("pay-1"))); n != 1 {
			t.Errorf("pay-1 delivered %d times", n)
		}
	})

	t.Run("auth", func(t *testing.T) {
		before := cl.Count()
		for _, path := range []string{v2pay, admin4, "/voyado" + admin4, "/voyado" + admin3, "/voyado" + v2pay, "/open" + admin4} {
			for name, h := range map[string]map[string]string{
				"missing":      nil,
				"wrong":        {"Api-Key": "nope"},
				"real key":     {"Api-Key": apiKey},
				"empty":        {"Api-Key": ""},
				"other header": {"Authorization": backendKey},
			} {
				body := adminBody
				if strings.HasSuffix(path, v2pay) {
					body = secure
				}
				a := c.Do("POST", path+"?"+queryFor(strings.TrimPrefix(strings.TrimPrefix(path, "/voyado"), "/open")), h, body)
				expect(t, a, 403, path+" "+name)
				if e := decodeError(t, a); e.Error == "" {
					t.Errorf("%s: %s", path, a.Body)
				}
			}
		}
		expect(t, c.Do("GET", admin4+"?"+adminQuery, withKey(""), ""), 405, "GET")
		expect(t, c.Do("POST", "/open"+v2pay+"?"+v2Query, map[string]string{"Api-Key": "nope"}, clientBody), 403, "wrong key with client_payments on")
		if n := cl.Count(); n != before {
			t.Fatalf("the cluster got %d requests for refused notifications", n-before)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		before := cl.Count()
		for _, tc := range []struct{ path, query, body, field string }{
			{v2pay, "esales.customerKey=c&esales.sessionKey=s", secure, "esales.market"},
			{v2pay, v2Query + "&esales.market=SE", secure, "esales.market"},
			{v2pay, v2Query, `{"lines":[]}`, "lines"},
			{v2pay, v2Query, `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":10,"cost":12}]}`, "lines.0.cost"},
			{v2pay, v2Query, `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":10,"sellingPrice":1}]}`, "lines.0.sellingPrice"},
			{admin4, adminQuery, `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":10}]}`, "lines.0.variantKey"},
			{admin4, "market=UK", adminBody, "customerKey"},
		} {
			a := c.Do("POST", tc.path+"?"+tc.query, withKey(""), tc.body)
			expect(t, a, 400, tc.path+" "+tc.field)
			e := decodeError(t, a)
			found := false
			for _, v := range e.Violations {
				found = found || v.Path == tc.field
			}
			if !found {
				t.Errorf("%s: no violation on %s: %s", tc.path, tc.field, a.Body)
			}
		}
		expect(t, c.Do("POST", v2pay+"?"+v2Query, map[string]string{"Api-Key": backendKey, "Content-Type": "application/x-www-form-urlencoded"}, "a=b"), 415, "form body")
		for _, tc := range []struct{ path, query, body string }{
			{"/api/v2/notifications/click", v2Query, `{}`},
			{"/api/v2/notifications/click", v2Query, `{"ticket":1}`},
			{"/api/v2/notifications/non-esales-click", v2Query, `{}`},
			{"/api/storefront/v3/notifications/click", "market=UK&userContext=ANONYMOUS&customerKey=c", `{"ticket":"t"}`},
			{"/api/storefront/v3/notifications/add-favorite", sfQuery, `{"productKey":"a","variantKey":"b"}`},
			{"/api/storefront/v3/notifications/remove-recent-searches", sfQuery, `{"removeAll":false}`},
			{"/api/storefront/v3/notifications/click", "", `{"ticket":"t"}`},
		} {
			expect(t, c.Do("POST", tc.path+"?"+tc.query, nil, tc.body), 400, tc.path+" "+tc.body)
		}
		if n := cl.Count(); n != before {
			t.Fatalf("the cluster got %d requests for invalid notifications", n-before)
		}
	})

	t.Run("browser notifications", func(t *testing.T) {
		for _, mount := range []string{"", "/voyado"} {
			for i, path := range browserPaths() {
				ex := spec.Lookup(routes[path].id).Example
				h := map[string]string{"Content-Type": "text/plain;charset=utf-8", "Api-Key": backendKey}
				if i%2 == 1 {
					h = map[string]string{"Content-Type": "application/json", "Api-Key": apiKey}
				}
				if ex == "" {
					delete(h, "Content-Type")
				}
				before := cl.Count()
				a := c.Do("POST", mount+path+"?"+queryFor(path), h, ex)
				expect(t, a, 204, mount+path)
				if cl.Count() != before+1 {
					t.Fatalf("%s: cluster called %d times", path, cl.Count()-before)
				}
				r := cl.last()
				browserRecords = append(browserRecords, r)
				if r.Method != "POST" || r.Path != path || r.RawQuery != queryFor(path) || string(r.Body) != ex {
					t.Errorf("%s: cluster got %s %s?%s %s", path, r.Method, r.Path, r.RawQuery, r.Body)
				}
				if ex != "" && r.Header.Get("Content-Type") != h["Content-Type"] {
					t.Errorf("%s: Content-Type %q, sent %q", path, r.Header.Get("Content-Type"), h["Content-Type"])
				}
				if _, has := r.Header["Api-Key"]; has {
					t.Errorf("%s: an Api-Key was forwarded on a browser path", path)
				}
			}
		}
	})

	t.Run("cluster answers relayed", func(t *testing.T) {
		a := c.Do("POST", "/api/storefront/v3/notifications/click?"+sfQuery, nil, `{"ticket":"BAD"}`)
		expect(t, a, 400, "cluster 400")
		if string(a.Body) != `{"message":"unknown variant key"}` || a.Header.Get("Content-Type") != "application/json" {
			t.Errorf("not relayed: %q %s", a.Header.Get("Content-Type"), a.Body)
		}
		cl.setDown(true)
		expect(t, c.Do("POST", "/api/v2/notifications/click?"+v2Query, nil, `{"ticket":"t"}`), 503, "cluster 503")
		cl.setDown(false)
	})

	t.Run("cors", func(t *testing.T) {
		click := "/api/storefront/v3/notifications/click"
		pre := func(path, origin string) testenv.Answer {
			return c.Do("OPTIONS", path, map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "content-type"}, "")
		}
		for _, tc := range []struct{ path, origin string }{
			{click, "https://shop.example"},
			{"/voyado" + click, "https://m.shop.example"},
			{"/open/api/v2/notifications/payment", "https://anything.example"},
			{"/open" + click, "https://anything.example"},
		} {
			a := pre(tc.path, tc.origin)
			expect(t, a, 204, "preflight "+tc.path)
			h := a.Header
			if h.Get("Access-Control-Allow-Origin") != tc.origin || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
				!strings.Contains(h.Get("Access-Control-Allow-Methods"), "OPTIONS") || h.Get("Access-Control-Allow-Headers") != "Content-Type" ||
				!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("preflight %s: %v", tc.path, h)
			}
		}
		for _, tc := range []struct{ path, origin string }{
			{click, "https://evil.example"},
			{click, "https://m.shop.example"}, // allowed under /voyado only
			{"/voyado" + click, "null"},
			{admin4, "https://shop.example"},
			{"/voyado" + admin3, "https://shop.example"},
			{v2pay, "https://shop.example"}, // client_payments off
		} {
			a := pre(tc.path, tc.origin)
			expect(t, a, 403, "preflight "+tc.path+" from "+tc.origin)
			if a.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("refused preflight with Access-Control-Allow-Origin")
			}
		}
		a := c.Do("POST", click+"?"+sfQuery, map[string]string{"Origin": "https://shop.example", "Content-Type": "text/plain;charset=utf-8"}, `{"ticket":"t"}`)
		expect(t, a, 204, "POST from an allowed origin")
		if a.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(strings.Join(a.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("CORS headers: %v", a.Header)
		}
		a = c.Do("POST", click+"?"+sfQuery, map[string]string{"Origin": "https://evil.example"}, `{"ticket":"t"}`)
		if a.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("Access-Control-Allow-Origin for another origin: %v", a.Header)
		}
		a = c.Do("POST", click+"?"+sfQuery, map[string]string{"Origin": "https://shop.example"}, `{}`)
		expect(t, a, 400, "invalid from an allowed origin")
		if a.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Errorf("an error answer lacks Access-Control-Allow-Origin, so the page cannot read it")
		}
	})

	t.Run("client payments", func(t *testing.T) {
		before := cl.Count()
		a := c.Do("POST", v2pay+"?"+v2Query, nil, clientBody)
		expect(t, a, 403, "client payment with client_payments off")
		expect(t, c.Do("POST", "/voyado"+v2pay+"?"+v2Query, map[string]string{"Content-Type": "text/plain"}, clientBody), 403, "off under a prefix")
		e := decodeError(t, c.Do("POST", "/open"+v2pay+"?"+v2Query, nil, secure))
		if len(e.Violations) == 0 || e.Violations[0].Path != "lines.0.cost" {
			t.Errorf("a client payment with cost: %+v", e)
		}
		if cl.Count() != before {
			t.Fatal("the cluster was called")
		}
		a = c.Do("POST", "/open"+v2pay+"?"+v2Query, map[string]string{"Content-Type": "text/plain;charset=utf-8", "Origin": "https://shop.example"}, clientBody)
		expect(t, a, 204, "client payment")
		if a.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Errorf("CORS: %v", a.Header)
		}
		r := cl.last()
		browserRecords = append(browserRecords, r)
		if r.Path != v2pay || string(r.Body) != clientBody || r.RawQuery != v2Query {
			t.Errorf("cluster got %s?%s %s", r.Path, r.RawQuery, r.Body)
		}
		if _, has := r.Header["Api-Key"]; has {
			t.Error("a client payment was forwarded with an Api-Key")
		}
	})

	t.Run("other paths go to the next handler", func(t *testing.T) {
		for _, p := range []string{"/", "/api/v2/notifications/unknown", "/api/v2/notifications/payment/extra", "/products"} {
			a := c.Do("GET", p, nil, "")
			if a.Status != 200 || string(a.Body) != "the shop" {
				t.Errorf("%s: %d %s", p, a.Status, a.Body)
			}
		}
	})

	var downKeys []string
	t.Run("cluster down then up", func(t *testing.T) {
		cl.setDown(true)
		before := cl.Count()
		for i := range 5 {
			key := fmt.Sprintf("down-%d", i)
			downKeys = append(downKeys, key)
			body := strings.Replace(secure, `"P1"`, fmt.Sprintf(`"P-down-%d"`, i), 1)
			expect(t, c.Do("POST", v2pay+"?"+v2Query, withKey(key), body), 202, key)
		}
		testenv.WaitFor(t, 10*time.Second, "failed attempts", func() bool { return cl.Count() >= before+10 })
		cl.setDown(false)
		for _, key := range downKeys {
			testenv.WaitFor(t, 10*time.Second, "delivery of "+key, func() bool { return len(cl.acceptedWhere(byKey(key))) == 1 })
		}
	})

	t.Run("cluster 4xx is final", func(t *testing.T) {
		body := strings.Replace(secure, `"P1"`, `"REJECT"`, 1)
		expect(t, c.Do("POST", v2pay+"?"+v2Query, withKey("rej-1"), body), 202, "queued")
		rejected := func() int {
			n := 0
			for _, r := range cl.Requests() {
				if r.Header.Get("Idempotency-Key") == "rej-1" {
					n++
				}
			}
			return n
		}
		testenv.WaitFor(t, 10*time.Second, "the attempt", func() bool { return rejected() == 1 })
		time.Sleep(700 * time.Millisecond) // longer than max_delay: a retry would show
		if n := rejected(); n != 1 {
			t.Errorf("a 400 was retried: %d attempts", n)
		}
	})

	in.Stop()

	t.Run("stored", func(t *testing.T) {
		st := k.Open(t, in)
		err := st.View(t.Context(), func(tx store.Tx) error {
			dead, err := tx.ListDeliveries(store.StateDead, "", 0)
			if err != nil {
				return err
			}
			if len(dead) != 1 || dead[0].ID != "rej-1" || dead[0].Target != "voyado/voyado" || !strings.Contains(dead[0].LastError, "HTTP 400") ||
				!strings.Contains(dead[0].LastError, "unknown variant key") {
				for _, d := range dead {
					t.Errorf("dead: %s %s %q", d.ID, d.Target, d.LastError)
				}
				t.Fatalf("%d dead deliveries, want rej-1 with the cluster's reason", len(dead))
			}
			pending, err := tx.ListDeliveries(store.StatePending, "", 0)
			if err != nil {
				return err
			}
			for _, d := range pending {
				t.Errorf("still pending: %s (%s)", d.ID, d.LastError)
			}
			all, err := tx.ListDeliveries("", "", 0)
			if err != nil {
				return err
			}
			targets := map[string]int{}
			for _, d := range all {
				targets[d.Target]++
				if strings.Contains(fmt.Sprint(d.Header), apiKey) || strings.Contains(string(d.Body), apiKey) || strings.Contains(d.URL, apiKey) {
					t.Errorf("delivery %s holds the real key", d.ID)
				}
			}
			if targets["voyado/voyado"] != 9 || targets["voyado/prefixed"] != 3 || targets["voyado/open"] != 1 {
				t.Errorf("deliveries by target: %v", targets)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("no secret leaks", func(t *testing.T) {
		if strings.Contains(c.Everything(), apiKey) {
			t.Error("the real Api-Key reached a client")
		}
		logs := in.Logs()
		for name, secret := range secretEnv {
			if strings.Contains(logs, secret) {
				t.Errorf("%s is in caddy.log", name)
			}
		}
		if len(browserRecords) == 0 {
			t.Fatal("no browser requests recorded")
		}
		for _, r := range browserRecords {
			all := fmt.Sprint(r.Header) + r.RawQuery + string(r.Body)
			if strings.Contains(all, apiKey) || strings.Contains(all, backendKey) {
				t.Errorf("a key reached the cluster on browser path %s", r.Path)
			}
		}
		// Only secure deliveries carry a key, and only the real one.
		for _, r := range cl.Requests() {
			if v, has := r.Header["Api-Key"]; has && (len(v) != 1 || v[0] != apiKey || routes[r.Path].kind == browserPath) {
				t.Errorf("%s: Api-Key %v", r.Path, v)
			}
			if strings.Contains(fmt.Sprint(r.Header), backendKey) {
				t.Errorf("%s: the backend key reached the cluster", r.Path)
			}
		}
	})
}

// A subset on the WebAssembly engine (the default engine).
func TestE2EWasm(t *testing.T) {
	t.Parallel()
	cl := newCluster(t)
	in := testenv.Start(t, fmt.Sprintf(caddyfileTemplate, "wasm", testenv.BoltStore().Line, cl.URL), testenv.Options{Dir: testenv.WasmDir(t), Env: secretEnv})
	c := testenv.NewClient(t, in.URL)
	for _, path := range browserPaths() {
		expect(t, c.Do("POST", path+"?"+queryFor(path), nil, spec.Lookup(routes[path].id).Example), 204, path)
	}
	expect(t, c.Do("POST", "/api/v2/notifications/click?esales.market=UK", nil, `{"ticket":"t"}`), 400, "query")
	a := c.Do("POST", "/voyado/api/admin/v4/notifications/payment?"+adminQuery, map[string]string{"Api-Key": backendKey, "Idempotency-Key": "w-1"},
		spec.Lookup("voyado.admin.payment").Example)
	expect(t, a, 202, "secure")
	testenv.WaitFor(t, 10*time.Second, "delivery", func() bool { return len(cl.acceptedWhere(byKey("w-1"))) == 1 })
	e := decodeError(t, c.Do("POST", "/open/api/v2/notifications/payment?"+v2Query, nil, spec.Lookup("voyado.secure-payment").Example))
	if len(e.Violations) != 1 || e.Violations[0].Path != "lines.0.cost" {
		t.Errorf("violations %+v", e.Violations)
	}
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
	kassa voyado {
		cluster https://c.example
%s
	}
}
`
	port := testenv.FreePort(t)
	for _, tc := range []struct{ name, body, want string }{
		{"literal key", "api_key " + apiKey + "\nbackend_key {env.VOYADO_BACKEND_KEY}", "api_key: a secret must come from"},
		{"unset key", "api_key {env.VOYADO_UNSET}\nbackend_key {env.VOYADO_BACKEND_KEY}", "api_key: {env.VOYADO_UNSET} is not set"},
		{"literal backend key", "api_key {env.VOYADO_API_KEY}\nbackend_key " + backendKey, "backend_key: a secret must come from"},
		{"same key", "api_key {env.VOYADO_API_KEY}\nbackend_key {env.VOYADO_API_KEY}", "backend_key: must differ"},
		{"no backend key", "api_key {env.VOYADO_API_KEY}", "backend_key: missing"},
		{"bad origin", "cors_origins https://shop.example/", ""},
	} {
		out, err := testenv.TryRun(t, fmt.Sprintf(base, port, tc.body), secretEnv, "validate")
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v\n%s", tc.name, err, out)
			}
			continue
		}
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: err %v, want %q in:\n%s", tc.name, err, tc.want, out)
		}
		for _, secret := range secretEnv {
			if strings.Contains(out, secret) {
				t.Errorf("%s: a secret is in the output", tc.name)
			}
		}
	}
}
