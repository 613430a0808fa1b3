package payneteasy_test

// Shared harness for the end-to-end tests of the Payneteasy provider: a
// fake merchant backend (initiate approvals and the events receiver), a fake
// gateway (status relay target), signature recipes recomputed from
// PROVIDERS.md 1.2/1.3/1.6 with crypto/hmac and crypto/sha1 only, and store
// snapshots. Nothing here calls kassa code to sign or verify.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/pgtest"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// controlKey is the public test control key of vectors.json.
const controlKey = "B17F59B4-A7DC-41B4-8FF9-37D986B43D20"

const endpointID = "1111"

// ---------------------------------------------------------------------------
// Signature recipes, from the spec only.

// dapiSign and classicControl are the spec's recipes (testenv) with this
// file's control key.
func dapiSign(parts ...string) string { return testenv.DAPISign(controlKey, parts...) }

func classicControl(status, orderID, clientOrderID string) string {
	return testenv.ClassicControl(controlKey, status, orderID, clientOrderID)
}

func sha1Hex(s string) string { return testenv.SHA1Hex(s) }

// webhookSig is the Standard Webhooks v1 signature (INTERFACE.md 3).
func webhookSig(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ---------------------------------------------------------------------------
// Small utilities.

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func newEventsSecret() (secret string, key []byte) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), key
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// jget walks a decoded JSON value by a dotted path.
func jget(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func jstr(v any, path string) string {
	s, _ := jget(v, path).(string)
	return s
}

var client = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type reply struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func do(t testing.TB, method, url, contentType string, body []byte) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return doReq(t, req)
}

func doReq(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := testenv.Do(client, req) // resends once after an unanswered close (reloads)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL, err)
	}
	r := reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
	_ = json.Unmarshal(b, &r.JSON)
	return r
}

func postJSON(t testing.TB, url string, body []byte) reply {
	t.Helper()
	return do(t, http.MethodPost, url, "application/json", body)
}

// assertDAPIError checks PROVIDERS.md 1.5: {"error":{"cause","code","message"},"invoiceId"?}.
func assertDAPIError(t testing.TB, r reply, status int, cause string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	checkDAPIShape(t, r, cause)
}

func checkDAPIShape(t testing.TB, r reply, cause string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json; body %s", ct, r.Body)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &top); err != nil {
		t.Errorf("error answer is not a JSON object: %v: %s", err, r.Body)
		return
	}
	for k := range top {
		if k != "error" && k != "invoiceId" {
			t.Errorf("unexpected top-level key %q in error answer %s", k, r.Body)
		}
	}
	var e map[string]any
	if err := json.Unmarshal(top["error"], &e); err != nil || e == nil {
		t.Errorf("no error object in %s", r.Body)
		return
	}
	for _, k := range []string{"cause", "code", "message"} {
		if _, ok := e[k].(string); !ok {
			t.Errorf("error.%s missing or not a string in %s", k, r.Body)
		}
	}
	if c, _ := e["code"].(string); c == "" {
		t.Errorf("empty error.code in %s", r.Body)
	}
	if raw, ok := top["invoiceId"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			t.Errorf("invoiceId is not a string in %s", r.Body)
		}
	}
	if cause != "" && e["cause"] != cause {
		t.Errorf("error.cause %v, want %s; body %s", e["cause"], cause, r.Body)
	}
}

// ---------------------------------------------------------------------------
// Fake merchant backend: approves initiate requests (via reverse_proxy) and
// receives events on /events.

type recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

type event struct {
	ID, TS, Sig string
	Body        []byte
	SigOK       bool
	Acked       bool // answered 2xx
	Decoded     map[string]any
	At          time.Time
}

func (e event) Type() string { return jstr(e.Decoded, "type") }

type backend struct {
	t   testing.TB
	srv *httptest.Server
	key []byte

	mu        sync.Mutex
	initiates []recorded
	events    []event
	// answer decides the answer to an initiate; default 200 {}.
	answer func(r recorded) (int, string)
	// eventDelay slows the events receiver (to make outbox workers overlap).
	eventDelay time.Duration
	// eventStatus is the events receiver's answer (default 204).
	eventStatus int
}

func newBackend(t testing.TB, key []byte) *backend {
	b := &backend{t: t, key: key}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) URL() string  { return b.srv.URL }
func (b *backend) Host() string { return strings.TrimPrefix(b.srv.URL, "http://") }

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if r.URL.Path == "/events" {
		b.mu.Lock()
		delay := b.eventDelay
		b.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		ev := event{ID: r.Header.Get("webhook-id"), TS: r.Header.Get("webhook-timestamp"),
			Sig: r.Header.Get("webhook-signature"), Body: body, At: time.Now()}
		ev.SigOK = ev.ID != "" && ev.TS != "" && hmacSigMatches(b.key, ev)
		_ = json.Unmarshal(body, &ev.Decoded)
		b.mu.Lock()
		status := b.eventStatus
		if status == 0 {
			status = http.StatusNoContent
		}
		ev.Acked = status < 300
		b.events = append(b.events, ev)
		b.mu.Unlock()
		w.WriteHeader(status)
		return
	}
	b.mu.Lock()
	b.initiates = append(b.initiates, rec)
	answer := b.answer
	b.mu.Unlock()
	status, out := 200, "{}"
	if answer != nil {
		status, out = answer(rec)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, out)
}

// hmacSigMatches accepts any of the space-separated v1 signatures.
func hmacSigMatches(key []byte, ev event) bool {
	want := webhookSig(key, ev.ID, ev.TS, ev.Body)
	for _, s := range strings.Fields(ev.Sig) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

func (b *backend) setAnswer(f func(r recorded) (int, string)) {
	b.mu.Lock()
	b.answer = f
	b.mu.Unlock()
}

func (b *backend) initiateCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.initiates)
}

func (b *backend) lastInitiate() recorded {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.initiates[len(b.initiates)-1]
}

// allEvents returns the acknowledged deliveries.
func (b *backend) allEvents() []event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []event
	for _, ev := range b.events {
		if ev.Acked {
			out = append(out, ev)
		}
	}
	return out
}

// attempts returns every delivery attempt, acknowledged or not.
func (b *backend) attempts() []event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]event(nil), b.events...)
}

func (b *backend) setEventStatus(status int) {
	b.mu.Lock()
	b.eventStatus = status
	b.mu.Unlock()
}

// findEvent returns the first event of typ whose data matches all pairs.
func (b *backend) findEvent(typ string, data map[string]string) (event, bool) {
	for _, ev := range b.allEvents() {
		if ev.Type() != typ {
			continue
		}
		ok := true
		for k, v := range data {
			if jstr(ev.Decoded, "data."+k) != v {
				ok = false
			}
		}
		if ok {
			return ev, true
		}
	}
	return event{}, false
}

func (b *backend) waitEvent(t testing.TB, typ string, data map[string]string) event {
	t.Helper()
	return b.waitEventWithin(t, 15*time.Second, typ, data)
}

func (b *backend) waitEventWithin(t testing.TB, timeout time.Duration, typ string, data map[string]string) event {
	t.Helper()
	var ev event
	testenv.WaitFor(t, timeout, fmt.Sprintf("event %s %v", typ, data), func() bool {
		var ok bool
		ev, ok = b.findEvent(typ, data)
		return ok
	})
	checkEvent(t, ev, typ)
	return ev
}

func (b *backend) countEvents(typ string, data map[string]string) int {
	n := 0
	for _, ev := range b.allEvents() {
		if ev.Type() != typ {
			continue
		}
		ok := true
		for k, v := range data {
			if jstr(ev.Decoded, "data."+k) != v {
				ok = false
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// checkEvent checks INTERFACE.md 3's event format and webhook headers.
func checkEvent(t testing.TB, ev event, typ string) {
	t.Helper()
	if !ev.SigOK {
		t.Errorf("event %s: webhook-signature %q does not verify (id %q, ts %q)", typ, ev.Sig, ev.ID, ev.TS)
	}
	ts, err := strconv.ParseInt(ev.TS, 10, 64)
	if err != nil {
		t.Errorf("event %s: webhook-timestamp %q is not unix seconds", typ, ev.TS)
	} else if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		t.Errorf("event %s: webhook-timestamp %s is %s off", typ, ev.TS, d)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(ev.Body, &top); err != nil {
		t.Errorf("event %s: body is not a JSON object: %s", typ, ev.Body)
		return
	}
	for _, k := range []string{"id", "type", "created", "data"} {
		if _, ok := top[k]; !ok {
			t.Errorf("event %s: no %q in %s", typ, k, ev.Body)
		}
	}
	if id := jstr(ev.Decoded, "id"); id != ev.ID {
		t.Errorf("event %s: body id %q differs from webhook-id %q", typ, id, ev.ID)
	}
	if _, err := time.Parse(time.RFC3339, jstr(ev.Decoded, "created")); err != nil {
		t.Errorf("event %s: created %q is not RFC 3339", typ, jstr(ev.Decoded, "created"))
	}
	if _, ok := jget(ev.Decoded, "data").(map[string]any); !ok {
		t.Errorf("event %s: data is not an object: %s", typ, ev.Body)
	}
}

// assertNoDuplicateDeliveries: every webhook-id arrived once.
func (b *backend) assertNoDuplicateDeliveries(t testing.TB) {
	t.Helper()
	seen := map[string][]byte{}
	for _, ev := range b.allEvents() {
		if prev, ok := seen[ev.ID]; ok {
			same := bytes.Equal(prev, ev.Body)
			t.Errorf("webhook-id %q delivered more than once (identical body: %v)", ev.ID, same)
		}
		seen[ev.ID] = ev.Body
	}
}

// ---------------------------------------------------------------------------
// Fake gateway: answers the relayed status requests.

type gateway struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
	answer   func(r recorded) (int, string)
}

func newGateway(t testing.TB) *gateway {
	g := &gateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		g.mu.Lock()
		g.requests = append(g.requests, rec)
		answer := g.answer
		g.mu.Unlock()
		status, out := 500, `{"error":{"cause":"INTERNAL_ERROR","code":"test.unset","message":"no answer set"}}`
		if answer != nil {
			status, out = answer(rec)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, out)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) Base() string { return g.srv.URL + "/paynet" }

func (g *gateway) setAnswer(f func(r recorded) (int, string)) {
	g.mu.Lock()
	g.answer = f
	g.mu.Unlock()
}

func (g *gateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.requests)
}

func (g *gateway) last() recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests[len(g.requests)-1]
}

// ---------------------------------------------------------------------------
// Caddy.

type conf struct {
	Engine  string // wasm | native
	Store   string // bolt | postgres
	Backend string // host:port of the merchant backend
	Gateway string // gateway base URL
	Events  bool   // configure events + events_secret
	Extra   string // extra lines in the payneteasy block
	Site    string // extra lines at the end of the site block
	Outbox  string // outbox block body; default fast retries
}

func (c conf) caddyfile() string {
	st := "bolt {{DIR}}/kassa.db"
	if c.Store == "postgres" {
		st = "postgres {env.KASSA_PG_DSN}"
	}
	outbox := "base_delay 50ms\n\t\t\tmax_delay 500ms"
	if c.Outbox != "" {
		outbox = c.Outbox
	}
	events := ""
	if c.Events {
		events = fmt.Sprintf("events http://%s/events\n\t\t\tevents_secret {env.KASSA_EVENTS_SECRET}", c.Backend)
	}
	return fmt.Sprintf(`{
	admin {{ADMIN}}
	kassa {
		engine %s
		store %s
		outbox {
			%s
		}
	}
}
http://127.0.0.1:{{PORT}} {
	handle_path /pne/* {
		kassa payneteasy {
			endpoint_id %s
			control_key {env.PNE_CONTROL_KEY}
			gateway %s
			%s
			%s
		}
		reverse_proxy %s
	}
	%s
}
`, c.Engine, st, outbox, endpointID, c.Gateway, events, c.Extra, c.Backend, c.Site)
}

type env struct {
	Secret string
	Key    []byte
	DSN    string
}

func (e env) vars() map[string]string {
	m := map[string]string{"PNE_CONTROL_KEY": controlKey, "KASSA_EVENTS_SECRET": e.Secret}
	if e.DSN != "" {
		m["KASSA_PG_DSN"] = e.DSN
	}
	return m
}

func startCaddy(t testing.TB, c conf, e env) *testenv.Instance {
	t.Helper()
	in := testenv.Start(t, c.caddyfile(), testenv.Options{Env: e.vars()})
	t.Cleanup(func() {
		if t.Failed() {
			logs := in.Logs()
			if len(logs) > 8000 {
				logs = "...\n" + logs[len(logs)-8000:]
			}
			t.Logf("caddy log (%s):\n%s", in.Dir, logs)
		}
	})
	return in
}

// ---------------------------------------------------------------------------
// Store snapshots.

func boltSnapshot(t testing.TB, path string) map[string]string {
	t.Helper()
	st, err := store.OpenBolt(path, store.BoltOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	defer st.Close()
	return storetest.Snapshot(t, st)
}

func pgStore(t testing.TB, dsn string) store.Store {
	t.Helper()
	st, err := store.OpenPostgres(context.Background(), dsn, store.PostgresOptions{MaxConns: 2})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// ---------------------------------------------------------------------------
// DAPI request bodies.

type app struct {
	Flow        string
	Serial      string
	AccessToken string
}

func newApp(flow string) app {
	return app{Flow: flow, Serial: "SN-" + randHex(4), AccessToken: randHex(32)}
}

// initiateBody is formatted by hand (odd spacing, key order) so that a
// backend seeing it unchanged proves it was not re-encoded.
func (a app) initiateBody(amount int) []byte {
	tx := fmt.Sprintf(`"amountCentis" : %d, "currency":"EUR"`, amount)
	if a.Flow == "verification" {
		tx = `"currency":"EUR"`
	}
	return []byte(fmt.Sprintf(`{ "session": {"accessToken":%q},
  "consumer":{"device":{"serialNumber":%q}, "ipAddresses":["10.0.0.1"]},
  "transaction":{%s}, "location":{"lat":59.437,"lng":24.7536} }`, a.AccessToken, a.Serial, tx))
}

func (a app) checkBody(nonce, signature, token, clientCardID string) []byte {
	m := map[string]any{
		"consumer": map[string]any{"device": map[string]any{"serialNumber": a.Serial}},
		"session":  map[string]any{"accessToken": a.AccessToken, "nonce": nonce, "signature": signature, "token": token},
	}
	if clientCardID != "" {
		m["sourceOfFunds"] = map[string]any{"reference": map[string]any{"clientCardId": clientCardID}}
	}
	return mustJSON(m)
}

func (a app) notificationBody(token, serverCardID string) []byte {
	return mustJSON(map[string]any{
		"consumer": map[string]any{"device": map[string]any{"serialNumber": a.Serial}},
		"session":  map[string]any{"accessToken": a.AccessToken, "token": token},
		"sourceCard": map[string]any{"bin": 411111,
			"reference": map[string]any{"serverCardId": serverCardID, "uniqueReferenceCardId": 42}},
	})
}

func (a app) statusBody(token string) []byte {
	return mustJSON(map[string]any{"session": map[string]any{"accessToken": a.AccessToken, "token": token}})
}

func callbackURL(base, status, typ, orderID, clientOrderID, amount string) string {
	return fmt.Sprintf("%s/pne/callback?status=%s&type=%s&orderid=%s&merchant_order=%s&client_orderid=%s&amount=%s&control=%s",
		base, status, typ, orderID, clientOrderID, clientOrderID, amount, classicControl(status, orderID, clientOrderID))
}

// session is what the app holds after a successful initiate.
type session struct {
	InvoiceID, Nonce, Signature string
}

// initiateOK runs an initiate that the backend approves with answer and
// checks the answer's signature from the spec recipe.
func initiateOK(t testing.TB, base string, b *backend, a app, reqAmount int, answerInvoice string, answerAmount int) session {
	t.Helper()
	b.setAnswer(func(recorded) (int, string) {
		m := map[string]any{"invoiceId": answerInvoice}
		if answerAmount > 0 {
			m["transaction"] = map[string]any{"amountCentis": answerAmount}
		}
		return 200, string(mustJSON(m))
	})
	body := a.initiateBody(reqAmount)
	n := b.initiateCount()
	r := postJSON(t, base+"/pne/"+a.Flow+"/initiate-"+a.Flow, body)
	if r.Status != 200 {
		t.Fatalf("initiate %s: %d %s", a.Flow, r.Status, r.Body)
	}
	if b.initiateCount() != n+1 {
		t.Fatalf("initiate %s: backend saw %d requests, want 1", a.Flow, b.initiateCount()-n)
	}
	got := b.lastInitiate()
	if got.Method != http.MethodPost || got.Path != "/"+a.Flow+"/initiate-"+a.Flow {
		t.Errorf("backend got %s %s, want POST /%s/initiate-%s", got.Method, got.Path, a.Flow, a.Flow)
	}
	if !bytes.Equal(got.Body, body) {
		t.Errorf("backend got a changed body:\n got %s\nwant %s", got.Body, body)
	}
	s := session{InvoiceID: jstr(r.JSON, "invoiceId"), Nonce: jstr(r.JSON, "session.nonce"), Signature: jstr(r.JSON, "session.signature")}
	if jstr(r.JSON, "endpointId") != endpointID {
		t.Errorf("initiate: endpointId %q, want %s", jstr(r.JSON, "endpointId"), endpointID)
	}
	if s.InvoiceID != answerInvoice {
		t.Errorf("initiate: invoiceId %q, want the backend's %q", s.InvoiceID, answerInvoice)
	}
	if len(s.Nonce) < 32 || len(s.Nonce) > 128 {
		t.Errorf("initiate: nonce %q is not 32-128 characters", s.Nonce)
	}
	amount := strconv.Itoa(reqAmount)
	if answerAmount > 0 {
		amount = strconv.Itoa(answerAmount)
	}
	var want string
	if a.Flow == "verification" {
		want = dapiSign(a.AccessToken, a.Serial, endpointID, s.Nonce, s.InvoiceID, "EUR")
	} else {
		want = dapiSign(a.AccessToken, a.Serial, endpointID, s.Nonce, s.InvoiceID, amount, "EUR")
	}
	if s.Signature != want {
		t.Errorf("initiate %s: signature %s, want %s (amount %s)", a.Flow, s.Signature, want, amount)
	}
	return s
}
