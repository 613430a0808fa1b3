package payneteasy_test

// FuzzPayneteasyHTTP drives the Payneteasy handler with arbitrary HTTP
// requests. It runs a real Caddy in the test process (caddy.Load of a
// Caddyfile with kassa, reverse_proxy and a bolt store), so the fuzzer gets
// coverage feedback from the handler, and hands each input to the HTTP
// server's ServeHTTP after parsing it with net/http's own request parser:
// what the fuzzer sends is what a client could put on the wire.
//
// Seed corpus: every Payneteasy endpoint's example from core/spec (the
// requests kassa serves), a valid classic callback, and inputs aimed at a
// session initiated during setup. Each run of the seed corpus is part of
// `go test`; a fuzzing session:
//
//	go test -run '^$' -fuzz '^FuzzPayneteasyHTTP$' -fuzztime 10s ./plugin/payneteasy/
//
// Properties checked for every input:
//   - no panic, no 500 and no 5xx other than 502/503/504 (a backend's own
//     status relayed on a refused initiate is exempt: documented);
//   - kassa's answers are JSON in the DAPI error shape
//     {"error":{"cause","code","message"},"invoiceId"?} (the gateway's
//     relayed answers and the callback's "OK" excepted);
//   - a refused request (4xx kassa decided) leaves the store unchanged;
//   - no answer carries the control key or the events secret.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/kassa-edge/kassa/core/spec"
	_ "github.com/kassa-edge/kassa/plugin"
	"github.com/kassa-edge/kassa/plugin/internal/fuzzcaddy"
	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

// Secrets of the fuzz target: distinctive, so a leak is found by a search.
const (
	fzControlKey   = "F0221E55-C0DE-4A11-9B0B-5EC2E7000001"
	fzEventsSecret = "whsec_ZnV6ei1ldmVudHMtc2VjcmV0LW5ldmVyLWluLWFuc3dlcnM="
	fzEndpointID   = "1111"
)

// fzUpstream is the merchant backend, the gateway and the events receiver
// in one loopback server. The fuzz input sets the answer of the backend
// (initiate) and of the gateway (status relay); events are always taken.
type fzUpstream struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	body   []byte
	set    bool
	hits   atomic.Int64 // backend and gateway requests (not events)
}

func (u *fzUpstream) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	if r.URL.Path == "/events" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	u.hits.Add(1)
	u.mu.Lock()
	status, body, set := u.status, u.body, u.set
	u.mu.Unlock()
	if !set { // setup: approve, with the invoiceId the test asked for
		status, body = 200, []byte(fmt.Sprintf(`{"invoiceId":%q}`, r.Header.Get("X-Fz-Invoice")))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func (u *fzUpstream) answer(status int, body []byte) {
	u.mu.Lock()
	u.status, u.body, u.set = status, body, true
	u.mu.Unlock()
}

// fzCaddy is a Caddy running in this process.
type fzCaddy struct {
	srv *caddyhttp.Server
	st  store.Store
}

// fzStartCaddy adapts caddyfile and runs it in-process. Only one config
// runs per process; Cleanup stops it.
func fzStartCaddy(f testing.TB, caddyfile string, env map[string]string) *fzCaddy {
	f.Helper()
	for k, v := range env {
		f.Setenv(k, v)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	cfg, warns, err := adapter.Adapt([]byte(caddyfile), nil)
	if err != nil {
		f.Fatalf("adapt: %v", err)
	}
	for _, w := range warns {
		f.Logf("adapt warning: %s", w.Message)
	}
	c := &fzCaddy{}
	c.srv, c.st = fuzzcaddy.Load(f, cfg)
	return c
}

// serve parses raw as an HTTP/1.1 request, as the server would, and runs
// it through Caddy. ok is false for bytes net/http would refuse before
// any handler ran.
func (c *fzCaddy) serve(raw []byte) (rec *httptest.ResponseRecorder, ok bool) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	req.RemoteAddr = "127.0.0.1:40000"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req = req.WithContext(ctx)
	rec = httptest.NewRecorder()
	c.srv.ServeHTTP(rec, req)
	return rec, true
}

// fzRawRequest renders a request; header values with CR or LF are dropped
// (the parser would refuse them).
func fzRawRequest(method, host, target string, header [][2]string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	for _, h := range header {
		if strings.ContainsAny(h[0]+h[1], "\r\n") || h[0] == "" {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}

// fzCheckDAPIError checks the DAPI error shape.
func fzCheckDAPIError(body []byte, header http.Header) error {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	for k := range top {
		if k != "error" && k != "invoiceId" {
			return fmt.Errorf("unexpected top-level key %q", k)
		}
	}
	var e struct{ Cause, Code, Message *string }
	if err := json.Unmarshal(top["error"], &e); err != nil || e.Cause == nil || e.Code == nil || e.Message == nil || *e.Code == "" {
		return fmt.Errorf("error is not {cause, code, message}")
	}
	if raw, ok := top["invoiceId"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fmt.Errorf("invoiceId is not a string")
		}
	}
	return nil
}

var fzMethods = []string{"POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"}

const fzPNECaddyfile = `{
	admin off
	persist_config off
	storage file_system {{DIR}}/data
	log default {
		output file {{DIR}}/caddy.log
		level WARN
	}
	kassa {
		engine {{ENGINE}}
		store bolt {{DIR}}/kassa.db
		outbox {
			base_delay 50ms
			max_delay 500ms
		}
	}
}
http://127.0.0.1:{{PORT}} {
	handle_path /pne/* {
		kassa payneteasy {
			endpoint_id ` + fzEndpointID + `
			control_key {env.FZ_PNE_CONTROL_KEY}
			gateway {{UPSTREAM}}/paynet
			events {{UPSTREAM}}/events
			events_secret {env.FZ_PNE_EVENTS_SECRET}
			gateway_timeout 5s
		}
		reverse_proxy {{UPSTREAM_HOST}} {
			transport http {
				response_header_timeout 5s
			}
		}
	}
	handle {
		respond "not kassa" 404
	}
}
`

func FuzzPayneteasyHTTP(f *testing.F) {
	up := &fzUpstream{}
	up.srv = httptest.NewServer(http.HandlerFunc(up.serve))
	f.Cleanup(up.srv.Close)
	dir := f.TempDir()
	port := testenv.FreePort(f)
	engine := os.Getenv("KASSA_FUZZ_ENGINE")
	if engine == "" {
		engine = "native"
	}
	cf := strings.NewReplacer("{{DIR}}", dir, "{{PORT}}", strconv.Itoa(port), "{{ENGINE}}", engine,
		"{{UPSTREAM}}", up.srv.URL, "{{UPSTREAM_HOST}}", strings.TrimPrefix(up.srv.URL, "http://")).Replace(fzPNECaddyfile)
	c := fzStartCaddy(f, cf, map[string]string{
		"FZ_PNE_CONTROL_KEY": fzControlKey, "FZ_PNE_EVENTS_SECRET": fzEventsSecret,
		"XDG_DATA_HOME": filepath.Join(dir, "xdg"), "XDG_CONFIG_HOME": filepath.Join(dir, "xdg"),
	})
	host := "127.0.0.1:" + strconv.Itoa(port)

	// Setup: INV1 initiated, INV2 initiated and checked with TOK2.
	serial, accessToken := "SN-FUZZ-1", "fuzz-access-token-0123456789abcdef"
	initiate := func(inv string) (nonce, sig string) {
		body := fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"transaction":{"amountCentis":1000,"currency":"EUR"},"session":{"accessToken":%q}}`, serial, accessToken)
		rec, _ := c.serve(fzRawRequest("POST", host, "/pne/sale/initiate-sale", [][2]string{{"Content-Type", "application/json"}, {"X-Fz-Invoice", inv}}, []byte(body)))
		var out struct {
			Session struct{ Nonce, Signature string }
		}
		if rec == nil || rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			f.Fatalf("setup initiate %s: %v", inv, rec)
		}
		return out.Session.Nonce, out.Session.Signature
	}
	inv1, inv2, tok2 := "fz-inv-1", "fz-inv-2", "fz-session-token-0002"
	nonce1, sig1 := initiate(inv1)
	nonce2, sig2 := initiate(inv2)
	checkBody := fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"session":{"accessToken":%q,"nonce":%q,"signature":%q,"token":%q}}`, serial, accessToken, nonce2, sig2, tok2)
	if rec, _ := c.serve(fzRawRequest("POST", host, "/pne/sale/"+inv2+"/check", [][2]string{{"Content-Type", "application/json"}}, []byte(checkBody))); rec.Code != 200 {
		f.Fatalf("setup check: %d %s", rec.Code, rec.Body)
	}
	repl := strings.NewReplacer("{{INV1}}", inv1, "{{NONCE1}}", nonce1, "{{SIG1}}", sig1,
		"{{INV2}}", inv2, "{{NONCE2}}", nonce2, "{{SIG2}}", sig2, "{{TOK2}}", tok2,
		"{{SERIAL}}", serial, "{{AT}}", accessToken, "{{EP}}", fzEndpointID)

	// Seeds: every Payneteasy request endpoint's example.
	ok200 := []byte(`{}`)
	for _, ep := range spec.All() {
		if ep.Provider != spec.Payneteasy || ep.Response || ep.Example == "" {
			continue
		}
		p := strings.NewReplacer("{invoiceId}", "{{INV1}}", "{endpointId}", "{{EP}}").Replace(ep.Path)
		f.Add(uint8(0), strings.TrimPrefix(p, "/"), "", "application/json", []byte(ep.Example), uint16(200), ok200)
	}
	f.Add(uint8(0), "sale/{{INV1}}/check", "", "application/json",
		[]byte(`{"consumer":{"device":{"serialNumber":"{{SERIAL}}"}},"session":{"accessToken":"{{AT}}","nonce":"{{NONCE1}}","signature":"{{SIG1}}","token":"fz-session-token-0001"},"sourceOfFunds":{"reference":{"clientCardId":"c-1"}}}`), uint16(200), ok200)
	f.Add(uint8(0), "sale/notification", "", "application/json",
		[]byte(`{"consumer":{"device":{"serialNumber":"{{SERIAL}}"}},"session":{"accessToken":"{{AT}}","token":"{{TOK2}}"},"sourceCard":{"bin":411111,"reference":{"serverCardId":"srv-1","uniqueReferenceCardId":42}}}`), uint16(200), ok200)
	f.Add(uint8(0), "dapi/v1/sale/{{EP}}/{{INV2}}/status", "", "application/json",
		[]byte(`{"session":{"accessToken":"{{AT}}","token":"{{TOK2}}"}}`), uint16(200),
		[]byte(`{"invoiceId":"{{INV2}}","session":{"token":"{{TOK2}}"},"state":"APPROVED","bankOrderId":"b-1"}`))
	f.Add(uint8(0), "dapi/v1/sale/{{EP}}/{{INV2}}/status", "", "application/json",
		[]byte(`{"session":{"accessToken":"{{AT}}","token":"{{TOK2}}"}}`), uint16(503), []byte(`<html>busy</html>`))
	f.Add(uint8(0), "sale/initiate-sale", "", "text/plain",
		[]byte(`{"consumer":{"device":{"serialNumber":"S"}},"transaction":{"amountCentis":9007199254740993,"currency":"EUR"},"session":{"accessToken":"{{AT}}"}}`),
		uint16(200), []byte(`{"invoiceId":"x/../y","transaction":{"amountCentis":1,"amountCentis":2}}`))
	f.Add(uint8(0), "sale/initiate-sale", "", "application/json",
		[]byte(`{"consumer":{"device":{"serialNumber":"S"}},"transaction":{"amountCentis":1e2,"currency":"EUR"},"session":{"accessToken":"{{AT}}"}}`),
		uint16(201), []byte(`{"transaction":{"amountCentis":9223372036854775808,"currency":"eur"},"consumer":{"id":"\u0000"}}`))
	f.Add(uint8(0), "sale/initiate-sale", "", "application/json", []byte(spec.Lookup("payneteasy.initiate-sale").Example), uint16(402), []byte(`{"message":"no"}`))
	f.Add(uint8(1), "callback", "status=approved&type=sale&orderid=42&client_orderid={{INV1}}&control={{CONTROL}}", "", []byte(nil), uint16(200), ok200)
	f.Add(uint8(1), "callback", "status=declined&orderid=1&client_orderid=x&control=0000000000000000000000000000000000000000", "", []byte(nil), uint16(200), ok200)
	f.Add(uint8(0), "sale/..%2F..%2Fx/check", "", "multipart/form-data; boundary=x", []byte("--x--"), uint16(200), ok200)
	f.Add(uint8(0), "sale/initiate-sale", "", "application/json", []byte(strings.Repeat("[", 10000)), uint16(200), ok200)
	// Paths deeper than any endpoint (the router's fixed-size split once
	// panicked on them: RELIABILITY.md finding 14).
	f.Add(uint8(0), "a/b/c/d/e/f/g/h", "", "application/json", []byte(`{}`), uint16(200), ok200)
	f.Add(uint8(0), "dapi/v1/sale/{{EP}}/{{INV2}}/status/x/y", "", "application/json", []byte(`{}`), uint16(200), ok200)

	var storeSize atomic.Int64
	secrets := []string{fzControlKey, strings.ReplaceAll(fzControlKey, "-", ""), strings.TrimPrefix(fzEventsSecret, "whsec_")}
	f.Fuzz(func(t *testing.T, method uint8, path, query, contentType string, body []byte, upStatus uint16, upBody []byte) {
		path, query = repl.Replace(path), repl.Replace(query)
		body, upBody = []byte(repl.Replace(string(body))), []byte(repl.Replace(string(upBody)))
		if strings.Contains(query, "{{CONTROL}}") {
			q, _ := url.ParseQuery(strings.ReplaceAll(query, "{{CONTROL}}", ""))
			query = strings.ReplaceAll(query, "{{CONTROL}}", sha1Hex(q.Get("status")+q.Get("orderid")+q.Get("client_orderid")+fzControlKey))
		}
		status := int(upStatus)
		if status < 200 || status > 599 {
			status = 200
		}
		up.answer(status, upBody)
		target := "/pne/" + path
		if query != "" {
			target += "?" + query
		}
		var header [][2]string
		if contentType != "" {
			header = append(header, [2]string{"Content-Type", contentType})
		}
		// The snapshot reads the whole store: past 20,000 records (long
		// fuzzing sessions), the store check is skipped.
		var before map[string]string
		check := storeSize.Load() < 20000
		if check {
			before = storetest.Snapshot(t, c.st)
			storeSize.Store(int64(len(before)))
		}
		hits := up.hits.Load()
		rec, ok := c.serve(fzRawRequest(fzMethods[int(method)%len(fzMethods)], host, target, header, body))
		if !ok {
			return
		}
		upstreamHit := up.hits.Load() != hits
		code, got := rec.Code, rec.Body.Bytes()
		relayed := upstreamHit && code == status
		for _, s := range secrets {
			if bytes.Contains(got, []byte(s)) {
				t.Fatalf("answer carries a secret: %d %s", code, got)
			}
		}
		if code >= 500 && code != 502 && code != 503 && code != 504 && !relayed {
			t.Fatalf("%s %s: status %d: %s", fzMethods[int(method)%len(fzMethods)], target, code, got)
		}
		// Caddy's own catch-all (the cleaned path left /pne/) is not kassa's.
		if bytes.Equal(got, []byte("not kassa")) {
			return
		}
		switch {
		case code == 200 && path == "callback":
			if string(got) != "OK\n" {
				t.Fatalf("callback 200 answer %q", got)
			}
		case code >= 200 && code < 300:
			if !json.Valid(got) {
				t.Fatalf("%s: %d answer is not JSON: %q", target, code, got)
			}
		case relayed && bytes.Equal(got, upBody):
			// the gateway's own answer, validated and passed on
		default:
			if err := fzCheckDAPIError(got, rec.Header()); err != nil {
				t.Fatalf("%s: %d: %v: %q", target, code, err, got)
			}
		}
		if check && code >= 400 {
			if after := storetest.Snapshot(t, c.st); !maps.Equal(after, before) {
				t.Fatalf("%s: refused with %d (%s) but the store changed", target, code, got)
			}
		}
	})
}
