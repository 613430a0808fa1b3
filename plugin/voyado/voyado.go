// Package voyado serves Voyado Elevate's notification paths (Elevate 3 Web
// API v2, Elevate 4 Storefront API v3 and Admin API payments) in front of
// the merchant's cluster, so existing integration code only changes its
// base URL.
//
// Caddyfile syntax:
//
//	kassa voyado {
//		api_key          {env.VOYADO_API_KEY}     # the real key; never leaves kassa
//		backend_key      {env.VOYADO_BACKEND_KEY} # what the merchant's own servers present in Api-Key
//		cluster          https://<cluster-id>.api.esales.apptus.cloud
//		client_payments  off | on                 # default off
//		cors_origins     https://shop.example ... # browser origins allowed (CORS); repeatable; * allows any
//		cluster_timeout  10s                      # bound of one synchronous browser forward (default 10s)
//		name             <name>                   # delivery target name (default voyado)
//	}
//
// cluster is required. api_key and backend_key go together (both {env.NAME}
// or {file.PATH} placeholders); without them secure payments are refused
// (403) and browser notifications still work.
//
// Paths are the cluster's own, matched exactly, so the handler works both
// at a site's root (handle) and under a prefix (handle_path); any other path
// goes to the next handler:
//
//	POST /api/v2/notifications/{payment, click, non-esales-click,
//	     adding-to-cart, non-esales-adding-to-cart, end}
//	POST /api/storefront/v3/notifications/{click, add-to-cart, add-favorite,
//	     remove-favorite, ad-impression, remove-recent-searches,
//	     remove-recently-viewed, end}
//	POST /api/admin/v4/notifications/payment, /api/admin/v3/notifications/payment
//
// Secure payments (Admin API, and the v2 payment with Api-Key) must present
// backend_key in Api-Key, else 403. The query and body are validated, then
// the notification is queued durably to {cluster}{path}?{query} with the
// real Api-Key added at send time; the answer is 202 {"id":"<delivery id>"}
// (an Idempotency-Key request header is the delivery id). A 4xx from the
// cluster is final (the delivery goes dead with its reason); 5xx and
// network failures are retried.
//
// Browser notifications (and the v2 payment without Api-Key when
// client_payments is on, validated as the non-secure payment: no cost) are
// validated, then forwarded synchronously without any key; the cluster's
// status and body are relayed (204 expected). Bodies may be sent as
// application/json or text/plain;charset=utf-8. Allowed origins get
// Access-Control-Allow-Origin and preflight answers; preflights from other
// origins get 403.
//
// Voyado publishes status codes only (204, 400, 403, 5xx); kassa's own
// refusals carry a JSON body {"error":"<text>","violations":[{"path",
// "rule","message"},...]} (violations for 400 only), which clients that
// look at the status alone can ignore.
package voyado

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/plugin/app"
	"github.com/kassa-edge/kassa/plugin/engine"
	"github.com/kassa-edge/kassa/plugin/internal/provider"
	"github.com/kassa-edge/kassa/plugin/outbox"
	"github.com/kassa-edge/kassa/plugin/store"
)

func init() {
	caddy.RegisterModule(new(Voyado))
}

// KeyHeader is the header Voyado's secure notifications carry the key in.
const KeyHeader = "Api-Key"

// DefaultClusterTimeout bounds one synchronous browser forward.
const DefaultClusterTimeout = 10 * time.Second

// Voyado is the kassa.providers.voyado module.
type Voyado struct {
	// APIKey is a placeholder ({env.X} or {file.X}) for the real Api-Key.
	APIKey string `json:"api_key,omitempty"`
	// BackendKey is a placeholder for the key the merchant's servers
	// present in Api-Key instead of the real one.
	BackendKey string `json:"backend_key,omitempty"`
	// Cluster is the cluster base URL.
	Cluster string `json:"cluster,omitempty"`
	// ClientPayments accepts the v2 payment notification without Api-Key
	// (the non-secure variant, without cost) from browsers.
	ClientPayments bool `json:"client_payments,omitempty"`
	// CORSOrigins are the browser origins allowed; "*" allows any.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// ClusterTimeout bounds one synchronous forward of a browser
	// notification.
	ClusterTimeout caddy.Duration `json:"cluster_timeout,omitempty"`
	// Name distinguishes several voyado handlers' delivery targets.
	Name string `json:"name,omitempty"`

	app        *app.App
	eng        engine.Engine
	st         store.Store
	logger     *zap.Logger
	secure     bool     // api_key and backend_key configured
	backendKey [32]byte // SHA-256 of backend_key
	cluster    string   // Cluster without a trailing slash
	origins    map[string]bool
	anyOrigin  bool
	client     *http.Client
	target     string
	limit      int64
}

// CaddyModule returns the Caddy module information.
func (*Voyado) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "kassa.providers.voyado", New: func() caddy.Module { return new(Voyado) }}
}

// Provision resolves secrets and connects to the kassa app.
func (v *Voyado) Provision(ctx caddy.Context) error {
	v.logger = ctx.Logger()
	if err := v.Validate(); err != nil {
		return err
	}
	if v.Name == "" {
		v.Name = "voyado"
	}
	if v.ClusterTimeout == 0 {
		v.ClusterTimeout = caddy.Duration(DefaultClusterTimeout)
	}
	v.cluster = strings.TrimRight(v.Cluster, "/")
	v.origins = map[string]bool{}
	for _, o := range v.CORSOrigins {
		if o == "*" {
			v.anyOrigin = true
			continue
		}
		v.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	v.client = &http.Client{
		Timeout:       time.Duration(v.ClusterTimeout),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	a, err := app.FromContext(ctx)
	if err != nil {
		return err
	}
	v.app, v.eng, v.st, v.limit = a, a.Engine(), a.Store(), a.BodyLimit()
	v.target = "voyado/" + v.Name
	v.secure = v.APIKey != ""
	if !v.secure {
		return nil
	}
	key, err := app.Secret("api_key", v.APIKey)
	if err != nil {
		return err
	}
	backend, err := app.Secret("backend_key", v.BackendKey)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(backend)) == 1 {
		return fmt.Errorf("backend_key: must differ from api_key (the merchant's servers must never hold the real key)")
	}
	v.backendKey = sha256.Sum256([]byte(backend))
	// A 4xx from the cluster means the notification itself is wrong (or
	// the key is): resending cannot help, so it goes dead with its reason.
	return a.RegisterTarget(v.target, outbox.Target{
		Sender: keySender{key},
		Policy: outbox.Policy{Permanent4xx: true},
	})
}

// keySender adds the real Api-Key at send time: deliveries in the store
// never hold it.
type keySender struct{ key string }

// Prepare implements outbox.Sender.
func (k keySender) Prepare(req *http.Request, _ *store.Delivery) error {
	req.Header.Set(KeyHeader, k.key)
	return nil
}

// Validate checks the configuration without resolving secrets.
func (v *Voyado) Validate() error {
	if v.Cluster == "" {
		return fmt.Errorf("cluster: missing (e.g. https://<cluster-id>.api.esales.apptus.cloud)")
	}
	if err := provider.CheckURL(v.Cluster); err != nil {
		return fmt.Errorf("cluster: %v", err)
	}
	switch {
	case v.APIKey != "" && v.BackendKey == "":
		return fmt.Errorf("backend_key: missing: secure payments need the key the merchant's servers present (use {env.NAME} or {file.PATH})")
	case v.APIKey == "" && v.BackendKey != "":
		return fmt.Errorf("api_key: missing: secure payments need the real Api-Key (use {env.NAME} or {file.PATH})")
	}
	for _, o := range v.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("cors_origins: %v", err)
		}
	}
	if v.Name != "" && !provider.SafeName(v.Name) {
		return fmt.Errorf("name: %q has characters other than letters, digits, '.', '_' and '-'", v.Name)
	}
	if v.ClusterTimeout < 0 {
		return fmt.Errorf("cluster_timeout: must be positive")
	}
	return nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens.
func (v *Voyado) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the provider name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		sub := d.Val()
		args := d.RemainingArgs()
		if sub == "cors_origins" {
			if len(args) == 0 {
				return d.Errf("cors_origins: needs one or more origins such as https://shop.example")
			}
			for _, o := range args {
				if err := checkOrigin(o); err != nil {
					return d.Errf("cors_origins: %v", err)
				}
			}
			v.CORSOrigins = append(v.CORSOrigins, args...)
			continue
		}
		if len(args) != 1 {
			return d.Errf("%s: takes exactly one value", sub)
		}
		arg := args[0]
		switch sub {
		case "api_key":
			v.APIKey = arg
		case "backend_key":
			v.BackendKey = arg
		case "cluster":
			if err := provider.CheckURL(arg); err != nil {
				return d.Errf("cluster: %v", err)
			}
			v.Cluster = arg
		case "client_payments":
			switch arg {
			case "on":
				v.ClientPayments = true
			case "off":
				v.ClientPayments = false
			default:
				return d.Errf("client_payments: %q is not on or off", arg)
			}
		case "cluster_timeout":
			dur, err := caddy.ParseDuration(arg)
			if err != nil || dur <= 0 {
				return d.Errf("cluster_timeout: %q is not a positive duration (e.g. 10s)", arg)
			}
			v.ClusterTimeout = caddy.Duration(dur)
		case "name":
			if !provider.SafeName(arg) {
				return d.Errf("name: %q has characters other than letters, digits, '.', '_' and '-'", arg)
			}
			v.Name = arg
		default:
			return d.Errf("voyado: unknown subdirective %q", sub)
		}
	}
	return nil
}

// checkOrigin accepts "*" or a serialized origin: scheme://host[:port].
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an origin such as https://shop.example (or *)", o)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin: no path, query or user info (https://shop.example)", o)
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Voyado)(nil)
	_ caddy.Validator             = (*Voyado)(nil)
	_ caddyfile.Unmarshaler       = (*Voyado)(nil)
	_ caddyhttp.MiddlewareHandler = (*Voyado)(nil)
	_ outbox.Sender               = keySender{}
)
