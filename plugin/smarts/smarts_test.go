package smarts

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/kassa-edge/kassa/core/spec"
)

func parse(t *testing.T, input string) (*Smarts, error) {
	t.Helper()
	s := new(Smarts)
	err := s.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	return s, err
}

func TestCaddyfileEverySubdirective(t *testing.T) {
	s, err := parse(t, `smarts {
		node_token         {env.SMARTS_NODE_TOKEN}
		node_token         {env.SMARTS_NODE_TOKEN_NEXT} {file./run/secrets/third}
		node_token_header  X-Smarts-Token
		access_token       {env.SMARTS_ACCESS_TOKEN}
		backend_key        {env.SMARTS_BACKEND_KEY}
		gateway            https://gateway.smarts.ee/v1
		version            "2.4.1 build 7"
		health_timeout     1500ms
		name               store-1
	}`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Smarts{
		NodeTokens:      []string{"{env.SMARTS_NODE_TOKEN}", "{env.SMARTS_NODE_TOKEN_NEXT}", "{file./run/secrets/third}"},
		NodeTokenHeader: "X-Smarts-Token",
		AccessToken:     "{env.SMARTS_ACCESS_TOKEN}",
		BackendKey:      "{env.SMARTS_BACKEND_KEY}",
		Gateway:         "https://gateway.smarts.ee/v1",
		Version:         "2.4.1 build 7",
		HealthTimeout:   caddy.Duration(1500 * time.Millisecond),
		Name:            "store-1",
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCaddyfileMinimal(t *testing.T) {
	s, err := parse(t, "smarts {\n node_token {env.T}\n}")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Every bad value is refused with an error naming its subdirective.
func TestCaddyfileBadValues(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"node_token", "node_token"},
		{"node_token_header", "node_token_header"},
		{"node_token_header a b", "node_token_header"},
		{`node_token_header "with space"`, "node_token_header"},
		{"node_token_header accessToken:", "node_token_header"},
		{"access_token", "access_token"},
		{"access_token {env.A} {env.B}", "access_token"},
		{"backend_key", "backend_key"},
		{"backend_key {env.A} {env.B}", "backend_key"},
		{"gateway", "gateway"},
		{"gateway ftp://gateway.smarts.ee/v1", "gateway"},
		{"gateway https:///v1", "gateway"},
		{"gateway https://gateway.smarts.ee/v1?x=1", "gateway"},
		{"gateway https://user:pw@gateway.smarts.ee/v1", "gateway"},
		{"gateway a b", "gateway"},
		{"version", "version"},
		{`version ""`, "version"},
		{"version a b", "version"},
		{"health_timeout", "health_timeout"},
		{"health_timeout soon", "health_timeout"},
		{"health_timeout -1s", "health_timeout"},
		{"health_timeout 0s", "health_timeout"},
		{"name", "name"},
		{"name a/b", "name"},
		{"name " + strings.Repeat("x", 65), "name"},
		{"colour blue", `unknown subdirective "colour"`},
	} {
		_, err := parse(t, "smarts {\n node_token {env.T}\n "+tc.body+"\n}")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error naming %q", tc.body, err, tc.want)
		}
	}
	if _, err := parse(t, "smarts extra {\n}"); err == nil {
		t.Error("an argument after the provider name was accepted")
	}
}

// Cross-field rules are checked by Validate, naming the subdirective.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Smarts
		want string
	}{
		{Smarts{}, "node_token"},
		{Smarts{NodeTokens: []string{" "}}, "node_token"},
		{Smarts{NodeTokens: []string{"{env.T}"}, AccessToken: "{env.A}"}, "backend_key"},
		{Smarts{NodeTokens: []string{"{env.T}"}, BackendKey: "{env.B}"}, "access_token"},
		{Smarts{NodeTokens: []string{"{env.T}"}, Gateway: "https://g.example"}, "gateway"},
		{Smarts{NodeTokens: []string{"{env.T}"}, AccessToken: "{env.A}", BackendKey: "{env.B}", Gateway: "mailto:x"}, "gateway"},
		{Smarts{NodeTokens: []string{"{env.T}"}, NodeTokenHeader: "a b"}, "node_token_header"},
		{Smarts{NodeTokens: []string{"{env.T}"}, Name: "a b"}, "name"},
		{Smarts{NodeTokens: []string{"{env.T}"}, HealthTimeout: -1}, "health_timeout"},
	} {
		err := tc.s.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
			t.Errorf("%+v: got %v, want an error starting %q", tc.s, err, tc.want+":")
		}
	}
}

// The routing tables come from the spec; they must cover exactly the node
// paths of INTERFACE.md section 3 and the published gateway calls.
func TestRoutesCoverInterface(t *testing.T) {
	want := []string{"/card/loyalty", "/card/loyalty/bonus", "/control/check", "/invoice", "/offers/search",
		"/pickup/order", "/pickup/order/update", "/product/search", "/product/search/barcode",
		"/product/search/category", "/product/search/name", "/receipt", "/receipt/confirm"}
	var got []string
	for p, op := range nodeOps {
		got = append(got, p)
		if spec.Lookup(op.id) == nil {
			t.Errorf("%s: unknown endpoint %s", p, op.id)
		}
		if op.resp != "" && spec.Lookup(op.resp) == nil {
			t.Errorf("%s: unknown endpoint %s", p, op.resp)
		}
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("node paths:\n got %v\nwant %v", got, want)
	}
	for _, void := range []string{"/invoice", "/receipt/confirm", "/pickup/order", "/pickup/order/update"} {
		if nodeOps[void].resp != "" {
			t.Errorf("%s should be void, has %s", void, nodeOps[void].resp)
		}
	}
	for p, id := range map[string]string{
		"control/result":      "smarts.purchase-control-result",
		"control/resend":      "smarts.purchase-control-resend",
		"pickup/order/status": "smarts.order-status-change",
	} {
		if gatewayOps[p] != id {
			t.Errorf("gateway %s: got %q, want %q", p, gatewayOps[p], id)
		}
	}
}

func TestSafePath(t *testing.T) {
	for p, want := range map[string]bool{
		"control/result": true, "orders/find-by-id": true, "v1.2/x_y~z": true,
		"": false, "/control": false, "control/": false, "a//b": false, "../x": false, "a/./b": false,
		"a/%2e%2e": false, "a b": false, "a?b": false, "ä": false,
	} {
		if got := safePath(p); got != want {
			t.Errorf("safePath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestInvoiceKey(t *testing.T) {
	if k := InvoiceKey([]byte(`{"id":"inv-1","status":"PAYED"}`)); k != "inv-1" {
		t.Errorf("got %q", k)
	}
	a, b := InvoiceKey([]byte(`{"status":"PAYED"}`)), InvoiceKey([]byte(`{"id":""}`))
	if !strings.HasPrefix(a, "sha256:") || len(a) != 7+64 || a == b {
		t.Errorf("digest keys: %q %q", a, b)
	}
	if k := InvoiceKey([]byte(`{"id":"` + strings.Repeat("x", 201) + `"}`)); !strings.HasPrefix(k, "sha256:") {
		t.Errorf("long id: %q", k)
	}
	// A NUL is valid JSON but no store key: the digest is used.
	if k := InvoiceKey([]byte(`{"id":"inv` + `\u0000` + `-1"}`)); !strings.HasPrefix(k, "sha256:") {
		t.Errorf("id with a NUL: %q", k)
	}
}
