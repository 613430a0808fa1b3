package payneteasy

import (
	"errors"

	"github.com/tidwall/gjson"

	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"hash/maphash"
	"sync/atomic"
	"time"
	"unsafe"
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

// sessionMemo remembers the decoded session of the last record read for
// each of a fixed number of slots (chosen by the key's hash): a check of a
// session whose record has not changed since it was last decoded gets the
// decoded session (shared, read-only) instead of parsing the record again (repeated checks
// are what a gateway sends when an answer was slow). A slot answers only
// when its record is byte for byte the one just read from the store, so it
// cannot answer for a changed record, needs no invalidation and holds for
// every store, including several instances sharing PostgreSQL.
type sessionMemo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoEntry]
}

// memoSlots bounds the memo: about 1 KB a slot with its record.
const memoSlots = 1024

type memoEntry struct {
	raw string
	s   session
}

func newSessionMemo() *sessionMemo { return &sessionMemo{seed: maphash.MakeSeed()} }

// load returns the session stored as raw under key: the memo's, or
// decoded (and remembered). The session is shared with other requests and
// must not be modified: copy it to change it. raw is not kept.
func (m *sessionMemo) load(key string, raw []byte) (*session, error) {
	slot := &m.slots[maphash.String(m.seed, key)%memoSlots]
	if e := slot.Load(); e != nil && e.raw == string(raw) {
		return &e.s, nil
	}
	s, err := loadSession(raw)
	if err != nil {
		return nil, err
	}
	e := &memoEntry{raw: string(raw), s: *s}
	slot.Store(e)
	return &e.s, nil
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

// eqDigest reports, in constant time, whether hexDigest is the digest of s
// (as digest renders it). It runs on every check, so it builds nothing on
// the heap: access tokens up to 128 bytes are hashed from a stack copy (a
// conversion of a string past 32 bytes to a slice allocates).
func eqDigest(hexDigest, s string) bool {
	var h [sha256.Size]byte
	if len(s) <= 128 {
		var b [128]byte
		h = sha256.Sum256(b[:copy(b[:], s)])
	} else {
		h = sha256.Sum256([]byte(s))
	}
	var x [2 * sha256.Size]byte
	hex.Encode(x[:], h[:])
	return eq(hexDigest, unsafe.String(&x[0], len(x))) // x as a string without a copy (string(x[:]) would allocate)
}

// consumerOf names the owner of saved cards when the merchant's backend
// does not: the access token identifies the consumer to the merchant.
func consumerOf(accessToken string) string { return "t:" + digest(accessToken)[:32] }

// eq compares in constant time (for equal lengths; the length is not
// secret), like subtle.ConstantTimeCompare but without converting the
// strings to byte slices (a copy each, past 32 bytes).
func eq(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// eqFold is eq ignoring ASCII case (signatures are hex, in either case).
// Letters are lowered with arithmetic, not a branch on the byte.
func eqFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= lowerASCII(a[i]) ^ lowerASCII(b[i])
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// lowerASCII lowers A-Z; 0x20 is set only when c-'A' < 26.
func lowerASCII(c byte) byte {
	return c | byte(subtle.ConstantTimeLessOrEq(int(c-'A'), 25)<<5)
}

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
