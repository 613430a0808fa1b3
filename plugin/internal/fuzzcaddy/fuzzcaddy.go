// Package fuzzcaddy runs a real Caddy inside a test process for the
// providers' HTTP fuzz targets, so that the fuzzer gets coverage feedback
// from the handlers (a Caddy in another process would give none).
//
// The provider packages' tests cannot import package plugin (it imports
// them), so Register installs Delegate as http.handlers.kassa: the ten
// lines of plugin.Handler that hand each request to its kassa.providers.*
// module. Never call Register in a process that also links package plugin
// (both would register the same module ID).
package fuzzcaddy

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	kapp "github.com/kassa-edge/kassa/plugin/app"
	"github.com/kassa-edge/kassa/plugin/store"
)

// Delegate mirrors plugin.Handler: the http.handlers.kassa module that
// hands each request to its kassa.providers.* module.
type Delegate struct {
	ProviderRaw json.RawMessage `json:"provider,omitempty" caddy:"namespace=kassa.providers inline_key=provider"`
	provider    caddyhttp.MiddlewareHandler
}

// CaddyModule returns the module information.
func (Delegate) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.kassa", New: func() caddy.Module { return new(Delegate) }}
}

// Provision loads the provider module.
func (h *Delegate) Provision(ctx caddy.Context) error {
	m, err := ctx.LoadModule(h, "ProviderRaw")
	if err != nil {
		return err
	}
	h.provider = m.(caddyhttp.MiddlewareHandler)
	return nil
}

// ServeHTTP hands the request to the provider.
func (h *Delegate) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return h.provider.ServeHTTP(w, r, next)
}

var once sync.Once

// Register registers Delegate, once per process.
func Register() { once.Do(func() { caddy.RegisterModule(Delegate{}) }) }

// Load runs the JSON config in this process's Caddy (caddy.Load), stops it
// when the test ends, and returns the config's only HTTP server and the
// kassa app's store.
func Load(tb testing.TB, cfg []byte) (*caddyhttp.Server, store.Store) {
	tb.Helper()
	if err := caddy.Load(cfg, true); err != nil {
		tb.Fatalf("caddy.Load: %v", err)
	}
	tb.Cleanup(func() { caddy.Stop() })
	ctx := caddy.ActiveContext()
	httpApp, err := ctx.App("http")
	if err != nil {
		tb.Fatal(err)
	}
	kassaApp, err := ctx.App("kassa")
	if err != nil {
		tb.Fatal(err)
	}
	servers := httpApp.(*caddyhttp.App).Servers
	if len(servers) != 1 {
		tb.Fatalf("want one HTTP server, got %d", len(servers))
	}
	var srv *caddyhttp.Server
	for _, s := range servers {
		srv = s
	}
	return srv, kassaApp.(*kapp.App).Store()
}
