package testenv

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// The Payneteasy signature recipes, written from the spec only (with the
// standard library, not kassa's core), so that tests check kassa's
// signatures against an independent computation.

// DAPISign is PROVIDERS.md 1.2: HMAC-SHA1 keyed with the hex-decoded
// control key (dashes removed) over the plain concatenation of parts,
// upper-case hex.
func DAPISign(controlKey string, parts ...string) string {
	key, err := hex.DecodeString(strings.ReplaceAll(controlKey, "-", ""))
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha1.New, key)
	m.Write([]byte(strings.Join(parts, "")))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// ClassicControl is PROVIDERS.md 1.6: lower-case hex SHA-1 of status +
// orderid + client_orderid + the control key as text, dashes kept.
func ClassicControl(controlKey, status, orderID, clientOrderID string) string {
	return SHA1Hex(status + orderID + clientOrderID + controlKey)
}

// SHA1Hex is the lower-case hex SHA-1 of s.
func SHA1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
