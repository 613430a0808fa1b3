package voyado

// FuzzVoyadoHTTP drives the Voyado handler with arbitrary HTTP requests
// through a real Caddy running in the test process (caddy.Load: the kassa
// app with a bolt store and the voyado provider at the site's root), so
// the fuzzer gets coverage feedback from the handler. Each input is parsed
// with net/http's request parser first: what the fuzzer sends is what a
// client could put on the wire. The fuzz input also chooses the cluster's
// answer to browser notifications (status and body).
//
// This test is in package voyado (like the package's other tests), which
// cannot import the plugin package (it imports voyado): package fuzzcaddy
// stands in for plugin.Handler and runs the Caddy; the config is JSON.
//
// Seeds: every Voyado endpoint's example from core/spec, with its query.
// Run a fuzzing session with
//
//	go test -run '^$' -fuzz '^FuzzVoyadoHTTP$' -fuzztime 10s ./plugin/voyado/
//
// Properties checked for every input:
//   - no panic, no 500 and no 5xx other than 502/503/504 (the cluster's
//     own answer to a browser notification, relayed as documented,
//     excepted);
//   - kassa's own answers are JSON {"error":"...","violations"?}; a secure
//     payment is answered 202 {"id"} only with the backend key;
//   - a refused request leaves the store unchanged;
//   - the real Api-Key reaches the cluster only on payment paths, the
//     backend key never; no answer carries either key.

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
	fzAPIKey     = "FZ-REAL-VOYADO-API-KEY-41c9d2"
	fzBackendKey = "fz-voyado-backend-key-8e02"
)

// fzCluster stands in for the cluster: the outbox's deliveries (with the
// real key) get 204; browser forwards get the fuzz input's answer.
type fzCluster struct {
	srv     *httptest.Server
	mu      sync.Mutex
	status  int
	body    []byte
	browser atomic.Int64
	leaked  atomic.Value
}

func (c *fzCluster) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	for _, v := range r.Header.Values("Api-Key") {
		if v != fzAPIKey {
			c.leaked.Store(fmt.Sprintf("Api-Key %q reached the cluster on %s", v, r.URL.Path))
		}
	}
	if r.Header.Get("Api-Key") != "" {
		if !strings.HasSuffix(r.URL.Path, "/notifications/payment") {
			c.leaked.Store("the real Api-Key reached the cluster on " + r.URL.Path)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	c.browser.Add(1)
	c.mu.Lock()
	status, body := c.status, c.body
	c.mu.Unlock()
	w.WriteHeader(status)
	w.Write(body)
}

var fzMethods = []string{"POST", "OPTIONS", "GET", "PUT", "DELETE", "HEAD"}

func FuzzVoyadoHTTP(f *testing.F) {
	fuzzcaddy.Register()
	cl := &fzCluster{status: 204}
	cl.srv = httptest.NewServer(http.HandlerFunc(cl.serve))
	f.Cleanup(cl.srv.Close)

	dir := f.TempDir()
	port := testenv.FreePort(f)
	for k, v := range map[string]string{"FZ_VOYADO_API_KEY": fzAPIKey, "FZ_VOYADO_BACKEND_KEY": fzBackendKey,
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
						"provider": "voyado", "api_key": "{env.FZ_VOYADO_API_KEY}", "backend_key": "{env.FZ_VOYADO_BACKEND_KEY}",
						"cluster": cl.srv.URL, "cors_origins": []string{"https://shop.example"}, "cluster_timeout": "5s",
					}},
					map[string]any{"handler": "static_response", "status_code": 404, "body": "not kassa"},
				}}},
			}}},
		},
	}
	raw, _ := json.Marshal(cfg)
	srv, st := fuzzcaddy.Load(f, raw)
	host := fmt.Sprintf("127.0.0.1:%d", port)

	const v2q, sfq = "esales.market=SE&esales.customerKey=c-1&esales.sessionKey=s-1", "market=SE&customerKey=c-1&sessionKey=s-1"
	for p, id := range Routes() {
		ep := spec.Lookup(id)
		q := sfq
		if strings.HasPrefix(p, "/api/v2/") {
			q = v2q
		}
		key := uint8(0)
		if strings.HasSuffix(p, "/payment") {
			key = 1
		}
		f.Add(uint8(0), p, q, key, "application/json", "", "", []byte(ep.Example), uint16(204), []byte(nil))
	}
	pay := []byte(spec.Lookup("voyado.secure-payment").Example)
	f.Add(uint8(0), "/api/v2/notifications/payment", v2q, uint8(1), "text/plain;charset=utf-8", "", "idem-1", pay, uint16(204), []byte(nil))
	f.Add(uint8(0), "/api/v2/notifications/payment", v2q, uint8(2), "application/json", "", "", pay, uint16(204), []byte(nil))
	f.Add(uint8(0), "/api/v2/notifications/payment", v2q, uint8(4), "application/json", "", "", pay, uint16(204), []byte(nil))
	f.Add(uint8(1), "/api/v2/notifications/click", v2q, uint8(0), "", "https://shop.example", "", []byte(nil), uint16(204), []byte(nil))
	f.Add(uint8(0), "/api/v2/notifications/click", v2q, uint8(1), "text/plain", "https://evil.example", "",
		[]byte(spec.Lookup("voyado.click").Example), uint16(500), []byte(`<html>`))
	f.Add(uint8(0), "/api/storefront/v3/notifications/end", "market=SE&customerKey=%ff&sessionKey=", uint8(0), "", "", "", []byte(nil), uint16(204), []byte(nil))
	f.Add(uint8(0), "/api/admin/v4/notifications/payment", sfq, uint8(1), "application/json", "", "",
		[]byte(`{"lines":[{"productKey":"p","quantity":1e400,"sellingPrice":-0,"cost":NaN}]}`), uint16(204), []byte(nil))

	keys := []string{"", fzBackendKey, fzAPIKey, "wrong-key", "two"}
	var storeSize atomic.Int64
	f.Fuzz(func(t *testing.T, method uint8, path, query string, key uint8, contentType, origin, idem string, body []byte, upStatus uint16, upBody []byte) {
		status := int(upStatus)
		if status < 200 || status > 599 {
			status = 204
		}
		cl.mu.Lock()
		cl.status, cl.body = status, upBody
		cl.mu.Unlock()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		m := fzMethods[int(method)%len(fzMethods)]
		k := keys[int(key)%len(keys)]
		header := [][2]string{{"Content-Type", contentType}, {"Origin", origin}, {"Idempotency-Key", idem}}
		if k == "two" {
			header = append(header, [2]string{"Api-Key", fzBackendKey}, [2]string{"Api-Key", fzBackendKey})
		} else {
			header = append(header, [2]string{"Api-Key", k})
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", m, target, host)
		for _, h := range header {
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
		hits := cl.browser.Load()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		forwarded := cl.browser.Load() != hits
		code, got := rec.Code, rec.Body.Bytes()
		relayed := forwarded && code == status

		if v := cl.leaked.Load(); v != nil {
			t.Fatalf("%s %s: %v", m, target, v)
		}
		for _, s := range []string{fzAPIKey, fzBackendKey} {
			if bytes.Contains(got, []byte(s)) || strings.Contains(fmt.Sprint(rec.Header()), s) {
				t.Fatalf("%s %s: the answer carries a key: %d %s", m, target, code, got)
			}
		}
		if code == http.StatusAccepted && !relayed && k != fzBackendKey {
			t.Fatalf("%s %s: a secure payment was accepted with Api-Key %q", m, target, k)
		}
		if code >= 500 && code != 502 && code != 503 && code != 504 && !relayed {
			t.Fatalf("%s %s: status %d: %s", m, target, code, got)
		}
		switch {
		case bytes.Equal(got, []byte("not kassa")), relayed:
		case code == http.StatusNoContent && m == "OPTIONS":
		case code >= 200 && code < 300:
			if code != http.StatusAccepted {
				t.Fatalf("%s %s: %d %q without reaching the cluster", m, target, code, got)
			}
			var a struct{ ID string }
			if json.Unmarshal(got, &a) != nil || a.ID == "" {
				t.Fatalf("%s %s: 202 answer %q is not {\"id\"}", m, target, got)
			}
		default:
			if _, err := testenv.CheckJSONError(rec.Header(), got); err != nil {
				t.Fatalf("%s %s: %d: %v: %q", m, target, code, err, got)
			}
		}
		if check && code >= 400 {
			if after := storetest.Snapshot(t, st); !maps.Equal(after, before) {
				t.Fatalf("%s %s: refused with %d (%s) but the store changed", m, target, code, got)
			}
		}
	})
}
