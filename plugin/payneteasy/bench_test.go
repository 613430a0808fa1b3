package payneteasy_test

// BenchmarkCheckHandler measures a repeated Check sale through Caddy's HTTP
// server in this process (caddy.Load of a Caddyfile with kassa and a bolt
// store, as FuzzPayneteasyHTTP runs it), without the network: what kassa's
// handler and Caddy's routing cost per request, with -benchmem's
// allocations. The `respond` sub-benchmark is the same server's plain
// `respond` site, the baseline. bench/load.sh measures the same paths over
// loopback with wrk.
//
//	go test -run '^$' -bench CheckHandler -benchmem ./plugin/payneteasy/

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
)

const benchCaddyfile = `{
	admin off
	persist_config off
	storage file_system {{DIR}}/data
	log default {
		output file {{DIR}}/caddy.log
		level ERROR
	}
	kassa {
		engine {{ENGINE}}
		store bolt {{DIR}}/kassa-{{ENGINE}}.db
	}
}
http://127.0.0.1:{{PORT}} {
	handle /ok {
		respond "ok"
	}
	kassa payneteasy {
		endpoint_id ` + fzEndpointID + `
		control_key {env.FZ_PNE_CONTROL_KEY}
		gateway {{UPSTREAM}}/paynet
	}
	reverse_proxy {{UPSTREAM_HOST}}
}
`

// discard is a ResponseWriter that keeps only the status and the body's
// length: the recorder's own allocations would blur -benchmem's.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(s int) {
	if d.status == 0 {
		d.status = s
	}
}
func (d *discard) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	d.n += len(b)
	return len(b), nil
}

// Caddy sets read and write deadlines through http.ResponseController, as
// on a real connection (without these it would build an error each time).
func (d *discard) SetReadDeadline(time.Time) error  { return nil }
func (d *discard) SetWriteDeadline(time.Time) error { return nil }

func BenchmarkCheckHandler(b *testing.B) {
	up := &fzUpstream{}
	up.srv = httptest.NewServer(http.HandlerFunc(up.serve))
	b.Cleanup(up.srv.Close)
	dir := b.TempDir()
	testenv.ShareWazeroCache(b, filepath.Join(dir, "xdg"))
	for _, engine := range []string{"native", "wasm"} {
		port := testenv.FreePort(b)
		host := "127.0.0.1:" + strconv.Itoa(port)
		cf := strings.NewReplacer("{{DIR}}", dir, "{{PORT}}", strconv.Itoa(port), "{{ENGINE}}", engine,
			"{{UPSTREAM}}", up.srv.URL, "{{UPSTREAM_HOST}}", strings.TrimPrefix(up.srv.URL, "http://")).Replace(benchCaddyfile)
		c := fzStartCaddy(b, cf, map[string]string{"FZ_PNE_CONTROL_KEY": fzControlKey})

		serial, accessToken, inv, tok := "SN-BENCH", "bench-access-token-0123456789abcdef", "bench-inv-"+engine, "bench-token-0123456789"
		body := fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"transaction":{"amountCentis":1000,"currency":"EUR"},"session":{"accessToken":%q}}`, serial, accessToken)
		rec, _ := c.serve(fzRawRequest("POST", host, "/sale/initiate-sale", [][2]string{{"Content-Type", "application/json"}, {"X-Fz-Invoice", inv}}, []byte(body)))
		var out struct {
			Session struct{ Nonce, Signature string }
		}
		if rec == nil || rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			b.Fatalf("initiate: %v", rec)
		}
		check := []byte(fmt.Sprintf(`{"consumer":{"device":{"serialNumber":%q}},"session":{"accessToken":%q,"nonce":%q,"signature":%q,"token":%q}}`,
			serial, accessToken, out.Session.Nonce, out.Session.Signature, tok))
		run := func(b *testing.B, target string, body []byte) {
			d := &discard{h: make(http.Header)}
			serve := func() {
				r, _ := http.NewRequest("POST", "http://"+host+target, bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.RemoteAddr = "127.0.0.1:40000"
				clear(d.h)
				d.status, d.n = 0, 0
				c.srv.ServeHTTP(d, r)
				if d.status != 200 || d.n == 0 {
					b.Fatalf("%s: status %d, %d bytes", target, d.status, d.n)
				}
			}
			serve() // the first check writes the session token
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				serve()
			}
		}
		if engine == "native" {
			b.Run("respond", func(b *testing.B) { run(b, "/ok", []byte(`{}`)) })
		}
		b.Run(engine, func(b *testing.B) { run(b, "/sale/"+inv+"/check", check) })
	}
}
