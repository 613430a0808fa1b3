// Package sign computes and verifies the providers' signatures.
//
// Two schemes exist (PROVIDERS.md 1.2, 1.3, 1.6):
//
//   - DAPI: HMAC-SHA1 over the plain concatenation of field values, keyed
//     with the merchant's control key with its dashes removed and
//     hex-decoded; 40 upper-case hex characters out.
//   - Classic: SHA-1 over the concatenation followed by the control key as
//     text (dashes kept); 40 lower-case hex characters out.
//
// Each operation is a row of data (Ops): the order of its fields and which
// are optional. An absent optional field contributes nothing. Every
// signature comes with its string to sign, so a merchant debugging a
// mismatch sees exactly what was hashed.
//
// A Signer keeps the keyed HMAC state of the last control key and resets it
// instead of rebuilding it, and reuses its buffers: in the WebAssembly build
// that halves the cost of a signature. A Signer is not safe for concurrent
// use.
package sign

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	"github.com/kassa-edge/kassa/core/jsonscan"
)

// Field identifies one input of a signature.
type Field uint8

// Fields, in the names of INTERFACE.md section 4.
const (
	AccessToken Field = iota
	SerialNumber
	EndpointID
	Nonce
	InvoiceID
	AmountCentis
	Currency
	ServerCardID
	DestinationServerCardID
	Status
	OrderID
	ClientOrderID
	Email
	AmountMinor
	NumFields
)

// FieldNames are the JSON names of the fields.
var FieldNames = [NumFields]string{
	"accessToken", "serialNumber", "endpointId", "nonce", "invoiceId", "amountCentis", "currency",
	"serverCardId", "destinationServerCardId", "status", "orderid", "client_orderid", "email", "amountMinor",
}

// FieldByName returns the field with the JSON name, or false.
func FieldByName(name string) (Field, bool) {
	for i, n := range FieldNames {
		if n == name {
			return Field(i), true
		}
	}
	return 0, false
}

// Values holds the inputs of a signature, indexed by Field. An empty
// string is an absent value.
type Values [NumFields]string

// Scheme is how a string to sign becomes a signature.
type Scheme uint8

const (
	DAPI    Scheme = iota + 1 // HMAC-SHA1, hex-decoded key, upper-case hex
	Classic                   // SHA-1 with the key appended as text, lower-case hex
)

// Part is one field of an operation's string to sign.
type Part struct {
	Field    Field
	Optional bool
}

// Op is one signing operation.
type Op struct {
	ID       string // e.g. "dapi.check-sale"
	Scheme   Scheme
	Parts    []Part
	Produces string // the field that carries the result, e.g. "session.checkSignature"
	Summary  string
}

func req(f Field) Part { return Part{Field: f} }
func opt(f Field) Part { return Part{Field: f, Optional: true} }

// Ops lists every operation (PROVIDERS.md 1.3 and 1.6).
var Ops = []*Op{
	{ID: "dapi.initiate-sale", Scheme: DAPI, Produces: "session.signature", Summary: "Initiate sale answer",
		Parts: []Part{req(AccessToken), req(SerialNumber), req(EndpointID), req(Nonce), req(InvoiceID), req(AmountCentis), req(Currency)}},
	{ID: "dapi.initiate-transfer", Scheme: DAPI, Produces: "session.signature", Summary: "Initiate transfer answer",
		Parts: []Part{req(AccessToken), req(SerialNumber), req(EndpointID), req(Nonce), req(InvoiceID), req(AmountCentis), req(Currency)}},
	{ID: "dapi.initiate-verification", Scheme: DAPI, Produces: "session.signature", Summary: "Initiate verification answer",
		Parts: []Part{req(AccessToken), req(SerialNumber), req(EndpointID), req(Nonce), req(InvoiceID), req(Currency)}},
	{ID: "dapi.check-sale", Scheme: DAPI, Produces: "session.checkSignature", Summary: "Check sale answer",
		Parts: []Part{req(SerialNumber), req(Nonce), req(EndpointID), req(InvoiceID), opt(ServerCardID)}},
	{ID: "dapi.check-transfer", Scheme: DAPI, Produces: "session.checkSignature", Summary: "Check transfer answer",
		Parts: []Part{req(SerialNumber), req(Nonce), opt(DestinationServerCardID), req(EndpointID), req(InvoiceID), opt(ServerCardID)}},
	{ID: "dapi.check-verification", Scheme: DAPI, Produces: "session.checkSignature", Summary: "Check verification answer",
		Parts: []Part{req(SerialNumber), req(Nonce), req(EndpointID), req(InvoiceID)}},
	{ID: "dapi.notification", Scheme: DAPI, Produces: "session.checkSignature", Summary: "Card mapping notification answer (sale, transfer, verification)",
		Parts: []Part{req(Nonce), req(EndpointID), req(InvoiceID)}},
	{ID: "classic.callback", Scheme: Classic, Produces: "control", Summary: "Classic final-status callback control",
		Parts: []Part{req(Status), req(OrderID), req(ClientOrderID)}},
	{ID: "classic.sale", Scheme: Classic, Produces: "control", Summary: "Classic sale request control",
		Parts: []Part{req(EndpointID), req(ClientOrderID), req(AmountMinor), req(Email)}},
}

// Lookup returns the operation with the given ID, or nil.
func Lookup(id string) *Op {
	for _, op := range Ops {
		if op.ID == id {
			return op
		}
	}
	return nil
}

// HostHMAC, when set, computes HMAC-SHA1 of msg keyed with key into out
// and reports true, or reports false to leave it to the core. The
// WebAssembly guest sets it to its host's native implementation (the
// import kassa_host.hmac_sha1, see wasm/README.md): Go's wasm code hashes
// about ten times slower than native code with assembly. The native build
// never consults it.
var HostHMAC func(key, msg []byte, out *[sha1Size]byte) bool

// Errors. None of them ever contains the control key.
var (
	ErrNoKey  = errors.New("controlKey is required")
	ErrBadKey = errors.New("controlKey must be hexadecimal digits (dashes allowed), an even number of them")
)

// MissingError reports a required field that is empty.
type MissingError struct{ Field Field }

func (e *MissingError) Error() string { return FieldNames[e.Field] + " is required" }

// Signer signs and verifies. The zero value is ready to use.
type Signer struct {
	keyText string // the control key the HMAC state was built for
	mac     mac    // keyed HMAC-SHA1 state, reset between uses
	hasKey  bool   // mac is set
	keyBuf  []byte
	msg     []byte
	sum     [sha1Size]byte
	hexBuf  [2 * sha1Size]byte
}

// AppendStringToSign appends op's string to sign to dst.
func AppendStringToSign(dst []byte, op *Op, v *Values) ([]byte, error) {
	for _, p := range op.Parts {
		s := v[p.Field]
		if s == "" && !p.Optional {
			return dst, &MissingError{Field: p.Field}
		}
		dst = append(dst, s...)
	}
	return dst, nil
}

// Sign returns the signature of v under op and the string that was signed.
// For Classic operations the string to sign ends with the control key, as
// the provider defines it: never log it.
// Both are valid until the next call on s; copy them to keep them.
func (s *Signer) Sign(op *Op, controlKey string, v *Values) (sig, stringToSign []byte, err error) {
	if controlKey == "" {
		return nil, nil, ErrNoKey
	}
	s.msg, err = AppendStringToSign(s.msg[:0], op, v)
	if err != nil {
		return nil, nil, err
	}
	switch op.Scheme {
	case DAPI:
		if err := s.keyed(controlKey); err != nil {
			return nil, nil, err
		}
		s.mac.sum(s.msg, &s.sum)
		encodeHex(&s.hexBuf, &s.sum, upperHex)
	default:
		// The classic string to sign ends with the control key as text
		// (vectors.json shows it so). Callers must not log it.
		s.msg = append(s.msg, controlKey...)
		s.sum = sha1Sum(s.msg)
		encodeHex(&s.hexBuf, &s.sum, lowerHex)
	}
	return s.hexBuf[:], s.msg, nil
}

// Verify reports whether received is the signature of v under op. Hex case
// is ignored; the comparison takes the same time wherever the first
// difference is.
func (s *Signer) Verify(op *Op, controlKey string, v *Values, received string) (bool, error) {
	want, _, err := s.Sign(op, controlKey, v)
	if err != nil {
		return false, err
	}
	return EqualHex(want, received), nil
}

// EqualHex compares two hex strings in constant time, ignoring case. Only
// the lengths may leak, and those are public (40 characters).
func EqualHex(want []byte, got string) bool {
	if len(got) != len(want) {
		return false
	}
	var diff byte
	for i := 0; i < len(want); i++ {
		diff |= (want[i] | 0x20) ^ (got[i] | 0x20) // hex digits only differ by case in bit 0x20
	}
	// Still require got to be hex, so that e.g. '@' (0x40) is not read as '`' (0x60).
	return subtle.ConstantTimeByteEq(diff, 0) == 1 && isHex(got)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}

// keyed makes s.mac an HMAC-SHA1 keyed with the control key, reusing the
// existing state when the key is unchanged.
func (s *Signer) keyed(controlKey string) error {
	if s.hasKey && jsonscan.Equal(s.keyText, controlKey) { // word-wise: under wasm == is a byte loop
		return nil
	}
	key, err := DecodeKey(s.keyBuf[:0], controlKey)
	if err != nil {
		return err
	}
	s.keyBuf = key
	s.mac, s.hasKey = newMAC(key), true
	// Clone: controlKey may alias a caller's buffer that is reused for
	// another merchant's key, which must not match this cached state.
	s.keyText = strings.Clone(controlKey)
	return nil
}

// DecodeKey appends the bytes of a DAPI control key (hex, dashes ignored,
// either case) to dst.
func DecodeKey(dst []byte, controlKey string) ([]byte, error) {
	var hi byte
	n := 0
	for i := 0; i < len(controlKey); i++ {
		c := controlKey[i]
		if c == '-' {
			continue
		}
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			d = c | 0x20 - 'a' + 10
		default:
			return dst, ErrBadKey
		}
		if n%2 == 0 {
			hi = d << 4
		} else {
			dst = append(dst, hi|d)
		}
		n++
	}
	if n == 0 || n%2 != 0 {
		return dst, ErrBadKey
	}
	return dst, nil
}

// The digits above 9, as their offset from '0'+10: 'A' or 'a'.
const (
	upperHex = 'A' - '0' - 10
	lowerHex = 'a' - '0' - 10
)

// encodeHex writes the 40 hex digits of a SHA-1 sum, four bytes (eight
// digits) at a time with word arithmetic: under Go's wasm code generation
// a loop of 20 iterations with two table lookups each costs several times
// more than the arithmetic.
func encodeHex(dst *[2 * sha1Size]byte, src *[sha1Size]byte, letters uint64) {
	const nibbles, six, zeros, ones = 0x000F000F000F000F, 0x0606060606060606, 0x3030303030303030, 0x0101010101010101
	for i := 0; i < sha1Size; i += 4 {
		// The four bytes at the even byte positions of x, little endian.
		x := uint64(src[i]) | uint64(src[i+1])<<16 | uint64(src[i+2])<<32 | uint64(src[i+3])<<48
		// Each byte of n one digit's value, in output order: high nibble
		// first.
		n := (x>>4)&nibbles | (x&nibbles)<<8
		// A byte of n above 9 gets its bit 4 set by adding 6.
		above9 := (n + six) >> 4 & ones
		binary.LittleEndian.PutUint64(dst[2*i:], n+zeros+above9*letters)
	}
}

// FormatInt renders an amount in minor units as the signature expects:
// plain decimal digits.
func FormatInt(n int64) string { return strconv.FormatInt(n, 10) }
