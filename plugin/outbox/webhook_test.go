package outbox_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kassa-edge/kassa/plugin/outbox"
	"github.com/kassa-edge/kassa/plugin/store"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// The receiver checks the signature with its own HMAC, per the Standard
// Webhooks spec, not with VerifyWebhook.
func TestWebhookSignatureDelivered(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString(testKey)
	signer, err := outbox.NewWebhookSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil)
	st := newStore(t)
	w := start(t, fastConfig(t, st, map[string]outbox.Target{"events": {Sender: signer}}))
	d := delivery("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", rc.URL)
	d.Header = nil
	d.Body = []byte(`{"type":"payment.succeeded","amount":"10.00"}`)
	enqueue(t, st, w, d)
	waitState(t, st, d.ID, store.StateDone)

	r := rc.requests()[0]
	id, ts, sig := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp"), r.header.Get("webhook-signature")
	if id != d.ID {
		t.Fatalf("webhook-id %q, want %q", id, d.ID)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Second {
		t.Fatalf("webhook-timestamp %q is not the current Unix time", ts)
	}
	mac := hmac.New(sha256.New, testKey)
	mac.Write([]byte(id + "." + ts + "." + string(r.body)))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); sig != want {
		t.Fatalf("webhook-signature %q, want %q", sig, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if string(r.body) != string(d.Body) {
		t.Fatalf("body %q, want %q", r.body, d.Body)
	}
}

func signed(t *testing.T, secret, id string, ts time.Time, body string) http.Header {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	sts := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + sts + "." + body))
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", sts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

func TestVerifyWebhook(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString(testKey)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key, another key, 123456"))
	now := time.Unix(1_700_000_000, 0)
	body := `{"a":1}`
	good := signed(t, secret, "msg_1", now, body)
	if err := outbox.VerifyWebhook(secret, good, []byte(body), time.Minute, now); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	// The bare base64 secret works too.
	if err := outbox.VerifyWebhook(strings.TrimPrefix(secret, "whsec_"), good, []byte(body), time.Minute, now); err != nil {
		t.Fatalf("valid signature with a bare secret rejected: %v", err)
	}
	// Several signatures (key rotation): any valid v1 one is enough.
	multi := good.Clone()
	multi.Set("webhook-signature", "v2,Zm9v v1,bm90LXRoZS1zaWduYXR1cmU= "+good.Get("webhook-signature"))
	if err := outbox.VerifyWebhook(secret, multi, []byte(body), time.Minute, now); err != nil {
		t.Fatalf("valid signature among several rejected: %v", err)
	}

	for name, c := range map[string]struct {
		secret string
		header http.Header
		body   string
		now    time.Time
	}{
		"tampered body":    {secret, good, `{"a":2}`, now},
		"wrong secret":     {other, good, body, now},
		"too old":          {secret, good, body, now.Add(2 * time.Minute)},
		"from the future":  {secret, good, body, now.Add(-2 * time.Minute)},
		"other id":         {secret, with(good, "webhook-id", "msg_2"), body, now},
		"missing header":   {secret, with(good, "webhook-signature", ""), body, now},
		"bad timestamp":    {secret, with(good, "webhook-timestamp", "soon"), body, now},
		"only v2":          {secret, with(good, "webhook-signature", strings.Replace(good.Get("webhook-signature"), "v1,", "v2,", 1)), body, now},
		"invalid secret":   {"whsec_!!!", good, body, now},
		"signature as hex": {secret, with(good, "webhook-signature", "v1,deadbeef"), body, now},
	} {
		if err := outbox.VerifyWebhook(c.secret, c.header, []byte(c.body), time.Minute, c.now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Zero tolerance means the 5 minute default.
	if err := outbox.VerifyWebhook(secret, good, []byte(body), 0, now.Add(4*time.Minute)); err != nil {
		t.Fatalf("4 minutes off with the default tolerance: %v", err)
	}
}

func with(h http.Header, k, v string) http.Header {
	h = h.Clone()
	h.Set(k, v)
	return h
}

func TestNewWebhookSigner(t *testing.T) {
	for _, ok := range []string{
		"whsec_" + base64.StdEncoding.EncodeToString(testKey),
		base64.StdEncoding.EncodeToString(testKey),
		"whsec_" + base64.RawStdEncoding.EncodeToString([]byte("odd length key!")),
	} {
		if _, err := outbox.NewWebhookSigner(ok); err != nil {
			t.Errorf("NewWebhookSigner(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "whsec_", "whsec_not base64 at all: Sup3rS3cret", "Sup3rS3cret!"} {
		_, err := outbox.NewWebhookSigner(bad)
		if err == nil {
			t.Errorf("NewWebhookSigner(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "Sup3rS3cret") {
			t.Errorf("error %q shows the secret", err)
		}
	}
}
