// Command backend is a DEMO merchant backend for `make run`. It is what a
// merchant's own server looks like behind kassa, plus loopback stand-ins for
// the providers' gateways so the demo runs without network access:
//
//   - approves Payneteasy initiate requests (POST /{flow}/initiate-{flow}),
//     rejecting amounts over 1,000.00 to show a rejection;
//   - receives kassa's events at POST /events and verifies their Standard
//     Webhooks signature (KASSA_EVENTS_SECRET);
//   - answers the Smarts node endpoints with sample data;
//   - stands in for the Payneteasy gateway (/paynet/...), the Smarts gateway
//     (/smarts-gateway/...) and the Voyado cluster (/api/...).
//
// Nothing here is production code: the keys in examples/demo.env are public
// demo values.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/kassa-edge/kassa/core/spec"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	flag.Parse()
	secret := os.Getenv("KASSA_EVENTS_SECRET")
	mux := http.NewServeMux()

	for _, flow := range []string{"sale", "transfer", "verification"} {
		mux.HandleFunc("POST /"+flow+"/initiate-"+flow, initiate)
	}
	var mu sync.Mutex
	var events []json.RawMessage
	mux.HandleFunc("POST /events", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if !verify(secret, r.Header, body) {
			log.Printf("event REJECTED: bad webhook signature")
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		log.Printf("event %s verified: %s", r.Header.Get("webhook-id"), body)
		mu.Lock()
		events = append(events, body)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(events)
	})

	// Payneteasy gateway stand-in: every status poll is APPROVED.
	mux.HandleFunc("POST /paynet/dapi/v1/{flow}/{endpoint}/{invoice}/status", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Session struct{ Token string } `json:"session"`
		}
		json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req)
		writeJSON(w, 200, map[string]any{"invoiceId": r.PathValue("invoice"), "session": map[string]string{"token": req.Session.Token},
			"state": "APPROVED", "bankOrderId": "demo-bank-" + r.PathValue("invoice"), "transaction": map[string]int{"amountCentis": 1000}})
	})

	// Smarts node: answer each endpoint with its published sample.
	for _, ep := range spec.All() {
		if ep.Provider != spec.Smarts || ep.Response || strings.HasPrefix(ep.Path, "/gateway") {
			continue
		}
		resp := spec.Lookup(ep.ID + ".response")
		pattern := ep.Method + " " + ep.Path
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			if resp == nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, resp.Example)
		})
	}
	// Smarts gateway and Voyado cluster stand-ins: log and accept.
	accept := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			auth := "no key"
			if r.Header.Get("Api-Key") != "" || r.Header.Get("accessToken") != "" {
				auth = "with key"
			}
			log.Printf("%s %s (%s): %s", r.Method, r.URL.RequestURI(), auth, body)
			w.WriteHeader(status)
		}
	}
	mux.HandleFunc("POST /smarts-gateway/", accept(http.StatusOK))
	mux.HandleFunc("POST /api/", accept(http.StatusNoContent))

	log.Printf("demo merchant backend on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

// initiate approves a sale unless its amount is over 1,000.00. A real
// backend checks the consumer's basket and returns the authoritative amount
// and its own invoiceId.
func initiate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Transaction struct {
			AmountCentis int64 `json:"amountCentis"`
		} `json:"transaction"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, 400, map[string]string{"message": "unreadable request"})
		return
	}
	if req.Transaction.AmountCentis > 100000 {
		writeJSON(w, http.StatusPaymentRequired, map[string]string{"message": "amount over the demo limit of 1000.00"})
		return
	}
	writeJSON(w, 200, map[string]any{"consumer": map[string]string{"id": "demo-consumer"}})
}

// verify checks a Standard Webhooks signature, as a merchant would.
func verify(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
