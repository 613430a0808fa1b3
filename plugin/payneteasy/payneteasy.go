// Package payneteasy plays the merchant's ("Connecting Party's") server of
// the Payneteasy Direct API and its white labels: initiate, check, card
// mapping notifications, the status relay, and the classic final-status
// callback, for sale, transfer and card verification.
//
// Caddyfile syntax:
//
//	kassa payneteasy {
//		endpoint_id   <id>
//		control_key   {env.PNE_CONTROL_KEY}
//		gateway       <base url>            # https://sandbox.payneteasy.com/paynet, or a white label's
//		events        <url>                 # optional: final statuses and card mappings are POSTed here
//		events_secret {env.KASSA_EVENTS_SECRET}  # whsec_<base64>: signs those deliveries
//		session_ttl   30m
//		transfer_endpoint_id      <id>      # default: endpoint_id
//		verification_endpoint_id  <id>      # default: endpoint_id
//		gateway_timeout 30s
//		name          <name>                # delivery target name, when several handlers exist
//	}
//
// The next handler (usually reverse_proxy to the merchant's backend)
// approves each initiate request; everything else kassa answers itself.
package payneteasy

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/core/sign"
	"github.com/kassa-edge/kassa/plugin/app"
	"github.com/kassa-edge/kassa/plugin/engine"
	"github.com/kassa-edge/kassa/plugin/outbox"
	"github.com/kassa-edge/kassa/plugin/store"
)

func init() {
	caddy.RegisterModule(new(Payneteasy))
}

// Payneteasy is the kassa.providers.payneteasy module.
type Payneteasy struct {
	// EndpointID is the merchant's endpoint id at the gateway.
	EndpointID string `json:"endpoint_id,omitempty"`
	// TransferEndpointID and VerificationEndpointID override EndpointID
	// for those flows.
	TransferEndpointID     string `json:"transfer_endpoint_id,omitempty"`
	VerificationEndpointID string `json:"verification_endpoint_id,omitempty"`
	// ControlKey is a placeholder ({env.X} or {file.X}) for the control key.
	ControlKey string `json:"control_key,omitempty"`
	// Gateway is the gateway base URL, path included (white labels differ).
	Gateway string `json:"gateway,omitempty"`
	// Events is the merchant URL that receives kassa's events.
	Events string `json:"events,omitempty"`
	// EventsSecret is a placeholder for the whsec_ secret signing events.
	EventsSecret string `json:"events_secret,omitempty"`
	// SessionTTL bounds how long an initiated session can be checked.
	SessionTTL caddy.Duration `json:"session_ttl,omitempty"`
	// GatewayTimeout bounds one status relay.
	GatewayTimeout caddy.Duration `json:"gateway_timeout,omitempty"`
	// Name distinguishes several payneteasy handlers' delivery targets.
	Name string `json:"name,omitempty"`

	app     *app.App
	eng     engine.Engine
	st      store.Store
	logger  *zap.Logger
	key     string // resolved control key
	target  string
	gateway *url.URL
	client  *http.Client
	limit   int64
	memo    *sessionMemo
}

// CaddyModule returns the Caddy module information.
func (*Payneteasy) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "kassa.providers.payneteasy", New: func() caddy.Module { return new(Payneteasy) }}
}

// DefaultSessionTTL is how long an initiated sale can be checked: the app
// polls status for 2-3 minutes, and 3-D Secure can take longer.
const DefaultSessionTTL = 30 * time.Minute

// Provision resolves secrets and connects to the kassa app.
func (p *Payneteasy) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	if err := p.Validate(); err != nil {
		return err
	}
	key, err := app.Secret("control_key", p.ControlKey)
	if err != nil {
		return err
	}
	if b, err := sign.DecodeKey(nil, key); err != nil || len(b) != 16 {
		return fmt.Errorf("control_key: must be 32 hexadecimal digits (dashes allowed), such as 01234567-89AB-CDEF-0123-456789ABCDEF")
	}
	p.key = key
	p.memo = newSessionMemo()
	a, err := app.FromContext(ctx)
	if err != nil {
		return err
	}
	p.app, p.eng, p.st, p.limit = a, a.Engine(), a.Store(), a.BodyLimit()
	// Check the key once now, so a malformed key is a config error and not
	// a 500 on the first sale.
	var probe sign.Values
	probe[sign.Nonce], probe[sign.EndpointID], probe[sign.InvoiceID] = "n", "e", "i"
	if _, err := p.sign(ctx, "dapi.notification", &probe); err != nil {
		return fmt.Errorf("control_key: %v", err)
	}
	p.gateway, _ = url.Parse(strings.TrimRight(p.Gateway, "/"))
	timeout := time.Duration(p.GatewayTimeout)
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	p.client = &http.Client{Timeout: timeout}
	if p.SessionTTL == 0 {
		p.SessionTTL = caddy.Duration(DefaultSessionTTL)
	}
	if p.Name == "" {
		p.Name = "payneteasy"
	}
	p.target = "payneteasy/" + p.Name
	if p.Events != "" {
		secret, err := app.Secret("events_secret", p.EventsSecret)
		if err != nil {
			return err
		}
		signer, err := outbox.NewWebhookSigner(secret)
		if err != nil {
			return fmt.Errorf("events_secret: %v", err)
		}
		if err := a.RegisterTarget(p.target, outbox.Target{Sender: signer}); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the configuration without resolving secrets.
func (p *Payneteasy) Validate() error {
	if p.EndpointID == "" {
		return fmt.Errorf("endpoint_id: missing")
	}
	for _, id := range []string{p.EndpointID, p.TransferEndpointID, p.VerificationEndpointID} {
		if id != "" && !safeID(id) {
			return fmt.Errorf("endpoint_id: %q has characters other than letters, digits, '.', '_' and '-'", id)
		}
	}
	if p.ControlKey == "" {
		return fmt.Errorf("control_key: missing (use {env.NAME} or {file.PATH})")
	}
	if p.Gateway == "" {
		return fmt.Errorf("gateway: missing (e.g. https://sandbox.payneteasy.com/paynet)")
	}
	if err := checkURL(p.Gateway); err != nil {
		return fmt.Errorf("gateway: %v", err)
	}
	if p.Events != "" {
		if err := checkURL(p.Events); err != nil {
			return fmt.Errorf("events: %v", err)
		}
		if p.EventsSecret == "" {
			return fmt.Errorf("events_secret: missing: events are signed (use {env.NAME} or {file.PATH})")
		}
	} else if p.EventsSecret != "" {
		return fmt.Errorf("events_secret: set, but no events URL")
	}
	if p.SessionTTL < 0 || p.GatewayTimeout < 0 {
		return fmt.Errorf("session_ttl, gateway_timeout: must be positive")
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// endpointFor returns the endpoint id of a flow.
func (p *Payneteasy) endpointFor(flow string) string {
	switch {
	case flow == "transfer" && p.TransferEndpointID != "":
		return p.TransferEndpointID
	case flow == "verification" && p.VerificationEndpointID != "":
		return p.VerificationEndpointID
	}
	return p.EndpointID
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens.
func (p *Payneteasy) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the provider name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		sub := d.Val()
		var arg string
		if !d.Args(&arg) {
			return d.Errf("%s: needs one value", sub)
		}
		if d.NextArg() {
			return d.Errf("%s: takes one value", sub)
		}
		switch sub {
		case "endpoint_id":
			p.EndpointID = arg
		case "transfer_endpoint_id":
			p.TransferEndpointID = arg
		case "verification_endpoint_id":
			p.VerificationEndpointID = arg
		case "control_key":
			p.ControlKey = arg
		case "gateway":
			p.Gateway = arg
		case "events":
			p.Events = arg
		case "events_secret":
			p.EventsSecret = arg
		case "name":
			p.Name = arg
		case "session_ttl", "gateway_timeout":
			dur, err := caddy.ParseDuration(arg)
			if err != nil || dur <= 0 {
				return d.Errf("%s: %q is not a positive duration (e.g. 30m)", sub, arg)
			}
			if sub == "session_ttl" {
				p.SessionTTL = caddy.Duration(dur)
			} else {
				p.GatewayTimeout = caddy.Duration(dur)
			}
		default:
			return d.Errf("payneteasy: unknown subdirective %q", sub)
		}
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Payneteasy)(nil)
	_ caddy.Validator             = (*Payneteasy)(nil)
	_ caddyfile.Unmarshaler       = (*Payneteasy)(nil)
	_ caddyhttp.MiddlewareHandler = (*Payneteasy)(nil)
)
