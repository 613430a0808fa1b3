package outbox

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kassa-edge/kassa/plugin/store"
)

// An upstream that refuses a credential often repeats it in its answer,
// in whatever form its stack produces. None of these may survive.
func TestRedactEchoes(t *testing.T) {
	const key = "Ab+cd/EF0123456789xyz="
	jsonEscaped := strings.NewReplacer("+", `\u002B`, "/", `\/`).Replace(key)
	for name, body := range map[string]string{
		"verbatim":       "Api-Key '" + key + "' is not valid",
		"upper":          "API-KEY " + strings.ToUpper(key) + " INVALID",
		"lower":          "bad key " + strings.ToLower(key),
		"query-escaped":  "GET /x?api_key=" + url.QueryEscape(key) + " refused",
		"path-escaped":   "no such key /keys/" + url.PathEscape(key),
		"json-escaped":   `{"message":"key ` + jsonEscaped + ` revoked"}`,
		"truncated":      "Invalid key provided: " + key[:12] + "…",
		"twice":          key + " and again " + key,
		"split-by-space": "key " + key[:8] + " " + key[8:] + " invalid",
	} {
		got := string(redact([]byte(body), []string{key}))
		n := alnumLower([]byte(got))
		for i := 0; i+minSecretLen <= len(alnumLower([]byte(key))); i++ {
			if strings.Contains(string(n), string(alnumLower([]byte(key))[i:i+minSecretLen])) {
				t.Errorf("%s: %q still holds a piece of the key", name, got)
				break
			}
		}
	}
	// What holds no credential is kept as it is.
	for _, body := range []string{"", "HTTP 503: busy", `{"error":"quota exceeded","retryAfter":30}`} {
		if got := string(redact([]byte(body), []string{key})); got != body {
			t.Errorf("redact(%q) = %q, want it unchanged", body, got)
		}
	}
	if got := string(redact([]byte("key "+key+" is not valid"), []string{key})); got != "key [redacted] is not valid" {
		t.Errorf("verbatim echo: %q, want the key replaced in place", got)
	}
}

func TestSecretsOf(t *testing.T) {
	d := &store.Delivery{ID: "evt-0123456789", URL: "https://h.example/p?market=SE", Header: map[string][]string{"Content-Type": {"application/json"}}}
	req, _ := http.NewRequest("POST", "https://user-0123456:pass-0123456@h.example/p?market=SE&api_key=qk-0123456789", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Api-Key", "voyado-key-0123456789")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("sk_live_0123456789:")))
	req.Header.Set("X-Token", "Token token=tk-0123456789abc")
	req.Header.Set("Webhook-Id", d.ID)
	req.Header.Set("Webhook-Timestamp", "1764600000")
	got := secretsOf(d, req)
	want := []string{"voyado-key-0123456789", "sk_live_0123456789", "tk-0123456789abc", "user-0123456", "pass-0123456", "qk-0123456789"}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("secretsOf lacks %q: %q", w, got)
		}
	}
	for _, g := range got {
		if g == d.ID || g == "1764600000" || g == "application/json" || g == "SE" {
			t.Errorf("secretsOf includes the non-secret %q", g)
		}
	}
	for i := 1; i < len(got); i++ {
		if len(got[i]) > len(got[i-1]) {
			t.Errorf("secretsOf is not longest first: %q", got)
			break
		}
	}
}
