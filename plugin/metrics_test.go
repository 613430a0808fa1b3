package kassa_test

import (
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/internal/testenv"
)

// The events receiver is unreachable (port 9, discard), so every event
// stays pending in the outbox.
const metricsCaddyfile = `{
	admin {{ADMIN}}
	kassa {
		engine wasm
		store bolt {{DIR}}/kassa.db
		outbox {
			base_delay 1h
		}
	}
}
http://127.0.0.1:{{PORT}} {
	handle_path /pne/* {
		route {
			kassa payneteasy {
				endpoint_id 1111
				control_key {env.PNE_CONTROL_KEY}
				gateway http://127.0.0.1:9/paynet
				events http://127.0.0.1:9/events
				events_secret {env.EVENTS_SECRET}
			}
			respond 500
		}
	}
}
`

// TestMetrics: after a few requests, Caddy's /metrics has every kassa
// family with the documented labels and plausible values, and no secret.
func TestMetrics(t *testing.T) {
	env := map[string]string{"PNE_CONTROL_KEY": lifecycleEnv["PNE_CONTROL_KEY"], "EVENTS_SECRET": "whsec_bWV0cmljcy10ZXN0LXNlY3JldC0zMi1ieXRlcyE="}
	in := testenv.Start(t, metricsCaddyfile, testenv.Options{Env: env})
	exercise(t, in.URL) // 20 invalid checks through the wasm core
	for i := range 3 {
		q := url.Values{}
		status, order, client := "approved", "ord-"+strconv.Itoa(i), "inv-"+strconv.Itoa(i)
		h := sha1.Sum([]byte(status + order + client + env["PNE_CONTROL_KEY"]))
		q.Set("status", status)
		q.Set("orderid", order)
		q.Set("client_orderid", client)
		q.Set("control", hex.EncodeToString(h[:]))
		resp, err := http.Get(in.URL + "/pne/callback?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("callback %d: status %d", i, resp.StatusCode)
		}
	}
	resp, err := http.Get(in.URL + "/pne/callback?status=approved&orderid=1&client_orderid=x&control=" + strings.Repeat("0", 40))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	var text string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + in.Admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(b)
		// The first attempts fail at once (connection refused) and are
		// retried in an hour: three pending deliveries.
		if strings.Contains(text, `kassa_outbox_deliveries_total{outcome="retry",provider="payneteasy"} 3`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		`kassa_requests_total{endpoint="check-sale",outcome="invalid",provider="payneteasy"} 20`,
		`kassa_requests_total{endpoint="callback",outcome="ok",provider="payneteasy"} 3`,
		`kassa_requests_total{endpoint="callback",outcome="forbidden",provider="payneteasy"} 1`,
		`kassa_engine_call_seconds_count{engine="wasm",fn="validate"} 20`,
		`kassa_engine_call_seconds_count{engine="wasm",fn="validate_query"} 4`,
		`kassa_engine_instances{state="total"}`,
		`kassa_outbox_deliveries_total{outcome="retry",provider="payneteasy"} 3`,
		`kassa_outbox_stored_deliveries{state="pending"} 3`,
		`kassa_outbox_stored_deliveries{state="dead"} 0`,
		`kassa_outbox_stored_deliveries{state="done"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// One classic.callback signature per callback (4); provisioning may
	// sign too.
	if m := regexp.MustCompile(`kassa_engine_call_seconds_count\{engine="wasm",fn="sign"\} (\d+)`).FindStringSubmatch(text); m == nil || len(m[1]) == 1 && m[1][0] < '4' {
		t.Errorf("sign calls: %v, want at least 4", m)
	}
	if m := regexp.MustCompile(`kassa_engine_instances\{state="total"\} (\d+)`).FindStringSubmatch(text); m == nil || m[1] == "0" {
		t.Errorf("kassa_engine_instances total: %v, want at least 1", m)
	}
	for _, secret := range []string{env["PNE_CONTROL_KEY"], strings.ReplaceAll(env["PNE_CONTROL_KEY"], "-", ""), env["EVENTS_SECRET"]} {
		if strings.Contains(strings.ToLower(text), strings.ToLower(secret)) {
			t.Errorf("/metrics holds a secret")
		}
	}
	if t.Failed() {
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, "kassa_") {
				t.Log(l)
			}
		}
	}
}
