package voyado

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/kassa-edge/kassa/core/spec"
)

func parse(t *testing.T, input string) (*Voyado, error) {
	t.Helper()
	v := new(Voyado)
	err := v.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	return v, err
}

func TestCaddyfileEverySubdirective(t *testing.T) {
	v, err := parse(t, `voyado {
		api_key          {env.VOYADO_API_KEY}
		backend_key      {file./run/secrets/voyado_backend}
		cluster          https://w35d2a8b6.api.esales.apptus.cloud
		client_payments  on
		cors_origins     https://shop.example https://m.shop.example
		cors_origins     http://localhost:3000
		cluster_timeout  3s
		name             eu
	}`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Voyado{
		APIKey:         "{env.VOYADO_API_KEY}",
		BackendKey:     "{file./run/secrets/voyado_backend}",
		Cluster:        "https://w35d2a8b6.api.esales.apptus.cloud",
		ClientPayments: true,
		CORSOrigins:    []string{"https://shop.example", "https://m.shop.example", "http://localhost:3000"},
		ClusterTimeout: caddy.Duration(3 * time.Second),
		Name:           "eu",
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %+v\nwant %+v", v, want)
	}
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	v, err = parse(t, "voyado {\n cluster https://c.example\n client_payments off\n cors_origins *\n}")
	if err != nil || v.ClientPayments || v.CORSOrigins[0] != "*" {
		t.Fatalf("%+v %v", v, err)
	}
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Every bad value is refused with an error naming its subdirective.
func TestCaddyfileBadValues(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"api_key", "api_key"},
		{"api_key {env.A} {env.B}", "api_key"},
		{"backend_key", "backend_key"},
		{"backend_key {env.A} {env.B}", "backend_key"},
		{"cluster", "cluster"},
		{"cluster ftp://c.example", "cluster"},
		{"cluster c.example", "cluster"},
		{"cluster https://c.example?x=1", "cluster"},
		{"cluster https://c.example https://d.example", "cluster"},
		{"client_payments", "client_payments"},
		{"client_payments yes", "client_payments"},
		{"client_payments on off", "client_payments"},
		{"cors_origins", "cors_origins"},
		{"cors_origins shop.example", "cors_origins"},
		{"cors_origins https://shop.example/path", "cors_origins"},
		{"cors_origins https://shop.example?x", "cors_origins"},
		{"cors_origins ftp://shop.example", "cors_origins"},
		{"cluster_timeout", "cluster_timeout"},
		{"cluster_timeout fast", "cluster_timeout"},
		{"cluster_timeout 0s", "cluster_timeout"},
		{"name", "name"},
		{"name a/b", "name"},
		{"colour blue", `unknown subdirective "colour"`},
	} {
		_, err := parse(t, "voyado {\n cluster https://c.example\n "+tc.body+"\n}")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error naming %q", tc.body, err, tc.want)
		}
	}
	if _, err := parse(t, "voyado extra {\n}"); err == nil {
		t.Error("an argument after the provider name was accepted")
	}
}

func TestValidate(t *testing.T) {
	const c = "https://c.example"
	for _, tc := range []struct {
		v    Voyado
		want string
	}{
		{Voyado{}, "cluster"},
		{Voyado{Cluster: "nope"}, "cluster"},
		{Voyado{Cluster: c, APIKey: "{env.A}"}, "backend_key"},
		{Voyado{Cluster: c, BackendKey: "{env.B}"}, "api_key"},
		{Voyado{Cluster: c, CORSOrigins: []string{"shop"}}, "cors_origins"},
		{Voyado{Cluster: c, Name: "a b"}, "name"},
		{Voyado{Cluster: c, ClusterTimeout: -1}, "cluster_timeout"},
	} {
		err := tc.v.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
			t.Errorf("%+v: got %v, want an error starting %q", tc.v, err, tc.want+":")
		}
	}
}

// The paths are INTERFACE.md section 3's, each with an endpoint of the
// spec documenting the same path.
func TestRoutes(t *testing.T) {
	want := map[string]string{
		"/api/v2/notifications/payment":                           "voyado.secure-payment",
		"/api/v2/notifications/click":                             "voyado.click",
		"/api/v2/notifications/non-esales-click":                  "voyado.non-esales-click",
		"/api/v2/notifications/adding-to-cart":                    "voyado.adding-to-cart",
		"/api/v2/notifications/non-esales-adding-to-cart":         "voyado.non-esales-adding-to-cart",
		"/api/v2/notifications/end":                               "voyado.end",
		"/api/storefront/v3/notifications/click":                  "voyado.storefront.click",
		"/api/storefront/v3/notifications/add-to-cart":            "voyado.storefront.add-to-cart",
		"/api/storefront/v3/notifications/add-favorite":           "voyado.storefront.add-favorite",
		"/api/storefront/v3/notifications/remove-favorite":        "voyado.storefront.remove-favorite",
		"/api/storefront/v3/notifications/ad-impression":          "voyado.storefront.ad-impression",
		"/api/storefront/v3/notifications/remove-recent-searches": "voyado.storefront.remove-recent-searches",
		"/api/storefront/v3/notifications/remove-recently-viewed": "voyado.storefront.remove-recently-viewed",
		"/api/storefront/v3/notifications/end":                    "voyado.storefront.end",
		"/api/admin/v4/notifications/payment":                     "voyado.admin.payment",
		"/api/admin/v3/notifications/payment":                     "voyado.admin.payment",
	}
	if got := Routes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("routes:\n got %v\nwant %v", got, want)
	}
	for path, id := range want {
		ep := spec.Lookup(id)
		if ep == nil {
			t.Errorf("%s: unknown endpoint %s", path, id)
			continue
		}
		if ep.Path != path && !(path == "/api/admin/v3/notifications/payment" && ep.Path == "/api/admin/v4/notifications/payment") {
			t.Errorf("%s: the spec documents %s at %s", id, ep.Path, path)
		}
	}
	if ep := spec.Lookup(clientPaymentID); ep == nil || ep.Path != "/api/v2/notifications/payment" {
		t.Errorf("%s: %+v", clientPaymentID, ep)
	}
}

func TestForwardContentType(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "application/json",
		"application/json":          "application/json",
		"application/json; charset": "application/json",
		"text/plain;charset=utf-8":  "text/plain;charset=utf-8",
		"Text/Plain":                "text/plain;charset=utf-8",
		"application/octet-stream":  "application/json",
	} {
		if got := forwardContentType(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
