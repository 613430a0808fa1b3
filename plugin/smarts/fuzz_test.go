package smarts

// FuzzSmartsHTTP drives the Smarts connection node with arbitrary HTTP
// requests through a real Caddy running in the test process (caddy.Load:
// the kassa app with a bolt store, the smarts provider, reverse_proxy to a
// loopback merchant backend), so the fuzzer gets coverage feedback from
// the handler. Each input is parsed with net/http's request parser first:
// what the fuzzer sends is what a client could put on the wire. The fuzz
// input also chooses the backend's answer (status and body), so the
// response validation is fuzzed too.
//
// This test is in package smarts (like the package's other tests), which
// cannot import the plugin package (it imports smarts): package fuzzcaddy
// stands in for plugin.Handler and runs the Caddy; the config is JSON.
//
// Seeds: every Smarts request endpoint's example from core/spec (node
// calls and gateway calls). Run a fuzzing session with
//
//	go test -run '^$' -fuzz '^FuzzSmartsHTTP$' -fuzztime 10s ./plugin/smarts/
//
// Properties checked for every input:
//   - no panic, no 500 and no 5xx other than 502/503/504 (the backend's
//     own answers, relayed unchanged as documented, excepted);
//   - kassa's own answers are JSON {"error":"...","violations":[{"path",
//     "rule","message"}]?}, its 2xx answers JSON;
//   - a request without a node token never reaches the backend;
//   - a refused request leaves the store unchanged (an /invoice body is
//     archived before the backend is asked: exempt once the backend ran);
//   - no answer carries a node token, the access token or the backend key,
//     and the access token reaches only the gateway.

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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/plugin/internal/fuzzcaddy"
	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store/storetest"
)

const (
	fzNodeToken   = "fz-node-token-5c1e77a0"
	fzNodeToken2  = "fz-node-token-next-0b9f"
	fzAccessToken = "FZ-REAL-SMARTS-ACCESS-TOKEN-77d0"
	fzBackendKey  = "fz-smarts-backend-key-e3a1"
)

// fzParty is the merchant backend (answers set by the fuzz input) and the
// Smarts gateway (always 200) in one loopback server.
type fzParty struct {
	srv      *httptest.Server
	mu       sync.Mutex
	status   int
	body     []byte
	set      bool
	backend  atomic.Int64 // requests the backend received
	leaked   atomic.Value // a request that carried a secret where it must not
	examples map[string][]byte
}

func (p *fzParty) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	if strings.HasPrefix(r.URL.Path, "/gw/") {
		if r.Header.Get("accessToken") != fzAccessToken {
			p.leaked.Store("gateway call without the access token: " + r.URL.Path)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	p.backend.Add(1)
	for _, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, fzAccessToken) {
				p.leaked.Store("the access token reached the backend")
			}
		}
	}
	p.mu.Lock()
	status, body, set := p.status, p.body, p.set
	p.mu.Unlock()
	if !set {
		status, body = 200, p.examples[r.URL.Path]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

var fzMethods = []string{"POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"}

func FuzzSmartsHTTP(f *testing.F) {
	fuzzcaddy.Register()
	p := &fzParty{examples: map[string][]byte{"/node/health": []byte(`{"status":"UP"}`)}}
	for _, ep := range spec.All() {
		if ep.Provider == spec.Smarts && !ep.Response && ep.To == "node" {
			if r := spec.Lookup(ep.ID + ".response"); r != nil {
				p.examples[ep.Path] = []byte(r.Example)
			} else {
				p.examples[ep.Path] = []byte(`{}`)
			}
		}
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	f.Cleanup(p.srv.Close)

	dir := f.TempDir()
	port := testenv.FreePort(f)
	for k, v := range map[string]string{"FZ_SMARTS_NODE_TOKEN": fzNodeToken, "FZ_SMARTS_NODE_TOKEN_NEXT": fzNodeToken2,
		"FZ_SMARTS_ACCESS_TOKEN": fzAccessToken, "FZ_SMARTS_BACKEND_KEY": fzBackendKey,
		"XDG_DATA_HOME": filepath.Join(dir, "xdg"), "XDG_CONFIG_HOME": filepath.Join(dir, "xdg")} {
		f.Setenv(k, v)
	}
	engine := os.Getenv("KASSA_FUZZ_ENGINE")
	if engine == "" {
		engine = "native"
	}
	cfg := map[string]any{
		"admin":   map[string]any{"disabled": true, "config": map[string]any{"persist": false}},
		"storage": map[string]any{"module": "file_system", "root": filepath.Join(dir, "data")},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{
			"writer": map[string]any{"output": "file", "filename": filepath.Join(dir, "caddy.log")}, "level": "WARN"}}},
		"apps": map[string]any{
			"kassa": map[string]any{"engine": engine, "store": map[string]any{"kind": "bolt", "path": filepath.Join(dir, "kassa.db")},
				"outbox": map[string]any{"base_delay": "50ms", "max_delay": "500ms"}},
			"http": map[string]any{"servers": map[string]any{"fz": map[string]any{
				"listen":          []string{fmt.Sprintf("127.0.0.1:%d", port)},
				"automatic_https": map[string]any{"disable": true},
				"routes": []any{map[string]any{"handle": []any{
					map[string]any{"handler": "kassa", "provider": map[string]any{
						"provider":     "smarts",
						"node_token":   []string{"{env.FZ_SMARTS_NODE_TOKEN}", "{env.FZ_SMARTS_NODE_TOKEN_NEXT}"},
						"access_token": "{env.FZ_SMARTS_ACCESS_TOKEN}", "backend_key": "{env.FZ_SMARTS_BACKEND_KEY}",
						"gateway": p.srv.URL + "/gw", "version": "1.4.2", "health_timeout": "1s",
					}},
					map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": strings.TrimPrefix(p.srv.URL, "http://")}},
						"transport": map[string]any{"protocol": "http", "response_header_timeout": "5s"}},
				}}},
			}}},
		},
	}
	raw, _ := json.Marshal(cfg)
	srv, st := fuzzcaddy.Load(f, raw)
	host := fmt.Sprintf("127.0.0.1:%d", port)

	for _, ep := range spec.All() {
		if ep.Provider != spec.Smarts || ep.Response {
			continue
		}
		tok := uint8(1)
		if ep.To == "gateway" {
			tok = 3
		}
		method := uint8(0)
		if ep.Method == http.MethodGet {
			method = 1
		}
		f.Add(method, ep.Path, tok, "", "application/json", "", []byte(ep.Example), uint16(200), []byte(nil))
	}
	f.Add(uint8(0), "/product/search/barcode", uint8(2), "", "application/json;charset=UTF-8", "",
		[]byte(spec.Lookup("smarts.product-search-barcode").Example), uint16(200), []byte(`{"products":[{"price":"x"}]}`))
	f.Add(uint8(0), "/invoice", uint8(1), "", "application/json", "", []byte(spec.Lookup("smarts.invoice").Example), uint16(500), []byte(`oops`))
	f.Add(uint8(0), "/gateway/control/result", uint8(3), "a=1", "text/plain", "idem-1",
		[]byte(spec.Lookup("smarts.purchase-control-result").Example), uint16(200), []byte(nil))
	f.Add(uint8(0), "/gateway/unpublished/path", uint8(3), "", "", "idem-1", []byte(`{"x":1}`), uint16(200), []byte(nil))
	f.Add(uint8(0), "/gateway/%2e%2e/x", uint8(3), "", "", "", []byte(`{}`), uint16(200), []byte(nil))
	f.Add(uint8(0), "/receipt", uint8(4), "", "application/json", "", []byte(spec.Lookup("smarts.create-receipt").Example), uint16(200), []byte(nil))
	f.Add(uint8(1), "/node/health", uint8(2), "", "", "", []byte(nil), uint16(503), []byte(`down`))

	tokens := []string{"", fzNodeToken, fzNodeToken2, fzBackendKey, "wrong-token", fzAccessToken}
	secrets := []string{fzNodeToken, fzNodeToken2, fzAccessToken, fzBackendKey}
	var storeSize atomic.Int64
	f.Fuzz(func(t *testing.T, method uint8, path string, tok uint8, query, contentType, idem string, body []byte, upStatus uint16, upBody []byte) {
		status := int(upStatus)
		if status < 200 || status > 599 {
			status = 200
		}
		p.mu.Lock()
		p.status, p.body, p.set = status, upBody, true
		p.mu.Unlock()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		m := fzMethods[int(method)%len(fzMethods)]
		token := tokens[int(tok)%len(tokens)]
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", m, target, host)
		for _, h := range [][2]string{{"accessToken", token}, {"Content-Type", contentType}, {"Idempotency-Key", idem}} {
			if h[1] != "" && !strings.ContainsAny(h[1], "\r\n") {
				fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
			}
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
		b.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&b))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:40000"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req = req.WithContext(ctx)

		var before map[string]string
		check := storeSize.Load() < 20000
		if check {
			before = storetest.Snapshot(t, st)
			storeSize.Store(int64(len(before)))
		}
		hits := p.backend.Load()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		backendRan := p.backend.Load() != hits
		code, got := rec.Code, rec.Body.Bytes()
		relayed := backendRan && code == status && bytes.Equal(got, upBody)

		if v := p.leaked.Load(); v != nil {
			t.Fatalf("%s %s: %v", m, target, v)
		}
		for _, s := range secrets {
			if bytes.Contains(got, []byte(s)) || strings.Contains(fmt.Sprint(rec.Header()), s) {
				t.Fatalf("%s %s: the answer carries a secret: %d %s", m, target, code, got)
			}
		}
		if backendRan && token != fzNodeToken && token != fzNodeToken2 {
			t.Fatalf("%s %s with token %q reached the backend", m, target, token)
		}
		if code >= 500 && code != 502 && code != 503 && code != 504 && !relayed {
			t.Fatalf("%s %s: status %d: %s", m, target, code, got)
		}
		health := strings.Trim(req.URL.Path, "/") == "node/health" && (code == 200 || code == 503)
		switch {
		case relayed:
		case health:
			var h struct{ Status string }
			if json.Unmarshal(got, &h) != nil || (h.Status != "UP" && h.Status != "DOWN") {
				t.Fatalf("%s %s: health answer %d %q", m, target, code, got)
			}
		case code >= 200 && code < 300:
			if !json.Valid(got) {
				t.Fatalf("%s %s: %d answer is not JSON: %q", m, target, code, got)
			}
		default:
			if _, err := testenv.CheckJSONError(rec.Header(), got); err != nil {
				t.Fatalf("%s %s: %d: %v: %q", m, target, code, err, got)
			}
		}
		archived := backendRan && strings.Trim(req.URL.Path, "/") == "invoice"
		if check && code >= 400 && !archived {
			if after := storetest.Snapshot(t, st); !maps.Equal(after, before) {
				t.Fatalf("%s %s: refused with %d (%s) but the store changed", m, target, code, got)
			}
		}
	})
}
