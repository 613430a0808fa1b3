package outbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kassa-edge/kassa/plugin/store"
)

// Standard Webhooks (https://www.standardwebhooks.com) headers.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultWebhookTolerance is the clock skew VerifyWebhook accepts when
// given none, as the Standard Webhooks libraries do.
const DefaultWebhookTolerance = 5 * time.Minute

// WebhookSigner is the Sender for merchant webhooks: it signs each
// attempt per Standard Webhooks, so merchants can verify with any of its
// libraries.
type WebhookSigner struct {
	key []byte
}

// NewWebhookSigner takes the shared secret as whsec_<base64> (or the bare
// base64). Error messages never include the secret.
func NewWebhookSigner(secret string) (*WebhookSigner, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	return &WebhookSigner{key: key}, nil
}

func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(secret, "whsec_")
	if s == "" {
		return nil, errors.New("outbox: empty webhook secret")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil || len(key) == 0 {
		return nil, errors.New("outbox: webhook secret is not valid base64 (want whsec_<base64>)")
	}
	return key, nil
}

// Prepare implements Sender. It signs d.Body, which the Worker sends as
// the request body, with the delivery ID as webhook-id and the current
// time, so every retry carries a fresh timestamp and the same ID.
func (s *WebhookSigner) Prepare(req *http.Request, d *store.Delivery) error {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set(HeaderWebhookID, d.ID)
	req.Header.Set(HeaderWebhookTimestamp, ts)
	req.Header.Set(HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(webhookMAC(s.key, d.ID, ts, d.Body)))
	req.Header.Set("Content-Type", "application/json")
	return nil
}

// webhookMAC is HMAC-SHA256 over "<id>.<timestamp>.<body>".
func webhookMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhook checks a Standard Webhooks signature, as a receiver does:
// one of the space-separated v1 signatures must match (compared in
// constant time) and the timestamp must be within tolerance of now
// (tolerance <= 0: DefaultWebhookTolerance).
func VerifyWebhook(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := header.Get(HeaderWebhookID), header.Get(HeaderWebhookTimestamp), header.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return errors.New("outbox: webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("outbox: webhook: invalid webhook-timestamp %q", ts)
	}
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("outbox: webhook: timestamp is %s off, more than the %s tolerated", skew.Round(time.Second), tolerance)
	}
	want := webhookMAC(key, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("outbox: webhook: no valid signature")
}
