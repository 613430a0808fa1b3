package payneteasy

import (
	"errors"

	"github.com/tidwall/gjson"

	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"time"
)

// session is what kassa keeps of one initiated sale, transfer or
// verification, from initiate to the final callback. The consumer's access
// token is kept only as a SHA-256 digest: a stolen database does not hand
// out tokens, and a check can still be matched against it.
type session struct {
	Flow        string    `json:"flow"`
	InvoiceID   string    `json:"invoiceId"`
	EndpointID  string    `json:"endpointId"`
	Serial      string    `json:"serialNumber"`
	TokenDigest string    `json:"accessTokenSha256"`
	Consumer    string    `json:"consumer"` // whom saved cards belong to
	Nonce       string    `json:"nonce"`
	Signature   string    `json:"signature"`
	Amount      int64     `json:"amountCentis,omitempty"`
	Currency    string    `json:"currency"`
	Token       string    `json:"sessionToken,omitempty"` // the gateway's session.token, from check
	State       string    `json:"state"`                  // INITIATED, CHECKED, then the gateway's states
	BankOrderID string    `json:"bankOrderId,omitempty"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	Final       bool      `json:"final,omitempty"` // a classic callback reported a final status
}

const (
	stateInitiated = "INITIATED"
	stateChecked   = "CHECKED"
)

func sessionKey(flow, invoiceID string) string { return flow + "/" + invoiceID }

func (s *session) marshal() []byte {
	b, _ := json.Marshal(s)
	return b
}

// loadSession decodes a stored session. It runs on every check, so it reads
// the record in one gjson pass instead of encoding/json's reflection (which
// took a quarter of the check's CPU); marshal stays on encoding/json, and a
// test round-trips every field.
func loadSession(b []byte) (*session, error) {
	if !gjson.ValidBytes(b) {
		return nil, errors.New("payneteasy: corrupt session record")
	}
	s := new(session)
	var err error
	gjson.ParseBytes(b).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "flow":
			s.Flow = v.Str
		case "invoiceId":
			s.InvoiceID = v.Str
		case "endpointId":
			s.EndpointID = v.Str
		case "serialNumber":
			s.Serial = v.Str
		case "accessTokenSha256":
			s.TokenDigest = v.Str
		case "consumer":
			s.Consumer = v.Str
		case "nonce":
			s.Nonce = v.Str
		case "signature":
			s.Signature = v.Str
		case "amountCentis":
			s.Amount = v.Int()
		case "currency":
			s.Currency = v.Str
		case "sessionToken":
			s.Token = v.Str
		case "state":
			s.State = v.Str
		case "bankOrderId":
			s.BankOrderID = v.Str
		case "created":
			s.Created, err = time.Parse(time.RFC3339Nano, v.Str)
		case "expires":
			s.Expires, err = time.Parse(time.RFC3339Nano, v.Str)
		case "final":
			s.Final = v.Bool()
		}
		return err == nil
	})
	return s, err
}

// card is a saved card: the gateway's serverCardId behind kassa's opaque
// clientCardId, bound to one consumer.
type card struct {
	ClientCardID          string    `json:"clientCardId"`
	ServerCardID          string    `json:"serverCardId"`
	Consumer              string    `json:"consumer"`
	Bin                   int64     `json:"bin,omitempty"`
	UniqueReferenceCardID int64     `json:"uniqueReferenceCardId,omitempty"`
	Created               time.Time `json:"created"`
}

// Card keys: "<consumer>/c/<clientCardId>" finds a card for a check,
// "<consumer>/s/<serverCardId>" keeps one clientCardId per card.
func cardKey(consumer, clientCardID string) string   { return consumer + "/c/" + clientCardID }
func serverKey(consumer, serverCardID string) string { return consumer + "/s/" + serverCardID }

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// consumerOf names the owner of saved cards when the merchant's backend
// does not: the access token identifies the consumer to the merchant.
func consumerOf(accessToken string) string { return "t:" + digest(accessToken)[:32] }

// randomHex returns n random bytes as lower-case hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// eq compares in constant time.
func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// safeID reports whether s can be an invoice or endpoint id: it appears in
// URL paths and store keys, so only a plain set of characters is allowed.
func safeID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != "." && s != ".."
}
