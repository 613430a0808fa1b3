// Package smarts plays the merchant's Smarts "connection node": it answers
// Smarts' node calls (product search, receipts, invoices, purchase control,
// loyalty cards, pickup orders, offers) by validating each request, handing
// it to the merchant's backend (the next handler, usually reverse_proxy),
// and validating the backend's answer before Smarts sees it. It also relays
// the backend's calls to the Smarts gateway through the durable outbox,
// swapping the backend's key for the real institution access token, so
// that token never leaves kassa.
//
// Caddyfile syntax:
//
//	kassa smarts {
//		node_token         {env.SMARTS_NODE_TOKEN}   # repeatable (rotation): any of them is accepted
//		node_token_header  accessToken               # header Smarts presents the node token in (default accessToken)
//		access_token       {env.SMARTS_ACCESS_TOKEN} # the real institution token toward the gateway; never leaves kassa
//		backend_key        {env.SMARTS_BACKEND_KEY}  # what the merchant backend presents in accessToken on /gateway/...
//		gateway            https://gateway.smarts.ee/v1  # default
//		version            <string>                  # answered by GET /node/version (default kassa-<core version>)
//		health_timeout     2s                        # bound of the backend check of GET /node/health (default 2s)
//		name               <name>                    # delivery target name (default smarts), when several handlers exist
//	}
//
// Secrets (node_token, access_token, backend_key) must be {env.NAME} or
// {file.PATH} placeholders; a missing or empty value is a config error.
// access_token and backend_key go together: without them the /gateway/...
// relay is off (404) and the node endpoints still work.
//
// Paths, relative to where the handler is mounted (use handle_path):
//
//	GET  /node/version, GET /node/health          answered by kassa
//	POST /product/search, /product/search/barcode, /product/search/name,
//	     /product/search/category, /invoice, /receipt, /receipt/confirm,
//	     /control/check, /card/loyalty, /card/loyalty/bonus, /pickup/order,
//	     /pickup/order/update, /offers/search     validated, then the next handler
//	POST /gateway/<path>                           queued to {gateway}/<path>
//
// Every node call must carry one of the node tokens in node_token_header,
// else 401 {"error":"unauthorized"}. Gateway calls must carry backend_key
// in the accessToken header, else 403 {"error":"forbidden"}; they are
// answered 202 {"id":"<delivery id>"} once durably queued (the
// Idempotency-Key request header, if given, is the delivery id).
//
// Errors kassa itself answers are JSON {"error":"<text>"} with, for
// validation failures, "violations":[{"path","rule","message"},...]: 400
// for an invalid request, 502 for a backend answer that breaks the spec.
// Non-2xx answers of the backend reach Smarts unchanged.
package smarts

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/kassa-edge/kassa/core"
	"github.com/kassa-edge/kassa/plugin/app"
	"github.com/kassa-edge/kassa/plugin/engine"
	"github.com/kassa-edge/kassa/plugin/internal/provider"
	"github.com/kassa-edge/kassa/plugin/outbox"
	"github.com/kassa-edge/kassa/plugin/store"
)

func init() {
	caddy.RegisterModule(new(Smarts))
}

// Defaults.
const (
	// DefaultGateway is Smarts' published gateway base URL.
	DefaultGateway = "https://gateway.smarts.ee/v1"
	// DefaultTokenHeader is the header Smarts presents the node token in.
	// Smarts does not publish it; accessToken is what its gateway uses.
	DefaultTokenHeader = "accessToken"
	// DefaultHealthTimeout bounds each part of GET /node/health.
	DefaultHealthTimeout = 2 * time.Second
	// BackendKeyHeader is where the merchant's backend presents
	// backend_key on /gateway/... (the header the gateway itself reads, so
	// existing integration code only changes its base URL and key).
	BackendKeyHeader = "accessToken"
	// GatewayContentType is what Smarts' gateway expects.
	GatewayContentType = "application/json;charset=UTF-8"
)

// Smarts is the kassa.providers.smarts module.
type Smarts struct {
	// NodeTokens are placeholders ({env.X} or {file.X}) of the tokens
	// Smarts may present; several allow rotation.
	NodeTokens []string `json:"node_token,omitempty"`
	// NodeTokenHeader is the request header carrying the node token.
	NodeTokenHeader string `json:"node_token_header,omitempty"`
	// AccessToken is a placeholder for the institution access token sent
	// to the gateway.
	AccessToken string `json:"access_token,omitempty"`
	// BackendKey is a placeholder for the key the merchant's backend
	// presents on /gateway/... calls.
	BackendKey string `json:"backend_key,omitempty"`
	// Gateway is the Smarts gateway base URL.
	Gateway string `json:"gateway,omitempty"`
	// Version is answered by GET /node/version.
	Version string `json:"version,omitempty"`
	// HealthTimeout bounds the checks of GET /node/health.
	HealthTimeout caddy.Duration `json:"health_timeout,omitempty"`
	// Name distinguishes several smarts handlers' delivery targets.
	Name string `json:"name,omitempty"`

	app         *app.App
	eng         engine.Engine
	st          store.Store
	logger      *zap.Logger
	nodeTokens  [][32]byte // SHA-256 of each accepted node token
	backendKey  [32]byte   // SHA-256 of backend_key
	relay       bool       // gateway relay configured
	gatewayBase string     // Gateway without a trailing slash
	target      string
	limit       int64
	versionBody []byte
}

// CaddyModule returns the Caddy module information.
func (*Smarts) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "kassa.providers.smarts", New: func() caddy.Module { return new(Smarts) }}
}

// Provision resolves secrets and connects to the kassa app.
func (s *Smarts) Provision(ctx caddy.Context) error {
	s.logger = ctx.Logger()
	if err := s.Validate(); err != nil {
		return err
	}
	tokens, err := app.Secrets("node_token", s.NodeTokens)
	if err != nil {
		return err
	}
	s.nodeTokens = s.nodeTokens[:0]
	for _, t := range tokens {
		s.nodeTokens = append(s.nodeTokens, sha256.Sum256([]byte(t)))
	}
	if s.NodeTokenHeader == "" {
		s.NodeTokenHeader = DefaultTokenHeader
	}
	if s.Name == "" {
		s.Name = "smarts"
	}
	if s.HealthTimeout == 0 {
		s.HealthTimeout = caddy.Duration(DefaultHealthTimeout)
	}
	if s.Version == "" {
		s.Version = "kassa-" + core.Version
	}
	a, err := app.FromContext(ctx)
	if err != nil {
		return err
	}
	s.app, s.eng, s.st, s.limit = a, a.Engine(), a.Store(), a.BodyLimit()

	s.versionBody = jsonBody(map[string]string{"version": s.Version})
	res, err := s.eng.Validate(ctx, "smarts.node-version.response", s.versionBody)
	if err != nil {
		return fmt.Errorf("version: %v", err)
	}
	if !res.Valid {
		return fmt.Errorf("version: %q is not a valid node version answer: %s", s.Version, provider.ViolationText(res.Violations))
	}

	s.target = "smarts/" + s.Name
	s.relay = s.AccessToken != ""
	if !s.relay {
		return nil
	}
	access, err := app.Secret("access_token", s.AccessToken)
	if err != nil {
		return err
	}
	backend, err := app.Secret("backend_key", s.BackendKey)
	if err != nil {
		return err
	}
	s.backendKey = sha256.Sum256([]byte(backend))
	if subtle.ConstantTimeCompare([]byte(access), []byte(backend)) == 1 {
		return fmt.Errorf("backend_key: must differ from access_token (the backend must never hold the real token)")
	}
	for _, t := range s.nodeTokens {
		if subtle.ConstantTimeCompare(t[:], s.backendKey[:]) == 1 {
			return fmt.Errorf("backend_key: must differ from every node_token")
		}
	}
	if s.Gateway == "" {
		s.Gateway = DefaultGateway
	}
	s.gatewayBase = strings.TrimRight(s.Gateway, "/")
	// 4xx answers are retried (Permanent4xx false): the usual 4xx of the
	// gateway is 401/403 for a rotated or mistyped access token, which the
	// operator fixes, and then nothing queued in the meantime is lost.
	// Bodies are validated before they are queued, so a 400 is rare; the
	// outbox's max_age bounds the retries.
	return a.RegisterTarget(s.target, outbox.Target{Sender: headerSender{BackendKeyHeader, access}})
}

// headerSender sets one credential header at send time: deliveries in the
// store never hold it.
type headerSender struct{ header, value string }

// Prepare implements outbox.Sender.
func (h headerSender) Prepare(req *http.Request, _ *store.Delivery) error {
	req.Header.Set(h.header, h.value)
	return nil
}

// Validate checks the configuration without resolving secrets.
func (s *Smarts) Validate() error {
	if len(s.NodeTokens) == 0 {
		return fmt.Errorf("node_token: missing (use {env.NAME} or {file.PATH}; repeat it to accept several)")
	}
	for _, t := range s.NodeTokens {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("node_token: empty (use {env.NAME} or {file.PATH})")
		}
	}
	if s.NodeTokenHeader != "" && !validHeaderName(s.NodeTokenHeader) {
		return fmt.Errorf("node_token_header: %q is not a valid header name", s.NodeTokenHeader)
	}
	switch {
	case s.AccessToken != "" && s.BackendKey == "":
		return fmt.Errorf("backend_key: missing: the gateway relay needs the key the merchant backend presents (use {env.NAME} or {file.PATH})")
	case s.AccessToken == "" && s.BackendKey != "":
		return fmt.Errorf("access_token: missing: the gateway relay needs the institution access token (use {env.NAME} or {file.PATH})")
	case s.AccessToken == "" && s.Gateway != "":
		return fmt.Errorf("gateway: set, but no access_token and backend_key")
	}
	if s.Gateway != "" {
		if err := provider.CheckURL(s.Gateway); err != nil {
			return fmt.Errorf("gateway: %v", err)
		}
	}
	if s.Name != "" && !provider.SafeName(s.Name) {
		return fmt.Errorf("name: %q has characters other than letters, digits, '.', '_' and '-'", s.Name)
	}
	if s.HealthTimeout < 0 {
		return fmt.Errorf("health_timeout: must be positive")
	}
	return nil
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens.
func (s *Smarts) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the provider name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		sub := d.Val()
		args := d.RemainingArgs()
		if sub == "node_token" {
			if len(args) == 0 {
				return d.Errf("node_token: needs a value such as {env.SMARTS_NODE_TOKEN}")
			}
			s.NodeTokens = append(s.NodeTokens, args...)
			continue
		}
		if len(args) != 1 {
			return d.Errf("%s: takes exactly one value", sub)
		}
		arg := args[0]
		switch sub {
		case "node_token_header":
			if !validHeaderName(arg) {
				return d.Errf("node_token_header: %q is not a valid header name", arg)
			}
			s.NodeTokenHeader = arg
		case "access_token":
			s.AccessToken = arg
		case "backend_key":
			s.BackendKey = arg
		case "gateway":
			if err := provider.CheckURL(arg); err != nil {
				return d.Errf("gateway: %v", err)
			}
			s.Gateway = arg
		case "version":
			if strings.TrimSpace(arg) == "" {
				return d.Errf("version: must not be empty")
			}
			s.Version = arg
		case "health_timeout":
			dur, err := caddy.ParseDuration(arg)
			if err != nil || dur <= 0 {
				return d.Errf("health_timeout: %q is not a positive duration (e.g. 2s)", arg)
			}
			s.HealthTimeout = caddy.Duration(dur)
		case "name":
			if !provider.SafeName(arg) {
				return d.Errf("name: %q has characters other than letters, digits, '.', '_' and '-'", arg)
			}
			s.Name = arg
		default:
			return d.Errf("smarts: unknown subdirective %q", sub)
		}
	}
	return nil
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Smarts)(nil)
	_ caddy.Validator             = (*Smarts)(nil)
	_ caddyfile.Unmarshaler       = (*Smarts)(nil)
	_ caddyhttp.MiddlewareHandler = (*Smarts)(nil)
	_ outbox.Sender               = headerSender{}
)
