package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/core/spec"
	"github.com/kassa-edge/kassa/plugin/internal/testenv"
	"github.com/kassa-edge/kassa/plugin/store"
)

const controlKey = "B17F59B4-A7DC-41B4-8FF9-37D986B43D20"

var engines = []string{"wasm", "native"}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the real binary with stdin and returns its outputs and status.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), args...)
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

func (r result) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

type vector struct {
	Operation    string         `json:"operation"`
	Fields       map[string]any `json:"fields"`
	StringToSign string         `json:"stringToSign"`
	Signature    string         `json:"signature"`
	Control      string         `json:"control"`
}

// vectorOps maps the names in vectors.json to operations.
var vectorOps = map[string]string{
	"initiate-sale":             "dapi.initiate-sale",
	"check-sale":                "dapi.check-sale",
	"card-mapping-notification": "dapi.notification",
	"sale-control":              "classic.sale",
}

func loadVectors(t *testing.T) (dapi, classic []vector) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "core", "sign", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ControlKey string   `json:"controlKey"`
		DAPI       []vector `json:"dapi"`
		Classic    []vector `json:"classic"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.ControlKey != controlKey || len(v.DAPI) == 0 || len(v.Classic) == 0 {
		t.Fatalf("unexpected vectors file: %+v", v)
	}
	return v.DAPI, v.Classic
}

func fieldsJSON(t *testing.T, fields map[string]any) string {
	t.Helper()
	m := map[string]any{"controlKey": controlKey}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSignVectors(t *testing.T) {
	t.Parallel()
	dapi, classic := loadVectors(t)
	all := append(append([]vector(nil), dapi...), classic...)
	for _, eng := range engines {
		for _, v := range all {
			op := vectorOps[v.Operation]
			if op == "" {
				t.Fatalf("vector operation %q has no mapping", v.Operation)
			}
			want := v.Signature
			isClassic := v.Control != ""
			if isClassic {
				want = v.Control
			}
			t.Run(eng+"/"+op, func(t *testing.T) {
				t.Parallel()
				in := fieldsJSON(t, v.Fields)

				r := run(t, in, "kassa", "sign", op, "--engine", eng)
				r.want(t, 0)
				if r.stdout != want+"\n" {
					t.Fatalf("stdout %q, want %q", r.stdout, want+"\n")
				}
				if strings.Contains(r.stdout+r.stderr, controlKey) {
					t.Fatal("the control key was printed without --explain")
				}

				r = run(t, in, "kassa", "sign", op, "--engine", eng, "--explain")
				r.want(t, 0)
				lines := map[string]string{}
				for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
					k, val, ok := strings.Cut(l, ":")
					if !ok {
						t.Fatalf("explain line %q", l)
					}
					lines[k] = strings.TrimSpace(val)
				}
				if lines["string to sign"] != v.StringToSign || lines["signature"] != want {
					t.Fatalf("explain output:\n%s", r.stdout)
				}
				if !strings.HasPrefix(lines["operation"], op+" (") {
					t.Fatalf("explain operation line %q", lines["operation"])
				}
				warned := strings.Contains(r.stderr, "warning:") && strings.Contains(r.stderr, "control key")
				if warned != isClassic {
					t.Fatalf("classic=%v but stderr %q", isClassic, r.stderr)
				}

				if eng == "wasm" && op != "dapi.check-sale" {
					return // --verify is engine-independent code: enough on one wasm vector
				}
				r = run(t, in, "kassa", "sign", op, "--engine", eng, "--verify", strings.ToLower(want))
				r.want(t, 0)
				if r.stdout != "valid\n" {
					t.Fatalf("verify stdout %q", r.stdout)
				}
				bad := strings.Repeat("0", len(want))
				r = run(t, in, "kassa", "sign", op, "--engine", eng, "--verify", bad)
				r.want(t, 1)
				if !strings.HasPrefix(r.stdout, "mismatch") || !strings.Contains(r.stdout, want) {
					t.Fatalf("verify mismatch stdout %q", r.stdout)
				}
			})
		}
	}
}

func TestSignErrors(t *testing.T) {
	t.Parallel()
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			// Missing required field: the core refuses, never echoing the key.
			r := run(t, `{"controlKey":"`+controlKey+`","nonce":"n","endpointId":"1"}`, "kassa", "sign", "dapi.notification", "--engine", eng)
			r.want(t, 2)
			if !strings.Contains(r.stderr, "invoiceId is required") || strings.Contains(r.stderr+r.stdout, controlKey) {
				t.Fatalf("stderr %q stdout %q", r.stderr, r.stdout)
			}
			// Bad control key.
			r = run(t, `{"controlKey":"not-hex","nonce":"n","endpointId":"1","invoiceId":"i"}`, "kassa", "sign", "dapi.notification", "--engine", eng)
			r.want(t, 2)
			if strings.Contains(r.stderr, "not-hex") {
				t.Fatalf("the bad key was echoed: %q", r.stderr)
			}
			// Not JSON, and nothing at all.
			run(t, `controlKey=x`, "kassa", "sign", "dapi.notification", "--engine", eng).want(t, 2)
			run(t, ``, "kassa", "sign", "dapi.notification", "--engine", eng).want(t, 2)
		})
	}
	r := run(t, `{}`, "kassa", "sign", "dapi.nope")
	r.want(t, 2)
	if !strings.Contains(r.stderr, `unknown operation "dapi.nope"`) {
		t.Fatalf("stderr %q", r.stderr)
	}
	run(t, `{}`, "kassa", "sign").want(t, 2)
	run(t, `{}`, "kassa", "sign", "a", "b").want(t, 2)
	run(t, `{}`, "kassa", "sign", "dapi.notification", "--engine", "jit").want(t, 2)
	run(t, `{}`, "kassa", "sign", "dapi.notification", "--bogus").want(t, 2)
	run(t, ``, "kassa").want(t, 2)
	run(t, ``, "kassa", "frobnicate").want(t, 2)
	if r := run(t, ``, "kassa", "sign", "--help"); r.code != 0 || !strings.Contains(r.stdout, "dapi.check-transfer") {
		t.Fatalf("help: %+v", r)
	}
}

type violation struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ep := spec.Lookup("payneteasy.check-sale")
	if ep == nil || ep.Example == "" {
		t.Fatal("no example for payneteasy.check-sale")
	}
	invalid := `{"consumer":{"device":{"serialNumber":""}},"session":{"accessToken":"short","nonce":1}}`
	wantRules := []string{
		"consumer.device.serialNumber length",
		"session.accessToken length",
		"session.nonce type",
		"session.signature required",
		"session.token required",
	}
	good := "status=approved&type=sale&orderid=123&client_orderid=inv-1&amount=10.00&control=" + strings.Repeat("ab", 20)
	outputs := map[string]string{}
	for _, eng := range engines {
		t.Run(eng, func(t *testing.T) {
			r := run(t, ep.Example, "kassa", "validate", "payneteasy.check-sale", "--engine", eng)
			r.want(t, 0)
			if r.stdout != "valid\n" {
				t.Fatalf("stdout %q", r.stdout)
			}

			r = run(t, invalid, "kassa", "validate", "payneteasy.check-sale", "--engine", eng)
			r.want(t, 1)
			var vs []violation
			if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil {
				t.Fatalf("not a JSON array: %v\n%s", err, r.stdout)
			}
			var got []string
			for _, v := range vs {
				if v.Message == "" {
					t.Fatalf("violation without message: %+v", v)
				}
				got = append(got, v.Path+" "+v.Rule)
			}
			if !reflect.DeepEqual(got, wantRules) {
				t.Fatalf("violations %v, want %v", got, wantRules)
			}
			if !strings.HasPrefix(r.stdout, "[\n  {\n    \"path\": ") {
				t.Fatalf("not indented by two spaces:\n%s", r.stdout)
			}
			outputs[eng] = r.stdout

			// Not JSON at all: one json violation.
			r = run(t, `{"session":`, "kassa", "validate", "payneteasy.check-sale", "--engine", eng)
			r.want(t, 1)
			if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil || len(vs) == 0 || vs[0].Rule != "json" {
				t.Fatalf("broken JSON: %v %s", err, r.stdout)
			}

			// Query strings, with the newline echo adds and a leading '?'.
			r = run(t, "?"+good+"\n", "kassa", "validate", "payneteasy.callback", "--query", "--engine", eng)
			r.want(t, 0)
			r = run(t, "status=approved&orderid=1&client_orderid=x&control=zz\n", "kassa", "validate", "payneteasy.callback", "--query", "--engine", eng)
			r.want(t, 1)
			if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil || len(vs) != 1 || vs[0].Path != "control" || vs[0].Rule != "pattern" {
				t.Fatalf("query violations: %v %s", err, r.stdout)
			}

			r = run(t, `{}`, "kassa", "validate", "payneteasy.nope", "--engine", eng)
			r.want(t, 2)
			if !strings.Contains(r.stderr, "unknown endpoint") {
				t.Fatalf("stderr %q", r.stderr)
			}
		})
	}
	if outputs["wasm"] == "" || outputs["wasm"] != outputs["native"] {
		t.Fatalf("engines differ:\nwasm:\n%s\nnative:\n%s", outputs["wasm"], outputs["native"])
	}
	run(t, `{}`, "kassa", "validate").want(t, 2)
}

func TestSpec(t *testing.T) {
	t.Parallel()
	r := run(t, "", "kassa", "spec")
	r.want(t, 0)
	var want strings.Builder
	for _, ep := range spec.All() {
		want.WriteString(ep.ID + "\n")
	}
	if r.stdout != want.String() {
		t.Fatalf("spec lists:\n%s\nwant:\n%s", r.stdout, want.String())
	}
	for _, id := range []string{"payneteasy.initiate-sale", "payneteasy.initiate-sale.response", "payneteasy.callback", "smarts.invoice", "voyado.end"} {
		if !strings.Contains(r.stdout, id+"\n") {
			t.Errorf("spec misses %s", id)
		}
	}

	r = run(t, "", "kassa", "spec", "--openapi")
	r.want(t, 0)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("--openapi is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Paths) == 0 {
		t.Fatalf("openapi %q, %d paths", doc.OpenAPI, len(doc.Paths))
	}
	run(t, "", "kassa", "spec", "extra").want(t, 2)
}

const adminCaddyfile = `{
	admin {{ADMIN}}
	kassa {
		store bolt {{DIR}}/kassa.db
	}
}

http://127.0.0.1:{{PORT}} {
	handle_path /pne/* {
		kassa payneteasy {
			endpoint_id 1
			control_key {env.PNE_CONTROL_KEY}
			gateway http://127.0.0.1:9/paynet
		}
	}
	handle_path /smarts/* {
		route {
			kassa smarts {
				node_token {env.SMARTS_NODE_TOKEN}
			}
			respond 200
		}
	}
}
`

const nodeToken = "node-token-for-tests-0123456789"

func decode(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
}

type deliveryView struct {
	ID        string              `json:"id"`
	Target    string              `json:"target"`
	State     string              `json:"state"`
	Attempts  int                 `json:"attempts"`
	Created   string              `json:"created"`
	Next      string              `json:"next"`
	LastError string              `json:"lastError"`
	URL       string              `json:"url"`
	Header    map[string][]string `json:"header"`
	Body      json.RawMessage     `json:"body"`
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	in := testenv.Start(t, adminCaddyfile, testenv.Options{Env: map[string]string{"PNE_CONTROL_KEY": controlKey, "SMARTS_NODE_TOKEN": nodeToken}})
	addr := []string{"--address", in.Admin}

	// Empty store.
	r := run(t, "", append([]string{"kassa", "invoices"}, addr...)...)
	r.want(t, 0)
	var invs struct {
		Invoices []struct {
			ID      string          `json:"id"`
			Invoice json.RawMessage `json:"invoice"`
		} `json:"invoices"`
		Next string `json:"next"`
	}
	decode(t, r, &invs)
	if invs.Invoices == nil || len(invs.Invoices) != 0 {
		t.Fatalf("invoices: %s", r.stdout)
	}
	r = run(t, "", append([]string{"kassa", "deliveries"}, addr...)...)
	r.want(t, 0)
	var dels struct {
		Deliveries []deliveryView `json:"deliveries"`
	}
	decode(t, r, &dels)
	if dels.Deliveries == nil || len(dels.Deliveries) != 0 {
		t.Fatalf("deliveries: %s", r.stdout)
	}
	// The admin address from the config file, as caddy reload finds it.
	run(t, "", "kassa", "deliveries", "--state", "dead", "--config", in.Config, "--adapter", "caddyfile").want(t, 0)

	r = run(t, "", append([]string{"kassa", "requeue", "no-such-delivery"}, addr...)...)
	r.want(t, 1)
	if !strings.Contains(r.stderr, `no delivery "no-such-delivery"`) {
		t.Fatalf("requeue unknown: %q", r.stderr)
	}
	r = run(t, "", append([]string{"kassa", "invoice", "no-such-invoice"}, addr...)...)
	r.want(t, 1)
	if !strings.Contains(r.stderr, `no invoice "no-such-invoice"`) {
		t.Fatalf("invoice unknown: %q", r.stderr)
	}
	run(t, "", append([]string{"kassa", "deliveries", "--state", "lost"}, addr...)...).want(t, 2)
	run(t, "", append([]string{"kassa", "invoices", "--limit", "0"}, addr...)...).want(t, 2)
	run(t, "", append([]string{"kassa", "requeue"}, addr...)...).want(t, 2)
	r = run(t, "", "kassa", "invoices", "--address", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	r.want(t, 2)
	if !strings.Contains(r.stderr, "is Caddy running") {
		t.Fatalf("unreachable: %q", r.stderr)
	}

	// Smarts posts an invoice: kassa archives it.
	example := spec.Lookup("smarts.invoice").Example
	req, _ := http.NewRequest("POST", in.URL+"/smarts/invoice", strings.NewReader(example))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("accessToken", nodeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /smarts/invoice: %s\n%s", resp.Status, in.Logs())
	}
	var exampleDoc struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(example), &exampleDoc)
	r = run(t, "", append([]string{"kassa", "invoices"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &invs)
	if len(invs.Invoices) != 1 || invs.Invoices[0].ID != exampleDoc.ID || !sameJSON(invs.Invoices[0].Invoice, example) {
		t.Fatalf("after POST /invoice: %s", r.stdout)
	}
	r = run(t, "", append([]string{"kassa", "invoice", exampleDoc.ID}, addr...)...)
	r.want(t, 0)
	var one struct {
		ID         string          `json:"id"`
		ReceivedAt time.Time       `json:"receivedAt"`
		Invoice    json.RawMessage `json:"invoice"`
	}
	decode(t, r, &one)
	if one.ID != exampleDoc.ID || time.Since(one.ReceivedAt) > time.Minute || !sameJSON(one.Invoice, example) {
		t.Fatalf("invoice: %s", r.stdout)
	}

	// Seed the store while Caddy is down (bolt allows one process), then
	// inspect and repair through the running server.
	in.Stop()
	seed(t, filepath.Join(in.Dir, "kassa.db"))
	in.Restart()

	r = run(t, "", append([]string{"kassa", "invoices"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &invs)
	if len(invs.Invoices) != 4 || invs.Invoices[0].ID != exampleDoc.ID || invs.Invoices[1].ID != "inv-1" || invs.Invoices[3].ID != "shop/inv-3" || invs.Next != "" {
		t.Fatalf("invoices: %s", r.stdout)
	}
	r = run(t, "", append([]string{"kassa", "invoices", "--limit", "1", "--after", "inv-1"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &invs)
	if len(invs.Invoices) != 1 || invs.Invoices[0].ID != "inv-2" || invs.Next != "inv-2" {
		t.Fatalf("page: %s", r.stdout)
	}
	r = run(t, "", append([]string{"kassa", "invoice", "shop/inv-3"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &one)
	if one.ID != "shop/inv-3" || !sameJSON(one.Invoice, `{"id":"inv-3","status":"PAYED"}`) {
		t.Fatalf("invoice: %s", r.stdout)
	}

	r = run(t, "", append([]string{"kassa", "deliveries", "--state", "dead"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &dels)
	if len(dels.Deliveries) != 1 {
		t.Fatalf("dead: %s", r.stdout)
	}
	d := dels.Deliveries[0]
	if d.ID != "evt-dead" || d.Target != "test/events" || d.State != "dead" || d.Attempts != 0 ||
		d.LastError != "HTTP 500 from merchant" || d.URL != "http://127.0.0.1:9/events" || d.Created == "" || d.Body != nil || d.Header != nil {
		t.Fatalf("dead delivery: %s", r.stdout)
	}
	r = run(t, "", append([]string{"kassa", "deliveries", "--target", "test/events", "--body"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &dels)
	if len(dels.Deliveries) != 2 {
		t.Fatalf("by target: %s", r.stdout)
	}
	for _, d := range dels.Deliveries {
		if d.ID == "evt-dead" {
			var body bytes.Buffer
			json.Compact(&body, d.Body)
			if body.String() != `{"type":"payment.final"}` || d.Header["Authorization"][0] != "[redacted]" || d.Header["Content-Type"][0] != "application/json" {
				t.Fatalf("with body: %s", r.stdout)
			}
		}
	}
	if strings.Contains(r.stdout, "sk_live_secret") {
		t.Fatal("a credential header was shown")
	}
	r = run(t, "", append([]string{"kassa", "delivery", "evt-done"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &d)
	if d.State != "done" {
		t.Fatalf("delivery: %s", r.stdout)
	}

	// A reload replaces the admin server and the app: still served.
	if err := in.Reload(); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", append([]string{"kassa", "invoice", "inv-2"}, addr...)...)
	r.want(t, 0)

	r = run(t, "", append([]string{"kassa", "requeue", "evt-done"}, addr...)...)
	r.want(t, 1)
	if !strings.Contains(r.stderr, "not dead") {
		t.Fatalf("requeue done: %q", r.stderr)
	}
	r = run(t, "", append([]string{"kassa", "requeue", "evt-dead"}, addr...)...)
	r.want(t, 0)
	decode(t, r, &d)
	if d.ID != "evt-dead" || d.State != "pending" || d.Attempts != 0 {
		t.Fatalf("requeued: %s", r.stdout)
	}
	// The worker picks it up again (its target is not configured here, so
	// it goes dead again at once: the requeue did reach the outbox).
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = run(t, "", append([]string{"kassa", "delivery", "evt-dead"}, addr...)...)
		r.want(t, 0)
		decode(t, r, &d)
		if d.Attempts > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the requeued delivery was never attempted: %s", r.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, []byte(b)) == nil && x.String() == y.String()
}

// seed writes invoices and deliveries into the bolt file.
func seed(t *testing.T, path string) {
	t.Helper()
	st, err := store.OpenBolt(path, store.BoltOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	created := time.Now().Add(-time.Hour)
	err = st.Update(ctx, func(tx store.Tx) error {
		for _, kv := range [][2]string{
			{"inv-1", `{"id":"inv-1","status":"PAYED"}`},
			{"inv-2", `{"id":"inv-2","status":"PAYED"}`},
			{"shop/inv-3", `{"id":"inv-3","status":"PAYED"}`},
		} {
			if err := tx.Put(store.BucketInvoices, kv[0], []byte(kv[1]), time.Time{}); err != nil {
				return err
			}
		}
		for _, id := range []string{"evt-dead", "evt-done"} {
			_, err := tx.Enqueue(&store.Delivery{
				ID: id, Target: "test/events", Method: "POST", URL: "http://127.0.0.1:9/events",
				Header:    map[string][]string{"Content-Type": {"application/json"}, "Authorization": {"Bearer sk_live_secret"}},
				Body:      []byte(`{"type":"payment.final"}`),
				CreatedAt: created, NextAt: created.Add(24 * time.Hour),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Dead(ctx, "evt-dead", "HTTP 500 from merchant"); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(ctx, "evt-done", time.Now()); err != nil {
		t.Fatal(err)
	}
}
