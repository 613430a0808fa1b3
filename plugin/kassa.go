// Package kassa is the Caddy module that puts payment providers' merchant
// endpoints at the edge. Add it to Caddy with
//
//	xcaddy build --with github.com/kassa-edge/kassa/plugin
//
// It registers the `kassa` app (global option), the `kassa` HTTP handler
// (directive) with its providers (payneteasy, smarts, voyado), and the
// `caddy kassa ...` commands.
//
// Caddyfile syntax of the handler:
//
//	kassa <provider> {
//		<provider subdirectives>
//	}
//
// where <provider> is payneteasy, smarts or voyado; see each provider's
// package documentation for its subdirectives. The directive is ordered
// before respond (hence before reverse_proxy and file_server), so the
// merchant's backend can follow it in the same route.
package kassa

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/kassa-edge/kassa/plugin/app"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("kassa", parseHandler)
	// Before respond (and so before reverse_proxy and file_server): kassa
	// answers its paths and hands the rest to what follows in the route.
	httpcaddyfile.RegisterDirectiveOrder("kassa", httpcaddyfile.Before, "respond")
	httpcaddyfile.RegisterGlobalOption("kassa", parseGlobal)
}

// Providers lists the provider names the handler accepts.
var Providers = []string{"payneteasy", "smarts", "voyado"}

// Handler is the http.handlers.kassa module: it hands each request to its
// provider.
type Handler struct {
	// ProviderRaw is the provider module, selected by its "provider" key.
	ProviderRaw json.RawMessage `json:"provider,omitempty" caddy:"namespace=kassa.providers inline_key=provider"`

	provider caddyhttp.MiddlewareHandler
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.kassa", New: func() caddy.Module { return new(Handler) }}
}

// Provision loads the provider.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.ProviderRaw == nil {
		return fmt.Errorf("kassa: no provider (want one of payneteasy, smarts, voyado)")
	}
	mod, err := ctx.LoadModule(h, "ProviderRaw")
	if err != nil {
		return fmt.Errorf("kassa: %v", err)
	}
	p, ok := mod.(caddyhttp.MiddlewareHandler)
	if !ok {
		return fmt.Errorf("kassa: provider module %T is not an HTTP handler", mod)
	}
	h.provider = p
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return h.provider.ServeHTTP(w, r, next)
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if !d.NextArg() {
		return d.Errf("kassa: missing provider (want one of payneteasy, smarts, voyado)")
	}
	name := d.Val()
	known := false
	for _, p := range Providers {
		known = known || p == name
	}
	if !known {
		return d.Errf("kassa: unknown provider %q (want one of payneteasy, smarts, voyado)", name)
	}
	unm, err := caddyfile.UnmarshalModule(d, "kassa.providers."+name)
	if err != nil {
		return err
	}
	h.ProviderRaw = caddyconfig.JSONModuleObject(unm, "provider", name, nil)
	return nil
}

func parseHandler(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var handler Handler
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return &handler, err
}

func parseGlobal(d *caddyfile.Dispenser, _ any) (any, error) {
	a := new(app.App)
	if err := a.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "kassa", Value: caddyconfig.JSON(a, nil)}, nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
